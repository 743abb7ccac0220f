"""SQLite's one writer at a time, handed on promptly between threads and processes.

SQLite lets one connection write at a time. Its own wait for the write lock (the busy handler) sleeps in
growing steps of up to 100 ms, so a waiting writer often sleeps on long after the lock came free, while one
that asked later takes it first: under concurrent writes the lock sits idle between transactions and the
unluckiest writes wait for hundreds of milliseconds. Instead:

- within a process, writers queue on a lock of their own (`WriterGate`), so the next one begins the moment
  the last one has committed;
- the one writer of each process that holds its gate asks SQLite for the lock with short pauses
  (`begin_immediate`), so another process's turn comes within `LONGEST_PAUSE` of the lock coming free.

Both waits give up after `LOCK_TIMEOUT` with SQLite's own "database is locked", as the busy handler did.

The write-ahead log needs the same care once several processes write. SQLite's automatic checkpoint runs
after a commit, without the write lock, so another process appends to the log while it copies, and the
automatic checkpoints of several processes keep each other from running: the log is never all copied when
a writer begins, so it never starts over. It grew without bound (600 MB within a minute of two processes'
mass creates), and every commit past the threshold copied again the frames added since the last one and
synced the database file. So automatic checkpoints are off and `WriteAheadLog` copies the log, finishing
while it holds the write lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.exc import OperationalError

log = logging.getLogger("polycrm.store")

# Seconds a writer waits for its turn before giving up (the connections' busy timeout, for everything else).
LOCK_TIMEOUT = 10.0
# Seconds after a log restart that could not copy everything (a reader still used the log) before the next try,
# and how long one waits for the write lock.
RESTART_BACKOFF = 1.0
RESTART_LOCK_WAIT = 1.0
# Pauses between two tries for SQLite's write lock: short, since each costs a wait for a whole process.
FIRST_PAUSE = 0.0002
LONGEST_PAUSE = 0.002


def _locked(statement: str) -> OperationalError:
    return OperationalError(statement, None, sqlite3.OperationalError("database is locked"))


class WriterGate:
    """The write transactions of one process's threads, one at a time, in about the order they came."""

    def __init__(self, timeout: float = LOCK_TIMEOUT):
        self.timeout = timeout
        self._lock = threading.Lock()

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._lock.acquire(timeout=self.timeout):
            raise _locked("waiting for this process's other writers")
        try:
            yield
        finally:
            self._lock.release()


def begin_immediate(connection: sqlite3.Connection, timeout: float = LOCK_TIMEOUT) -> None:
    """BEGIN IMMEDIATE on a driver connection, retried with short pauses while another process writes."""
    connection.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + timeout
        pause = FIRST_PAUSE
        while True:
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() + pause > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)
    finally:
        connection.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")


class WriteAheadLog:
    """The write-ahead log file of one SQLite database, copied into the database after a commit that finds it
    past `limit` bytes: a checkpoint on a connection of its own copies most of the log, a second one the rest
    while holding the write lock (so no other process appends), and the next writer starts the log over,
    cutting the file back to the journal size limit (`limit` too), so the file is past `limit` only when the
    log is.

    A reader's older snapshot keeps the frames it may still read from being copied; a round that could not
    copy everything is not tried again for `backoff` seconds, so a long read costs writers a wait for the
    copy once in a while, not at every commit. Neither is one that waited `lock_wait` seconds in vain for
    another process's write or met an error: the commit it follows stands either way."""

    def __init__(self, database_path: str, limit: int, *, backoff: float = RESTART_BACKOFF,
                 lock_wait: float = RESTART_LOCK_WAIT):
        self.path = f"{database_path}-wal"
        self.limit = limit
        self.backoff = backoff
        self.lock_wait = lock_wait
        self._database_path = database_path
        self._checkpointer: sqlite3.Connection | None = None
        self._next_try = 0.0

    def restart_if_grown(self, connection: sqlite3.Connection) -> bool:
        """After a commit on `connection` (by one thread of the process at a time): copy the whole log and
        let the next writer start it over, if it has grown past the limit; whether it was all copied."""
        if time.monotonic() < self._next_try:
            return False
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return False
        if size <= self.limit:
            return False
        # Most of the log is copied while other processes go on writing; the write lock is held only while
        # the rest is, so that the copy is complete. The commit before is done: nothing here may fail it.
        try:
            self._checkpoint()
            begin_immediate(connection, self.lock_wait)
            try:
                busy, frames, copied = self._checkpoint()
            finally:
                connection.execute("ROLLBACK")
            done = not busy and copied == frames
        except sqlite3.Error as error:
            log.warning("write-ahead log of %s not restarted: %s", self._database_path, error)
            done = False
        if not done:
            self._next_try = time.monotonic() + self.backoff
        return done

    def _checkpoint(self) -> tuple[int, int, int]:
        if self._checkpointer is None:
            self._checkpointer = sqlite3.connect(self._database_path, isolation_level=None,
                                                 check_same_thread=False)
        busy, frames, copied = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy, frames, copied

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None


__all__ = ["LOCK_TIMEOUT", "WriteAheadLog", "WriterGate", "begin_immediate"]
