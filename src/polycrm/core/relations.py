"""Relationships of one entity type's records: listing the records related through a link, relating and
unrelating them (specs/espocrm.md §5).

Relating changes both sides, so it needs edit access to the record and to each related record, as
EspoCRM requires; users and teams are the exception, read access to them suffices (they are assigned to a
record, as its `usersIds` or `teamsIds` would). A link kept on the related records (an account's
opportunities: each opportunity's `accountId`) is an update of each of them, with its version, stream note
and event.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.errors import BadRequest, Forbidden, NotFound
from polycrm.core.linker import FOREIGN_STORED
from polycrm.core.records import RecordService
from polycrm.core.search import SearchQuery, SearchResult
from polycrm.core.values import parse_id
from polycrm.meta import LinkStorage
from polycrm.meta.model import Link
from polycrm.query.tree import Compare, Node, Op, conjunction

# Related records that are assigned rather than edited: relating them needs read access only.
ASSIGNED_ENTITIES = frozenset({"User", "Team"})


def relate_action(link: Link) -> str:
    """What the actor needs on a record to relate it through `link` (besides edit access to the owner)."""
    return "read" if link.entity in ASSIGNED_ENTITIES and link.storage not in FOREIGN_STORED else "edit"


class RelationService:
    """The relationships of one entity type's records."""

    def __init__(self, records: RecordService, services: Callable[[str], RecordService]):
        self.records = records
        self.services = services
        self.entity = records.entity
        self.database = records.database

    def link(self, name: str) -> Link:
        link = self.entity.links.get(name)
        if link is None or link.entity is None:
            raise NotFound("Link does not exist.")
        return link

    # --- listing ----------------------------------------------------------------------------------

    def related(self, actor: Actor, record_id: Any, link_name: str, query: SearchQuery) -> SearchResult:
        """Records related through a link that the actor may read (the record itself must be readable)."""
        link = self.link(link_name)
        self.records.require_scope(actor, "read")
        with self.database.connect() as conn:
            record = self.records.load_record(conn, record_id, not_found="Record {id} does not exist.")
            self.records.check_record(conn, actor, "read", record)
        target = self.services(link.entity or "")
        if not actor.can(target.entity.name, "read"):
            raise Forbidden("No read access.")
        result = target.search(actor, query, within=self._reverse_condition(link, record))
        self._add_column_attributes(link, record["id"], result.records, query.select)
        return result

    def _add_column_attributes(self, link: Link, owner_id: int, records: list[dict[str, Any]],
                               select: list[str] | None) -> None:
        """Give records listed through a junction link the attributes that show the values of their rows
        (the foreign side's `columnAttributeMap`: an account's contacts get `accountRole`), after the others as
        EspoCRM appends them; all of them without `select`, else the selected ones."""
        foreign = self.database.registry.entity(link.entity or "").links.get(link.foreign or "")
        if link.storage is not LinkStorage.JUNCTION or foreign is None or not records:
            return
        shown = {column: attribute for column, attribute in foreign.column_attributes.items()
                 if select is None or attribute in select}
        if not shown:
            return
        with self.database.connect() as conn:
            rows = self.records.repository.link_rows(conn, link, owner_id, [r["id"] for r in records])
        for record in records:
            values = rows.get(record["id"], {})
            record.update((attribute, values.get(column)) for column, attribute in shown.items())

    def _reverse_condition(self, link: Link, record: dict[str, Any]) -> Node:
        """Filter on the target entity selecting the records related to `record` through `link`."""
        owner_id = record["id"]
        if link.storage is LinkStorage.COLUMN:
            return Compare("id", Op.EQ, record.get(f"{link.name}Id"))
        if link.storage is LinkStorage.REVERSE_COLUMN:
            return Compare(f"{link.foreign}Id", Op.EQ, owner_id)
        if link.storage is LinkStorage.CHILDREN:
            parent = link.far_column.replace("_", "")  # parent link's field name, e.g. "parent"
            return conjunction([Compare(f"{parent}Id", Op.EQ, owner_id),
                                Compare(f"{parent}Type", Op.EQ, self.entity.name)])
        with self.database.connect() as conn:
            ids = self.records.repository.related_ids(conn, link, [owner_id]).get(owner_id, [])
        return Compare("id", Op.IN, tuple(ids))

    # --- relating ---------------------------------------------------------------------------------

    def relate(self, actor: Actor, record_id: Any, link_name: str, foreign_ids: Iterable[Any]) -> bool:
        """Relate records (`POST {Entity}/{id}/{link}`): True if any id was given."""
        return self._change(actor, record_id, link_name, foreign_ids, add=True)

    def unrelate(self, actor: Actor, record_id: Any, link_name: str, foreign_ids: Iterable[Any]) -> bool:
        """Unrelate records (`DELETE {Entity}/{id}/{link}`): True if any relation was removed."""
        return self._change(actor, record_id, link_name, foreign_ids, add=False)

    def relatable_ids(self, actor: Actor, link_name: str, where: Node) -> list[int]:
        """The records matching a client's `where` that the actor may relate through a link (massRelate)."""
        link = self.link(link_name)
        return self.services(link.entity or "").matching_ids(actor, where, relate_action(link))

    def _relatable(self, actor: Actor, link_name: str) -> Link:
        """The link, if the actor may change relations through it: edit access to the type, an
        administrators' link only for administrators, never a link kept in a column of this record."""
        link = self.link(link_name)
        if link.storage in (LinkStorage.COLUMN, LinkStorage.PARENT):
            raise BadRequest(f"Link '{link_name}' is set through the '{link_name}Id' attribute.")
        self.records.require_scope(actor, "edit")
        if not actor.is_admin:
            self.records.input.check_admin_only({}, [link_name])
        return link

    def _change(self, actor: Actor, record_id: Any, link_name: str, foreign_ids: Iterable[Any], *, add: bool) -> bool:
        link = self._relatable(actor, link_name)
        ids = []
        for raw in foreign_ids:
            parsed = parse_id(raw)
            if parsed is None:
                raise NotFound(f"Record {raw} does not exist.")
            ids.append(parsed)
        ids = list(dict.fromkeys(ids))
        target = self.services(link.entity or "")
        try:
            with self.database.transaction() as conn:
                return self._write(conn, actor, record_id, link, target, ids, add)
        finally:
            self.records.committed()
            target.committed()

    def change_within(self, conn: Connection, actor: Actor, record_id: Any, link_name: str, *,
                      added: Iterable[int] = (), removed: Iterable[int] = ()) -> bool:
        """Relate and unrelate records inside the caller's transaction (a record written with its
        associations); the same checks as `relate`/`unrelate`. Whether any relation changed."""
        link = self._relatable(actor, link_name)
        target = self.services(link.entity or "")
        changed = False
        for ids, add in ((list(dict.fromkeys(added)), True), (list(dict.fromkeys(removed)), False)):
            if ids:
                changed = self._write(conn, actor, record_id, link, target, ids, add) or changed
        return changed

    def sync_within(self, conn: Connection, actor: Actor, record_id: int, link_name: str, wanted: Iterable[int]) -> bool:
        """Make the records related through a link exactly `wanted`, inside the caller's transaction; related
        records the actor may not read stay (a client cannot unrelate what it cannot see)."""
        wanted = list(dict.fromkeys(wanted))
        current, unseen = self._current_within(conn, actor, record_id, link_name)
        kept = {*wanted, *unseen}
        return self.change_within(conn, actor, record_id, link_name, added=[i for i in wanted if i not in current],
                                  removed=[i for i in current if i not in kept])

    def unseen_within(self, conn: Connection, actor: Actor, record_id: int, link_name: str) -> list[int]:
        """The records related through a link that the actor may not read, inside the caller's transaction:
        a write replacing the set keeps them, as `sync_within` does."""
        return self._current_within(conn, actor, record_id, link_name)[1]

    def _current_within(self, conn: Connection, actor: Actor, record_id: int, link_name: str
                        ) -> tuple[list[int], list[int]]:
        """The records related through a link, and those of them the actor may not read."""
        link = self.link(link_name)
        target = self.services(link.entity or "")
        current = self.records.repository.related_ids(conn, link, [record_id]).get(record_id, [])
        seen = target.access.visible_ids(conn, actor, target.entity.name, current, "read") if current else set()
        return current, [i for i in current if i not in seen]

    def related_ids(self, record_ids: list[int], link_names: Iterable[str]) -> dict[str, dict[int, list[int]]]:
        """Live records related to each record through each link, by id, in one statement: association
        counts of a list page. Not limited by access: a count tells no names."""
        links = [self.link(name) for name in link_names]
        with self.database.connect() as conn:
            side = self.records.repository.side_data(conn, record_ids, links, [])
        return side.related_ids(links)

    def _write(self, conn: Connection, actor: Actor, record_id: Any, link: Link, target: RecordService,
               ids: list[int], add: bool) -> bool:
        # The owner's row lock makes relates of one record take turns: a set read here stays true.
        current = self.records.load_record(conn, record_id, not_found="Record {id} does not exist.", lock=True)
        self.records.check_record(conn, actor, "edit", current)
        if link.storage in FOREIGN_STORED:
            changed = self.records.linker.relate_foreign(conn, actor, link, current["id"], ids if add else [],
                                                         [] if add else ids)
            return changed > 0 or (add and bool(ids))
        related = set(self.records.repository.related_ids(conn, link, [current["id"]]).get(current["id"], []))
        asked = [i for i in ids if (i not in related) == add]
        if asked:
            existing = target.repository.existing_ids(conn, asked)
            missing = [i for i in asked if i not in existing]
            if missing:
                raise NotFound(f"Record {min(missing)} does not exist.")
            action = relate_action(link)
            if len(target.access.visible_ids(conn, actor, target.entity.name, asked, action)) < len(asked):
                raise Forbidden(f"No {action} access.")
        if add:
            self.records.repository.insert_links(conn, link, [(current["id"], i) for i in asked])
            return bool(ids)
        return self.records.repository.remove_links(conn, link, current["id"], asked) > 0
