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
after a commit, without the write lock, so another process appends to the log while it copies: the log is
never all copied when a writer begins, so it never starts over. It grows without bound (600 MB within a
minute of two processes' mass creates), and every commit past the threshold copies the frames added since
the last one and syncs the database file again. `WriteAheadLog` ends that round.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.exc import OperationalError

# Seconds a writer waits for its turn before giving up (the connections' busy timeout, for everything else).
LOCK_TIMEOUT = 10.0
# How long a log restart may wait for another process's writer or for a reader of the log to finish (it holds
# off other writers meanwhile), and how long after one that gave up the next may be tried.
RESTART_WAIT = 0.1
RESTART_BACKOFF = 5.0
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
    """The write-ahead log file of one SQLite database, restarted after a commit that finds it past `limit`
    bytes: a RESTART checkpoint copies all of it into the database, holding off other writers while it runs,
    and the next writer starts the log over. Under one writer the automatic checkpoints keep the file at
    `limit` (the journal size limit it is cut back to), so this runs only when they have fallen behind.

    A restart waits at most `wait` seconds for another writer or for readers of the log; one that could not
    finish (a long read holds the log) is not tried again for `backoff` seconds, so that writes are held off
    briefly once in a while, not at every commit while the read lasts."""

    def __init__(self, path: str, limit: int, *, wait: float = RESTART_WAIT, backoff: float = RESTART_BACKOFF):
        self.path = path
        self.limit = limit
        self.wait = wait
        self.backoff = backoff
        self._next_try = 0.0

    def restart_if_grown(self, connection: sqlite3.Connection) -> bool:
        """Restart the log if it has grown past the limit (call it right after a commit, by one thread at a
        time); whether it did."""
        if time.monotonic() < self._next_try:
            return False
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            return False
        if size <= self.limit:
            return False
        connection.execute(f"PRAGMA busy_timeout={int(self.wait * 1000)}")
        try:
            busy, _, _ = connection.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            connection.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")
        if busy:
            self._next_try = time.monotonic() + self.backoff
        return not busy


__all__ = ["LOCK_TIMEOUT", "WriteAheadLog", "WriterGate", "begin_immediate"]
