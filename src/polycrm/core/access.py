"""Access control applied to stored records: the one place every path asks what an actor may see and change.

The rule, for every protocol: an actor can neither read nor change nor learn of a record it may not read.
Reads and lists filter by `condition`; single records are checked with `permits`; links a request wants
to make must name records the actor may read (`visible_ids`); a filter or sort that reaches into related
records only counts the related records the actor may read (`restrict`, `restrict_sorts`); and the names
a record shows of related records (`accountName`, `teamsNames`, `followersNames`, ...) are blanked where
the actor may not read them (`hide_names`). The ids stay: they are the record's own values, and a client
sending a record back must not lose its links.

Levels and conditions come from `auth.acl`; this module knows the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor, access_condition, record_allowed, surely_readable
from polycrm.meta import FOLLOWERS, Entity, LinkStorage, Registry
from polycrm.query.tree import (TRUE, And, Compare, Foreign, LinkColumn, LinkCount, Linked, Node, Not, Op, Or,
                                Sort, conjunction)
from polycrm.store.records import RecordRepository

Repositories = Callable[[str], RecordRepository]


@dataclass(frozen=True, slots=True)
class NameSource:
    """A derived attribute showing the name(s) of related records: `name` shows the record `id_attribute`
    names (of entity `target`, or of the type in `type_attribute` for a parent link); a `many` source is an
    {id: name} map."""

    name: str
    target: str | None
    id_attribute: str | None = None
    type_attribute: str | None = None
    many: bool = False


def name_sources(entity: Entity) -> list[NameSource]:
    """Every attribute of an entity that shows names of other records."""
    sources = []
    for field in entity.fields.values():
        if field.type == "link" and field.target and f"{field.name}Name" in entity.attributes:
            sources.append(NameSource(f"{field.name}Name", field.target, f"{field.name}Id"))
        elif field.type == "linkParent":
            sources.append(NameSource(f"{field.name}Name", None, f"{field.name}Id", f"{field.name}Type"))
        elif field.type == "linkMultiple" and field.target and f"{field.name}Names" in entity.attributes:
            sources.append(NameSource(f"{field.name}Names", field.target, many=True))
    if entity.stream:
        sources.append(NameSource(f"{FOLLOWERS}Names", "User", many=True))
    return sources


class RecordAccess:
    """One actor's rights applied to the records of any entity type."""

    def __init__(self, registry: Registry, repositories: Repositories):
        self.registry = registry
        self.repositories = repositories
        self._name_sources: dict[str, list[NameSource]] = {}

    # --- conditions and single records ------------------------------------------------------------

    def condition(self, actor: Actor, entity_name: str, action: str = "read") -> Node:
        """The records of a type the actor may `action` (read/edit/delete), as a filter."""
        return access_condition(actor, self.registry.entity(entity_name), action)

    def team_ids(self, conn: Connection, entity: Entity, record_id: int) -> list[int]:
        link = entity.teams_link
        if link is None:
            return []
        return self.repositories(entity.name).related_ids(conn, link, [record_id]).get(record_id, [])

    def permits(self, conn: Connection, actor: Actor, entity: Entity, action: str, record: Mapping[str, Any]) -> bool:
        """Whether the actor may `action` (read/edit/delete) this stored record."""
        level = actor.level(entity.name, action)
        if level == "all":
            return True
        teams = self.team_ids(conn, entity, record["id"]) if level == "team" else []
        return record_allowed(actor, entity, action, record, teams)

    def visible_ids(self, conn: Connection, actor: Actor, entity_name: str, ids: Iterable[int],
                    action: str = "read", *, deleted: bool | None = False) -> set[int]:
        """The ids among `ids` of live records (soft-deleted ones with `deleted`, either with None) the actor
        may `action`: one query. Ids of records that do not exist are left out like those the actor may not
        see."""
        wanted = tuple(sorted({i for i in ids if i is not None}))
        if not wanted:
            return set()
        condition = conjunction([Compare("id", Op.IN, wanted), self.condition(actor, entity_name, action)])
        return self.repositories(entity_name).matching_ids(conn, condition, deleted=deleted)

    # --- filters and sorts over related records ---------------------------------------------------

    def restrict(self, actor: Actor, entity: Entity, node: Node) -> Node:
        """A filter whose conditions on related records (`account.name`, `accountName`, `linkedWith`,
        junction columns) only count the related records the actor may read: otherwise a filter on a link
        would tell what a hidden record holds, one question at a time."""
        if isinstance(node, (And, Or)):
            return type(node)(tuple(self.restrict(actor, entity, item) for item in node.items))
        if isinstance(node, Not):
            return Not(self.restrict(actor, entity, node.item))
        if isinstance(node, Compare):
            foreign = self._name_compare(entity, node)
            return node if foreign is None else self.restrict(actor, entity, foreign)
        if isinstance(node, Foreign):
            target = self._target(entity, node.link)
            if target is None:
                return node
            inner = self.restrict(actor, target, node.condition)
            return Foreign(node.link, conjunction([inner, access_condition(actor, target, "read")]))
        if isinstance(node, (Linked, LinkColumn, LinkCount)):
            target = self._target(entity, node.link)
            if target is None:
                return node
            link = entity.relation(node.link)
            if link is not None and link.foreign in target.part_of:
                return node  # the record's parts: it shows them all, and what they name, to its readers
            access = access_condition(actor, target, "read")
            # The condition the related records must meet (a "has" rule's) is kept, and restricted in turn.
            within = conjunction([self.restrict(actor, target, node.within), access]) if node.within is not None \
                else access
            if within == TRUE:
                return node
            if isinstance(node, Linked):
                return Linked(node.link, node.mode, node.ids, within)
            if isinstance(node, LinkCount):
                return LinkCount(node.link, node.op, node.value, within)
            return LinkColumn(node.link, node.condition, node.related_ids, within)
        return node

    def restrict_sorts(self, actor: Actor, entity: Entity, sorts: Sequence[Sort]) -> list[Sort]:
        """Sorts by a link's record name count only the names the actor may read (a hidden name sorts as
        none): sorting by it would otherwise place a hidden name among names the actor chose."""
        restricted = []
        for sort in sorts:
            link_name = sort.attribute.removesuffix("Name") if sort.attribute.endswith("Name") else sort.attribute
            link = entity.links.get(link_name)
            target = self._target(entity, link_name) if link is not None and link.storage is LinkStorage.COLUMN \
                else None
            within = None if target is None else access_condition(actor, target, "read")
            restricted.append(sort if within is None or within == TRUE else Sort(sort.attribute, sort.descending,
                                                                                   within))
        return restricted

    def _target(self, entity: Entity, link_name: str) -> Entity | None:
        link = entity.relation(link_name)
        if link is None or link.entity is None or link.entity not in self.registry:
            return None
        return self.registry.entity(link.entity)

    @staticmethod
    def _name_compare(entity: Entity, node: Compare) -> Foreign | None:
        """`accountName = x` as the condition on the account it is (`account.name = x`)."""
        attribute = entity.attributes.get(node.attribute)
        if attribute is None or attribute.column is not None or not node.attribute.endswith("Name"):
            return None
        link = entity.links.get(attribute.field)
        if link is None or link.storage is not LinkStorage.COLUMN:
            return None
        return Foreign(attribute.field, Compare("name", node.op, node.value))

    # --- names of related records -----------------------------------------------------------------

    def hidden(self, conn: Connection, actor: Actor, wanted: Mapping[str, Iterable[int]]) -> dict[str, set[int]]:
        """Of records given as entity type -> ids, those the actor may not read (or that do not exist), by
        type: one query per type, none for types the actor reads whole or ids surely readable."""
        if actor.is_admin:
            return {}
        hidden: dict[str, set[int]] = {}
        for target, ids in wanted.items():
            if target not in self.registry:
                continue
            entity = self.registry.entity(target)
            asked = {i for i in ids if i is not None and not surely_readable(actor, entity, i)}
            if asked:
                missing = asked - self.visible_ids(conn, actor, target, asked)
                if missing:
                    hidden[target] = missing
        return hidden

    def hide_names(self, conn: Connection, actor: Actor, entity: Entity, records: Sequence[dict[str, Any]]) -> None:
        """Blank the names records show of related records the actor may not read (in place): a name
        becomes None, a names map keeps the id with None."""
        if actor.is_admin or not records:
            return
        sources = self._name_sources.get(entity.name)
        if sources is None:
            sources = self._name_sources[entity.name] = name_sources(entity)
        shown = [s for s in sources if s.name in records[0]]
        asked: dict[str, set[int]] = {}
        for source in shown:
            for record in records:
                for target, related in self._related(source, record):
                    asked.setdefault(target, set()).add(related)
        hidden = self.hidden(conn, actor, asked)
        if not hidden:
            return
        for source in shown:
            for record in records:
                for target, related in self._related(source, record):
                    if related in hidden.get(target, ()):
                        if source.many:
                            record[source.name][related] = None
                        else:
                            record[source.name] = None

    @staticmethod
    def _related(source: NameSource, record: Mapping[str, Any]) -> list[tuple[str, int]]:
        """(entity type, id) of the records whose names `source` shows in `record`."""
        if source.many:
            names = record.get(source.name) or {}
            return [(source.target, related) for related in names] if source.target else []
        related = record.get(source.id_attribute or "")
        target = source.target or record.get(source.type_attribute or "")
        return [(target, related)] if related is not None and target else []
