"""Concord CRM's resources over PolyCRM entities, loaded from `mapping.json` and one file a resource in `resources/`.

A resource names its entity, the record keys Concord shows in their order (each over a canonical field with a
value type), its association keys (each the name of another resource, over a link of the entity), its filter
rules and its search columns. This module resolves names and checks them against the registry at start-up;
it holds no request logic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping

from polycrm.dialects.concord.filters import FilterRule, check_rules
from polycrm.meta import LinkStorage
from polycrm.meta.registry import Registry

DIALECT = "concord"
# Record keys every resource shows, whatever its fields (specs/concord.md §4).
CREATED, UPDATED = "created_at", "updated_at"
# Keys every record shows besides its fields (a custom field's key may not be one).
RECORD_KEYS = frozenset({"id", "display_name", "path", CREATED, UPDATED, "authorizations", "was_recently_created",
                         "actions", "associations_count"})
# Resources with routes and record shapes of their own (dialects/concord/brands.py, teams.py): their body keys
# are read as a resource's fields, from a file beside `mapping.json`.
NOT_GENERIC = ("brands", "teams")
# Field types whose value is the id of a linked record.
LINK_TYPES = frozenset({"owner", "id"})
# Every field type a resource's key may have (mapping.json's comment says what each reads and shows).
FIELD_TYPES = frozenset({"string", "text", "longtext", "email", "domain", "color", "phones", "decimal", "numeric", "int", "bool",
                         "active", "date", "datetime", "datetimeOptional", "flag", "enum", "lookup", "tags",
                         "guests", *LINK_TYPES})
# Field types whose value is a list (phone numbers, tags, guests): nothing to sort records by.
UNSORTABLE_TYPES = frozenset({"phones", "tags", "guests"})
# What a guest shows of its record (Concord's GuestResource: `guest_display_name`, `guest_email`).
GUEST_FIELDS = ("name", "emailAddress")
# What a `lookup` key may name besides a resource: Concord's fixed list of countries (lookups.py).
COUNTRIES = "countries"
# Types whose value is held by a field's `<field>Date` attribute too (a date without a time: all day).
DAY_TYPES = frozenset({"datetimeOptional"})


def load_spec() -> dict[str, Any]:
    """The package's mapping as one document: `mapping.json` with `resources` by name (a file's name is its
    resource's), in name order."""
    package = resources.files(__package__)
    spec = json.loads(package.joinpath("mapping.json").read_text())
    files = sorted((item for item in package.joinpath("resources").iterdir() if item.name.endswith(".json")),
                   key=lambda item: item.name)
    spec["resources"] = {item.name.removesuffix(".json"): json.loads(item.read_text()) for item in files}
    for name in NOT_GENERIC:
        spec[name] = json.loads(package.joinpath(f"{name}.json").read_text())
    return spec


@dataclass(frozen=True, slots=True)
class ResourceField:
    """A record key: the canonical field it shows and how its value reads and renders."""

    key: str
    field: str
    type: str
    label: str
    required: bool = False
    read_only: bool = False
    values: Mapping[str, str] | None = None  # Concord value -> canonical value (enums)
    unique: str | None = None  # the 422 message when another record (or a user) holds the value
    lookup: str | None = None  # a `lookup` key's list: a resource's name or `countries`
    required_if: str | None = None  # when the core requires it (Laravel's required_if: "Status is lost")
    tag_type: str | None = None  # tags: the Tag type they are of (Concord's `forType`)
    not_in: frozenset[Any] = frozenset()  # values Laravel's `not_in` refuses ("The selected Reminder is invalid.")
    default_from: str | None = None  # on create, the key whose value it takes when not sent (end_date: due_date)
    not_before: str | None = None  # the key it may not precede when both are sent (end_date: due_date)
    # A link a create may leave out: it gets the linked record whose attribute of this name is true (the
    # lowest id), and is required only when there is none (Concord's default document or activity type).
    default_record: str | None = None
    required_message: str | None = None  # Concord's own words for a missing value, when not Laravel's
    # Concord's words, where not Laravel's usual ones: `type` (a value of the wrong type), `exists` (an id of no
    # record), `empty` (the key sent empty, refused on update too: Laravel's `filled` or `required`)
    messages: Mapping[str, str] = field(default_factory=dict)
    # Guests: the resource name a guest shows (`resource_name`, the body's key) -> the entity's link to them
    guests: Mapping[str, str] = field(default_factory=dict)
    # A link's record shown as an object under this key right after the id (Concord's loaded relation: a
    # call's `user`, UserResource of an owner; its `outcome`, the linked resource's row); `nested_everywhere`:
    # also on the rows nested in another record (a contact's `calls`), where Concord loads a BelongsTo field's
    # relation but not the others.
    nested: str | None = None
    nested_everywhere: bool = False
    html: bool = False  # rich text Concord cleans when it shows it (purify.py)

    @property
    def attribute(self) -> str:
        """The record attribute holding the value: a link's id, tags' ids (a guests key's first link's ids)."""
        if self.type in ("tags", "guests"):
            return f"{self.field}Ids"
        return f"{self.field}Id" if self.type in LINK_TYPES else self.field

    @property
    def attributes(self) -> tuple[str, ...]:
        """Every record attribute the value is read from: a guests key's ids of each of its links."""
        if self.type == "guests":
            return tuple(f"{link}Ids" for link in self.guests.values())
        return (self.attribute,)


@dataclass(frozen=True, slots=True)
class Association:
    """An association key (`companies` on a contact): the resource it lists and the entity's link to it."""

    key: str
    resource: str
    link: str
    order: str | None = None  # the field its list is sorted by (Concord's relation orderBy; else the resource's)


@dataclass(frozen=True, slots=True)
class ModelShape:
    """How Concord's own JsonResource shows a model the UI has no resource for (pipelines, stages, lost
    reasons): no `display_name` or `path`, the fields right after `id`, the nested associations on every row
    (no counts), `is_primary` when `primary` names the field whose value makes a record primary (Concord's
    Primaryable: its flag), the timestamps, the `authorizations` its policy gives (none without one) and
    `was_recently_created`."""

    authorizations: tuple[str, ...] = ()
    primary: str | None = None
    primary_kept: str | None = None  # the 409 message refusing to delete a primary record (none: it may go)


@dataclass(frozen=True, slots=True)
class CloneSpec:
    """How `POST /api/{resource}/{id}/clone` copies a record (Concord's Cloneable resources): its writable keys
    and custom fields but `skipped`, the title marked as a copy, `values` set, the caller made the owner
    (`owner`: the owner key) and its associations copied."""

    skipped: frozenset[str] = frozenset()
    values: Mapping[str, Any] = field(default_factory=dict)
    owner: str | None = None
    associations: bool = False


@dataclass(frozen=True, slots=True)
class ExportColumn:
    """One column of an export (dialects/concord/export.py): Concord's label, the record key it shows, how
    (`kind`: "" the key's value as text, "name" the linked record's name, "stored" the canonical value,
    "count", "title", "money", "date", "moment" (two columns: UTC and the caller's zone), "records" the names
    of associated records) and whether Concord always exports it (a primary field)."""

    label: str
    key: str
    kind: str = ""
    primary: bool = False


EXPORT_KINDS = frozenset({"", "name", "stored", "count", "title", "money", "date", "moment", "records"})


@dataclass
class Resource:
    """One `/api/{resource}`."""

    name: str
    entity_name: str
    model: str  # the Eloquent model class a 404 names
    title: str  # the field `display_name` shows
    order: str  # the default sort field
    label_plural: str  # the resource's name in global search groups
    icon: str
    search_action: str  # what the UI does with a global search match: float or view
    global_search: bool  # whether `GET /api/search` has a group for it
    fields: list[ResourceField]
    associations: dict[str, Association]
    rules: dict[str, FilterRule]  # by a name unique in the resource (several rules may share an id)
    search: dict[str, tuple[str, str]]
    not_required: frozenset[str] = frozenset()  # EspoCRM's required fields Concord does not require
    rule_lookups: Mapping[str, str] = field(default_factory=dict)  # rule key -> the list its select values name
    # rule id -> its label, where not its field's; an operand rule's mapping key -> its own (`operandLabel`)
    rule_labels: Mapping[str, str] = field(default_factory=dict)
    counts_after: str | None = None  # the key the `<association>_count` keys follow (else the last field)
    # Record keys counting the live records of a link that is no association (a deal's `products_count`: its
    # product lines), shown with the association counts.
    link_counts: Mapping[str, str] = field(default_factory=dict)
    # Record keys listing the records that are its parts (a document's `signers` and `recipients`), each
    # {link, label (its messages' word), shown (shown key -> field)}: document_parties.py.
    parts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    authorizations: tuple[str, ...] | None = None  # the `authorizations` keys its policy gives (None: all seven)
    after_id: tuple[str, ...] = ()  # record keys shown right after `id` (before `display_name`)
    shape: ModelShape | None = None  # a model's own JSON, not a UI resource's (None: a resource's)
    create_defaults: Mapping[str, Any] = field(default_factory=dict)  # values a create here gets unless sent
    via: tuple[str, ...] = ()  # association keys `via_resource` may name: the record a write is made from
    via_required: bool = False  # whether a create must name one
    # Keys an update leaves alone while the record has these values (Concord's accepted documents).
    locked_when: Mapping[str, Any] = field(default_factory=dict)
    locked_keys: tuple[str, ...] = ()
    # Whether the records have products (`/api/{resource}/{id}/billable`, the `billable` key of writes) and
    # when a single record shows them: "always", or "with" (when `with` names `billable`).
    billable: str | None = None
    clone: CloneSpec | None = None  # None: not cloneable (404)
    comments: bool = False  # whether its records take comments (`/api/{resource}/{id}/comments`)
    # Its records' files (`media`): "always" for Concord's Mediable resources (uploads through
    # `/api/{resource}/{id}/media`, shown on every single record), "with" where `with` names them (no uploads).
    media: str | None = None
    # Its place in record timelines (`GET /api/{resource}/{id}/timeline`, timeline.py): a subject's `module`
    # (Concord's module of its changelog entries) and `subject` (the `subject_type` of its pins), or an
    # entry's `key`, `component` and `label` (Concord's timelineable models: their records show in the
    # timelines of the records they are associated with).
    timeline: Mapping[str, str] | None = None
    # Its export columns (`POST /api/{resource}/export`, Concord's Exportable resources; empty: 404).
    export: tuple[ExportColumn, ...] = ()
    by_key: dict[str, ResourceField] = field(init=False)
    by_field: dict[str, ResourceField] = field(init=False)

    def __post_init__(self) -> None:
        self.by_key = {f.key: f for f in self.fields}
        self.by_field = {f.field: f for f in self.fields}
        self.by_field.update({link: f for f in self.fields for link in f.guests.values()})  # a guests key's links

    def path(self, record_id: Any) -> str:
        return f"/{self.name}/{record_id if record_id is not None else ''}"

    def label(self, key: str) -> str:
        """The name a validation message gives a key (Concord's field label; the key itself when unmapped)."""
        known = self.by_key.get(key)
        return known.label if known is not None else key.replace("_", " ")

    def with_counts(self, keys: dict[str, Any], counts: dict[str, Any]) -> dict[str, Any]:
        """A record's field keys with the association counts where Concord's resource shows them (each count
        comes from an association field, which has its place among the fields)."""
        if self.counts_after not in keys:
            return {**keys, **counts}
        placed: dict[str, Any] = {}
        for key, value in keys.items():
            placed[key] = value
            if key == self.counts_after:
                placed.update(counts)
        return placed

    def sortable(self) -> dict[str, str]:
        """Concord key -> the attribute it sorts by (`order=first_name|desc`)."""
        keys = {f.key: f.attribute for f in self.fields if f.type not in UNSORTABLE_TYPES}
        return {"id": "id", **keys, CREATED: "createdAt", UPDATED: "modifiedAt"}


def _shape(spec: dict[str, Any] | None) -> ModelShape | None:
    if spec is None:
        return None
    return ModelShape(tuple(spec.get("authorizations", ())), spec.get("primary"), spec.get("primaryKept"))


def _clone(spec: dict[str, Any] | None) -> CloneSpec | None:
    if spec is None:
        return None
    return CloneSpec(frozenset(spec.get("skip", ())), spec.get("values", {}), spec.get("owner"),
                     bool(spec.get("associations")))


class ConcordMapping:
    """Every resource; built once per process from the package's data file."""

    def __init__(self, spec: dict[str, Any]):
        self.phone_types: dict[str, str] = spec["phoneTypes"]  # Concord type -> canonical type
        self.phone_types_back = {canonical: concord for concord, canonical in self.phone_types.items()}
        self.resources = {name: self._resource(name, item) for name, item in spec["resources"].items()}
        # `/api/brands` and `/api/teams`: their body keys read as a resource's fields (brands.py, teams.py).
        self.brands = self._resource("brands", spec["brands"])
        self.teams = self._resource("teams", spec["teams"])
        self.by_entity = {r.entity_name: r for r in self.resources.values()}

    @classmethod
    def load(cls) -> ConcordMapping:
        return cls(load_spec())

    @staticmethod
    def _resource(name: str, spec: dict[str, Any]) -> Resource:
        fields = [ResourceField(key, item.get("field") or next(iter(item.get("guests", {}).values()), ""),
                                item["type"], item["label"], bool(item.get("required")),
                                bool(item.get("readOnly")), item.get("values"), item.get("unique"),
                                lookup=item.get("lookup"), required_if=item.get("requiredIf"),
                                tag_type=item.get("tagType"), not_in=frozenset(item.get("notIn", ())),
                                default_from=item.get("defaultFrom"), not_before=item.get("notBefore"),
                                default_record=item.get("defaultRecord"), required_message=item.get("requiredMessage"),
                                messages=item.get("messages", {}), guests=item.get("guests", {}),
                                nested=item.get("nested"), nested_everywhere=bool(item.get("nestedEverywhere")),
                                html=bool(item.get("html")))
                  for key, item in spec["fields"].items()]
        via = spec.get("via", {})
        associations = {key: Association(key, key, link) if isinstance(link, str) else
                        Association(key, link["resource"], link["link"], link.get("order"))
                        for key, link in spec.get("associations", {}).items()}
        search = {key: (column[0], column[1]) for key, column in spec.get("search", {}).items()}
        rules = {key: FilterRule(rule.get("id", key), rule["field"], rule["type"], rule.get("values"),
                                 bool(rule.get("me")), rule.get("operand"),
                                 frozenset(rule.get("withoutOperators", ())), frozenset(rule.get("withoutPresets", ())),
                                 rule.get("link"), bool(rule.get("count")))
                 for key, rule in spec.get("rules", {}).items()}
        return Resource(name, spec["entity"], spec["model"], spec["title"], spec["order"], spec["label"],
                        spec["icon"], spec["searchAction"], spec.get("globalSearch", True), fields, associations,
                        rules, search, frozenset(spec.get("notRequired", ())),
                        rule_lookups={key: rule["lookup"] for key, rule in spec.get("rules", {}).items()
                                      if "lookup" in rule},
                        rule_labels={**{rule.get("id", key): rule["label"] for key, rule in spec.get("rules", {}).items()
                                        if "label" in rule},
                                     **{key: rule["operandLabel"] for key, rule in spec.get("rules", {}).items()
                                        if "operandLabel" in rule}},
                        counts_after=spec.get("countsAfter"), link_counts=spec.get("linkCounts", {}),
                        parts=spec.get("parts", {}), shape=_shape(spec.get("modelShape")),
                        authorizations=tuple(spec["authorizations"]) if "authorizations" in spec else None,
                        after_id=tuple(spec.get("afterId", ())),
                        create_defaults=spec.get("createDefaults", {}), via=tuple(via.get("resources", ())),
                        via_required=bool(via.get("required")),
                        locked_when={k: v for k, v in spec.get("lockedWhen", {}).items() if k != "keys"},
                        locked_keys=tuple(spec.get("lockedWhen", {}).get("keys", ())),
                        billable=spec.get("billable"),
                        clone=_clone(spec.get("clone")), comments=bool(spec.get("comments")),
                        media=spec.get("media"), timeline=spec.get("timeline"),
                        export=tuple(ExportColumn(c["label"], c["key"], c.get("as", ""), bool(c.get("primary")))
                                     for c in spec.get("export", ())))

    def resource(self, name: str) -> Resource | None:
        return self.resources.get(name)

    def reserved_names(self, entity_name: str) -> frozenset[str]:
        """Keys a custom field of this entity may not take as its Concord API name: its resource's own."""
        resource = self.by_entity.get(entity_name)
        if resource is None:
            return RECORD_KEYS
        associations = frozenset(resource.associations)
        nested = frozenset(item.nested for item in resource.fields if item.nested) | (
            {"comments"} if resource.comments else set())
        return RECORD_KEYS | {"associations"} | frozenset(resource.by_key) | associations | nested | frozenset(
            f"{key}_count" for key in associations)

    def check(self, registry: Registry) -> None:
        """Every mapped field, link, rule and search column exists: a renamed field fails at start-up."""
        for resource in [*self.resources.values(), self.brands, self.teams]:
            entity = registry.entity(resource.entity_name)

            def require(name: str, where: str) -> None:
                if name != "id" and name not in entity.fields and name not in entity.attributes:
                    raise LookupError(f"Concord {resource.name} {where}: {entity.name} has no field {name}")

            for item in resource.fields:
                require(item.field, f"key {item.key}")
                if item.type not in FIELD_TYPES:
                    raise LookupError(f"Concord {resource.name} key {item.key}: no field type {item.type}")
                if (item.type == "lookup") != (item.lookup is not None):
                    raise LookupError(f"Concord {resource.name} key {item.key}: a lookup key names its list")
                if item.type in DAY_TYPES:
                    require(f"{item.field}Date", f"key {item.key}")
                if (item.type == "guests") != bool(item.guests):
                    raise LookupError(f"Concord {resource.name} key {item.key}: a guests key names its links")
                for name, link in item.guests.items():
                    target = entity.links.get(link)
                    if target is None or target.storage is not LinkStorage.JUNCTION or any(
                            f not in registry.entity(target.entity or "").fields for f in GUEST_FIELDS):
                        raise LookupError(f"Concord {resource.name} key {item.key}: {name} is no many-to-many "
                                          f"link of {entity.name} to records with a name and an email address")
                if item.type == "flag" and set(item.values or ()) != {"true", "false"}:
                    raise LookupError(f"Concord {resource.name} key {item.key}: a flag maps true and false")
                if item.default_record is not None and (
                        item.field not in entity.links or entity.links[item.field].entity is None
                        or item.default_record not in registry.entity(entity.links[item.field].entity).attributes):
                    raise LookupError(f"Concord {resource.name} key {item.key}: no default record by "
                                      f"{item.default_record}")
                for other in (item.default_from, item.not_before):
                    if other is not None and other not in resource.by_key:
                        raise LookupError(f"Concord {resource.name} key {item.key}: no key {other}")
                if item.nested is not None and (item.type not in LINK_TYPES or item.type == "id" and (
                        entity.links.get(item.field) is None
                        or entity.links[item.field].entity not in self.by_entity)):
                    raise LookupError(f"Concord {resource.name} key {item.key}: only an owner or a link to a "
                                      "resource's records nests its record")
            for key, lookup in [*((f.key, f.lookup) for f in resource.fields if f.lookup),
                                *resource.rule_lookups.items()]:
                if lookup != COUNTRIES and lookup not in self.resources:
                    raise LookupError(f"Concord {resource.name} {key}: no list {lookup}")
            for name in [*resource.create_defaults, *resource.locked_when]:
                require(name, "createDefaults/lockedWhen")
            for key in resource.locked_keys:
                if key not in resource.by_key:
                    raise LookupError(f"Concord {resource.name} lockedWhen: no key {key}")
            if resource.comments and (entity.links.get("comments") is None
                                      or entity.links["comments"].entity != "Comment"):
                raise LookupError(f"Concord {resource.name} comments: {entity.name} has no comments link to Comment")
            if resource.timeline is not None and "module" in resource.timeline and not entity.stream:
                raise LookupError(f"Concord {resource.name} timeline: {entity.name} has no stream")
            if resource.clone is not None:
                for key in [*resource.clone.skipped, *(k for k in (resource.clone.owner,) if k)]:
                    if key not in resource.by_key:
                        raise LookupError(f"Concord {resource.name} clone: no key {key}")
                for name in resource.clone.values:
                    require(name, "clone values")
            for column in resource.export:
                if column.kind not in EXPORT_KINDS or (column.kind in ("name", "stored", "money")
                                                       and column.key not in resource.by_key):
                    raise LookupError(f"Concord {resource.name} export {column.key}: no {column.kind or 'key'}")
                if column.kind == "name":
                    require(f"{resource.by_key[column.key].field}Name", f"export {column.key}")
                if column.kind == "records" and column.key not in resource.associations:
                    raise LookupError(f"Concord {resource.name} export {column.key}: no association")
            problems = check_rules(resource.rules, entity, registry)
            if problems:
                raise LookupError(f"Concord {resource.name}: {'; '.join(problems)}")
            for key, (name, _) in resource.search.items():
                require(name, f"search column {key}")
            for name in resource.not_required:
                require(name, "notRequired")
            for key in resource.via:
                if key not in resource.associations:
                    raise LookupError(f"Concord {resource.name} via {key}: not one of its association keys")
            require(resource.title, "title")
            if resource.shape is not None and resource.shape.primary is not None:
                require(resource.shape.primary, "modelShape.primary")
            require(resource.order, "order")
            for key, part in resource.parts.items():
                link = entity.relation(part["link"])
                target = registry.entity(link.entity) if link is not None and link.entity else None
                if target is None or any(f not in target.fields for f in part["shown"].values()):
                    raise LookupError(f"Concord {resource.name} part {key}: no link {part['link']} to records "
                                      f"with the fields {', '.join(part['shown'].values())}")
            for key, link in resource.link_counts.items():
                if entity.relation(link) is None:
                    raise LookupError(f"Concord {resource.name} count {key}: {entity.name} has no link {link}")
            for association in resource.associations.values():
                if association.link not in entity.links:
                    raise LookupError(f"Concord {resource.name} association {association.key}: "
                                      f"{entity.name} has no link {association.link}")
                target = self.resources.get(association.resource)
                if target is None or entity.links[association.link].entity != target.entity_name:
                    raise LookupError(f"Concord {resource.name} association {association.key} does not lead "
                                      f"to the {association.resource} resource")
                if association.order is not None and association.order not in registry.entity(
                        target.entity_name).fields:
                    raise LookupError(f"Concord {resource.name} association {association.key}: no field "
                                      f"{association.order} to order by")
