"""Canonical records as Concord CRM's JSON resources (specs/concord.md §4, §9 "§4 Record JSON").

Key order is Concord's: `id`, the association counts, `display_name`, `path`, the timestamps,
`authorizations`, `was_recently_created`, the fields in the resource's order, the custom fields (`cf_*`),
then, on single records, the nested associations, `actions` and `associations_count`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping

from polycrm.dialects.concord.custom_types import CustomField, custom_fields
from polycrm.dialects.concord.mapping import CREATED, DAY_TYPES, UPDATED, ConcordMapping, Resource
from polycrm.meta import Entity

# The authorizations Concord shows on contacts, companies and deals, and the ACL action behind each.
AUTHORIZATIONS = (("viewAny", "read"), ("view", "read"), ("create", "create"), ("update", "edit"),
                  ("delete", "delete"), ("bulkDelete", "delete"), ("export", "read"))


def concord_datetime(value: Any) -> str | None:
    """Laravel's serialised datetime: `2024-05-01T10:00:00.000000Z` (UTC; MySQL keeps whole seconds)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000000Z")
    return str(value)


def _value(kind: str, value: Any, phone_types: Mapping[str, str], values: Mapping[str, str] | None) -> Any:
    if kind == "flag":
        return value is not None and value == (values or {}).get("true")
    if value is None:
        return None
    if kind == "datetimeOptional":  # Concord's activity dates: a day as written, a moment as Laravel's JSON
        return concord_datetime(value) if isinstance(value, datetime) else \
            value.isoformat() if isinstance(value, date) else str(value)
    if kind in ("date", "datetime"):
        return concord_datetime(value)
    if kind == "decimal":
        return float(value)
    if kind == "enum" and values:
        return next((shown for shown, canonical in values.items() if canonical == value), value)
    if kind == "phones":
        return [{"id": position, "number": item["phoneNumber"], "type": phone_types.get(item.get("type") or "", "other")}
                for position, item in enumerate(value, start=1)]
    return value


def _option_id(field: CustomField, value: Any) -> int | None:
    """A Select or Radio value: its option's id (None for a value no option has now)."""
    return next((option.id for option in field.options if option.name == value), None)


def _option_objects(field: CustomField, value: Any) -> list[dict[str, Any]]:
    """A MultiSelect or Checkbox value as Concord 1.5.1 resolves it: its options, in their order."""
    chosen = set(value or ())
    return [option.shown() for option in field.options if option.name in chosen]


# Custom field values by how they render (custom_types.ConcordType.value); others show as stored. Dates are
# MySQL's text, as Concord shows a custom column it does not cast.
CUSTOM_RENDERERS: dict[str, Callable[[CustomField, Any], Any]] = {
    "date": lambda _, value: value.isoformat() if isinstance(value, date) else value,
    "datetime": lambda _, value: value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value,
    "numeric": lambda _, value: float(value) if isinstance(value, (int, float)) else value,
    "option": _option_id,
    "options": _option_objects,
}


def render_custom(field: CustomField, value: Any) -> Any:
    renderer = CUSTOM_RENDERERS.get(field.type.value)
    if renderer is None or (value is None and field.type.value != "options"):
        return value
    return renderer(field, value)


class RecordRenderer:
    """Renders one resource's records; `attributes` says what a read must fetch for it."""

    def __init__(self, mapping: ConcordMapping, resource: Resource, entity: Entity):
        self.mapping = mapping
        self.resource = resource
        self.entity = entity
        self.custom = custom_fields(entity)

    def attributes(self) -> list[str]:
        wanted = ["id", self.resource.title, "createdAt", "modifiedAt"]
        if self.entity.owner_attribute:
            wanted.append(self.entity.owner_attribute)
        for item in self.resource.fields:
            wanted.append(f"{item.field}Data" if item.type == "phones" else item.attribute)
            if item.type in DAY_TYPES:
                wanted.append(f"{item.field}Date")
        wanted += [item.field for item in self.custom]
        return list(dict.fromkeys(a for a in wanted if a == "id" or a in self.entity.attributes))

    def render(self, record: Mapping[str, Any], *, authorizations: Mapping[str, bool],
               counts: Mapping[str, int] | None = None, created: bool = False,
               associations: Mapping[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
        """One record; `associations` (single records only) adds the nested arrays, `actions` and
        `associations_count`."""
        resource = self.resource
        shown: dict[str, Any] = {"id": record.get("id")}
        for key in resource.associations:
            if counts is not None:
                shown[f"{key}_count"] = counts.get(key, 0)
        shown["display_name"] = record.get(resource.title)
        shown["path"] = resource.path(record.get("id"))
        shown[CREATED] = concord_datetime(record.get("createdAt"))
        shown[UPDATED] = concord_datetime(record.get("modifiedAt"))
        shown["authorizations"] = dict(authorizations)
        shown["was_recently_created"] = created
        phone_types = self.mapping.phone_types_back
        for item in resource.fields:
            raw = record.get(f"{item.field}Data" if item.type == "phones" else item.attribute)
            if item.type in DAY_TYPES and record.get(f"{item.field}Date") is not None:
                raw = record[f"{item.field}Date"]  # all day: the day, not its (EspoCRM's next-day) moment
            shown[item.key] = _value(item.type, raw, phone_types, item.values)
        for item in self.custom:
            shown[item.key] = render_custom(item, record.get(item.field))
        if associations is not None:
            shown.update(associations)
            shown["actions"] = []  # Concord's UI actions: field metadata no API client reads (§10)
            shown["associations_count"] = sum(len(items) for items in associations.values())
        return shown


def authorizations(levels: Mapping[str, bool]) -> dict[str, bool]:
    """Concord's `authorizations` from what the caller may do (ACL action -> allowed) with the record."""
    return {key: levels.get(action, False) for key, action in AUTHORIZATIONS}
