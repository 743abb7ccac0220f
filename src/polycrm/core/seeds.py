"""Rows a new store starts with (Concord CRM's defaults: its pipeline, its call outcomes), written once per
store: a stored setting says it was done, so rows an administrator removed do not come back at the next
start, and of several processes starting at once exactly one writes them (the setting's insert decides)."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.engine import Connection

from polycrm.store.database import Database, utcnow
from polycrm.store.settings import SettingStore


def new_stamp() -> dict[str, Any]:
    """What a seeded row carries instead of a creator: its times and first version (no user made it)."""
    now = utcnow()
    return {"createdAt": now, "modifiedAt": now, "versionNumber": 1}


def seed_once(database: Database, setting: str, write: Callable[[Connection], None]) -> bool:
    """Run `write` in a transaction unless this store was ever seeded under `setting`; whether it ran."""
    settings = SettingStore(database)
    with database.connect() as conn:
        if settings.read(conn, setting) is not None:
            return False
    with database.transaction() as conn:
        if not settings.insert_if_missing(conn, setting, {"defaultSeeded": True}):
            return False
        write(conn)
    return True


__all__ = ["new_stamp", "seed_once"]
