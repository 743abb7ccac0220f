"""Runtime custom fields: validated here, stored as real columns by the store."""

from __future__ import annotations

import re
from typing import Any

from polycrm.core.errors import BadRequest, Conflict
from polycrm.core.values import RecordInput
from polycrm.meta.fieldtypes import CUSTOM_FIELD_TYPES, expand
from polycrm.meta.model import Field
from polycrm.meta.registry import CustomFieldDefinition
from polycrm.store.database import Database

NAME_PATTERN = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{0,39}$")
API_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
ALLOWED_PARAMS = {"options", "default", "required", "maxLength", "min", "max", "readOnly", "tooltip"}


def custom_field_name(name: str) -> str:
    """EspoCRM names custom fields with a `c` prefix: `loyalty` -> `cLoyalty` (kept if already prefixed)."""
    if not NAME_PATTERN.match(name or ""):
        raise BadRequest("Field name must start with a letter and hold only letters and digits (max 40).")
    if re.match(r"^c[A-Z]", name):
        return name
    return "c" + name[0].upper() + name[1:]


def _check_params(field_type: str, params: dict[str, Any]) -> dict[str, Any]:
    unknown = set(params) - ALLOWED_PARAMS
    if unknown:
        raise BadRequest(f"Unknown field parameter '{sorted(unknown)[0]}'.")
    options = params.get("options")
    if field_type in {"enum", "multiEnum", "checklist"}:
        if not isinstance(options, list) or not options or not all(isinstance(o, str) and len(o) <= 255
                                                                   for o in options):
            raise BadRequest(f"A {field_type} field needs 'options': a non-empty list of strings.")
        if len(set(options)) != len(options):
            raise BadRequest("Options must be unique.")
    elif options is not None and field_type != "array":
        raise BadRequest(f"A {field_type} field takes no options.")
    for key in ("required", "readOnly"):
        if key in params and not isinstance(params[key], bool):
            raise BadRequest(f"'{key}' must be true or false.")
    if "maxLength" in params:
        limit = params["maxLength"]
        if field_type != "varchar" or isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 4000:
            raise BadRequest("'maxLength' applies to varchar fields and must be 1..4000.")
    for key in ("min", "max"):
        if key in params and (field_type not in {"int", "float", "currency"} or isinstance(params[key], bool)
                              or not isinstance(params[key], (int, float))):
            raise BadRequest(f"'{key}' applies to number fields and must be a number.")
    return params


def add_custom_field(database: Database, entity_name: str, name: str, field_type: str,
                     params: dict[str, Any] | None = None, api_names: dict[str, str] | None = None) -> Field:
    """Create a custom field (a real, indexed column) and return it. `name` is final (already prefixed)."""
    if entity_name not in database.registry:
        raise BadRequest(f"Unknown entity type '{entity_name}'.")
    if field_type not in CUSTOM_FIELD_TYPES:
        raise BadRequest(f"Field type '{field_type}' is not supported; use one of {', '.join(CUSTOM_FIELD_TYPES)}.")
    params = _check_params(field_type, dict(params or {}))
    api_names = dict(api_names or {})
    for dialect, api_name in api_names.items():
        if not isinstance(api_name, str) or not API_NAME_PATTERN.match(api_name):
            raise BadRequest(f"Bad API name for {dialect}.")
    entity = database.registry.entity(entity_name)
    candidate = Field(name, field_type, dict(params, type=field_type), custom=True)
    if name in entity.fields or any(a.name in entity.attributes for a in expand(candidate)):
        raise Conflict(f"Field '{name}' already exists on {entity_name}.")
    if "default" in params:
        checker = RecordInput(entity, ("USD",), "USD")
        for attribute in expand(candidate):
            if attribute.name == name:
                checker.convert(attribute, candidate, params["default"])
    database.add_custom_field(CustomFieldDefinition(entity_name, name, field_type, params, api_names))
    return database.registry.entity(entity_name).fields[name]
