"""One resource as a request sees it: its entity as defined now (custom fields included), how its records
render, which filter rules and search columns it has, and what the caller may do with each record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from polycrm.auth.acl import Actor
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.filters import FilterRule
from polycrm.dialects.concord.listing import SearchColumn
from polycrm.dialects.concord.mapping import Resource, custom_fields, selectable_keys
from polycrm.dialects.concord.render import RecordRenderer, authorizations
from polycrm.dialects.concord.values import BodyReader
from polycrm.query.tree import Compare, Op, Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

# Nested association arrays on a single record stop here (Concord loads them all).
MAX_NESTED = 1000


class ResourceView:
    def __init__(self, api: ConcordApi, resource: Resource):
        self.api = api
        self.resource = resource
        self.entity = api.core.registry.entity(resource.entity_name)
        self.renderer = RecordRenderer(api.mapping, resource, self.entity)
        self.reader = BodyReader(api.mapping, resource, self.entity)

    @property
    def rules(self) -> dict[str, FilterRule]:
        rules = {rule_id: FilterRule(rule_id, spec["field"], spec["type"], spec.get("values"),
                                     bool(spec.get("me")), spec.get("operand"))
                 for rule_id, spec in self.resource.rules.items()}
        for key, field in custom_fields(self.entity):  # a custom field's rule id is its key (§9 §6)
            rules[key] = FilterRule(key, field, _rule_type(self.entity.fields[field].type))
        return rules

    @property
    def search_columns(self) -> dict[str, SearchColumn]:
        return {key: SearchColumn(key, field, condition) for key, (field, condition) in self.resource.search.items()}

    def attributes(self) -> list[str]:
        return self.renderer.attributes()

    def keys(self) -> list[str]:
        """Every key a record shows that `select` may name."""
        return selectable_keys(self.resource, self.entity)

    def _authorizations(self, actor: Actor, records: Sequence[dict[str, Any]]) -> list[dict[str, bool]]:
        service = self.api.core.records(self.entity.name)
        can_read, can_create = actor.can(self.entity.name, "read"), actor.can(self.entity.name, "create")
        edits, deletes = service.permitted(actor, "edit", records), service.permitted(actor, "delete", records)
        return [authorizations({"read": can_read, "create": can_create, "edit": edit, "delete": delete})
                for edit, delete in zip(edits, deletes)]

    def _counts(self, records: Sequence[dict[str, Any]]) -> list[dict[str, int]]:
        links = {a.link: key for key, a in self.resource.associations.items()}
        if not links or not records:
            return [{} for _ in records]
        related = self.api.core.relations(self.entity.name).related_ids([r["id"] for r in records], links)
        return [{key: len(related[link].get(record["id"], [])) for link, key in links.items()} for record in records]

    def index_rows(self, actor: Actor, records: list[dict[str, Any]], *, select: list[str] | None = None,
                   with_: str | None = None) -> list[dict[str, Any]]:
        """Records as index rows: counts, no association arrays (unless `with` names them)."""
        rows = [self.renderer.render(record, authorizations=allowed, counts=counts)
                for record, allowed, counts in zip(records, self._authorizations(actor, records),
                                                   self._counts(records))]
        if with_:
            wanted = [key for key in with_.split(";") if key in self.resource.associations]
            for row in rows:
                for key in wanted:
                    row[key] = self.associated_rows(actor, row["id"], key)
        if select is not None:
            kept = {"id", *select}
            shown = set(self.keys())
            for row in rows:
                for key in shown - kept:
                    row[key] = None
        return rows

    def single(self, actor: Actor, record: dict[str, Any], *, created: bool = False) -> dict[str, Any]:
        nested = {key: self.associated_rows(actor, record["id"], key) for key in self.resource.associations}
        return self.renderer.render(record, authorizations=self._authorizations(actor, [record])[0],
                                    counts=self._counts([record])[0], created=created, associations=nested)

    def associated_rows(self, actor: Actor, record_id: int, key: str) -> list[dict[str, Any]]:
        """The records associated through one key that the caller may read, as index rows of their resource."""
        association = self.resource.associations[key]
        related = self.api.core.relations(self.entity.name).related_ids([record_id], [association.link])
        ids = tuple(related[association.link].get(record_id, []))
        if not ids:
            return []
        target = ResourceView(self.api, self.api.mapping.resources[association.resource])
        query = SearchQuery(where=Compare("id", Op.IN, ids), sorts=[Sort("id")], limit=MAX_NESTED,
                            select=target.attributes(), total=TotalMode.NONE)
        records = self.api.core.records(target.entity.name).search_visible(actor, query).records
        return [target.renderer.render(r, authorizations=a)
                for r, a in zip(records, target._authorizations(actor, records))]


def _rule_type(field_type: str) -> str:
    """The filter type Concord gives a custom field of a canonical type."""
    return {"int": "numeric", "float": "numeric", "currency": "numeric", "date": "date", "datetime": "date",
            "enum": "select", "multiEnum": "multi-select", "checklist": "multi-select", "bool": "radio"
            }.get(field_type, "text")
