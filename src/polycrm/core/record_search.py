"""Searching the records of one entity type: the records matching a filter tree that the actor may read, a
page at a time with the attributes asked for (EspoCRM's select rules), and totals by group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from polycrm.auth.acl import Actor
from polycrm.core.assembly import RecordAssembler
from polycrm.core.search import SearchQuery, SearchResult, TotalMode
from polycrm.core.vault import refuse_secret_terms
from polycrm.query.tree import TRUE, Node, conjunction
from polycrm.store.records import merged_links

if TYPE_CHECKING:
    from polycrm.core.records import RecordService


class RecordSearch:
    """The search half of `RecordService` (its base, as MassActions: it works through the service's
    repository, assembler and access)."""

    def list_attributes(self: RecordService, select: list[str] | None,
                        sort_attributes: Iterable[str]) -> set[str] | None:
        """Attributes a list returns: EspoCRM's select rules (id, assignedUserId, createdById and the
        sort attributes always; without select, everything but id lists, name maps and contact data)."""
        if select is None:
            return set(self._default_list_attributes)
        wanted = {name for name in select if name in self.entity.attributes}
        wanted.add("id")
        for always in ("assignedUserId", "createdById"):
            if always in self.entity.attributes:
                wanted.add(always)
        for name in sort_attributes:
            if name in self.entity.attributes:
                wanted.add(name)
            elif name in self.entity.fields:
                wanted.update(a.name for a in self.entity.attributes.values() if a.field == name)
        return wanted

    def search(self: RecordService, actor: Actor, query: SearchQuery, *, within: Node | None = None) -> SearchResult:
        self.require_scope(actor, "read")
        return self.search_visible(actor, query, within=within)

    def search_visible(self: RecordService, actor: Actor, query: SearchQuery, *, within: Node | None = None,
                       assembler: RecordAssembler | None = None) -> SearchResult:
        """The records matching `query` (and `within`) that the actor may read: an empty list, not Forbidden,
        when they may read none. `assembler` reads other rows of the type than the live ones (core.trash's)."""
        assembler = assembler or self.assembler
        condition = conjunction([self.visible_condition(actor, query.where)] + ([within] if within else []))
        refuse_secret_terms(self.database.registry, self.entity, TRUE, query.sorts)
        sorts = self.access.restrict_sorts(actor, self.entity, query.sorts)
        wanted = self.list_attributes(query.select, [s.attribute for s in query.sorts])
        columns = None if wanted is None else wanted | self._columns_for_derived(wanted)
        name_links = [link for link in self._belongs_to if wanted is None or f"{link}Name" in wanted]
        repository = assembler.repository
        with self.database.connect() as conn:
            limit = query.limit + (1 if query.total is TotalMode.NONE else 0)
            links, contact_fields = assembler.side_links(wanted, actor)
            asked = [self.entity.links[name] for name in query.related]
            links = merged_links(links, asked)
            # The store may read the page better knowing how many rows match (a text search).
            counted = repository.count(conn, condition) if sorts and repository.pages_by_count(condition) else None
            rows, side = repository.fetch_rows_with_side_data(
                conn, condition, attributes=columns, sorts=sorts, offset=query.offset, limit=limit,
                name_links=name_links, links=links, contact_fields=contact_fields, matching=counted)
            if side is None and asked:
                side = repository.side_data(conn, [r["id"] for r in rows], links, contact_fields)
            has_more = len(rows) > query.limit
            rows = rows[:query.limit]
            if query.total is TotalMode.COUNT:
                # A short first page already is the whole result: skip the count query.
                short_page = query.offset == 0 and len(rows) < query.limit
                total = counted if counted is not None else len(rows) if short_page else repository.count(
                    conn, condition)
            else:
                total = None
            records = assembler.complete(conn, rows, full=False, wanted=wanted, viewer=actor, side=side)
        return SearchResult(records, total, has_more, side.related_ids(asked) if side is not None else {})

    def group_totals(self: RecordService, actor: Actor, where: Node, group_by: str,
                     summed: str | None = None) -> dict[Any, tuple[int, float]]:
        """Per value of `group_by`, how many records matching `where` the actor may read and the sum of `summed`
        over them (a deal board's columns, comment counts)."""
        self.require_scope(actor, "read")
        with self.database.connect() as conn:
            return self.assembler.repository.group_totals(conn, self.visible_condition(actor, where), group_by, summed)

    def _columns_for_derived(self: RecordService, wanted: set[str]) -> set[str]:
        """Column attributes needed to compute the wanted derived ones (names need their ids)."""
        return set().union(*(self._derived_from.get(name, ()) for name in wanted))
