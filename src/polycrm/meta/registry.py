"""The registry of entities: built-in definitions from `definitions/entities/*.json` plus custom fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterable

from polycrm.meta.fieldtypes import expand, junction_column
from polycrm.meta.model import (FOLLOW_ATTRIBUTES, Attribute, Entity, Field, Link, LinkStorage, PrimaryRowColumn,
                                ValueKind, snake_case)

# Present on every entity whether or not its definition lists them.
SYSTEM_ATTRIBUTES = (
    Attribute("id", "id", ValueKind.ID, "id", False),
    Attribute("deleted", "deleted", ValueKind.BOOL, "deleted", False),
    Attribute("versionNumber", "versionNumber", ValueKind.INT, "version_number", False),
)
SYSTEM_FIELD_TYPES = {"id": "id", "deleted": "bool", "versionNumber": "int"}


class UnknownEntity(LookupError):
    """Raised for an entity type the registry does not know."""


@dataclass(frozen=True, slots=True)
class CustomFieldDefinition:
    """A field added at runtime; persisted by the store and replayed into the registry on start."""

    entity: str
    name: str
    type: str
    params: dict[str, Any]
    api_names: dict[str, str]
    id: int | None = None  # its number in the store (None until stored)


def _relation_name(a: str, b: str) -> str:
    """EspoCRM's default name for a many-to-many between two entities: lcfirst of both, sorted."""
    first, second = sorted((a, b))
    return first[0].lower() + first[1:] + second


class Registry:
    """All entity definitions of one running instance."""

    def __init__(self, raw: dict[str, dict[str, Any]]):
        self._raw = raw
        # True while this is exactly the built-in definitions (`load_builtin_registry`, no custom field yet):
        # what is built from it is the same for every such registry of the process.
        self.builtin = False
        self.entities: dict[str, Entity] = {}
        for name, definition in raw.items():
            self.entities[name] = self._build_entity(name, definition)
        for entity in self.entities.values():
            self._resolve_links(entity)

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise UnknownEntity(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self.entities

    def names(self) -> list[str]:
        return list(self.entities)

    # --- building ---------------------------------------------------------------------------------

    def _build_entity(self, name: str, definition: dict[str, Any]) -> Entity:
        fields = {fname: Field(fname, params["type"], dict(params)) for fname, params in definition["fields"].items()}
        collection = definition.get("collection", {})
        indexes = {
            index_name: [column for column in spec["columns"] if column != "deleted"]
            for index_name, spec in definition.get("indexes", {}).items()
        }
        entity = Entity(
            name=name,
            table=snake_case(name),
            fields=fields,
            links={},
            attributes={},
            order_by=collection.get("orderBy") or "id",
            order=(collection.get("order") or "asc").lower(),
            text_filter_fields=collection.get("textFilterFields") or ["name"],
            full_text_search=bool(collection.get("fullTextSearch")),
            full_text_search_fields=tuple(collection.get("fullTextSearchFields", ())),
            search_order_by=collection.get("searchOrderBy"),
            duplicate_check_fields=definition.get("duplicateCheckFields", []),
            primary_filters=definition.get("primaryFilters", {}),
            indexes=indexes,
            stream=bool(definition.get("stream")),
            status_field=definition.get("statusField"),
            column_filter_fields={name: (spec["link"], spec["column"])
                                  for name, spec in definition.get("columnFilterFields", {}).items()},
            primary_row_columns={name: PrimaryRowColumn(**field.params["primaryRowColumn"])
                                 for name, field in fields.items() if field.params.get("primaryRowColumn")},
            kept_links={name: field.params["keptIn"] for name, field in fields.items() if field.params.get("keptIn")},
            owner_override=definition.get("ownerAttribute"),
            team_attribute=definition.get("teamAttribute"),
            read_by_everyone=bool(definition.get("readByEveryone")),
            part_of=frozenset(definition.get("partOf", ())),
            one_default=definition.get("oneDefault"),
        )
        self._rebuild_attributes(entity)
        return entity

    @staticmethod
    def _rebuild_attributes(entity: Entity) -> None:
        id_attribute, *bookkeeping = SYSTEM_ATTRIBUTES
        attributes = {id_attribute.name: id_attribute}
        for field in entity.fields.values():
            for attribute in expand(field):
                attributes.setdefault(attribute.name, attribute)
        for attribute in bookkeeping:
            attributes.setdefault(attribute.name, attribute)
        if entity.stream:
            for attribute in FOLLOW_ATTRIBUTES:
                attributes.setdefault(attribute.name, attribute)
        entity.attributes = attributes
        entity.fields_changed()

    def _resolve_links(self, entity: Entity) -> None:
        for link_name, spec in self._raw[entity.name].get("links", {}).items():
            link = self._resolve_link(entity, link_name, spec)
            if link is not None:
                entity.links[link_name] = link
        self._check_junction_sources(entity)

    @staticmethod
    def _check_junction_sources(entity: Entity) -> None:
        """Fields that stand for junction columns must name columns their links have: a definition error
        would otherwise surface as a failing request."""
        def has_column(link_name: str, column: str) -> bool:
            link = entity.links.get(link_name)
            return link is not None and column in link.columns

        for name, (link_name, column) in entity.column_filter_fields.items():
            if not has_column(link_name, column):
                raise ValueError(f"{entity.name}.{name}: {link_name} has no junction column {column}")
        for name, source in entity.primary_row_columns.items():
            through = entity.links.get(source.through)
            if not has_column(source.link, source.column) or through is None \
                    or through.storage is not LinkStorage.COLUMN:
                raise ValueError(f"{entity.name}.{name}: no junction column {source.link}.{source.column} "
                                 f"through the belongsTo link {source.through}")
        for name, kept_in in entity.kept_links.items():
            link, many = entity.links.get(name), entity.links.get(kept_in)
            if link is None or link.storage is not LinkStorage.COLUMN or many is None \
                    or many.storage is not LinkStorage.JUNCTION or many.entity != link.entity:
                raise ValueError(f"{entity.name}.{name}: keptIn {kept_in} must be a many-to-many link to "
                                 f"the same entity as the belongsTo link {name}")

    def _resolve_link(self, entity: Entity, name: str, spec: dict[str, Any]) -> Link | None:
        kind, target, foreign = spec["type"], spec.get("entity"), spec.get("foreign")
        if kind == "belongsToParent":
            return Link(name, kind, None, foreign, LinkStorage.PARENT, far_column=snake_case(name) + "_id")
        if target not in self._raw:
            return None
        if kind == "belongsTo":
            if name not in self._raw[entity.name]["fields"]:
                return None  # no `<link>Id` column to hold it
            return Link(name, kind, target, foreign, LinkStorage.COLUMN, far_column=snake_case(name) + "_id")
        foreign_spec = self._raw[target].get("links", {}).get(foreign or "", {})
        foreign_kind = foreign_spec.get("type")
        if kind in {"hasMany", "hasOne"} and foreign_kind == "belongsTo":
            if foreign not in self._raw[target]["fields"]:
                return None
            return Link(name, kind, target, foreign, LinkStorage.REVERSE_COLUMN, far_column=snake_case(foreign) + "_id")
        if kind == "hasChildren":
            return Link(name, kind, target, foreign, LinkStorage.CHILDREN, far_column=snake_case(foreign or "parent"))
        if kind == "hasMany" and foreign_kind == "hasMany":
            relation = spec.get("relationName") or foreign_spec.get("relationName") or _relation_name(entity.name,
                                                                                                      target)
            near, far = snake_case(entity.name) + "_id", snake_case(target) + "_id"
            if near == far:  # self-relation
                near, far = "left_id", "right_id"
            # EspoCRM describes the junction's columns on one side only; both sides share them.
            columns = spec.get("additionalColumns") or foreign_spec.get("additionalColumns") or {}
            return Link(name, kind, target, foreign, LinkStorage.JUNCTION, table=snake_case(relation),
                        near_column=near, far_column=far,
                        columns={column: junction_column(name, column, params) for column, params in columns.items()},
                        column_attributes={column: attribute for column, attribute
                                           in spec.get("columnAttributeMap", {}).items() if column in columns})
        if kind == "hasMany" and spec.get("relationName"):
            return Link(name, kind, target, None, LinkStorage.POLYMORPHIC, table=snake_case(spec["relationName"]),
                        near_column="entity_id", far_column=snake_case(target) + "_id")
        return None

    # --- custom fields ----------------------------------------------------------------------------

    def add_custom_field(self, definition: CustomFieldDefinition) -> Field:
        """Register a runtime field (already persisted) so every layer sees it at once."""
        entity = self.entity(definition.entity)
        self.builtin = False
        field = Field(definition.name, definition.type, dict(definition.params, type=definition.type), custom=True,
                      api_names=dict(definition.api_names), custom_id=definition.id)
        entity.fields[definition.name] = field
        self._rebuild_attributes(entity)
        return field

    def remove_custom_field(self, entity_name: str, name: str) -> None:
        """Forget a runtime field (already removed from the store); built-in fields stay."""
        entity = self.entity(entity_name)
        field = entity.fields.get(name)
        if field is None or not field.custom:
            return
        del entity.fields[name]
        self._rebuild_attributes(entity)

    def set_api_names(self, entity_name: str, name: str, api_names: dict[str, str]) -> None:
        """Replace a field's per-dialect API names (already persisted)."""
        entity = self.entity(entity_name)
        entity.fields[name].api_names = dict(api_names)
        entity.fields_changed()

    def with_custom_field(self, definition: CustomFieldDefinition) -> "Registry":
        """A copy of this registry with one more custom field; the original is untouched."""
        return self.with_custom_fields([*self.custom_field_definitions(), definition])

    def with_custom_fields(self, definitions: Iterable[CustomFieldDefinition]) -> "Registry":
        """A copy of this registry's built-in definitions with exactly these custom fields (those of entity
        types it does not know are left out); the original is untouched."""
        copy = Registry(json.loads(json.dumps(self._raw)))
        for definition in definitions:
            if definition.entity in copy:
                copy.add_custom_field(definition)
        return copy

    def custom_fields(self) -> list[tuple[Entity, Field]]:
        return [(entity, field) for entity in self.entities.values() for field in entity.fields.values()
                if field.custom]

    def custom_field_definitions(self) -> list[CustomFieldDefinition]:
        return [CustomFieldDefinition(entity.name, field.name, field.type,
                                      {k: v for k, v in field.params.items() if k != "type"}, field.api_names,
                                      field.custom_id)
                for entity, field in self.custom_fields()]


def _builtin_definitions() -> dict[str, dict[str, Any]]:
    folder = resources.files("polycrm.meta") / "definitions" / "entities"
    return {
        item.name.removesuffix(".json"): json.loads(item.read_text())
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".json")
    }


_BUILTIN_CACHE: dict[str, dict[str, Any]] | None = None


def load_builtin_registry() -> Registry:
    """A fresh registry of the built-in entities (custom fields are added by the store on start)."""
    global _BUILTIN_CACHE
    if _BUILTIN_CACHE is None:
        _BUILTIN_CACHE = _builtin_definitions()
    registry = Registry(json.loads(json.dumps(_BUILTIN_CACHE)))
    registry.builtin = True
    return registry
