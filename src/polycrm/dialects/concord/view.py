"""One resource as a request sees it: its entity as defined now (custom fields included), how its records
render, which filter rules and search columns it has, and what the caller may do with each record."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, Sequence

from polycrm.auth.acl import Actor
from polycrm.core.comments import COMMENT_ENTITY, thread_reader
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.filters import FilterRule
from polycrm.dialects.concord.listing import SearchColumn
from polycrm.dialects.concord.custom_types import CustomField, selectable_keys
from polycrm.dialects.concord.document_parties import shown_parties
from polycrm.dialects.concord.guests import guest_objects
from polycrm.dialects.concord.lookups import Lookups
from polycrm.dialects.concord.mapping import Resource
from polycrm.dialects.concord.render import RecordRenderer, authorizations, comment_json
from polycrm.dialects.concord.tags import tag_choices, tag_objects
from polycrm.dialects.concord.users import render_user, users_by_id
from polycrm.dialects.concord.values import BodyReader
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.auth.directory import UserDirectory
    from polycrm.core.service import Core
    from polycrm.dialects.concord.mapping import ConcordMapping

RECORD_RULES = frozenset({"select", "multi-select"})  # rules whose options may be records

# A record's nested association arrays stop here (Concord loads them all); so does its `comments` array.
MAX_NESTED = 1000
COMMENTS = "comments"  # the `with` name that loads a record's comments


class ViewSource(Protocol):
    """What views read records with: the core, the mapping, the views made so far (the API has them; so
    does the Zapier hooks' delivery, which runs without it)."""

    core: Core
    directory: UserDirectory
    mapping: ConcordMapping
    views: dict[str, ResourceView]


class ResourceView:
    def __init__(self, api: ViewSource, resource: Resource):
        self.api = api
        self.resource = resource
        self.entity = api.core.registry.entity(resource.entity_name)
        self.revision = self.entity.revision
        self.renderer = RecordRenderer(api.mapping, resource, self.entity)
        self.reader = BodyReader(api.mapping, resource, self.entity)
        self.custom: list[CustomField] = self.renderer.custom

    @classmethod
    def of(cls, api: ViewSource, resource: Resource) -> ResourceView:
        """The resource's view, made once per revision of its entity's fields: a view keeps no request's
        state, and building one (custom fields, attribute lists) is a good part of a read's work."""
        entity = api.core.registry.entity(resource.entity_name)
        view = api.views.get(resource.name)
        if view is None or view.entity is not entity or view.revision != entity.revision:
            view = api.views[resource.name] = cls(api, resource)
        return view

    @property
    def rules(self) -> dict[str, FilterRule]:
        rules = dict(self.resource.rules)
        for item in self.custom:  # a custom field's rule id is its key (§9 §6)
            if (rule := item.rule()) is not None:
                rules[item.key] = rule
        return rules

    def rules_for(self, actor: Actor) -> dict[str, FilterRule]:
        """The rules, those over a list's names (`industry_id`, the address's `country_id`) taking its ids."""
        rules = self.rules
        lookups = Lookups(self.api, actor)
        for key, lookup in self.resource.rule_lookups.items():
            rules[key] = lookups.rule(rules[key], lookup)
        return rules

    def rule_choices(self, actor: Actor) -> dict[str, list[dict[str, Any]]]:
        """The options each custom option rule, each rule over a list and each tags rule shows in
        `GET /api/{resource}/rules`, as Concord's (tags: those of the resource's type the caller may read)."""
        lookups = Lookups(self.api, actor)
        choices = {**{item.key: [option.shown() for option in item.options] for item in self.custom
                      if item.type.optionable},
                   **{key: lookups.options(lookup) for key, lookup in self.resource.rule_lookups.items()}}
        for key, rule in self.resource.rules.items():
            tags = self.resource.by_field.get(rule.link or "")
            if tags is not None and tags.type == "tags":
                choices[key] = tag_choices(self.api, actor, tags.tag_type)
            elif key not in choices and rule.values is None and rule.link is None and rule.wire_type in RECORD_RULES:
                link = self.entity.links.get(rule.field)
                if link is not None and link.entity and "name" in self.api.core.registry.entity(link.entity).fields:
                    # Concord's options: "me" first for an owner rule, then the others by name
                    rows = lookups.records(link.entity)
                    choices[key] = [{"id": "me", "name": "Me"}, *(row for row in rows if row["id"] != actor.user_id)] \
                        if rule.me else rows
        return choices

    def label(self, key: str) -> str:
        """The label of a record key or rule id: a custom field's own."""
        return next((item.label for item in self.custom if item.key == key), None) or self.resource.label(key)

    def rule_labels(self) -> dict[str, str]:
        """Each rule's label (by mapping key) and each operand group's (by rule id), as Concord shows them: a
        field's label (an operand's field's, on the linked resource for a "has" rule); a rule of no field of
        the resource or a group, its id in title case ("Created At", "Address")."""
        known = {*self.resource.by_key, *(item.key for item in self.custom)}
        labels: dict[str, str] = {}
        own = self.resource.rule_labels
        for key, rule in self.rules.items():
            if rule.operand is None:
                labels[key] = own.get(rule.id) or (self.label(key) if key in known else _title(key))
                continue
            labels[key] = own.get(key) or self._field_label(rule.field, rule.link) or _title(rule.operand)
            labels.setdefault(rule.id, own.get(rule.id) or (self.label(rule.id) if rule.id in known else
                                                            _title(rule.id)))
        return labels

    def _field_label(self, field: str, link: str | None) -> str | None:
        resource: Resource | None = self.resource
        if link is not None:
            target = self.entity.links.get(link)  # a path of links (`billableProducts.product`) has no resource
            resource = self.api.mapping.by_entity.get(target.entity or "") if target is not None else None
        spec = resource.by_field.get(field) if resource is not None else None
        return spec.label if spec is not None else None

    def sortable(self) -> dict[str, str]:
        """Concord key -> the attribute `order` sorts it by; a Select sorts by option name (Concord: by id)."""
        return {**self.resource.sortable(), **{item.key: item.field for item in self.custom if item.sortable}}

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

    def _related(self, records: Sequence[dict[str, Any]]) -> dict[str, dict[int, list[int]]]:
        """Association key -> record id -> ids of its associated records, one statement for them all."""
        links = self._counted_links()
        if not links or not records:
            return {key: {} for key in links.values()}
        related = self.api.core.relations(self.entity.name).related_ids([r["id"] for r in records], links)
        return {key: related[link] for link, key in links.items()}

    def _counted_links(self) -> dict[str, str]:
        """Link -> the key its related ids go under: the associations', then the links only counted
        (`linkCounts`), read in the same statement."""
        return {**{a.link: key for key, a in self.resource.associations.items()},
                **{link: key for key, link in self.resource.link_counts.items()}}

    @staticmethod
    def _counts(related: dict[str, dict[int, list[int]]], record_id: int) -> dict[str, int]:
        return {key: len(ids.get(record_id, [])) for key, ids in related.items()}

    @property
    def counted_links(self) -> tuple[str, ...]:
        """The links whose related ids a row shows or counts: a list asks for them with its records
        (`SearchQuery.related`), so its counts cost no statement of their own."""
        return tuple(self._counted_links())

    def index_rows(self, actor: Actor, records: list[dict[str, Any]], *, select: list[str] | None = None,
                   with_: str | None = None, related_ids: dict[str, dict[int, list[int]]] | None = None
                   ) -> list[dict[str, Any]]:
        """Records as index rows: counts, no association arrays (unless `with` names them); `related_ids`:
        the ids of `counted_links` by link, when they were read with the records."""
        links = self._counted_links()
        if related_ids is not None and set(related_ids) >= set(links):
            related = {key: related_ids[link] for link, key in links.items()}
        else:
            related = self._related(records)
        named, tags = self.lookup_ids(actor, records), self.tags_of(actor, records)
        guests = self.guests_of(actor, records)
        if self.resource.shape is not None:  # a model's own JSON: its associations on every row, no counts
            nested = self._nested(actor, related)
            rows = [self.renderer.render(record, authorizations=allowed, single=False, lookups=named, tags=tags,
                                         guests=guests, associations={key: by_owner.get(record["id"], [])
                                                                      for key, by_owner in nested.items()})
                for record, allowed in zip(records, self._authorizations(actor, records))]
        else:
            comments = self.comment_counts(actor, records)
            objects = self.nested_objects(actor, records)
            threads = self.threads(actor, records) if COMMENTS in (with_ or "").split(";") else None
            rows = [self.renderer.render(record, authorizations=allowed, counts=self._counts(related, record["id"]),
                                         lookups=named, tags=tags, guests=guests, comments=comments.get(record["id"]),
                                         objects=objects,
                                         thread=None if threads is None else threads.get(record["id"], []))
                    for record, allowed in zip(records, self._authorizations(actor, records))]
        if with_:
            wanted = {key: related[key] for key in with_.split(";") if key in self.resource.associations}
            for key, by_owner in self._nested(actor, wanted).items():
                for row in rows:
                    row[key] = by_owner.get(row["id"], [])
        shown_parties(self.api, self.resource, rows)
        if select is not None:
            kept = {"id", *select}
            shown = set(self.keys())
            for row in rows:
                for key in shown - kept:
                    row[key] = None
        return rows

    def read(self, actor: Actor, record_id: Any, *, created: bool = False, with_: str | None = None) -> dict[str, Any]:
        """One record as Concord shows it; the record and its association ids come in one statement."""
        links = self._counted_links()
        record, ids = self.api.core.records(self.entity.name).read_related(actor, record_id, links)
        related = {key: {record["id"]: ids[link]} for link, key in links.items()}
        return self.single(actor, record, created=created, related=related, with_=with_)

    def single(self, actor: Actor, record: dict[str, Any], *, created: bool = False,
               related: dict[str, dict[int, list[int]]] | None = None, with_: str | None = None) -> dict[str, Any]:
        """A record read elsewhere as Concord shows it (`related`: its association ids, when read with it;
        `with_`: Concord's `with`, of which `comments` is read here)."""
        if related is None:
            related = self._related([record])
        nested = {key: by_owner.get(record["id"], []) for key, by_owner in self._nested(actor, related).items()}
        counts = None if self.resource.shape is not None else self._counts(related, record["id"])
        shown = self.renderer.render(record, authorizations=self._authorizations(actor, [record])[0],
                                    counts=counts, created=created, associations=nested,
                                    comments=self.comment_counts(actor, [record]).get(record["id"]),
                                    lookups=self.lookup_ids(actor, [record]), tags=self.tags_of(actor, [record]),
                                    guests=self.guests_of(actor, [record]),
                                    objects=self.nested_objects(actor, [record]),
                                    thread=self.threads(actor, [record]).get(record["id"], [])
                                    if COMMENTS in (with_ or "").split(";") else None)
        shown_parties(self.api, self.resource, [shown])
        return shown

    def lookup_ids(self, actor: Actor, records: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
        """Lookup key -> stored name -> its entry's id, for the names these records hold: one read per key."""
        lookups = Lookups(self.api, actor)
        return {item.key: lookups.ids(item.lookup, {r.get(item.field) for r in records if r.get(item.field)})
                for item in self.resource.fields if item.lookup is not None}

    def tags_of(self, actor: Actor, records: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """The tags the records' `tags` keys name that the caller may read, one read for them all."""
        keys = [item.attribute for item in self.resource.fields if item.type == "tags"]
        return tag_objects(self.api, actor, (i for record in records for key in keys for i in record.get(key) or ()))

    def guests_of(self, actor: Actor, records: Sequence[dict[str, Any]]) -> dict[str, dict[int, list[dict[str, Any]]]]:
        """Each guests key's guests of the records that the caller may read, by record id: one read per kind."""
        return {item.key: guest_objects(self.api, actor, item, {link: self.entity.links[link].entity or ""
                                                                for link in item.guests.values()}, records)
                for item in self.resource.fields if item.type == "guests"}

    def associations_of(self, actor: Actor, record_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every association of one record: key -> the associated records the caller may read."""
        nested = self._nested(actor, self._related([{"id": record_id}]))
        return {key: by_owner.get(record_id, []) for key, by_owner in nested.items()}

    def _nested(self, actor: Actor, related: dict[str, dict[int, list[int]]]
                ) -> dict[str, dict[int, list[dict[str, Any]]]]:
        """Association key -> record id -> its associated records the caller may read: one read per key for
        every record of a page, not one per record."""
        nested = {}
        for key, by_owner in related.items():
            if key not in self.resource.associations:
                continue  # a link only counted
            rows = {row["id"]: row for row in self.associated_rows(
                actor, key, sorted({i for ids in by_owner.values() for i in ids}))}
            nested[key] = {owner: [rows[i] for i in ids if i in rows][:MAX_NESTED] for owner, ids in by_owner.items()}
        return nested

    def associated_rows(self, actor: Actor, key: str, related_ids: Sequence[int]) -> list[dict[str, Any]]:
        """The associated records among `related_ids` that the caller may read, as index rows of their
        resource."""
        ids = tuple(related_ids)
        if not ids:
            return []
        association = self.resource.associations[key]
        target = ResourceView.of(self.api, self.api.mapping.resources[association.resource])
        return target.linked_rows(actor, ids, association.order)

    def linked_rows(self, actor: Actor, ids: Sequence[int], order: str | None = None) -> list[dict[str, Any]]:
        """This resource's records among `ids` that the caller may read, as the rows nested in another
        record: no association counts; of the nested objects, those Concord loads there too."""
        if not ids:
            return []
        sorts = [Sort(order), Sort("id")] if order else [Sort("id")]
        query = SearchQuery(where=Compare("id", Op.IN, tuple(ids)), sorts=sorts, limit=len(ids),
                            select=self.attributes(), total=TotalMode.NONE)
        records = self.api.core.records(self.entity.name).search_visible(actor, query).records
        named, tags = self.lookup_ids(actor, records), self.tags_of(actor, records)
        guests = self.guests_of(actor, records)
        comments = self.comment_counts(actor, records)
        objects = self.nested_objects(actor, records, everywhere=True)
        return [self.renderer.render(r, authorizations=a, lookups=named, tags=tags, guests=guests,
                                     comments=comments.get(r["id"]), objects=objects)
                for r, a in zip(records, self._authorizations(actor, records))]

    def nested_objects(self, actor: Actor, records: Sequence[dict[str, Any]], *,
                       everywhere: bool = False) -> dict[str, dict[int, Any]]:
        """Each nested key (mapping.ResourceField.nested) -> the linked records of these records by id: an
        owner as UserResource (every user reads users, as Concord's UserPolicy), a link's record as its
        resource's row when the caller may read it (null otherwise); `everywhere`: only the keys Concord
        shows on rows nested in another record. One read per key for a whole page."""
        objects: dict[str, dict[int, Any]] = {}
        for item in self.resource.fields:
            if item.nested is None or (everywhere and not item.nested_everywhere):
                continue
            ids = sorted({int(r[item.attribute]) for r in records if r.get(item.attribute) is not None})
            if item.type == "owner":
                objects[item.nested] = {user_id: render_user(self.api, actor, user)  # type: ignore[arg-type]
                                        for user_id, user in users_by_id(self.api, actor, ids).items()}
            else:
                target = self.api.mapping.by_entity[self.entity.links[item.field].entity or ""]
                objects[item.nested] = {row["id"]: row for row in
                                        ResourceView.of(self.api, target).linked_rows(actor, ids)}
        return objects

    def threads(self, actor: Actor, records: Sequence[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
        """Record id -> its comments, oldest first, as Concord's `with=comments` loads them (CommentResource
        without the author), where the resource takes comments: one read for every record of a page."""
        if not self.resource.comments or not records:
            return {}
        where = conjunction([Compare("parentType", Op.EQ, self.entity.name),
                             Compare("parentId", Op.IN, tuple(r["id"] for r in records))])
        query = SearchQuery(where=where, sorts=[Sort("createdAt"), Sort("id")], limit=MAX_NESTED * len(records),
                            total=TotalMode.NONE)
        found = self.api.core.records(COMMENT_ENTITY).search(thread_reader(actor), query).records
        threads: dict[int, list[dict[str, Any]]] = {}
        for comment in found:
            thread = threads.setdefault(int(comment["parentId"]), [])
            if len(thread) < MAX_NESTED:
                thread.append(comment_json(comment, actor))
        return threads

    def comment_counts(self, actor: Actor, records: Sequence[dict[str, Any]]) -> dict[int, int]:
        """Record id -> how many comments it has, where the resource takes comments (one grouped statement)."""
        if not self.resource.comments or not records:
            return {}
        where = conjunction([Compare("parentType", Op.EQ, self.entity.name),
                             Compare("parentId", Op.IN, tuple(r["id"] for r in records))])
        totals = self.api.core.records(COMMENT_ENTITY).group_totals(thread_reader(actor), where, "parentId")
        return {parent: count for parent, (count, _) in totals.items()}


def _title(key: str) -> str:
    return key.replace("_", " ").replace(".", " ").title()
