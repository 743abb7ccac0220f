"""Files attached to records: metadata in the store, content under `<data dir>/files/`.

Uploads arrive already written to the staging directory (by the dialect that parsed the request). Attaching
them happens inside the record's create or update transaction: each file is synced, renamed into place and
its row inserted before the commit; if the transaction fails, the renamed files are removed again, so a
record never refers to missing content and a failed request leaves nothing behind. Files a field replaced
are removed from disk only after the commit. Soft deletes keep files; a purge removes them.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy.engine import Connection, Row

from polycrm.auth.acl import Actor
from polycrm.core.errors import Forbidden, NotFound, ValidationFailure
from polycrm.core.records import RecordService
from polycrm.meta import Entity
from polycrm.store.database import Database, utcnow
from polycrm.store.files import FileRepository

log = logging.getLogger("polycrm.files")
FILE_FIELD_TYPES = frozenset({"file", "image"})
MIME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$")
MAX_NAME_LENGTH = 255


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: int
    entity: str
    record_id: int
    field: str | None  # the canonical file field it is the value of; None for a standalone attachment
    name: str
    size: int
    mime_type: str
    created_at: datetime
    storage_key: str


@dataclass(frozen=True, slots=True)
class NewFile:
    """An upload written to the staging directory, to attach to a record."""

    field: str | None
    name: str
    mime_type: str
    size: int
    path: Path


class MissingFile(NotFound):
    """The record has no file of that id (the record itself was found)."""


def distinct_name(name: str, taken: set[str]) -> str:
    """`name`, or with `-1`, `-2`, ... before its extension until no name in `taken` is the same (as a media
    library that keeps a record's files in one folder names a second `a.txt` `a-1.txt`)."""
    if name not in taken:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, dot, extension = name, "", ""
    counter = 1
    while f"{stem}-{counter}{dot}{extension}" in taken:
        counter += 1
    return f"{stem}-{counter}{dot}{extension}"


def clean_file_name(name: str) -> str:
    """A file name safe to store and send back: no directories, no control characters, bounded length."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(c for c in base if c.isprintable()).strip().strip(".") or "file"
    if len(cleaned) > MAX_NAME_LENGTH:
        stem, dot, extension = cleaned.rpartition(".")
        keep = MAX_NAME_LENGTH - len(extension) - 1 if dot and len(extension) <= 16 else MAX_NAME_LENGTH
        cleaned = (stem[:keep] + "." + extension) if dot and len(extension) <= 16 else cleaned[:keep]
    return cleaned


def clean_mime_type(value: str | None) -> str:
    value = (value or "").split(";")[0].strip().lower()
    return value if MIME_PATTERN.match(value) else "application/octet-stream"


def _stored(row: Row) -> StoredFile:
    return StoredFile(row.id, row.entity, row.record_id, row.field, row.name, row.size, row.mime_type,
                      row.created_at, row.storage_key)


class FileService:
    """Attach, list, open and remove the files of records."""

    def __init__(self, database: Database, root: Path, services: Callable[[str], RecordService]):
        self.root = root
        self.repository = FileRepository(database)
        self.database = database
        self._services = services

    @property
    def staging_dir(self) -> Path:
        """Where dialects write uploads before they are attached (same file system: renames are atomic)."""
        return self._private_dir(".staging")

    def _private_dir(self, name: str) -> Path:
        """A folder under the root, both readable by the server's user alone (customers' documents)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)  # (mkdir gives `mode` to the last part only)
        path = self.root / name
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def content_path(self, storage_key: str) -> Path:
        return self.root / storage_key[:2] / storage_key

    # --- writes -----------------------------------------------------------------------------------

    def create_record(self, service: RecordService, actor: Actor, data: dict[str, Any], uploads: Sequence[NewFile],
                      *, skip_duplicate_check: bool = False) -> dict[str, Any]:
        """Create a record and attach files to it, all or nothing."""
        self._check_fields(service.entity, uploads)
        return self._with_files(uploads, lambda attach: service.create(
            actor, data, skip_duplicate_check=skip_duplicate_check, attach=attach), actor, service.entity.name)

    def update_record(self, service: RecordService, actor: Actor, record_id: Any, data: dict[str, Any],
                      uploads: Sequence[NewFile]) -> dict[str, Any]:
        """Update a record and attach files: a file field's new file replaces its old one, standalone
        attachments are appended. All or nothing."""
        self._check_fields(service.entity, uploads)
        return self._with_files(uploads, lambda attach: service.update(actor, record_id, data, attach=attach)[0],
                                actor, service.entity.name)

    def add_attachments(self, actor: Actor, entity: str, record_id: Any, uploads: Sequence[NewFile], *,
                        distinct_names: bool = False) -> list[StoredFile]:
        """Attach standalone files to a record the actor may edit (NotFound, Forbidden otherwise): a change
        of the record, so its modification stamp moves. With `distinct_names`, a name one of the record's
        files has already gets a `-N` suffix (distinct_name). All or nothing; returns the new files."""
        service = self._services(entity)
        created: list[int] = []
        self._with_files(uploads, lambda attach: service.update(actor, record_id, {}, attach=attach)[0], actor,
                         entity, created=created, distinct_names=distinct_names)
        with self.database.connect() as conn:
            rows = [self.repository.get(conn, file_id) for file_id in created]
        return [_stored(row) for row in rows if row is not None]

    def remove_attachment(self, actor: Actor, entity: str, record_id: Any, file_id: int) -> None:
        """Remove one file of a record the actor may edit: NotFound or Forbidden for the record, MissingFile
        when it has no such file. The row goes in the record's update transaction, the content after it."""
        removed: list[str] = []

        def detach(conn: Connection, owner_id: int) -> bool:
            key = self.repository.delete_one(conn, entity, owner_id, file_id)
            if key is None:
                raise MissingFile("File not found.")
            removed.append(key)
            return True

        self._services(entity).update(actor, record_id, {}, attach=detach)
        self.remove_content(removed)

    @staticmethod
    def _check_fields(entity: Entity, uploads: Sequence[NewFile]) -> None:
        for upload in uploads:
            if upload.field is None:
                continue
            field = entity.fields.get(upload.field)
            if field is None or field.type not in FILE_FIELD_TYPES:
                raise ValidationFailure(entity.name, upload.field, "valid")
            if field.read_only:
                raise ValidationFailure(entity.name, upload.field, "readOnly")

    def _with_files(self, uploads: Sequence[NewFile], write: Callable[[Any], dict[str, Any]], actor: Actor,
                    entity: str, *, created: list[int] | None = None, distinct_names: bool = False
                    ) -> dict[str, Any]:
        placed: list[Path] = []
        replaced: list[str] = []

        def attach(conn: Connection, record_id: int) -> bool:
            for upload in uploads:
                if upload.field is not None:
                    replaced.extend(self.repository.delete_field(conn, entity, record_id, upload.field))
                name = clean_file_name(upload.name)
                if distinct_names:  # read with the record's row locked: two uploads cannot take one name
                    name = distinct_name(name, self.repository.names_of(conn, entity, record_id))
                key = secrets.token_hex(20)
                self._place(upload.path, key)
                placed.append(self.content_path(key))
                file_id = self.repository.insert(
                    conn, entity=entity, record_id=record_id, field=upload.field, name=name, size=upload.size,
                    mime_type=clean_mime_type(upload.mime_type), storage_key=key, created_at=utcnow(),
                    created_by_id=actor.user_id)
                if created is not None:
                    created.append(file_id)
            return bool(uploads)

        try:
            record = write(attach)
        except BaseException:
            self._unlink(placed)
            raise
        self.remove_content(replaced)
        return record

    def _place(self, staged: Path, key: str) -> None:
        """Make the staged content durable, then move it into place under its storage key."""
        with open(staged, "rb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            os.fsync(handle.fileno())
        self._private_dir(key[:2])
        os.replace(staged, self.content_path(key))

    @staticmethod
    def _unlink(paths: Iterable[Path]) -> None:
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.exception("could not remove %s", path)

    def remove_content(self, storage_keys: Iterable[str]) -> None:
        """Delete file content whose rows are gone (after their transaction committed)."""
        self._unlink(self.content_path(key) for key in storage_keys)

    # --- reads ------------------------------------------------------------------------------------

    def files_of(self, entity: str, record_ids: Iterable[int]) -> dict[int, list[StoredFile]]:
        """The files of records the caller has already read, oldest first."""
        with self.database.connect() as conn:
            rows = self.repository.of_records(conn, entity, record_ids)
        grouped: dict[int, list[StoredFile]] = {}
        for row in rows:
            grouped.setdefault(row.record_id, []).append(_stored(row))
        return grouped

    def record_files(self, actor: Actor, entity: str, record_id: Any) -> list[StoredFile]:
        """The files of one record, if the actor may read the record (NotFound/Forbidden otherwise)."""
        record = self._services(entity).read(actor, record_id)
        return self.files_of(entity, [record["id"]]).get(record["id"], [])

    def open(self, actor: Actor, file_id: int) -> tuple[StoredFile, Path]:
        """A file and its content path, if the actor may read its record. A file the actor may not see is
        NotFound, never Forbidden: its existence is not revealed."""
        with self.database.connect() as conn:
            row = self.repository.get(conn, file_id)
        if row is None:
            raise NotFound("File not found.")
        stored = _stored(row)
        try:
            self._services(stored.entity).read(actor, stored.record_id)
        except (Forbidden, NotFound):
            raise NotFound("File not found.") from None
        path = self.content_path(stored.storage_key)
        if not path.is_file():
            log.error("content of file %s is missing at %s", stored.id, path)
            raise NotFound("File not found.")
        return stored, path
