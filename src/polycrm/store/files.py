"""Rows of the `stored_file` table: metadata of files attached to records (content is on disk)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Connection, Row

from polycrm.store.database import Database
from polycrm.store.relation_rows import any_of
from polycrm.store.statements import StatementCache

_FILES_OF: StatementCache[Any] = StatementCache(16)


class FileRepository:
    """SQL for file metadata; knows nothing of the files' content or of access control."""

    def __init__(self, database: Database):
        self.database = database

    @property
    def table(self) -> Any:
        return self.database.table("stored_file")

    def insert(self, conn: Connection, *, entity: str, record_id: int, field: str | None, name: str, size: int,
               mime_type: str, storage_key: str, created_at: datetime, created_by_id: int | None) -> int:
        table = self.table
        return int(conn.execute(insert(table).values(
            entity=entity, record_id=record_id, field=field, name=name, size=size, mime_type=mime_type,
            storage_key=storage_key, created_at=created_at, created_by_id=created_by_id)
            .returning(table.c.id)).scalar_one())

    def get(self, conn: Connection, file_id: int) -> Row | None:
        return conn.execute(select(self.table).where(self.table.c.id == file_id)).first()

    def of_records(self, conn: Connection, entity: str, record_ids: Iterable[int]) -> list[Row]:
        """The files of some records, oldest first."""
        ids = list(set(record_ids))
        if not ids:
            return []
        table = self.table
        # Built once per table: every Concord read of a contact, company, deal or activity lists its files.
        statement = _FILES_OF.get(table, lambda: select(table).where(
            table.c.entity == bindparam("entity"), any_of(table.c.record_id, "ids", self.database.dialect)
        ).order_by(table.c.id))
        return list(conn.execute(statement, {"entity": entity, "ids": ids}))

    def names_of(self, conn: Connection, entity: str, record_id: int) -> set[str]:
        """The names of one record's files."""
        table = self.table
        return {r[0] for r in conn.execute(select(table.c.name).where(table.c.entity == entity,
                                                                      table.c.record_id == record_id))}

    def delete_one(self, conn: Connection, entity: str, record_id: int, file_id: int) -> str | None:
        """Remove one file of a record; returns its storage key, or None when the record has no such file."""
        table = self.table
        condition = (table.c.id == file_id) & (table.c.entity == entity) & (table.c.record_id == record_id)
        key = conn.execute(select(table.c.storage_key).where(condition)).scalar_one_or_none()
        if key is not None:
            conn.execute(delete(table).where(condition))
        return key

    def delete_field(self, conn: Connection, entity: str, record_id: int, field: str) -> list[str]:
        """Remove the files of one file field of a record; returns their storage keys."""
        table = self.table
        condition = (table.c.entity == entity) & (table.c.record_id == record_id) & (table.c.field == field)
        keys = [r[0] for r in conn.execute(select(table.c.storage_key).where(condition))]
        conn.execute(delete(table).where(condition))
        return keys

    def delete_of_field(self, conn: Connection, entity: str, field: str) -> list[str]:
        """Remove the files of a file field on every record (the field is going); returns their storage keys."""
        table = self.table
        condition = (table.c.entity == entity) & (table.c.field == field)
        keys = [r[0] for r in conn.execute(select(table.c.storage_key).where(condition))]
        conn.execute(delete(table).where(condition))
        return keys

    def delete_records(self, conn: Connection, entity: str, record_ids: Iterable[int]) -> list[str]:
        """Remove every file of some records; returns their storage keys."""
        ids = list(set(record_ids))
        if not ids:
            return []
        table = self.table
        condition = (table.c.entity == entity) & table.c.record_id.in_(ids)
        keys = [r[0] for r in conn.execute(select(table.c.storage_key).where(condition))]
        conn.execute(delete(table).where(condition))
        return keys
