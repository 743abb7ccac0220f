"""Concord CRM's custom field types (specs/concord.md §6, §9 "§6 Custom fields") over PolyCRM's custom fields,
as data: which PolyCRM type holds each Concord type's column, how its values read and render, which filter
rule it has. A custom field is a real column whatever protocol made it; Concord sees those that have a
Concord API name (their `cf_...` key).

| Concord type | PolyCRM type | Concord value (write; read when different) | EspoCRM value | rule |
|---|---|---|---|---|
| Boolean | bool | `true` | `true` | radio (Yes/No) |
| Checkbox | checklist | `[optionId, ...]`; reads `[{id, name, swatch_color}]` | `["name", ...]` | checkbox |
| ColorSwatch | varchar(7) | `"#333333"` (`#rgb`, `#rgba`, `#rrggbb`) | the same | text |
| Date | date | `"2020-11-26"` | the same | date |
| DateTime | datetime | `"2020-11-26 06:00:00"` (UTC) | the same | date |
| Email | varchar(191) | an email address (a 1.5.1 type §6 leaves out) | the same | text |
| MultiSelect | multiEnum | as Checkbox | `["name", ...]` | multi-select |
| Number | int | an integer | the same | number |
| Numeric | float | a number, at most 3 decimals, below 10^12 (Concord's decimal(15,3)) | the same | numeric |
| Radio | enum | `optionId` | `"name"` | radio |
| Select | enum | `optionId` | `"name"` | select |
| Text | varchar(191) | a string | the same | text |
| Textarea | text | a string | the same | text |
| Timezone | varchar | a zone name, e.g. `"America/Toronto"` | the same | select (every zone) |
| Url | url | a URL with a scheme, at most 191 characters (`URL` accepted as the type's name) | the same | text |

Option ids are the numbers PolyCRM gives an option field's options for life (`optionIds`, core.fields); the
column holds option names, so EspoCRM and InflowCRM read names where Concord reads ids. Options are written
as ids or as names (Concord's `acceptLabelAsValue`), and an unknown one is refused: Concord 1.5.1 creates an
option named after it, which no client means. The field's Concord type and its options' swatch colours are
kept in the field's `dialectParams`; a field made through another protocol takes the Concord type of its
PolyCRM type (DEFAULT_TYPES). Fields of PolyCRM types Concord has no type for (array, file) show their raw
value and have no rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from functools import cache
from typing import Any, Mapping
from zoneinfo import available_timezones

from polycrm.core.fields import DIALECT_PARAMS, OPTION_FIELD_TYPES, option_ids
from polycrm.dialects.concord.filter_rules import FilterRule
from polycrm.dialects.concord.mapping import CREATED, DIALECT, UPDATED, Resource, ResourceField
from polycrm.meta import Entity, Field

PREFIX = "cf_"  # Concord's `fields.custom_fields.prefix`


@dataclass(frozen=True, slots=True)
class ConcordType:
    """One Concord custom field type: its name (`field_type`), the PolyCRM type of its column (made with
    `params`), how its values read (field_readers.FieldReaders) and render (render.CUSTOM_RENDERERS), its
    filter rule type (None: no rule), and whether it may be marked unique (Concord's UniqueableCustomfield)."""

    name: str
    canonical: str
    value: str
    rule: str | None
    params: Mapping[str, Any] = dataclass_field(default_factory=dict)
    uniqueable: bool = False

    @property
    def optionable(self) -> bool:
        return self.canonical in OPTION_FIELD_TYPES

    @property
    def multiple(self) -> bool:
        return self.optionable and self.value == "options"


TYPES: dict[str, ConcordType] = {t.name: t for t in (
    ConcordType("Boolean", "bool", "bool", "boolean"),
    ConcordType("Checkbox", "checklist", "options", "checkbox"),
    ConcordType("ColorSwatch", "varchar", "color", "text", {"maxLength": 7}),
    ConcordType("Date", "date", "date", "date"),
    ConcordType("DateTime", "datetime", "datetime", "date"),
    ConcordType("Email", "varchar", "email", "text", {"maxLength": 191}, uniqueable=True),
    ConcordType("MultiSelect", "multiEnum", "options", "multi-select"),
    ConcordType("Number", "int", "integer", "number", uniqueable=True),
    ConcordType("Numeric", "float", "numeric", "numeric"),
    ConcordType("Radio", "enum", "option", "radio"),
    ConcordType("Select", "enum", "option", "select"),
    ConcordType("Text", "varchar", "string", "text", {"maxLength": 191}, uniqueable=True),
    ConcordType("Textarea", "text", "text", "text"),
    ConcordType("Timezone", "varchar", "timezone", "select"),
    ConcordType("Url", "url", "url", "text", uniqueable=True),
)}
# Other spellings of type names a client may send (the docs' table writes "URL").
TYPE_ALIASES = {"URL": "Url"}
# The Concord type of a field made through another protocol, by its PolyCRM type.
DEFAULT_TYPES: dict[str, ConcordType] = {
    "bool": TYPES["Boolean"], "checklist": TYPES["Checkbox"], "date": TYPES["Date"], "datetime": TYPES["DateTime"],
    "multiEnum": TYPES["MultiSelect"], "int": TYPES["Number"], "float": TYPES["Numeric"],
    "currency": TYPES["Numeric"], "enum": TYPES["Select"], "varchar": TYPES["Text"], "text": TYPES["Textarea"],
    "wysiwyg": TYPES["Textarea"], "url": TYPES["Url"],
}
# Fields of PolyCRM types Concord has no type for: their raw value, no rule, not listed as Concord fields.
RAW = ConcordType("", "", "raw", None)


def concord_type(name: Any) -> ConcordType | None:
    """The type a `field_type` names (None: not one)."""
    return TYPES.get(TYPE_ALIASES.get(name, name)) if isinstance(name, str) else None


@cache
def time_zones() -> dict[str, str]:
    """The zone names a Timezone field takes (the IANA database Python has), sorted, each its own filter
    value."""
    return {zone: zone for zone in sorted(available_timezones())}


@dataclass(frozen=True, slots=True)
class ConcordOption:
    id: int
    name: str
    color: str | None
    order: int  # 1-based position

    def shown(self) -> dict[str, Any]:
        """The option as a record's MultiSelect value and a rule's choices show it."""
        return {"id": self.id, "name": self.name, "swatch_color": self.color}


@dataclass(frozen=True, slots=True)
class CustomField:
    """A custom field as Concord shows it."""

    key: str  # the `cf_...` key (Concord's field_id)
    field: str  # the PolyCRM field
    type: ConcordType
    label: str
    options: tuple[ConcordOption, ...]
    custom_id: int | None  # Concord's custom field id

    @property
    def names_by_id(self) -> dict[str, str]:
        """Option id (as text) -> option name, for reading values and filters."""
        return {str(option.id): option.name for option in self.options}

    @property
    def sortable(self) -> bool:
        return not self.type.multiple and self.type is not RAW

    def spec(self) -> ResourceField:
        """The field as a record key the body reader reads."""
        return ResourceField(self.key, self.field, self.type.value, self.label, values=self.names_by_id)

    def rule(self) -> FilterRule | None:
        """Its `filters` rule: its key is the rule id (§9 §6); options filter by id."""
        if self.type.rule is None:
            return None
        values: Mapping[str, Any] | None = None
        if self.type.optionable:
            values = self.names_by_id
        elif self.type.name == "Timezone":
            values = time_zones()
        return FilterRule(self.key, self.field, self.type.rule, values)


def describe(item: Field) -> CustomField | None:
    """A field as Concord shows it; None when it has no Concord key."""
    key = item.api_names.get(DIALECT)
    if key is None:
        return None
    kept = _kept(item)
    named = concord_type(kept.get("type"))
    kind = named if named is not None and named.canonical == item.type else DEFAULT_TYPES.get(item.type, RAW)
    options: tuple[ConcordOption, ...] = ()
    if kind.optionable:
        ids, colors = option_ids(item), kept.get("colors") or {}
        options = tuple(ConcordOption(ids[name], name, colors.get(name), position)
                        for position, name in enumerate(item.options or (), start=1) if name in ids)
    label = item.params.get("label")
    return CustomField(key, item.name, kind, label if isinstance(label, str) and label else key, options,
                       item.custom_id)


def custom_fields(entity: Entity) -> list[CustomField]:
    """The entity's fields that have a Concord (`cf_`) key, in field order."""
    return entity.memo(custom_fields, lambda: [found for item in entity.fields.values()
                                               if (found := describe(item)) is not None])


def concord_params(kind: ConcordType, colors: Mapping[str, str]) -> dict[str, Any]:
    """What a field keeps for Concord in its `dialectParams`: its type, its options' swatch colours."""
    kept: dict[str, Any] = {"type": kind.name}
    if colors:
        kept["colors"] = dict(colors)
    return {DIALECT: kept}


def _kept(item: Field) -> dict[str, Any]:
    kept = (item.params.get(DIALECT_PARAMS) or {}).get(DIALECT)
    return kept if isinstance(kept, dict) else {}


def selectable_keys(resource: Resource, entity: Entity) -> list[str]:
    """Every key a record of `resource` over `entity` shows that `select` may name, custom fields included."""
    return ["id", CREATED, UPDATED, *resource.by_key, *(item.key for item in custom_fields(entity))]
