"""Hard deletion of soft-deleted records with everything that refers to them (a purge)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, true, update
from sqlalchemy.engine import Connection

from polycrm.meta import Entity, LinkStorage
from polycrm.store.database import Database
from polycrm.store.files import FileRepository

CHUNK = 500  # ids per statement: well under every database's parameter limit


def purgeable_ids(conn: Connection, database: Database, entity: Entity, before: datetime) -> list[int]:
    """Soft-deleted records of an entity last changed (so deleted) before `before`. Deletes stamp
    `modifiedAt`; entities without it have no deletion time and are never purged."""
    table = database.table(entity.table)
    if "modified_at" not in table.c:
        return []
    query = select(table.c.id).where(table.c.deleted == true(), table.c.modified_at < before).order_by(table.c.id)
    return [int(r[0]) for r in conn.execute(query)]


def purge_records(conn: Connection, database: Database, entity: Entity, ids: list[int]) -> list[str]:
    """Delete the rows of `ids`, their relations, contact points and file rows, and clear references to
    them from other records, and their streams' notes. Returns the storage keys of the removed files (their
    content is the caller's)."""
    keys: list[str] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        _delete_relations(conn, database, entity, chunk)
        _clear_references(conn, database, entity, chunk)
        for side in ("email_address_link", "phone_number_link"):
            table = database.table(side)
            conn.execute(delete(table).where(table.c.entity_type == entity.name, table.c.entity_id.in_(chunk)))
        keys.extend(FileRepository(database).delete_records(conn, entity.name, chunk))
        notes = database.table("note")  # the records' streams
        conn.execute(delete(notes).where(notes.c.parent_type == entity.name, notes.c.parent_id.in_(chunk)))
        table = database.table(entity.table)
        conn.execute(delete(table).where(table.c.id.in_(chunk)))
    return keys


def _delete_relations(conn: Connection, database: Database, entity: Entity, ids: list[int]) -> None:
    """Junction and polymorphic rows naming the records, from either side of each relation (follows of the
    records, and a purged user's follows, included)."""
    for other in database.registry.entities.values():
        for link in other.relations():
            if link.table is None:
                continue
            table = database.table(link.table)
            if link.storage is LinkStorage.JUNCTION:
                if other.name == entity.name:
                    conn.execute(delete(table).where(table.c[link.near_column].in_(ids)))
                if link.entity == entity.name:
                    conn.execute(delete(table).where(table.c[link.far_column].in_(ids)))
            elif link.storage is LinkStorage.POLYMORPHIC:
                if other.name == entity.name:
                    conn.execute(delete(table).where(table.c.entity_type == entity.name,
                                                     table.c.entity_id.in_(ids)))
                if link.entity == entity.name:
                    conn.execute(delete(table).where(table.c[link.far_column].in_(ids)))


def _clear_references(conn: Connection, database: Database, entity: Entity, ids: list[int]) -> None:
    """belongsTo and parent columns of other records that point at the purged records become empty."""
    for other in database.registry.entities.values():
        table = database.table(other.table)
        for link in other.links.values():
            if link.storage is LinkStorage.COLUMN and link.entity == entity.name:
                column = table.c[link.far_column]
                conn.execute(update(table).where(column.in_(ids)).values({column.name: None}))
            elif link.storage is LinkStorage.PARENT and link.far_column in table.c:
                id_column = table.c[link.far_column]
                type_column = table.c[link.far_column.removesuffix("_id") + "_type"]
                conn.execute(update(table).where(type_column == entity.name, id_column.in_(ids))
                             .values({id_column.name: None, type_column.name: None}))
