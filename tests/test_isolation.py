"""Tests share a prepared store per worker (tests/support/stores.py), so isolation is checked, not assumed:
a store handed out after a test that left records, a custom field, a follow and used ids behind is exactly
as a new one, on both backends; and every test's store starts so."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ContextManager

import pytest
from sqlalchemy import func, inspect, select

from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from tests.conftest import Store

ADMIN = Actor(user_id=0, user_name="system", is_admin=True, user_type="admin")


def assert_as_new(store: Store) -> None:
    database = store.database
    with database.connect() as conn:
        counts = {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                  for name, table in database.metadata.tables.items()}
        columns = {column["name"] for column in inspect(conn).get_columns("account")}
    assert {name: count for name, count in counts.items() if count} == {}
    assert not [name for name in columns if name.startswith("c_")]
    assert list(database.registry.custom_fields()) == []


def leave_things_behind(store: Store) -> None:
    core = Core(store.database)
    core.add_field("Account", "cLeftover", "varchar")
    user = core.records("User").create(ADMIN, {"userName": "leftover", "lastName": "L"})
    account = core.records("Account").create(ADMIN, {"name": "Leftover", "cLeftover": "x",
                                                     "assignedUserId": user["id"]})
    assert int(account["id"]) == 1 and int(user["id"]) == 1  # ids start at 1 in every store
    core.follows("Account").follow(ADMIN, account["id"])


def stores(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], ContextManager[Any]]:
    """Hand out stores as the `store` fixture does, one after another, as to consecutive tests."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def sqlite_store(name: str) -> ContextManager[Any]:
            (tmp_path / name).mkdir()
            return template.store(tmp_path / name)
        return sqlite_store
    schemas = request.getfixturevalue("postgresql_schemas")
    return lambda _name: schemas.store()


def test_a_store_after_a_test_that_left_things_behind_is_as_new(backend, request, tmp_path):
    make = stores(backend, request, tmp_path)
    for name in ("first", "second", "third"):
        with make(name) as store:
            assert_as_new(store)
            leave_things_behind(store)


@pytest.mark.parametrize("round_number", range(3))
def test_every_test_gets_a_store_as_new(store: Store, round_number: int) -> None:
    assert_as_new(store)
    leave_things_behind(store)
