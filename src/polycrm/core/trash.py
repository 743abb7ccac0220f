"""The trash: soft-deleted records of one entity type, listed, read, restored or deleted for good.

Deletes are soft everywhere (core.records), so every deleted record is in the trash until it is restored,
destroyed here, or purged by an operator (core.purge). Access follows the record service's rules: an
actor lists and reads the deleted records they may read, and restores or destroys those they may delete
(restoring undoes a delete; no one may delete more than they may read, auth.acl). Restoring brings back the
record alone, with its id, values, relations, email addresses, phone numbers and files as they were:
nothing was removed with it. Links to records that are still deleted stay hidden, as every read hides them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.assembly import RecordAssembler
from polycrm.core.errors import Conflict, NotFound
from polycrm.core.records import RecordService
from polycrm.core.search import SearchQuery, SearchResult
from polycrm.core.users import LIVE_UNIQUE_ATTRIBUTES
from polycrm.core.values import parse_id
from polycrm.query.tree import Compare, Op, Sort, conjunction
from polycrm.store.purge import purge_records
from polycrm.store.records import RecordRepository

# Records one transaction of `empty` destroys: each batch commits on its own, so SQLite's one writer is
# not held for a whole trash at once (the purge's statement chunk).
EMPTY_BATCH = 500
# Removes file content by storage key, after the rows naming it are gone for good (FileService.remove_content).
RemoveFiles = Callable[[Iterable[str]], None]


class TrashService:
    """The soft-deleted records of one entity type, under the access rules of its record service."""

    def __init__(self, records: RecordService, remove_files: RemoveFiles):
        self.records = records
        self.entity = records.entity
        self.database = records.database
        self.repository = RecordRepository(records.database, records.entity, deleted=True)
        # Completes deleted rows as reads complete live ones: the names and sets they show are of live records.
        self.assembler = RecordAssembler(records.entity, self.repository, records.assembler.repositories,
                                         records.access)
        self._remove_files = remove_files

    # --- reads ------------------------------------------------------------------------------------

    def search(self, actor: Actor, query: SearchQuery) -> SearchResult:
        """The deleted records matching `query` that the actor may read, with RecordService.search's
        semantics (filter, sorts, paging, selected attributes, total); Forbidden without read access."""
        self.records.require_scope(actor, "read")
        return self.records.search_visible(actor, query, assembler=self.assembler)

    def read(self, actor: Actor, record_id: Any) -> dict[str, Any]:
        """A deleted record with every attribute, as RecordService.read gives a live one; NotFound if no
        deleted record has this id (a live one included), Forbidden if the actor may not read it."""
        self.records.require_scope(actor, "read")
        with self.database.connect() as conn:
            record = self.assembler.load(conn, record_id, actor)[0]
            self.records.check_record(conn, actor, "read", record)
            return record

    # --- writes -----------------------------------------------------------------------------------

    def restore(self, actor: Actor, record_id: Any) -> dict[str, Any]:
        """Make a deleted record live again, with its id; returns it as RecordService.read would. Stamped
        as modified (versionNumber increased) and announced by a create event: to webhook subscribers, who
        were told of its delete, the record appears again whole. NotFound unless the id names a deleted
        record; Forbidden unless the actor may delete it; Conflict if a live record now holds a value that
        must be unique among live ones (a user name)."""
        self.records.require_scope(actor, "delete")
        with self.database.transaction() as conn:
            current = self._load_locked(conn, record_id)
            self.records.check_record(conn, actor, "delete", current)
            self._check_unique(conn, current)
            stamp = self.records.modification_stamp(actor)
            stamp["versionNumber"] = (current.get("versionNumber") or 0) + 1
            self.records.repository.update(conn, current["id"], dict(stamp, deleted=False))
            saved = {k: v for k, v in (current | stamp).items() if k in self.entity.attributes}
            self.records.outbox.created(conn, self.entity.name, actor.user_id, [current["id"]], [saved])
        self.records.committed()
        return self.records.read_without_acl(current["id"], actor)

    def destroy(self, actor: Actor, record_id: Any) -> None:
        """Delete a deleted record for good, with its relations, email addresses, phone numbers, stream and
        files; references to it from other records are cleared (store.purge). NotFound unless the id names a
        deleted record (a live record is never destroyed here); Forbidden unless the actor may delete it."""
        self.records.require_scope(actor, "delete")
        with self.database.transaction() as conn:
            current = self._load_locked(conn, record_id)
            self.records.check_record(conn, actor, "delete", current)
            keys = purge_records(conn, self.database, self.entity, [current["id"]])
        self._destroyed(keys)

    def empty(self, actor: Actor) -> int:
        """Destroy every deleted record of the type the actor may delete (as `destroy` does); returns how
        many. Done in batches of EMPTY_BATCH, each its own transaction: each record goes whole, but a failure
        midway leaves the later batches in the trash. Forbidden without delete access."""
        self.records.require_scope(actor, "delete")
        deletable = self.records.access.condition(actor, self.entity.name, "delete")
        destroyed = 0
        while True:
            with self.database.transaction() as conn:
                page = [row["id"] for row in self.repository.fetch_rows(
                    conn, deletable, attributes=["id"], sorts=[Sort("id")], limit=EMPTY_BATCH)]
                if not page:
                    return destroyed
                # Locked, and so checked again: a record restored meanwhile is live, and stays.
                ids = [row["id"] for row in self.repository.fetch_rows(
                    conn, conjunction([Compare("id", Op.IN, tuple(page)), deletable]), attributes=["id"], lock=True)]
                keys = purge_records(conn, self.database, self.entity, ids)
            self._destroyed(keys)
            destroyed += len(ids)
            if len(page) < EMPTY_BATCH:
                return destroyed

    # --- helpers ----------------------------------------------------------------------------------

    def _load_locked(self, conn: Connection, record_id: Any) -> dict[str, Any]:
        """The deleted record's stored values, its row locked until the transaction ends (on PostgreSQL a
        concurrent restore or destroy waits, then finds the record no longer deleted, or gone); or NotFound."""
        parsed = parse_id(record_id)
        rows = [] if parsed is None else self.repository.fetch_rows(conn, Compare("id", Op.EQ, parsed), lock=True)
        if not rows:
            raise NotFound(f"Record {record_id} is not in the trash.")
        return rows[0]

    def _check_unique(self, conn: Connection, record: dict[str, Any]) -> None:
        """Conflict if a live record holds one of the record's values that live records may not share."""
        for name in LIVE_UNIQUE_ATTRIBUTES.get(self.entity.name, ()):
            value = record.get(name)
            if value is not None and self.records.repository.fetch_rows(
                    conn, Compare(name, Op.EQ, value), attributes=["id"], limit=1):
                raise Conflict(f"{self.entity.name} {record['id']} cannot be restored: another record has its "
                               f"{name} now.")

    def _destroyed(self, keys: list[str]) -> None:
        """After records were destroyed and committed: their files' content goes; cached rights may change."""
        if keys:
            self._remove_files(keys)
        self.records.committed()
