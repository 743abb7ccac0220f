"""A record's links to other records, and its email addresses and phone numbers, inside its create or
update: checking that what it links to exists and may be linked (`core.access`), and writing link sets,
the links EspoCRM keeps in step (a contact's account among its accounts) and links kept on the related
records, which are updates of those records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor, is_own
from polycrm.core.access import RecordAccess
from polycrm.core.errors import Forbidden, NotFound
from polycrm.core.values import ParsedInput, RecordInput
from polycrm.meta import Entity, LinkStorage, ValueKind
from polycrm.meta.model import Link
from polycrm.query.tree import TRUE, Compare, Op
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository, existing_ids_among

if TYPE_CHECKING:  # the record services own a Linker, and relating changes other types' records
    from polycrm.core.records import RecordService

# Links kept on the related records (their belongsTo or parent column): relating changes those records.
FOREIGN_STORED = (LinkStorage.REVERSE_COLUMN, LinkStorage.CHILDREN)


class Linker:
    """Checks and writes the links of one entity type's records."""

    def __init__(self, database: Database, entity: Entity, repository: RecordRepository,
                 repositories: Callable[[str], RecordRepository], access: RecordAccess, input_: RecordInput,
                 services: Callable[[str], "RecordService"], column_fields: frozenset[str]):
        self.database = database
        self.entity = entity
        self.repository = repository
        self.repositories = repositories
        self.access = access
        self.input = input_
        self.services = services
        self._column_fields = column_fields
        self._contact_fields = [f.name for f in entity.fields.values() if f.type in {"email", "phone"}]
        self._references = [(a.name, entity.fields[a.field]) for a in entity.attributes.values()
                            if a.kind is ValueKind.ID and a.name != "id" and a.field in entity.fields]
        # belongsTo links kept among a many-to-many link's records (`Entity.kept_links`): (id attribute, the
        # many-to-many field, the attributes written to that row as (attribute, junction column)).
        self._kept_links = [(f"{name}Id", many, tuple(
            (attribute, source.column) for attribute, source in entity.primary_row_columns.items()
            if source.through == name and source.link == many and entity.attributes[attribute].writable))
            for name, many in entity.kept_links.items()]

    # --- checks -----------------------------------------------------------------------------------

    def check_references(self, conn: Connection, actor: Actor, values: dict[str, Any],
                          links: dict[str, list[int]], record: dict[str, Any] | None = None) -> None:
        self.check_linked(conn, actor, self.linked_ids([(values, links, record or values)]))

    def linked_ids(self, items: Iterable[tuple[dict[str, Any], dict[str, list[int]], dict[str, Any]]]
                   ) -> dict[str, dict[int, str]]:
        """The linked ids of records, as target entity -> id -> field to blame; each item is (changed values,
        changed link sets, the whole record for parent types). Links kept on the related records are left
        to `relate_foreign`, which checks them as it changes them. Needs no connection: a batch gathers
        them before its write transaction."""
        wanted: dict[str, dict[int, str]] = {}
        for values, links, record in items:
            for name, field in self._references:
                value = values.get(name)
                if value is None:
                    continue
                target = field.target if field.type == "link" else record.get(f"{field.name}Type")
                if field.type == "linkParent" and target is None:
                    raise self.input.fail(field.name, "valid")
                if target in self.database.registry:
                    wanted.setdefault(target, {}).setdefault(value, field.name)
            for field_name, ids in links.items():
                link = self.entity.links[field_name]
                if link.storage in FOREIGN_STORED:
                    continue
                for related_id in ids:
                    wanted.setdefault(link.entity or "", {}).setdefault(related_id, field_name)
        return wanted

    def check_linked(self, conn: Connection, actor: Actor, wanted: dict[str, dict[int, str]]) -> None:
        """Linked ids must name live records (EspoCRM would store dangling ids; we refuse them) that the
        actor may read (see `_require_linkable`). Entity types the actor reads whole are checked in one
        query, however many records link to however many of them; each other type in one of its own."""
        open_types, restricted = [], []
        for target, blame in wanted.items():
            entity = self.database.registry.entity(target)
            asked = {i: field for i, field in blame.items() if not is_own(actor, entity, i)}
            if asked:
                everything = self.access.condition(actor, target) == TRUE
                (open_types if everything else restricted).append((target, asked))
        found = existing_ids_among(conn, [(self.repositories(target), blame) for target, blame in open_types])
        found += [self.access.visible_ids(conn, actor, target, blame) for target, blame in restricted]
        for (_, blame), existing in zip(open_types + restricted, found):
            missing = [i for i in blame if i not in existing]
            if missing:
                raise self.input.fail(blame[missing[0]], "valid")

    # --- writes -----------------------------------------------------------------------------------

    def keep_new(self, parsed: ParsedInput) -> None:
        """A new record's belongsTo record joins the many-to-many link it is kept in, its row taking the values
        the record gives (EspoCRM's Contact: the account becomes one of its accounts, `title` that row's role,
        overriding an `accountsColumns` role as EspoCRM's afterSave does)."""
        for id_attribute, field, columns in self._kept_links:
            related = parsed.values.get(id_attribute)
            if related is None:
                continue
            ids = parsed.links.setdefault(field, [])
            if related not in ids:
                ids.append(related)
            given = {column: parsed.values[attribute] for attribute, column in columns
                     if parsed.values.get(attribute) is not None}
            if given:
                parsed.link_columns.setdefault(field, {}).setdefault(related, {}).update(given)

    def keep_updated(self, conn: Connection, actor: Actor, current: dict[str, Any], merged: dict[str, Any],
                      parsed: ParsedInput) -> dict[str, Any]:
        """EspoCRM's Contact.afterSave for kept links, after the update's own link changes: a new belongsTo
        record joins the many-to-many link unless already there (its row taking the record's values, `title`);
        clearing the belongsTo link removes the old record from it; a row value changed alone is written to
        the current record's row, if there is one. Returns the link attributes that changed."""
        changes: dict[str, Any] = {}
        for id_attribute, field, columns in self._kept_links:
            old, new = current.get(id_attribute), merged.get(id_attribute)
            moved = id_attribute in parsed.values and new != old
            given = {column: merged[attribute] for attribute, column in columns
                     if attribute in parsed.values and merged[attribute] != current.get(attribute)}
            if not moved and (old is None or not given):
                continue
            rows = self.repository.link_rows(conn, self.entity.links[field], current["id"])
            target = new if moved else old
            if target is None:
                if old in rows:
                    changes.update(self._write_field(conn, actor, current["id"], field,
                                                          [i for i in rows if i != old], {}, rows))
            elif target in rows:
                values = {column: value for column, value in given.items() if rows[target].get(column) != value}
                if values:
                    changes.update(self._write_field(conn, actor, current["id"], field, None,
                                                          {target: values}, rows))
            elif moved:
                values = {column: merged[attribute] for attribute, column in columns
                          if merged.get(attribute) is not None}
                changes.update(self._write_field(conn, actor, current["id"], field, [*rows, target],
                                                      {target: values} if values else {}, rows))
        return changes

    def write_new(self, conn: Connection, actor: Actor, created: Sequence[tuple[int, ParsedInput]]) -> None:
        """Link sets and contact points of records just inserted: nothing to replace, so one insert per
        link and contact field, however many records (links kept on the related records change each of
        them: `relate_foreign`)."""
        for field in dict.fromkeys(field for _, parsed in created for field in parsed.links):
            link = self.entity.links[field]
            if link.storage in FOREIGN_STORED:
                for record_id, parsed in created:
                    self.relate_foreign(conn, actor, link, record_id, parsed.links.get(field, []), [], blame=field)
                continue
            pairs = [(record_id, related) for record_id, parsed in created
                     for related in dict.fromkeys(parsed.links.get(field, ()))]
            columns = {(record_id, related): values for record_id, parsed in created
                       for related, values in parsed.link_columns.get(field, {}).items()}
            self.repository.insert_links(conn, link, pairs, columns)
        for field in self._contact_fields:
            self.repository.insert_contact_points_many(
                conn, self.entity.fields[field].type, field,
                [(record_id, parsed.contact_points.get(field, [])) for record_id, parsed in created])

    def write_changes(self, conn: Connection, actor: Actor, record_id: int, parsed: ParsedInput) -> dict[str, Any]:
        """Replace the link sets and contact points an update names, and set the junction column values it
        names; returns the link attributes that changed (`<field>Ids`, `<field>Columns`) with their new values."""
        changes: dict[str, Any] = {}
        for field in dict.fromkeys([*parsed.links, *parsed.link_columns]):
            changes.update(self._write_field(conn, actor, record_id, field, parsed.links.get(field),
                                                  parsed.link_columns.get(field, {})))
        for field, points in parsed.contact_points.items():
            self.repository.replace_contact_points(conn, self.entity.fields[field].type, field, record_id, points)
        return changes

    def _write_field(self, conn: Connection, actor: Actor, record_id: int, field: str, ids: list[int] | None,
                          columns: dict[int, dict[str, Any]],
                          current: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        """EspoCRM's link-multiple saving: `ids` (when given) replaces the set, `columns` sets the column
        values of records in the set (after the change); ValidationFailure for a record outside it, or for a
        record added that does not exist or the actor may not read. `current` is the set's rows
        (`link_rows`) when the caller already read them."""
        link = self.entity.links[field]
        if current is None:
            current = self.repository.link_rows(conn, link, record_id)
        wanted = list(current) if ids is None else ids
        self.input.check_column_ids(field, wanted, columns)
        kept = set(wanted)
        removed = [i for i in current if i not in kept]
        added = [i for i in wanted if i not in current]
        if (added or removed) and not actor.is_admin:
            self.input.check_admin_only({}, [field])
        updated = {i: {name: value for name, value in columns[i].items() if current[i].get(name) != value}
                   for i in columns if i in current}
        updated = {i: values for i, values in updated.items() if values}
        if link.storage in FOREIGN_STORED:
            self.relate_foreign(conn, actor, link, record_id, added, removed, blame=field)
        else:
            self._require_linkable(conn, actor, link.entity or "", added, field)
            self.repository.remove_links(conn, link, record_id, removed)
            self.repository.insert_links(conn, link, [(record_id, i) for i in added],
                                         {(record_id, i): columns[i] for i in added if i in columns})
            self.repository.update_link_columns(conn, link, record_id, updated)
        changes: dict[str, Any] = {f"{field}Ids": wanted} if removed or added else {}
        if field in self._column_fields and (removed or added or updated):
            changes[f"{field}Columns"] = {i: link.new_row({**current.get(i, {}), **columns.get(i, {})})
                                          for i in wanted}
        return changes

    def _require_linkable(self, conn: Connection, actor: Actor, target: str, ids: Sequence[int], field: str) -> None:
        """Records a write links to must exist and be readable by the actor; a field value naming one that
        is not fails like a wrong value (saying neither whether it exists nor what it holds)."""
        asked = [i for i in ids if not is_own(actor, self.database.registry.entity(target), i)]
        if asked and len(self.access.visible_ids(conn, actor, target, asked)) < len(set(asked)):
            raise self.input.fail(field, "valid")

    def relate_foreign(self, conn: Connection, actor: Actor, link: Link, owner_id: int, added: Sequence[int],
                        removed: Sequence[int], *, blame: str | None = None) -> int:
        """Relate and unrelate records through a link kept on them (their belongsTo or parent column):
        each is an update of that record, under its own rules (edit access, its row locked, a new version,
        its stream note and event). Records already as asked are left alone; returns how many changed. A
        record to change that does not exist or that the actor may not edit is NotFound / Forbidden, or for
        a field value (`blame`) a validation failure of that field."""
        foreign = self.services(link.entity or "")
        owner_value = {f"{link.foreign}Id": owner_id}
        if link.storage is LinkStorage.CHILDREN:
            owner_value[f"{link.foreign}Type"] = self.entity.name
        cleared = {name: None for name in owner_value}
        wanted = {**dict.fromkeys(added, True), **dict.fromkeys(removed, False)}
        if not wanted:
            return 0
        rows = {row["id"]: row for row in foreign.repository.fetch_rows(
            conn, Compare("id", Op.IN, tuple(sorted(wanted))), lock=True)}
        changed = 0
        for record_id, add in wanted.items():
            current = rows.get(record_id)
            if current is None:
                raise self.input.fail(blame, "valid") if blame else NotFound(f"Record {record_id} does not exist.")
            if all(current.get(name) == value for name, value in owner_value.items()) == add:
                continue  # already as asked
            if not foreign.allows(conn, actor, "edit", current):
                raise self.input.fail(blame, "valid") if blame else Forbidden("No edit access.")
            foreign.apply_update(conn, actor, current, ParsedInput(values=dict(owner_value if add else cleared)))
            changed += 1
        return changed
