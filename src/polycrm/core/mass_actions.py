"""Mass create, update and delete (and the record lookup that mass follow and relate share): all or nothing
in one transaction, capped at MASS_CREATE_LIMIT new and MASS_ACTION_LIMIT changed records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.errors import BadRequest, Forbidden
from polycrm.core.values import parse_id
from polycrm.store.database import utcnow
from polycrm.query.tree import Compare, Node, Op, Sort

if TYPE_CHECKING:
    from polycrm.core.records import RecordService

# Records one mass update, delete, follow or relate may change: all or nothing in one transaction, which on
# SQLite holds the only write lock; beyond this, send ids in batches (see README, "Mass actions").
MASS_ACTION_LIMIT = 2_000
MASS_CREATE_LIMIT = 10_000


class MassActions:
    """The mass half of `RecordService` (its base: it works through the service's repository, access and
    update path)."""

    def create_many(self: RecordService, actor: Actor, items: Sequence[Any]) -> list[int]:
        """Create many records in one transaction: all or nothing. Duplicate checks are not run."""
        self.require_scope(actor, "create")
        if not items:
            raise BadRequest("No records given.")
        if len(items) > MASS_CREATE_LIMIT:
            raise BadRequest(f"At most {MASS_CREATE_LIMIT} records per request.")
        prepared = []
        now = utcnow()
        for item in items:
            if not isinstance(item, dict):
                raise BadRequest("Each record must be an object.")
            parsed = self.input.parse(item, creating=True)
            prepared.append((self.prepare_new(actor, parsed, now), parsed))
        # All that needs no ids is done before the transaction: SQLite has one writer at a time.
        wanted = self.linker.linked_ids(({k: values[k] for k in parsed.values}, parsed.links, values)
                                  for values, parsed in prepared)
        with self.database.transaction() as conn:
            if self.amounts:
                currencies = self.currency.hold(conn)
                for values, _ in prepared:
                    self.amounts.settle(values, currencies, self.input.fail)
            if self.secrets is not None:
                for values, _ in prepared:
                    self.secrets.seal_new(conn, values, now)
            self._complete_new(conn, prepared)
            rows = self.repository.new_rows([values for values, _ in prepared])
            self.linker.check_linked(conn, actor, wanted)
            late: dict[str, list[int]] = {}
            if self._counter is not None:
                late["number"] = self.database.next_values(conn, self._counter, len(prepared))
            ids = self.repository.insert_rows(conn, rows, late)
            self.linker.write_new(conn, actor, [(record_id, parsed) for record_id, (_, parsed)
                                                    in zip(ids, prepared)])
            self._follow_new(conn, actor, [(record_id, values, parsed) for record_id, (values, parsed)
                                           in zip(ids, prepared)])
            if self.stream is not None:
                self.stream.created(conn, actor, [(record_id, values) for record_id, (values, _) in zip(ids, prepared)])
            self.outbox.created(conn, self.entity.name, actor.user_id, ids,
                                (self._saved(values, parsed) for values, parsed in prepared), late)
            self._after_insert(conn, actor, [(record_id, values) for record_id, (values, _) in zip(ids, prepared)])
        return ids

    def matching_ids(self: RecordService, actor: Actor, where: Node, action: str) -> list[int]:
        """Ids of the records matching a client's `where` that the actor may `action`; BadRequest beyond
        MASS_ACTION_LIMIT of them."""
        condition = self.visible_condition(actor, where, action)
        with self.database.connect() as conn:
            rows = self.repository.fetch_rows(conn, condition, attributes=["id"], sorts=[Sort("id")],
                                              limit=MASS_ACTION_LIMIT + 1)
        return self._capped([r["id"] for r in rows])

    @staticmethod
    def _capped(ids: list[int]) -> list[int]:
        if len(ids) > MASS_ACTION_LIMIT:
            raise BadRequest(f"A mass action takes at most {MASS_ACTION_LIMIT} records: narrow the criteria or "
                             "send ids in batches.")
        return ids

    def records_for_mass_action(self: RecordService, conn: Connection, actor: Actor, ids: Sequence[Any],
                                action: str) -> list[dict[str, Any]]:
        """The live records among `ids` (unknown ids are skipped), their rows locked; Forbidden if any is
        not the actor's to `action`, so a mass action is all or nothing."""
        wanted = self._capped(list(dict.fromkeys(i for i in (parse_id(x) for x in ids) if i is not None)))
        if not wanted:
            return []
        rows = {row["id"]: row for row in self.repository.fetch_rows(
            conn, Compare("id", Op.IN, tuple(sorted(wanted))), lock=True)}
        if len(self.access.visible_ids(conn, actor, self.entity.name, rows, action)) < len(rows):
            raise Forbidden(f"No {action} access.")
        return [rows[i] for i in wanted if i in rows]

    def mass_update(self: RecordService, actor: Actor, ids: Sequence[Any], data: dict[str, Any]) -> list[int]:
        """Update many records in one transaction (all or nothing); returns the ids updated."""
        self.require_scope(actor, "edit")
        if not actor.is_admin and not actor.mass_update:
            raise Forbidden("No mass-update permission.")
        with self.database.transaction() as conn:
            self._hold_currencies_for(conn, data)
            records = self.records_for_mass_action(conn, actor, ids, "edit")
            notes: list[dict[str, Any]] = []
            for current in records:
                self.apply_update(conn, actor, current, self.input.parse(data, creating=False), notes)
            if self.stream is not None:
                self.stream.write(conn, notes)
        self.committed()
        return [r["id"] for r in records]

    def mass_delete(self: RecordService, actor: Actor, ids: Sequence[Any]) -> list[int]:
        """Soft-delete many records in one transaction (all or nothing); returns the ids deleted."""
        self.require_scope(actor, "delete")
        with self.database.transaction() as conn:
            records = self.records_for_mass_action(conn, actor, ids, "delete")
            if self.guard is not None and records:
                self.guard.check_delete(conn, actor, records)
            deleted = [r["id"] for r in records]
            if deleted:
                self.repository.soft_delete(conn, deleted, self.modification_stamp(actor))
                self.outbox.deleted(conn, self.entity.name, actor.user_id, deleted)
                if self._parts is not None:
                    for record in records:
                        self._parts.changed(conn, actor, record, None)
        self.committed()
        return deleted
