"""Notes of the activity stream (the `note` table, `schema.build_note_table`): writing them, reading one, and
reading a record's stream a page at a time. Notes are dicts keyed by EspoCRM's Note attribute names, with
`data` decoded; ids are integers, datetimes naive UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

import orjson
from sqlalchemy import Row, false, func, select, update
from sqlalchemy.engine import Connection

from polycrm.store.database import Database

# Note attribute -> column, in the order notes are read and written.
COLUMNS = {"id": "id", "type": "type", "post": "post", "data": "data", "parentType": "parent_type",
           "parentId": "parent_id", "relatedType": "related_type", "relatedId": "related_id",
           "isInternal": "is_internal", "createdAt": "created_at", "createdById": "created_by_id",
           "modifiedAt": "modified_at", "modifiedById": "modified_by_id"}
# What an automatic note or a post gives; the rest is NULL (or false).
NEW_NOTE = ("type", "post", "data", "parentType", "parentId", "createdAt", "createdById")


class NoteRepository:
    """Reads and writes the notes of every entity type."""

    def __init__(self, database: Database):
        self.database = database
        self.table = database.table("note")
        self._columns = [self.table.c[COLUMNS[name]] for name in COLUMNS]
        self._new_columns = [COLUMNS[name] for name in NEW_NOTE] + ["is_internal", "deleted"]

    def insert_many(self, conn: Connection, notes: Sequence[dict[str, Any]]) -> None:
        """New notes (the `NEW_NOTE` attributes of each) in one bulk insert, whatever their number: a mass
        create's or mass update's notes cost one statement."""
        rows = [[_stored(name, note.get(name)) for name in NEW_NOTE] + [False, False] for note in notes]
        self.database.bulk_insert(self.table, self._new_columns).execute(conn, rows)

    def insert(self, conn: Connection, note: dict[str, Any]) -> int:
        """One new note; returns its id."""
        values = {COLUMNS[name]: _stored(name, note.get(name)) for name in NEW_NOTE}
        return int(conn.execute(self.table.insert().values(values).returning(self.table.c.id)).scalar_one())

    def fetch(self, conn: Connection, note_id: int) -> dict[str, Any] | None:
        """A live note, or None."""
        row = conn.execute(select(*self._columns).where(self.table.c.id == note_id,
                                                        self.table.c.deleted == false())).first()
        return None if row is None else _note(row)

    def page(self, conn: Connection, parent_type: str, parent_id: int, *, types: Sequence[str] = (),
             after: datetime | None = None, excluding: Sequence[int] = (), offset: int = 0,
             limit: int | None = None) -> list[dict[str, Any]]:
        """A record's live notes, newest first (`types`, `after` and `excluding`, note ids, narrow them down)."""
        query = (select(*self._columns).where(*self._stream(parent_type, parent_id, types, after, excluding))
                 .order_by(self.table.c.id.desc()).offset(offset).limit(limit))
        return [_note(row) for row in conn.execute(query)]

    def count(self, conn: Connection, parent_type: str, parent_id: int, *, types: Sequence[str] = (),
              after: datetime | None = None, excluding: Sequence[int] = ()) -> int:
        query = select(func.count()).select_from(self.table).where(
            *self._stream(parent_type, parent_id, types, after, excluding))
        return int(conn.execute(query).scalar_one())

    def _stream(self, parent_type: str, parent_id: int, types: Sequence[str], after: datetime | None,
                excluding: Sequence[int] = ()) -> list[Any]:
        c = self.table.c
        conditions = [c.parent_type == parent_type, c.parent_id == parent_id, c.deleted == false()]
        if types:
            conditions.append(c.type.in_(list(types)))
        if after is not None:
            conditions.append(c.created_at > after)
        if excluding:
            conditions.append(c.id.notin_(list(excluding)))
        return conditions

    def update(self, conn: Connection, note_id: int, values: dict[str, Any]) -> None:
        """Change attributes of a note (a post's text and its modification stamp)."""
        conn.execute(update(self.table).where(self.table.c.id == note_id)
                     .values({COLUMNS[name]: _stored(name, value) for name, value in values.items()}))

    def soft_delete(self, conn: Connection, note_id: int, stamp: dict[str, Any]) -> None:
        conn.execute(update(self.table).where(self.table.c.id == note_id)
                     .values({"deleted": True, **{COLUMNS[name]: value for name, value in stamp.items()}}))


def _stored(name: str, value: Any) -> Any:
    return orjson.dumps(value).decode() if name == "data" and value is not None else value


def _note(row: Row[Any]) -> dict[str, Any]:
    note = dict(zip(COLUMNS, row))
    note["data"] = orjson.loads(note["data"]) if note["data"] else {}
    note["isInternal"] = bool(note["isInternal"])
    return note
