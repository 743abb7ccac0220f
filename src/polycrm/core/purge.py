"""Purge: remove soft-deleted records for good, with their relations and attached files.

Deletes are soft everywhere (records stay, flagged, and every read path hides them); a purge is the
deliberate, separate step that frees the space, run by an operator (`polycrm purge`)."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from polycrm.core.errors import BadRequest
from polycrm.core.files import FileService
from polycrm.store.database import Database
from polycrm.store.purge import purge_records, purgeable_ids


def purge_deleted(database: Database, files: FileService, before: datetime,
                  entities: Iterable[str] | None = None, *, dry_run: bool = False) -> dict[str, int]:
    """Hard-delete records soft-deleted before `before` (all entities, or the named ones); returns how many
    records each entity lost (with `dry_run`: would lose, changing nothing). Each entity is purged in one
    transaction; file content goes after its commit."""
    names = list(entities) if entities else database.registry.names()
    for name in names:
        if name not in database.registry:
            raise BadRequest(f"Unknown entity type '{name}'.")
    purged: dict[str, int] = {}
    for name in names:
        entity = database.registry.entity(name)
        if dry_run:
            with database.connect() as conn:
                ids = purgeable_ids(conn, database, entity, before)
        else:
            with database.transaction() as conn:
                ids = purgeable_ids(conn, database, entity, before)
                keys = purge_records(conn, database, entity, ids)
            files.remove_content(keys)
        if ids:
            purged[name] = len(ids)
    return purged
