"""Field metadata of a module: `getModuleFields` (HEAD item shape, with the older keys too), the Make.com
shape of `make/getModuleFields` (2026), and a synthetic sample record for an empty module."""

from __future__ import annotations

from typing import Any, Callable

from polycrm.dialects.inflow.ids import encode_id
from polycrm.dialects.inflow.mapping import ApiField, FieldType, Module

# A value of each type for the sample record of a module without records.
_SAMPLES: dict[FieldType, Any] = {
    FieldType.STRING: "Example", FieldType.NUMBER: 100, FieldType.BOOLEAN: False, FieldType.DATE: "2025-01-15",
    FieldType.MULTI_PICK: [], FieldType.ARRAY: [], FieldType.RELATION: None, FieldType.FILE: None,
}
_MAKE_TYPES = {FieldType.STRING: "text", FieldType.NUMBER: "number", FieldType.DATE: "date",
               FieldType.BOOLEAN: "boolean", FieldType.RELATION: "select", FieldType.PICKLIST: "select",
               FieldType.MULTI_PICK: "select", FieldType.ARRAY: "array"}
SAMPLE_TIMESTAMP = "2025-01-15T10:30:00.000Z"


def _options(api_field: ApiField) -> list[str]:
    return [o for o in api_field.field.options or [] if o != ""]


def _max_length(module: Module, api_field: ApiField) -> int | None:
    if api_field.type is not FieldType.STRING:
        return None
    attribute = module.entity.attributes.get(api_field.field.name)
    return attribute.max_length if attribute is not None else None


def _decimals(api_field: ApiField) -> int | None:
    if api_field.type is not FieldType.NUMBER:
        return None
    return {"int": 0, "autoincrement": 0, "currency": 2, "currencyConverted": 2}.get(api_field.field.type)


def describe_field(module: Module, api_field: ApiField, module_of: Callable[[str], str | None]) -> dict[str, Any]:
    """One `getModuleFields` item: every HEAD key (null where it does not apply) and the older ones."""
    relation = api_field.type is FieldType.RELATION
    related = module_of(api_field.related_entities[0]) if relation and not api_field.polymorphic else None
    length = _max_length(module, api_field)
    field = api_field.field
    return {
        "fieldId": field.name,
        "apiFieldName": api_field.name,
        "description": field.params.get("tooltip") if isinstance(field.params.get("tooltip"), str) else None,
        "decimal": _decimals(api_field),
        "length": length,
        "type": api_field.type.value,
        "label": api_field.label,
        "required": api_field.required,
        "readonly": api_field.read_only,
        "maxLength": length,
        "minLength": None,
        "relationField": "name" if relation else None,
        "pickListValues": _options(api_field),
        "relatedModule": related,
        "relationFieldName": "Name" if relation else None,
        "defaultValue": field.params.get("default"),
    }


def make_fields(module: Module, request_type: str, user_options: Callable[[], list[dict[str, str]] | None]
                ) -> list[dict[str, Any]]:
    """Make.com field descriptions for a create or update form: writable, non-file fields; `required` only
    for `createRecord`; picklists and user relations with their options."""
    items = []
    users: list[dict[str, str]] | None = None
    for api_field in module.fields.values():
        if api_field.read_only or api_field.type is FieldType.FILE:
            continue
        item: dict[str, Any] = {"name": api_field.name, "label": api_field.label,
                                "type": _MAKE_TYPES[api_field.type],
                                "required": request_type == "createRecord" and api_field.required}
        if api_field.type in (FieldType.PICKLIST, FieldType.MULTI_PICK):
            item["options"] = [{"value": o, "label": o} for o in _options(api_field)]
            if api_field.type is FieldType.MULTI_PICK:
                item["multiple"] = True
        elif api_field.type is FieldType.RELATION and api_field.related_entities == ("User",):
            if users is None:
                users = user_options() or []
            item["options"] = users
        items.append(item)
    return items


def sample_record(module: Module) -> dict[str, Any]:
    """A record showing the module's structure when it has no records yet (the id names no record)."""
    record: dict[str, Any] = {"id": encode_id(module.entity.name, 0)}
    for api_field in module.fields.values():
        options = _options(api_field)
        if api_field.type is FieldType.PICKLIST:
            record[api_field.name] = options[0] if options else None
        elif api_field.field.type == "datetime":
            record[api_field.name] = SAMPLE_TIMESTAMP
        else:
            record[api_field.name] = _SAMPLES[api_field.type]
    record["createdAt"] = record["modifiedAt"] = SAMPLE_TIMESTAMP
    return record
