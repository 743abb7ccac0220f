"""Record services: create, read, update, delete and search records of one entity type (relations:
core/relations.py; searching: core/record_search.py; mass actions: core/mass_actions.py).

Every operation runs in one transaction, checks access for the actor (core/access.py: what may be read,
changed, linked and named), and leaves nothing half-written when it fails. A write reads the record it
changes with its row locked (PostgreSQL), so concurrent writers of one record take turns: a version check,
a link set replaced, a counter increased are never decided on a value another transaction is changing.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.access import RecordAccess
from polycrm.core.activities import TASK_ENTITY, TaskRules
from polycrm.core.assembly import RecordAssembler
from polycrm.core.billables import BILLABLE_ENTITY, ITEM_ENTITY, PARENTS, ItemRules, ParentAmount, PartsFollow
from polycrm.core.currency import AmountFields, CurrencyService
from polycrm.core.deals import DEAL_ENTITY, DealRules
from polycrm.core.errors import DuplicateFound, Forbidden, NotFound, VersionConflict
from polycrm.core.follows import ActorSource, AutoFollow
from polycrm.core.linker import Linker
from polycrm.core.mass_actions import MassActions
from polycrm.core.record_search import RecordSearch
from polycrm.core.search import check_filter_values
from polycrm.core.stream import StreamWriter
from polycrm.core.summaries import SummaryFields
from polycrm.core.tickets import TICKET_ENTITY, TicketService, number_counter
from polycrm.core.users import RIGHTS_ENTITIES, WRITE_GUARDS
from polycrm.core.values import ParsedInput, RecordInput, parse_id
from polycrm.core.vault import SecretFields, refuse_secret_terms
from polycrm.events.outbox import Outbox
from polycrm.meta import FOLLOWERS, Entity, ValueKind
from polycrm.query.tree import Compare, Node, Not, Op, Sort, conjunction
from polycrm.store.database import Database, utcnow
from polycrm.store.follows import FollowRepository
from polycrm.store.notes import NoteRepository
from polycrm.store.records import ContactPoint, RecordRepository

# Read-only view data EspoCRM leaves out of lists unless selected (specs/espocrm.md §2.2), besides contact
# data and the follower attributes (`isFollowed`, `followersIds`, `followersNames`).
LIST_EXCLUDED_KINDS = (ValueKind.ID_LIST, ValueKind.NAME_MAP, ValueKind.COLUMN_MAP)
# Work done inside a create or update transaction with the record's id; returns whether it changed anything.
Attach = Callable[[Connection, int], bool]
Services = Callable[[str], "RecordService"]


class RecordService(RecordSearch, MassActions):
    """Operations on the records of one entity type."""

    def __init__(self, database: Database, entity: Entity, actors: ActorSource, services: Services,
                 currency: CurrencyService, tickets: TicketService, *,
                 users_changed: Callable[[], None] = lambda: None, secrets: SecretFields | None = None):
        self.database = database
        self.entity = entity
        self.actors = actors
        self.services = services  # other entity types' services (relating changes the records of some)
        self.repository = RecordRepository(database, entity)
        self._repositories: dict[str, RecordRepository] = {entity.name: self.repository}
        self.access = RecordAccess(database.registry, self._repository_of)
        self.assembler = RecordAssembler(entity, self.repository, self._repository_of, self.access)
        guard = WRITE_GUARDS.get(entity.name)
        self.guard = guard(database, self.repository) if guard is not None else None
        self._rights_changed = users_changed if entity.name in RIGHTS_ENTITIES else None
        self.auto_follow = (AutoFollow(entity, actors, FollowRepository(database, entity.name)) if entity.stream
                            else None)
        self.outbox = Outbox(database)
        self.stream = StreamWriter(entity, NoteRepository(database), self._repository_of) if entity.stream else None
        self.input = RecordInput(entity)
        self.amounts = AmountFields(entity)
        self.currency = currency  # the core's: one per store
        self.secrets = secrets  # encrypts the entity's secret fields as they are written (core.vault)
        self._belongs_to = self.assembler.belongs_to
        self._column_fields = self.assembler.column_fields
        self.linker = Linker(database, entity, self.repository, self._repository_of, self.access, self.input,
                             services, self._column_fields)
        numbered = "number" in entity.fields and entity.fields["number"].type == "autoincrement"
        self._counter = number_counter(entity.name) if numbered else None
        # New tickets get the current ticket prefix when given none (core/tickets.py).
        self._tickets = tickets if entity.name == TICKET_ENTITY else None
        # Values an entity's writes keep consistent: a deal's stage, status and pipeline (core/deals.py), a
        # task's completion time and activity type (core/activities.py).
        rules = {DEAL_ENTITY: DealRules, TASK_ENTITY: TaskRules, ITEM_ENTITY: ItemRules}.get(entity.name)
        self._rules = rules(entity, self._repository_of) if rules is not None else None
        # A deal's or document's amount is its line items' total; writes of the items and their tax type
        # make it so (core/billables.py).
        self._amount = ParentAmount(entity, self._repository_of) if entity.name in PARENTS else None
        self._parts = PartsFollow(entity, services) if entity.name in (ITEM_ENTITY, BILLABLE_ENTITY) else None
        self._summaries = SummaryFields(entity)  # names made from text (core/summaries.py)
        self._defaults = [(f.name, self.input.convert(entity.attributes[f.name], f, f.params["default"]))
                          for f in entity.fields.values()
                          if f.params.get("default") is not None and f.name in entity.attributes]
        # Looked up on every list: computed once.
        self._default_list_attributes = frozenset(
            name for name, a in entity.attributes.items()
            if a.kind not in LIST_EXCLUDED_KINDS and not name.endswith("Data") and name != "deleted"
            and a.field != FOLLOWERS)
        self._derived_from = {a.name: frozenset(b.name for b in entity.attributes.values()
                                                if b.field == a.field and b.column is not None)
                              for a in entity.attributes.values() if a.column is None}
        self._derived_fields = [f for f in entity.fields.values()
                                if f.type in {"personName", "datetimeOptional"}]
        self._creation_times = [key for key in ("createdAt", "modifiedAt") if key in entity.attributes]
        self._creators = [key for key in ("createdById", "modifiedById") if key in entity.attributes]

    # --- access -----------------------------------------------------------------------------------

    def require_scope(self, actor: Actor, action: str) -> None:
        if not actor.can(self.entity.name, action):
            raise Forbidden(f"No {action} access.")

    def allows(self, conn: Connection, actor: Actor, action: str, record: dict[str, Any]) -> bool:
        """Whether the actor may `action` (read/edit/delete) this stored record."""
        return self.access.permits(conn, actor, self.entity, action, record)

    def permitted(self, actor: Actor, action: str, records: Sequence[dict[str, Any]]) -> list[bool]:
        """For each record read (its owner attribute included), whether the actor may `action` it; a
        connection only for the team level (a record's teams)."""
        level = actor.level(self.entity.name, action)
        if level in ("all", "no") or not records:
            return [level == "all"] * len(records)
        with self.database.connect() as conn:
            return [self.allows(conn, actor, action, record) for record in records]

    def check_record(self, conn: Connection, actor: Actor, action: str, record: dict[str, Any]) -> None:
        if not self.allows(conn, actor, action, record):
            raise Forbidden(f"No {action} access.")

    def load_record(self, conn: Connection, record_id: Any, *, not_found: str, with_names: bool = False,
                    lock: bool = False) -> dict[str, Any]:
        """The stored record (with belongsTo names joined in when asked), or NotFound; `lock` holds its row
        until the transaction ends (a write reads what it changes so)."""
        parsed = parse_id(record_id)
        record = None
        if parsed is not None:
            rows = self.repository.fetch_rows(conn, Compare("id", Op.EQ, parsed), lock=lock,
                                              name_links=self._belongs_to if with_names else ())
            record = rows[0] if rows else None
        if record is None:
            raise NotFound(not_found.format(id=record_id))
        return record

    def visible_condition(self, actor: Actor, where: Node, action: str = "read") -> Node:
        """A client's filter limited to the records the actor may `action`, its conditions on related
        records to the related records the actor may read."""
        check_filter_values(where)
        refuse_secret_terms(self.database.registry, self.entity, where)
        return conjunction([self.access.condition(actor, self.entity.name, action),
                            self.access.restrict(actor, self.entity, where)])

    # --- read -------------------------------------------------------------------------------------

    def read(self, actor: Actor, record_id: Any) -> dict[str, Any]:
        return self.read_related(actor, record_id, ())[0]

    def read_related(self, actor: Actor, record_id: Any, link_names: Iterable[str]
                     ) -> tuple[dict[str, Any], dict[str, list[int]]]:
        """A record and, by link name, the ids of the live records related to it through those links, in
        one statement (a Concord record shows its associations). The ids are not limited by access, as
        `RelationService.related_ids`; what is shown of them is the caller's to limit."""
        self.require_scope(actor, "read")
        links = [self.entity.links[name] for name in link_names]
        with self.database.connect() as conn:
            record, related = self.assembler.load(conn, record_id, actor, links)
            self.check_record(conn, actor, "read", record)
            return record, related

    def read_without_acl(self, record_id: Any, viewer: Actor | None = None) -> dict[str, Any]:
        """A full record for trusted internal callers (event payloads, the answer to a write); with `viewer`,
        as that user reads it (whether they follow it, names of what they may not read blanked)."""
        with self.database.connect() as conn:
            return self.assembler.load(conn, record_id, viewer)[0]

    def complete_snapshots(self, records: list[dict[str, Any]], wanted: set[str] | None,
                           viewer: Actor | None = None) -> list[dict[str, Any]]:
        """Saved values (an event's) with their derived attributes computed now: names, id lists, contact
        data. All records must have the same keys; `wanted` None means every attribute (a full record);
        with `viewer`, names of records they may not read are blanked."""
        with self.database.connect() as conn:
            return self.assembler.complete(conn, [dict(r) for r in records], full=wanted is None, wanted=wanted,
                                           viewer=viewer)

    def readable_ids(self, actor: Actor, ids: Iterable[int]) -> set[int]:
        """Of the given ids, those of records the actor may read, live or deleted: whom an event about a
        record may reach (a delete tells of a record as it was)."""
        with self.database.connect() as conn:
            return self.access.visible_ids(conn, actor, self.entity.name, ids, deleted=None)

    def _repository_of(self, entity_name: str) -> RecordRepository:
        repository = self._repositories.get(entity_name)
        if repository is None:
            repository = RecordRepository(self.database, self.database.registry.entity(entity_name))
            self._repositories[entity_name] = repository
        return repository

    # --- create -----------------------------------------------------------------------------------

    def create(self, actor: Actor, data: dict[str, Any], *, skip_duplicate_check: bool = False,
               attach: Attach | None = None) -> dict[str, Any]:
        """Create a record; `attach` runs in the same transaction with the new id (files, for one)."""
        self.require_scope(actor, "create")
        parsed = self.input.parse(data, creating=True)
        values = self.prepare_new(actor, parsed)
        if not skip_duplicate_check and self.entity.duplicate_check_fields:
            # Before the write transaction, as EspoCRM checks: a guard against entering someone twice, not a
            # uniqueness constraint, so SQLite's one writer need not wait for its queries.
            with self.database.connect() as conn:
                duplicates = self.find_duplicates(conn, actor, values, parsed.contact_points)
            if duplicates:
                raise DuplicateFound(duplicates)
        with self.database.transaction() as conn:
            record_id = self.insert_parsed(conn, actor, parsed, values)
            if attach is not None:
                attach(conn, record_id)
        # Read after the commit: the write transaction (SQLite's one writer at a time) stays short.
        return self.read_without_acl(record_id, actor)

    def create_within(self, conn: Connection, actor: Actor, data: dict[str, Any], *,
                      waived: frozenset[str] = frozenset()) -> dict[str, Any]:
        """Create a record inside the caller's transaction (a record and its parts written together, e.g. an
        asset and its network interface); no duplicate check. `waived`: required fields the calling protocol
        does not require. Returns the values stored, its id and number included."""
        self.require_scope(actor, "create")
        parsed = self.input.parse(data, creating=True)
        values = self.prepare_new(actor, parsed, waived=waived)
        values["id"] = self.insert_parsed(conn, actor, parsed, values)
        return values

    def update_within(self, conn: Connection, actor: Actor, record_id: Any, data: dict[str, Any], *,
                      waived: frozenset[str] = frozenset()) -> bool:
        """Update a record inside the caller's transaction; whether anything of it changed. Users' rights
        caches are not refreshed (`committed`): not for records that carry rights."""
        self.require_scope(actor, "edit")
        self._hold_currencies_for(conn, data)
        self._lock_parent(conn, record_id)
        current = self.load_record(conn, record_id, not_found="Record {id} not found.", lock=True)
        self.check_record(conn, actor, "edit", current)
        self.apply_update(conn, actor, current, self.input.parse(data, creating=False), waived=waived)
        stored = self.repository.fetch(conn, current["id"], ["versionNumber"])
        return stored is not None and stored.get("versionNumber") != current.get("versionNumber")

    def prepare_new(self, actor: Actor, parsed: ParsedInput, now: datetime | None = None, *,
                    waived: frozenset[str] = frozenset()) -> dict[str, Any]:
        """A new record's values: the parsed ones, defaults, creation stamps (at `now`, or the current second:
        a mass create stamps its records alike) and derived values; ValidationFailure if a required one is
        missing, Forbidden if a non-administrator sets an administrators' field. Its kept links join
        `parsed.links` (`_keep_new`)."""
        self.linker.keep_new(parsed)
        values = dict(parsed.values)
        for name, default in self._defaults:
            if name not in values:
                values[name] = list(default) if isinstance(default, list) else default  # never shared
        if not actor.is_admin:
            defaults = dict(self._defaults)
            self.input.check_admin_only({name: value for name, value in values.items() if defaults.get(name) != value},
                                   [field for field, ids in parsed.links.items() if ids])
        stamp = now or utcnow()
        for key in self._creation_times:
            values[key] = stamp
        for key in self._creators:
            values[key] = actor.user_id
        assigned = self.entity.fields.get("assignedUser")
        if assigned is not None and values.get("assignedUserId") is None and (
                assigned.required or (not actor.is_admin and actor.user_type != "api")):
            # EspoCRM's UI assigns new records to their creator; the API gets the same default.
            values["assignedUserId"] = actor.user_id
        values["versionNumber"] = 1
        self._derive(values, parsed.links, stamp)
        self._summaries.fill(values, parsed.values)
        missing = self.input.required_missing(values | {f"{k}Ids": v for k, v in parsed.links.items()}, waived)
        if missing is not None:
            raise self.input.fail(missing, "required")
        return values

    def insert_parsed(self, conn: Connection, actor: Actor, parsed: ParsedInput,
                      values: dict[str, Any] | None = None) -> int:
        """Insert a parsed new record (its `prepare_new` values, when already made) with its relations and
        create event; no duplicate check."""
        if values is None:
            values = self.prepare_new(actor, parsed)
        if self.amounts:
            self.amounts.settle(values, self.currency.hold(conn), self.input.fail)
        self.linker.check_references(conn, actor, {k: values[k] for k in parsed.values}, parsed.links)
        if self.secrets is not None:
            self.secrets.seal_new(conn, values, utcnow())
        if self._counter is not None:
            values["number"] = self.database.next_value(conn, self._counter)
        self._complete_new(conn, [(values, parsed)])
        record_id = self.repository.insert(conn, values)
        self.linker.write_new(conn, actor, [(record_id, parsed)])
        self._follow_new(conn, actor, [(record_id, values, parsed)])
        if self.stream is not None:
            self.stream.created(conn, actor, [(record_id, values)])
        self.outbox.created(conn, self.entity.name, actor.user_id, [record_id], [self._saved(values, parsed)])
        self._after_insert(conn, actor, [(record_id, values)])
        return record_id

    def _after_insert(self, conn: Connection, actor: Actor, created: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """What new records change in others, in their transaction: a new default takes the mark from the
        others (`oneDefault`); a line item or tax type reprices its deal or document (core/billables.py)."""
        flag = self.entity.one_default
        defaults = [record_id for record_id, values in created if flag is not None and values.get(flag)]
        if defaults:
            self._take_default(conn, actor, defaults[-1])  # of several new defaults, the last one made
        if self._parts is not None:
            for record_id, values in created:
                self._parts.changed(conn, actor, None, values | {"id": record_id})

    def _complete_new(self, conn: Connection, new: Sequence[tuple[dict[str, Any], ParsedInput]]) -> None:
        """What new records' values get in their write transaction: deals and tasks what their rules imply,
        new tickets without a number prefix the current one."""
        if self._rules is not None:
            for values, parsed in new:
                self._rules.complete(conn, {}, values, parsed.values, values.get("createdAt") or utcnow())
        if self._tickets is None:
            return
        prefix = None
        for values, _ in new:
            if values.get("numberPrefix") is None:
                prefix = self._tickets.prefix(conn) if prefix is None else prefix
                values["numberPrefix"] = prefix

    def _saved(self, values: dict[str, Any], parsed: ParsedInput) -> dict[str, Any]:
        """A new record's values as saved, link sets (and their junction column values) included: what its
        create event carries."""
        saved = values | {f"{field}Ids": ids for field, ids in parsed.links.items()}
        for field, ids in parsed.links.items():
            if field in self._column_fields:
                link, given = self.entity.links[field], parsed.link_columns.get(field, {})
                saved[f"{field}Columns"] = {i: link.new_row(given.get(i, {})) for i in ids}
        return saved

    def _follow_new(self, conn: Connection, actor: Actor, created: Sequence[tuple[int, dict[str, Any], ParsedInput]]
                    ) -> None:
        """The follows EspoCRM makes when records of an entity with a stream are created (AutoFollow)."""
        if self.auto_follow is not None:
            self.auto_follow.created(conn, actor, [(record_id, values, parsed.links.get("teams", []))
                                                   for record_id, values, parsed in created])

    def _derive(self, values: dict[str, Any], links: dict[str, list[int]], now: datetime) -> None:
        """Values computed from others: person name, all-day dates, email subject; `now` is the write's time
        (a lead's conversion time when its status becomes Converted). Amounts are settled in the write
        transaction (`AmountFields`)."""
        for field in self._derived_fields:
            if field.type == "personName" and ("firstName" in values or "lastName" in values):
                full = " ".join(p for p in (values.get("firstName"), values.get("lastName")) if p)
                values[field.name] = full or None
            elif field.type == "datetimeOptional" and isinstance(values.get(f"{field.name}Date"), date):
                day = values[f"{field.name}Date"]
                if field.name == "dateEnd" and "dateEnd" in self.entity.fields:
                    day = date.fromordinal(day.toordinal() + 1)
                values[field.name] = datetime.combine(day, time())
        if self.entity.name == "Email":
            if values.get("name") is None and values.get("subject") is not None:
                values["name"] = values["subject"]
            if values.get("subject") is None and values.get("name") is not None:
                values["subject"] = values["name"]
        if self.entity.name == "Lead" and values.get("status") == "Converted" and not values.get("convertedAt"):
            values["convertedAt"] = now

    def find_duplicates(self, conn: Connection, actor: Actor, values: dict[str, Any],
                        contact_points: dict[str, list[ContactPoint]], limit: int = 5) -> list[dict[str, Any]]:
        """Records the new one would duplicate (EspoCRM's duplicateCheckFieldList, OR-ed), among those the
        actor may read: one they may not read neither blocks the create nor shows in the answer."""
        conditions: list[Node] = []
        for name in self.entity.duplicate_check_fields:
            field = self.entity.fields.get(name)
            if field is None:
                continue
            if field.type == "personName":
                if values.get("firstName") is not None or values.get("lastName") is not None:
                    conditions.append(conjunction([Compare("firstName", Op.EQ, values.get("firstName")),
                                                   Compare("lastName", Op.EQ, values.get("lastName"))]))
            elif field.type in {"email", "phone"}:
                addresses = tuple(p.value for p in contact_points.get(name, []))
                if addresses:
                    conditions.append(Compare(name, Op.IN, addresses))
            elif values.get(name) is not None:
                conditions.append(Compare(name, Op.EQ, values[name]))
        readable = self.access.condition(actor, self.entity.name)
        conditions = [conjunction([condition, readable]) for condition in conditions]
        # Ids only: there usually is no duplicate, and the whole records are read only when there is.
        found = self.repository.ids_matching_each(conn, conditions, limit)
        if not found:
            return []
        rows = self.repository.fetch_rows(conn, Compare("id", Op.IN, tuple(sorted(found)[:limit])),
                                          sorts=[Sort("id")], name_links=self._belongs_to)
        return self.assembler.complete(conn, rows, full=False, wanted=self.list_attributes(None, []), viewer=actor)

    # --- update -----------------------------------------------------------------------------------

    def update(self, actor: Actor, record_id: Any, data: dict[str, Any], *,
               expected_version: int | None = None, attach: Attach | None = None) -> tuple[dict[str, Any], bool]:
        """Partial update; returns the record and whether a many-valued link changed. `attach` runs in the
        same transaction; when it reports a change, the record counts as modified even if no field did.
        The version is compared with the record's row locked: of writers sending the same version, one
        wins and the others get VersionConflict."""
        self.require_scope(actor, "edit")
        with self.database.transaction() as conn:
            self._hold_currencies_for(conn, data)
            self._lock_parent(conn, record_id)
            current = self.load_record(conn, record_id, not_found="Record {id} not found.", lock=True)
            self.check_record(conn, actor, "edit", current)
            if expected_version is not None and expected_version != current.get("versionNumber"):
                raise VersionConflict({k: v for k, v in current.items() if k in data}, current["versionNumber"])
            parsed = self.input.parse(data, creating=False)
            links_changed = self.apply_update(conn, actor, current, parsed)
            if attach is not None and attach(conn, current["id"]):
                self._touch_if_unchanged(conn, actor, current)
        self.committed()
        return self.read_without_acl(current["id"], actor), links_changed

    def apply_update(self, conn: Connection, actor: Actor, current: dict[str, Any], parsed: ParsedInput,
                     notes: list[dict[str, Any]] | None = None, *, waived: frozenset[str] = frozenset()) -> bool:
        """Write an update of a record read with its row locked, the actor's edit access to it checked;
        its stream notes go into `notes` when given (a mass update writes them at once). Returns whether a
        many-valued link changed."""
        for field in self.entity.fields.values():
            if field.params.get("readOnlyAfterCreate"):
                for attribute in self.entity.attributes.values():
                    if attribute.field == field.name:
                        parsed.values.pop(attribute.name, None)
        now = utcnow()
        if self.secrets is not None:
            self.secrets.seal_changes(conn, current, parsed.values, now)
        merged = dict(current)
        merged.update(parsed.values)
        self._derive(merged, parsed.links, now)
        self._summaries.fill(merged, parsed.values, current)
        if self._rules is not None:
            self._rules.complete(conn, current, merged, parsed.values, now)
        if self._amount is not None:
            self._amount.complete(conn, current, merged)
        if self.amounts.touched(parsed.values):
            self.amounts.settle(merged, self.currency.hold(conn), self.input.fail, parsed.values)
        changed = {k: v for k, v in merged.items() if k in self.entity.attributes and current.get(k) != v}
        if not actor.is_admin:
            self.input.check_admin_only(changed, [])
        if self.guard is not None and hasattr(self.guard, "check_update"):  # some guard only deletes
            self.guard.check_update(conn, actor, current, merged)
        merged_links = {f"{k}Ids": v for k, v in parsed.links.items()}
        missing = self.input.required_missing(merged | merged_links, waived)
        if missing is not None and (missing in parsed.values or any(
                a.field == missing for a in self.entity.attributes.values() if a.name in parsed.values)):
            raise self.input.fail(missing, "required")
        self.linker.check_references(conn, actor, changed, {}, merged)
        link_changes = self.linker.write_changes(conn, actor, current["id"], parsed)
        link_changes.update(self.linker.keep_updated(conn, actor, current, merged, parsed))
        links_changed = bool(link_changes)
        if changed or links_changed or parsed.contact_points:
            event_values = dict(changed) | link_changes
            changed.update(modifiedAt=now, modifiedById=actor.user_id,
                           versionNumber=(current.get("versionNumber") or 0) + 1)
            self.repository.update(conn, current["id"], {k: v for k, v in changed.items()
                                                         if k in self.entity.attributes})
            # After the row write: on PostgreSQL the row lock orders the events of one record by commit.
            self.outbox.updated(conn, self.entity.name, actor.user_id, current["id"], current, event_values)
            if self.auto_follow is not None and "assignedUserId" in changed:
                self.auto_follow.assigned(conn, merged)
            if self.stream is not None:
                self.stream.updated(conn, actor, current, merged, changed, into=notes)
            if self._parts is not None:
                self._parts.changed(conn, actor, current, merged)
            if self.entity.one_default and changed.get(self.entity.one_default):
                self._take_default(conn, actor, current["id"])
        return links_changed

    def _take_default(self, conn: Connection, actor: Actor, record_id: int) -> None:
        """A record made the default takes the mark from the others (definition `oneDefault`), as changes of
        them (stamped, with their events) whichever protocol wrote it."""
        flag = self.entity.one_default
        assert flag is not None
        others = self.repository.matching_ids(conn, conjunction([Compare(flag, Op.EQ, True),
                                                                 Compare("id", Op.NE, record_id)]))
        for other in sorted(others):
            current = self.load_record(conn, other, not_found="Record {id} not found.", lock=True)
            self.apply_update(conn, actor, current, self.input.parse({flag: False}, creating=False))

    def _lock_parent(self, conn: Connection, record_id: Any) -> None:
        """A deal's or document's line (or tax type) is changed with its record locked first (core/billables)."""
        if self._parts is not None:
            self._parts.lock_parent(conn, record_id)

    def _hold_currencies_for(self, conn: Connection, data: dict[str, Any]) -> None:
        """Before an update locks its records: hold the currency settings if it changes amounts (a change of
        the settings locks the records with amounts while holding them; this order cannot deadlock)."""
        if self.amounts.touched(data):
            self.currency.hold(conn)

    def _touch_if_unchanged(self, conn: Connection, actor: Actor, current: dict[str, Any]) -> None:
        """Stamp a record as modified unless this transaction's update already did."""
        stored = self.repository.fetch(conn, current["id"], ["versionNumber"])
        if stored is not None and stored.get("versionNumber") == current.get("versionNumber"):
            self.repository.update(conn, current["id"], dict(self.modification_stamp(actor), versionNumber=(
                current.get("versionNumber") or 0) + 1))

    # --- delete -----------------------------------------------------------------------------------

    def delete(self, actor: Actor, record_id: Any) -> None:
        with self.database.transaction() as conn:
            self.delete_within(conn, actor, record_id)
        self.committed()

    def delete_within(self, conn: Connection, actor: Actor, record_id: Any) -> None:
        """Soft-delete a record inside the caller's transaction."""
        self.require_scope(actor, "delete")
        self._lock_parent(conn, record_id)
        current = self.load_record(conn, record_id, not_found="Record {id} not found.", lock=True)
        self.check_record(conn, actor, "delete", current)
        if self.guard is not None:
            self.guard.check_delete(conn, actor, [current])
        self.repository.soft_delete(conn, [current["id"]], self.modification_stamp(actor))
        self.outbox.deleted(conn, self.entity.name, actor.user_id, [current["id"]])
        if self._parts is not None:
            self._parts.changed(conn, actor, current, None)

    def committed(self) -> None:
        """After a write to this type's records committed: drop cached user rights if they may have changed."""
        if self._rights_changed is not None:
            self._rights_changed()

    def modification_stamp(self, actor: Actor) -> dict[str, Any]:
        """modifiedAt (now) and modifiedById (the actor), of those the entity has."""
        stamp: dict[str, Any] = {}
        if "modifiedAt" in self.entity.attributes:
            stamp["modifiedAt"] = utcnow()
        if "modifiedById" in self.entity.attributes:
            stamp["modifiedById"] = actor.user_id
        return stamp

    def value_taken(self, field: str, value: Any, *, excluding: int | None = None) -> bool:
        """Whether a live record other than `excluding` holds `value` in `field` (any of its addresses for an
        email or phone field), whoever may read it: a protocol's uniqueness rule (Concord's contact e-mail)."""
        condition = conjunction([Compare(field, Op.EQ, value)] +
                                ([Not(Compare("id", Op.EQ, excluding))] if excluding is not None else []))
        with self.database.connect() as conn:
            return bool(self.repository.fetch_rows(conn, condition, attributes=["id"], limit=1))
