"""Data a new store starts with (Concord's default pipeline, sources, industries, activity types, call outcomes,
document types, brand): seeded once per store.

A stored setting says a seed was done, so rows an administrator removed do not come back at the next start,
and of several processes starting at once exactly one seeds (the setting's insert decides which). Seeds are
written straight to the tables, as a new install's data: no user made them, so no creator, no change events.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence, TypeVar

from sqlalchemy.engine import Connection

from polycrm.query.tree import Node
from polycrm.store.database import Database, utcnow
from polycrm.store.records import RecordRepository
from polycrm.store.settings import SettingStore

Prepared = TypeVar("Prepared")


def seed_once(database: Database, setting: str, prepare: Callable[[dict[str, Any]], Prepared],
              write: Callable[[Connection, Prepared], None]) -> bool:
    """Seed unless this store ever had the seed named `setting`; whether this call did. `prepare` builds the
    rows before the write transaction (SQLite's one writer waits less), given the new records' stamps;
    `write` inserts them inside it."""
    settings = SettingStore(database)
    with database.connect() as conn:
        if settings.read(conn, setting) is not None:
            return False
    now = utcnow()
    prepared = prepare({"createdAt": now, "modifiedAt": now, "versionNumber": 1})
    with database.transaction() as conn:
        if not settings.insert_if_missing(conn, setting, {"defaultSeeded": True}):
            return False
        write(conn, prepared)
    return True


def seed_rows(database: Database, setting: str, entity_name: str, rows: Sequence[Mapping[str, Any]], *,
              unless: Node | None = None) -> bool:
    """Seed one entity's `rows` (attribute values, in id order) unless this store ever had the seed named
    `setting`; whether this call did. With `unless`, records matching it already there stand for the rows
    (Concord seeds its contacts tags only into a store that has none)."""
    repository = RecordRepository(database, database.registry.entity(entity_name))

    def write(conn: Connection, prepared: list[list[Any]]) -> None:
        if unless is None or not repository.count(conn, unless):
            repository.insert_rows(conn, prepared)

    return seed_once(database, setting, lambda stamp: repository.new_rows([{**row, **stamp} for row in rows]), write)
