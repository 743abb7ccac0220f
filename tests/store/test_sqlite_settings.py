"""Every SQLite connection gets the settings PolyCRM's durability and concurrency rely on."""

from __future__ import annotations

import pytest

from polycrm.store.database import WAL_SIZE_LIMIT
from tests.conftest import Store


def test_sqlite_connections_run_in_wal_with_a_bounded_log(store: Store, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite's connection settings")
    with store.database.connect() as conn:
        settings = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "busy_timeout", "journal_size_limit",
                                 "wal_autocheckpoint")}
    # synchronous 1 = NORMAL: durable across process crashes in WAL mode.
    assert settings == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 10000,
                        "journal_size_limit": WAL_SIZE_LIMIT, "wal_autocheckpoint": 0}
