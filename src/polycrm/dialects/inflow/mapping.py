"""InflowCRM modules and "Api field names" over PolyCRM entities and fields.

The mapping itself is data (`modules.json`): module names and labels, the entity each module shows, and the
API names of built-in fields. Custom fields join a module under the InflowCRM API name they were given
(`Field.api_names["inflow"]`). Only fields with an API name exist on this protocol.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Any, Iterable

from polycrm.meta import Entity, Field

DIALECT = "inflow"
# Keys every record or request has on this protocol; no field may take them as its API name.
SYSTEM_NAMES = frozenset({"id", "createdAt", "modifiedAt", "files", "standaloneAttachments", "module"})
USER_MODULE = "user"


class FieldType(str, enum.Enum):
    """InflowCRM field types (docs: modules.md; `array` from the filter matrix)."""

    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    PICKLIST = "picklist"
    MULTI_PICK = "multi-pick"
    ARRAY = "array"
    RELATION = "relation"
    FILE = "file"


FIELD_TYPES: dict[str, FieldType] = {
    **dict.fromkeys(("varchar", "text", "url", "wysiwyg", "email", "phone", "personName", "barcode",
                     "colorpicker"), FieldType.STRING),
    **dict.fromkeys(("int", "float", "decimal", "currency", "currencyConverted", "autoincrement"),
                    FieldType.NUMBER),
    **dict.fromkeys(("date", "datetime", "datetimeOptional"), FieldType.DATE),
    **dict.fromkeys(("multiEnum", "checklist"), FieldType.MULTI_PICK),
    **dict.fromkeys(("link", "linkParent"), FieldType.RELATION),
    **dict.fromkeys(("file", "image"), FieldType.FILE),
    "bool": FieldType.BOOLEAN,
    "enum": FieldType.PICKLIST,
    "array": FieldType.ARRAY,
}

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|_+")


def label_of(name: str) -> str:
    """A readable label for a name without one: `customerCity` -> `Customer city`."""
    words = [w for w in _WORD_BOUNDARY.split(name) if w]
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:] if text else name


@dataclass(frozen=True, slots=True)
class BuiltinField:
    """One entry of a module's `fields` in modules.json."""

    api_name: str
    field: str
    label: str
    read_only: bool


@dataclass(frozen=True, slots=True)
class Process:
    """A pipeline of a module: the stages are the options of a canonical enum field."""

    key: str
    label: str
    stage_field: str


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """A module as modules.json declares it."""

    name: str
    entity: str
    singular: str
    plural: str
    aliases: tuple[str, ...]
    builtins: tuple[BuiltinField, ...]
    processes: tuple[Process, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the module may be addressed by (compared case-insensitively)."""
        return (self.name, self.singular, self.plural, *self.aliases)


@dataclass(frozen=True, slots=True)
class ApiField:
    """A canonical field as it appears on this protocol."""

    name: str
    field: Field
    type: FieldType
    label: str
    read_only: bool
    related_entities: tuple[str, ...]  # relation targets: one for a link, the entity list of a parent link

    @property
    def required(self) -> bool:
        return self.field.required and not self.read_only

    @property
    def polymorphic(self) -> bool:
        return self.field.type == "linkParent"


@dataclass(frozen=True)
class Module:
    """A module over the live definition of its entity: the fields that have an API name, in order."""

    spec: ModuleSpec
    entity: Entity
    fields: dict[str, ApiField]

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def api_names(self) -> dict[str, str]:
        """Canonical field name -> API name."""
        return {f.field.name: f.name for f in self.fields.values()}


def _builtin(api_name: str, entry: Any) -> BuiltinField:
    if isinstance(entry, str):
        return BuiltinField(api_name, entry, label_of(api_name), False)
    return BuiltinField(api_name, entry["field"], entry.get("label") or label_of(api_name),
                        bool(entry.get("readonly")))


def _spec(name: str, raw: dict[str, Any]) -> ModuleSpec:
    return ModuleSpec(
        name=name, entity=raw["entity"], singular=raw.get("singular", label_of(name)),
        plural=raw.get("plural", label_of(name) + "s"), aliases=tuple(raw.get("aliases", ())),
        builtins=tuple(_builtin(api, entry) for api, entry in raw["fields"].items()),
        processes=tuple(Process(p["key"], p["label"], p["stageField"]) for p in raw.get("processes", ())))


class InflowMapping:
    """The module table of modules.json, and modules over live entity definitions."""

    def __init__(self, raw: dict[str, Any]):
        self.specs = [_spec(name, spec) for name, spec in raw["modules"].items()]
        self.users = _spec(USER_MODULE, raw["users"])  # serves the user endpoints; never in a bundle
        self._by_name = {n.lower(): spec for spec in self.specs for n in reversed(spec.names)}
        self._by_entity = {spec.entity: spec for spec in [self.users, *self.specs]}

    @classmethod
    def load(cls) -> "InflowMapping":
        text = (resources.files("polycrm.dialects.inflow") / "modules.json").read_text()
        return cls(json.loads(text))

    def resolve(self, name: str) -> ModuleSpec | None:
        """The module named by its name, system name, singular, plural or an alias; any letter case."""
        return self._by_name.get(name.lower())

    def module_name(self, entity_name: str) -> str | None:
        """The InflowCRM module an entity is shown as (`user` for users), if any."""
        spec = self._by_entity.get(entity_name)
        return spec.name if spec else None

    def module_for(self, entity: Entity) -> Module | None:
        """The module showing records of `entity` (live definition), for renderers that start from a record,
        such as webhook payloads: `render_record(mapping.module_for(entity), record)`."""
        spec = self._by_entity.get(entity.name)
        return self.module(spec, entity) if spec else None

    def reserved_names(self, entity_name: str) -> frozenset[str]:
        """API names a custom field of this entity may not take: system keys and the built-in fields' names."""
        spec = self._by_entity.get(entity_name)
        return SYSTEM_NAMES | frozenset(b.api_name for b in spec.builtins) if spec else SYSTEM_NAMES

    def module(self, spec: ModuleSpec, entity: Entity) -> Module:
        """The module over the entity's live definition (custom fields included)."""
        fields: dict[str, ApiField] = {}
        for builtin in spec.builtins:
            field = entity.fields.get(builtin.field)
            if field is not None and field.type in FIELD_TYPES:
                fields[builtin.api_name] = self._api_field(builtin.api_name, field, builtin.label,
                                                           builtin.read_only)
        for field in entity.fields.values():
            api_name = field.api_names.get(DIALECT)
            if field.custom and api_name and api_name not in fields and field.type in FIELD_TYPES:
                fields[api_name] = self._api_field(api_name, field, label_of(field.name.removeprefix("c")), False)
        return Module(spec, entity, fields)

    @staticmethod
    def _api_field(api_name: str, field: Field, label: str, read_only: bool) -> ApiField:
        if field.type == "linkParent":
            related: Iterable[str] = field.params.get("entityList") or ()
        else:
            related = (field.target,) if field.target else ()
        system_read_only = field.read_only or field.type in {"personName", "currencyConverted", "autoincrement"}
        return ApiField(api_name, field, FIELD_TYPES[field.type], label, read_only or system_read_only,
                        tuple(related))
