"""The OpenAPI description of the administration endpoints (dialects/espo/admin.py)."""

from __future__ import annotations

from typing import Any

from polycrm.auth.acl import ACTIONS, CREATE_LEVELS, LEVELS
from polycrm.auth.directory import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from polycrm.dialects.espo.openapi import SCHEMAS, _ok, _operation, _path_param
from polycrm.meta import Registry

BOOLEAN = {"type": "boolean"}
PASSWORD = {"type": "string", "minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH,
            "writeOnly": True}
STRINGS = {"type": "array", "items": {"type": "string"}}


def _role_schemas(registry: Registry) -> dict[str, Any]:
    levels = {"type": "object", "additionalProperties": False, "properties": {
        action: {"type": "string", "enum": list(CREATE_LEVELS if action == "create" else LEVELS)}
        for action in ACTIONS}}
    data = {"type": "object", "description": "Access levels by entity type; true/false grant all or nothing.",
            "propertyNames": {"enum": registry.names()}, "additionalProperties": {"oneOf": [levels, BOOLEAN]}}
    role = {"type": "object", "required": ["id", "name", "data"], "additionalProperties": False, "properties": {
        "id": {"type": "string"}, "name": {"type": "string"}, "data": data,
        "massUpdatePermission": {"type": "string", "enum": ["yes", "no"]}, "usersIds": STRINGS,
        "usersNames": {"type": "object", "additionalProperties": {"type": "string"}},
        "createdAt": {"type": ["string", "null"]}}}
    write = {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 100}, "data": data,
        "massUpdatePermission": {"type": "string", "enum": ["yes", "no"]}, "usersIds": STRINGS},
        "description": "Other EspoCRM permissions are accepted only as \"not-set\"."}
    return {"Role": role, "Role_create": dict(write, required=["name"]), "Role_update": write}


def _field_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["name", "type", "isCustom"], "additionalProperties": True,
            "properties": {"name": {"type": "string"}, "type": {"type": "string"}, "isCustom": BOOLEAN,
                           "label": {"type": "string"}, "options": STRINGS, "required": BOOLEAN,
                           "readOnly": BOOLEAN, "default": {}, "maxLength": {"type": "integer"},
                           "tooltip": {"type": ["string", "null"]}, "inflowApiName": {"type": "string"},
                           "concordApiName": {"type": "string"}}}


def _paths(registry: Registry) -> dict[str, Any]:
    role = {"$ref": SCHEMAS + "Role"}
    field = {"$ref": SCHEMAS + "CustomField"}
    field_change = {"type": "object", "description": "Parameters to change (null removes one): label, options, "
                                                     "required, default, readOnly, tooltip, min, max, "
                                                     "inflowApiName, concordApiName. Type and maxLength cannot "
                                                     "change.",
                    "properties": {key: value for key, value in _field_schema()["properties"].items()
                                   if key not in ("name", "isCustom")}}
    change_password = {"type": "object", "required": ["password", "currentPassword"], "properties": {
        "password": PASSWORD, "passwordConfirm": PASSWORD, "currentPassword": {"type": "string"}}}
    return {
        "/User/action/changeOwnPassword": {"post": _operation(
            "changeOwnPassword", "User", "Change one's own password", _ok(BOOLEAN), body=change_password)},
        "/Role": {
            "get": _operation("listRole", "Admin", "List roles (admin)", _ok({
                "type": "object", "required": ["total", "list"], "properties": {
                    "total": {"type": "integer"}, "list": {"type": "array", "items": role}}})),
            "post": _operation("createRole", "Admin", "Create a role (admin)", _ok(role),
                               body={"$ref": SCHEMAS + "Role_create"}, errors=(("409", "Conflict"),))},
        "/Role/{id}": {
            "parameters": [_path_param("id", "A role ID.")],
            "get": _operation("readRole", "Admin", "Read a role (admin)", _ok(role)),
            **{method: _operation(f"{verb}Role", "Admin", "Change a role (admin); its users' next requests "
                                  "have the new rights", _ok(role), body={"$ref": SCHEMAS + "Role_update"},
                                  errors=(("409", "Conflict"),))
               for method, verb in (("put", "update"), ("patch", "patch"))},
            "delete": _operation("deleteRole", "Admin", "Delete a role (admin)", _ok(BOOLEAN))},
        "/Admin/fieldManager/{entity}/{field}": {
            "parameters": [dict(_path_param("entity", "An entity type."),
                                schema={"type": "string", "enum": registry.names()}),
                           _path_param("field", "A field name.")],
            "get": _operation("readField", "Admin", "A field's definition (admin)", _ok(field)),
            **{method: _operation(f"{verb}Field", "Admin", "Change a custom field (admin)", _ok(field),
                                  body=field_change, errors=(("409", "Conflict"),))
               for method, verb in (("put", "update"), ("patch", "patch"))},
            "delete": _operation("removeField", "Admin", "Remove a custom field with its column and data (admin)",
                                 _ok(BOOLEAN))},
    }


def add_admin_api(document: dict[str, Any], registry: Registry) -> None:
    """Add the administration paths and schemas to an OpenAPI document, and the password and role
    attributes User writes take."""
    schemas = document["components"]["schemas"]
    schemas.update(_role_schemas(registry), CustomField=_field_schema())
    for name in ("User_create", "User_update"):
        if name in schemas:
            schemas[name]["properties"].update(password=PASSWORD, passwordConfirm=PASSWORD, rolesIds=dict(
                STRINGS, description="The user's roles (admin); replaces them all."))
    if "User" in schemas:
        schemas["User"]["properties"].update(
            rolesIds=dict(STRINGS, readOnly=True, description="The user's roles; only administrators see them."),
            rolesNames={"type": "object", "additionalProperties": {"type": "string"}, "readOnly": True})
    document["paths"].update(_paths(registry))
