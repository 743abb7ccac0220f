"""SQLite's write lock taken in turns: by the threads of a process through its gate, by processes with short
retries, never two writers at once, and SQLite's own "database is locked" when a turn never comes."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from polycrm.store.database import WAL_SIZE_LIMIT, open_database
from polycrm.store.sqlite_writes import LOCK_TIMEOUT, WriteAheadLog, WriterGate, begin_immediate

COUNTER = "test.writes"


def _count_up(url: str, times: int) -> None:
    database = open_database(url, sync=False)
    try:
        for _ in range(times):
            with database.transaction() as conn:
                database.next_value(conn, COUNTER)
    finally:
        database.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'polycrm.db'}"
    open_database(url).dispose()
    return url


def _counter(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute("SELECT value FROM sequence_counter WHERE name = ?", (COUNTER,)).fetchone()[0]


def test_threads_and_processes_writing_at_once_lose_no_write(url: str) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_count_up, args=(url, 60)) for _ in range(2)]
    for process in processes:
        process.start()
    threads = [threading.Thread(target=_count_up, args=(url, 60)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert _counter(url) == 6 * 60


def test_a_writer_waits_for_another_process_and_then_sees_its_commit(url: str) -> None:
    database = open_database(url, sync=False)
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO sequence_counter (name, value) VALUES (?, 41)", (COUNTER,))
    result: list[int] = []
    writer = threading.Thread(target=lambda: result.append(_next(database)))
    writer.start()
    writer.join(0.3)
    assert writer.is_alive() and not result  # still waiting for the lock the other connection holds
    other.execute("COMMIT")
    writer.join(10)
    assert result == [42]
    with database.connect() as conn:  # the wait did not leave the connection without its busy timeout
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    other.close()
    database.dispose()


def _next(database) -> int:  # noqa: ANN001 - Database
    with database.transaction() as conn:
        return database.next_value(conn, COUNTER)


def test_begin_gives_up_with_database_is_locked_after_its_timeout(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, isolation_level=None, timeout=10)
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        begin_immediate(waiter, timeout=0.2)
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    holder.execute("ROLLBACK")
    begin_immediate(waiter, timeout=0.2)
    assert waiter.in_transaction
    waiter.execute("ROLLBACK")


def test_a_gate_held_too_long_fails_like_a_locked_database() -> None:
    gate = WriterGate(timeout=0.1)
    with gate.turn():
        errors: list[Exception] = []

        def wait() -> None:
            try:
                with gate.turn():
                    pass
            except OperationalError as error:
                errors.append(error)

        waiter = threading.Thread(target=wait)
        waiter.start()
        waiter.join(5)
    assert len(errors) == 1 and "database is locked" in str(errors[0])
    with gate.turn():  # released after the failed wait
        pass


def test_a_failed_transaction_hands_the_gate_on(url: str) -> None:
    database = open_database(url, sync=False)
    with pytest.raises(RuntimeError):
        with database.transaction() as conn:
            database.next_value(conn, COUNTER)
            raise RuntimeError("rolled back")
    assert _next(database) == 1
    database.dispose()


# A small journal size limit, so that a few hundred kilobytes make a grown log.
LOG_LIMIT = 64 * 1024


def _log_without_checkpoints(path: str, pages: int) -> sqlite3.Connection:
    """A connection whose writes only append to the log (as when checkpoints keep falling behind)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(f"PRAGMA journal_size_limit={LOG_LIMIT}")
    conn.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")
    conn.execute("CREATE TABLE IF NOT EXISTS filler (payload BLOB)")
    for _ in range(pages):
        conn.execute("INSERT INTO filler VALUES (randomblob(3000))")
    return conn


def test_a_log_grown_past_its_limit_starts_over_at_the_next_write(tmp_path: Path) -> None:
    path = str(tmp_path / "grown.db")
    log = WriteAheadLog(path, LOG_LIMIT)
    conn = _log_without_checkpoints(path, 100)
    assert os.path.getsize(log.path) > 4 * LOG_LIMIT
    reader = sqlite3.connect(path)  # another process's connection, between its statements
    assert reader.execute("SELECT count(*) FROM filler").fetchone() == (100,)

    assert log.restart_if_grown(conn)
    conn.execute("INSERT INTO filler VALUES (randomblob(10))")

    assert os.path.getsize(log.path) <= LOG_LIMIT
    assert reader.execute("SELECT count(*) FROM filler").fetchone() == (101,)
    assert conn.execute("PRAGMA busy_timeout").fetchone() == (int(LOCK_TIMEOUT * 1000),)
    log.close()


def test_a_log_within_its_limit_is_not_checkpointed(tmp_path: Path) -> None:
    path = str(tmp_path / "small.db")
    conn = _log_without_checkpoints(path, 1)
    assert 0 < os.path.getsize(f"{path}-wal") <= LOG_LIMIT
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert not WriteAheadLog(path, LOG_LIMIT).restart_if_grown(conn)
    assert not WriteAheadLog(str(tmp_path / "none.db"), LOG_LIMIT).restart_if_grown(conn)  # no log file
    assert statements == []


def test_a_restart_a_reader_holds_up_is_not_tried_again_for_a_while(tmp_path: Path) -> None:
    path = str(tmp_path / "read.db")
    conn = _log_without_checkpoints(path, 10)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM filler").fetchone() == (10,)  # a snapshot in the log
    _log_without_checkpoints(path, 100).close()
    log = WriteAheadLog(path, LOG_LIMIT, backoff=60)

    assert not log.restart_if_grown(conn)
    assert not conn.in_transaction
    conn.execute("INSERT INTO filler VALUES (randomblob(10))")  # the write lock was given back
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert not log.restart_if_grown(conn)
    assert statements == []

    reader.execute("ROLLBACK")
    assert WriteAheadLog(path, LOG_LIMIT).restart_if_grown(conn)  # once the read is over
    conn.execute("INSERT INTO filler VALUES (randomblob(10))")
    assert os.path.getsize(f"{path}-wal") <= LOG_LIMIT
    log.close()


def test_a_restart_that_cannot_get_the_write_lock_gives_up_quietly(tmp_path: Path) -> None:
    path = str(tmp_path / "held.db")
    conn = _log_without_checkpoints(path, 100)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    log = WriteAheadLog(path, LOG_LIMIT, lock_wait=0.05, backoff=60)
    try:
        assert not log.restart_if_grown(conn)  # no error: the commit before it stands
        assert not conn.in_transaction
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        assert not log.restart_if_grown(conn)
        assert statements == []
    finally:
        holder.execute("ROLLBACK")
        log.close()


def test_every_commit_of_a_store_checks_its_log_and_a_rollback_does_not(url: str, monkeypatch: pytest.MonkeyPatch
                                                                         ) -> None:
    checks: list[tuple[str, int, object]] = []
    monkeypatch.setattr(WriteAheadLog, "restart_if_grown",
                        lambda log, connection: checks.append((log.path, log.limit, connection)) or False)
    database = open_database(url, sync=False)
    try:
        with database.transaction() as conn:
            database.next_value(conn, COUNTER)
            driver = conn.connection.driver_connection
        with pytest.raises(RuntimeError), database.transaction() as conn:
            database.next_value(conn, COUNTER)
            raise RuntimeError("rolled back")
    finally:
        database.dispose()
    assert checks == [(f"{url.removeprefix('sqlite:///')}-wal", WAL_SIZE_LIMIT, driver)]
    assert _counter(url) == 1
