"""`GET /api/v1/OpenApi`: an OpenAPI 3.1 document of the EspoCRM dialect, generated from the live registry.

Mirrors EspoCRM's own spec (specs/espocrm.md §8): one path per entity (`/Account`, `/Account/{id}`,
`/Account/{id}/contacts`, ...), schemas `<Entity>` (read), `<Entity>_create` (writable, with required fields)
and `<Entity>_update` (writable, nothing required), security scheme `ApiKeyAuth`. Built on every call, so
custom fields added at runtime show up at once. The route list below follows `api.espo_routes`
(tests/unit/test_espo_openapi.py keeps the two in step).
"""

from __future__ import annotations

import copy
from typing import Any

from polycrm.core.tickets import MAX_NUMBER, MAX_PREFIX_LENGTH
from polycrm.dialects.openapi_parts import SCHEMAS, query_param
from polycrm.dialects.openapi_parts import json_content as _json, path_param as _path_param, ref as _ref
from polycrm.meta import Entity, JunctionColumn, Link, Registry, ValueKind
from polycrm.meta.fieldtypes import CUSTOM_FIELD_TYPES, secret_attributes

API_BASE = "/api/v1"
MAX_SIZE_LIMIT = 200  # = params.MAX_SIZE_LIMIT (not imported: keep this module free of request parsing)
DATETIME_PATTERN = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
ID_LIST = {"type": "array", "items": {"type": "string"}}

# --- attribute kinds -> JSON Schema (render.py's wire forms) ---------------------------------------

KIND_SCHEMAS: dict[ValueKind, dict[str, Any]] = {
    ValueKind.STRING: {"type": "string"},
    ValueKind.TEXT: {"type": "string"},
    ValueKind.INT: {"type": "integer"},
    ValueKind.FLOAT: {"type": "number"},
    ValueKind.BOOL: {"type": "boolean"},
    ValueKind.DATE: {"type": "string", "pattern": DATE_PATTERN, "examples": ["2026-11-29"]},
    ValueKind.DATETIME: {"type": "string", "pattern": DATETIME_PATTERN, "examples": ["2026-11-29 12:34:56"],
                         "description": "A timestamp in UTC."},
    ValueKind.ARRAY: {"type": "array", "items": {"type": "string"}},
    ValueKind.JSON: {},
    ValueKind.ID: {"type": "string"},
    ValueKind.ID_LIST: {"type": "array", "items": {"type": "string"}, "description": "Record IDs."},
    ValueKind.NAME_MAP: {"type": "object", "additionalProperties": {"type": ["string", "null"]},
                         "description": "An {ID => record name} map."},
    ValueKind.COLUMN_MAP: {"type": "object", "description": "An {ID => {column: value}} map: the values kept on "
                                                            "the relationship with each record."},
}
# Rendered as []/{} rather than null (render.py, store `_from_column`).
NEVER_NULL_IN_OUTPUT = {ValueKind.ARRAY, ValueKind.ID_LIST, ValueKind.NAME_MAP, ValueKind.COLUMN_MAP}

# `<field>Data` of email / phone fields: the full list of addresses / numbers (core `_contact_point_data`).
CONTACT_DATA_ITEMS: dict[str, dict[str, Any]] = {
    "email": {"type": "object", "required": ["emailAddress"], "properties": {
        "emailAddress": {"type": "string"}, "lower": {"type": "string"}, "primary": {"type": "boolean"},
        "optOut": {"type": "boolean"}, "invalid": {"type": "boolean"}}},
    "phone": {"type": "object", "required": ["phoneNumber"], "properties": {
        "phoneNumber": {"type": "string"}, "type": {"type": ["string", "null"]}, "primary": {"type": "boolean"},
        "optOut": {"type": "boolean"}, "invalid": {"type": "boolean"}}},
}

# --- static components ----------------------------------------------------------------------------

STATUS_REASON = {"X-Status-Reason": {"description": "The reason of the error.", "schema": {"type": "string"}}}


def _ok(schema: dict[str, Any], description: str = "Success.", **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": _json(schema), **extra}


def _static_components() -> dict[str, Any]:
    """Fresh on every call: callers may mutate the document."""
    mass_result = {"type": "object", "additionalProperties": False, "required": ["count"], "properties": {
        "count": {"type": "integer", "minimum": 0},
        "ids": {**ID_LIST, "description": "Given only when the records were selected by ids."}}}
    where_item: dict[str, Any] = {
        "type": "object", "required": ["type"], "additionalProperties": False, "description": "A where item.",
        "properties": {
            "type": {"type": "string", "description": "An operator: equals, in, contains, between, and, or, ...; "
                                                      "columnEquals, columnNotEquals, columnIn, columnNotIn, "
                                                      "columnLike, columnIsNull, columnIsNotNull compare a "
                                                      "relationship column."},
            "attribute": {"type": "string", "description": "An attribute, `link.attribute` or link name. For the "
                                                           "column types: a field standing for a relationship "
                                                           "column (e.g. `acceptanceStatusMeetings`), or in a "
                                                           "relationship list a column of that relationship (e.g. "
                                                           "`role` in `/Account/{id}/contacts`)."},
            "field": {"type": "string", "description": "Legacy alias of `attribute`."},
            "value": {"description": "A scalar, an array of scalars or (and/or/not) an array of where items."},
            "dateTime": {"type": "boolean"}, "date": {"type": "boolean"}, "timeZone": {"type": "string"}}}
    search_params = {"type": "object", "description": "All list parameters as one JSON object.", "properties": {
        "maxSize": {"type": "integer", "minimum": 0, "maximum": MAX_SIZE_LIMIT},
        "offset": {"type": "integer", "minimum": 0}, "orderBy": {"type": "string"},
        "order": {"type": "string", "enum": ["asc", "desc", "ASC", "DESC"]}, "select": ID_LIST,
        "where": {"type": "array", "items": {"$ref": SCHEMAS + "WhereItem"}}, "primaryFilter": {"type": "string"},
        "boolFilterList": ID_LIST, "textFilter": {"type": "string"}, "q": {"type": "string"}}}
    validation = {"type": "object", "required": ["messageTranslation"], "properties": {
        "messageTranslation": {"type": "object", "required": ["label", "data"], "properties": {
            "label": {"type": "string", "examples": ["validationFailure"]}, "scope": {"type": ["string", "null"]},
            "data": {"type": "object", "required": ["field", "type"],
                     "properties": {"field": {"type": "string"}, "type": {"type": "string"}}}}}}}
    duplicates = {"type": "array", "items": {"type": "object", "required": ["id"], "properties": {
        "id": {"type": "string"}, "name": {"type": ["string", "null"]}, "_entityType": {"type": "string"}}}}
    modified = {"type": "object", "required": ["values", "versionNumber"], "properties": {
        "values": {"type": "object", "description": "The current values of the attributes sent."},
        "versionNumber": {"type": "integer"}}}
    schemas = {"WhereItem": where_item, "SearchParams": search_params, "MassActionResult": mass_result,
               "ValidationFailure": validation, "Duplicates": duplicates, "VersionConflict": modified}

    def error(description: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response: dict[str, Any] = {"description": description, "headers": dict(STATUS_REASON)}
        if body is not None:
            response["content"] = _json(body)
        return response

    responses = {
        "BadRequest": error("Bad request. A body is given only for a field validation failure.",
                            {"$ref": SCHEMAS + "ValidationFailure"}),
        "Unauthorized": {"description": "No or wrong credentials. Empty body.", "headers": {
            "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Sent to non-XHR GET requests."}}},
        "Forbidden": {**error("Forbidden, e.g. no access to the scope or record, or too many failed logins "
                              "(X-Status-Reason: Max failed login attempts exceeded ...)."),
                      "headers": {**STATUS_REASON, "Retry-After": {
                          "schema": {"type": "integer"},
                          "description": "After too many failed logins: seconds until a login is checked again."}}},
        "NotFound": error("The record, entity type, link or action does not exist."),
        "Conflict": error("Conflict."),
        "Duplicate": error("Possible duplicates (X-Status-Reason: duplicate).", {"$ref": SCHEMAS + "Duplicates"}),
        "Modified": error("The record was changed meanwhile (X-Status-Reason: modified).",
                          {"$ref": SCHEMAS + "VersionConflict"}),
        "PayloadTooLarge": error("The request body is too large."),
    }

    query = query_param
    parameters = {
        "offset": query("offset", {"type": "integer", "minimum": 0}, "A pagination offset."),
        "maxSize": query("maxSize", {"type": "integer", "minimum": 0, "maximum": MAX_SIZE_LIMIT},
                         f"The maximum number of records to return (default and limit {MAX_SIZE_LIMIT})."),
        "orderBy": query("orderBy", {"type": "string"}, "An attribute (field) to order by. Alias: sortBy."),
        "order": query("order", {"type": "string", "enum": ["asc", "desc"]}, "An order direction."),
        "where": query("where", {"type": "array", "items": {"$ref": SCHEMAS + "WhereItem"}},
                       "Where items, PHP style: `where[0][type]=equals&where[0][attribute]=status&"
                       "where[0][value]=New`, or a JSON array. Alias: whereGroup. A where that is not a list "
                       "is ignored, as EspoCRM ignores it, and named in the X-PolyCRM-Warning response header.",
                       style="deepObject", explode=True),
        "searchParams": {"name": "searchParams", "in": "query", "content": _json({"$ref": SCHEMAS + "SearchParams"}),
                         "description": "All list parameters as one JSON object; when given, the others are "
                                        "ignored."},
        "textFilter": query("textFilter", {"type": "string"}, "A text filter query. Wildcard (*) is supported."),
        "q": query("q", {"type": "string"}, "Like textFilter; also disables the total (total is -1 or -2)."),
        "X-No-Total": {"name": "X-No-Total", "in": "header", "schema": {"type": "string", "enum": ["true", "false"]},
                       "description": "Skip counting: total is -1 (there are more records) or -2 (no more)."},
        "X-Skip-Duplicate-Check": {"name": "X-Skip-Duplicate-Check", "in": "header",
                                   "schema": {"type": "string", "enum": ["true", "false"]},
                                   "description": "Skip the duplicate check."},
        "X-Version-Number": {"name": "X-Version-Number", "in": "header", "schema": {"type": "string"},
                             "description": "Optimistic locking: the `versionNumber` last read; 409 if stale."},
    }
    security = {
        "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        "HmacAuth": {"type": "apiKey", "in": "header", "name": "X-Hmac-Authorization",
                     "description": "base64(apiKey + ':' + hex(HMAC-SHA256(secretKey, METHOD + ' ' + "
                                    "path without /api/v1 and query)))."},
        "BasicAuth": {"type": "http", "scheme": "basic"},
        "EspoAuth": {"type": "apiKey", "in": "header", "name": "Espo-Authorization",
                     "description": "base64(username + ':' + password or auth token)."},
    }
    return {"schemas": schemas, "responses": responses, "parameters": parameters, "securitySchemes": security}


# --- entity schemas -------------------------------------------------------------------------------

def _junction_column_schema(column: JunctionColumn) -> dict[str, Any]:
    """One value kept on a relationship: a boolean, or a string (up to its length, one of its options)."""
    schema = dict(KIND_SCHEMAS[column.kind])
    if column.kind is ValueKind.BOOL:
        return schema
    nullable = column.options is None or "" in column.options
    if column.options is not None:
        schema["enum"] = list(column.options) + ([None] if nullable else [])
    if column.max_length is not None:
        schema["maxLength"] = column.max_length
    if nullable:
        schema["type"] = [schema["type"], "null"]
    return schema


def _column_map_schema(link: Link) -> dict[str, Any]:
    """`<field>Columns`: per related record, its values of the link's junction columns."""
    return dict(KIND_SCHEMAS[ValueKind.COLUMN_MAP], additionalProperties={
        "type": "object", "additionalProperties": False,
        "properties": {name: _junction_column_schema(column) for name, column in link.columns.items()}})


def _attribute_schema(entity: Entity, name: str, *, for_input: bool) -> dict[str, Any]:
    attribute = entity.attributes[name]
    field = entity.fields.get(attribute.field)
    field_type = field.type if field is not None else None
    if attribute.kind is ValueKind.JSON and field_type in CONTACT_DATA_ITEMS and name.endswith("Data"):
        schema: dict[str, Any] = {"type": "array", "items": CONTACT_DATA_ITEMS[field_type]}
    elif attribute.kind is ValueKind.COLUMN_MAP:
        schema = _column_map_schema(entity.links[attribute.field])
    else:
        schema = dict(KIND_SCHEMAS[attribute.kind])
    options = list(attribute.options or ())
    if options and attribute.kind is ValueKind.ARRAY:
        schema["items"] = {"type": "string", "enum": options}
    elif options and attribute.kind is ValueKind.STRING:
        # The core stores "" for a non-required enum even when "" is not an option (values.py `_string`).
        allow_empty = "" in options or (field is not None and not field.required and field_type == "enum")
        schema["enum"] = options + ([""] if allow_empty and "" not in options else []) + [None]
    nullable = name != "id" and (for_input or attribute.kind not in NEVER_NULL_IN_OUTPUT)
    if nullable and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if for_input and field is not None:
        if attribute.max_length is not None and attribute.kind in (ValueKind.STRING, ValueKind.TEXT):
            schema["maxLength"] = attribute.max_length
        if attribute.kind in (ValueKind.INT, ValueKind.FLOAT) and name == field.name:
            for param, keyword in (("min", "minimum"), ("max", "maximum")):
                if isinstance(field.params.get(param), (int, float)):
                    schema[keyword] = field.params[param]
    if not for_input and not attribute.writable:
        schema["readOnly"] = True
    if field_type == "secret":
        schema.update(writeOnly=True, description="A secret: encrypted at rest and never returned by this API.")
    if field is not None and field.custom:
        schema["x-custom"] = True
    return schema


def record_schema(entity: Entity) -> dict[str, Any]:
    """`<Entity>`: every attribute a read, list item or create/update response may hold (`select` may drop
    any of them but `id`), and those a relationship list adds to show relationship columns. Every key the
    core returns is one of them, so unknown keys are an error."""
    hidden = secret_attributes(entity) | {"deleted"}  # secrets are written, never read (core.vault)
    properties = {name: _attribute_schema(entity, name, for_input=False)
                  for name in entity.attributes if name not in hidden}
    for name, column in entity.relation_column_attributes().items():
        properties.setdefault(name, dict(_junction_column_schema(column), readOnly=True, description=(
            "Only in relationship lists: the value of a column of the relationship with the list's record.")))
    return {"type": "object", "properties": properties, "required": ["id"], "additionalProperties": False}


def _required_attribute(entity: Entity, field_name: str) -> str | None:
    """The attribute that must be present on create for a required field (values.py `required_missing`)."""
    field = entity.fields[field_name]
    if not field.required or field.read_only or "default" in field.params or field.type == "personName":
        return None
    suffix = {"link": "Id", "linkParent": "Id", "file": "Id", "image": "Id", "linkMultiple": "Ids"}
    name = field.name + suffix.get(field.type, "")
    attribute = entity.attributes.get(name)
    return name if attribute is not None and attribute.writable else None


def input_schema(entity: Entity, *, creating: bool) -> dict[str, Any]:
    """`<Entity>_create` / `<Entity>_update`: the writable attributes. Unknown keys are ignored by the server."""
    properties = {name: _attribute_schema(entity, name, for_input=True)
                  for name, attribute in entity.attributes.items() if attribute.writable}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if creating:
        required = [name for name in (_required_attribute(entity, f) for f in entity.fields) if name]
        if required:
            schema["required"] = required
    return schema


def _entity_parameters(entity: Entity) -> dict[str, Any]:
    name = entity.name
    followed = ["followed"] if entity.stream else []
    bool_filters = ["onlyMy"] + (["onlyMyTeam"] if entity.has_teams else []) + followed
    selectable = [a for a in entity.attributes if a != "deleted"] + [
        a for a in entity.relation_column_attributes() if a not in entity.attributes]
    return {
        f"select_{name}": {"name": "select", "in": "query", "style": "form", "explode": False,
                           "schema": {"type": "array", "items": {"type": "string", "enum": selectable}},
                           "description": "Attributes to return, comma-separated (id is always returned; unknown "
                                          "names are ignored). Alias: attributeSelect."},
        f"primaryFilter_{name}": {"name": "primaryFilter", "in": "query", "description": "A primary filter.",
                                  "schema": {"type": "string",
                                             "enum": list(entity.primary_filters) + ["all"] + followed}},
        f"boolFilterList_{name}": {"name": "boolFilterList", "in": "query", "style": "deepObject", "explode": True,
                                   "schema": {"type": "array", "items": {"type": "string", "enum": bool_filters}},
                                   "description": "Bool filters, OR-ed: `boolFilterList[]=onlyMy`."},
    }


# --- operations -----------------------------------------------------------------------------------

def _errors(*extra: tuple[str, str]) -> dict[str, Any]:
    """Errors any authenticated route may answer, plus route-specific ones as (status, response name)."""
    responses = {"400": _ref("responses", "BadRequest"), "401": _ref("responses", "Unauthorized"),
                 "403": _ref("responses", "Forbidden"), "404": _ref("responses", "NotFound"),
                 "413": _ref("responses", "PayloadTooLarge")}
    responses.update({status: _ref("responses", name) for status, name in extra})
    return responses


def _operation(op_id: str, tag: str, summary: str, ok: dict[str, Any], *, body: dict[str, Any] | None = None,
               parameters: list[dict[str, Any]] | None = None, errors: tuple[tuple[str, str], ...] = (),
               public: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "tags": [tag], "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"content": _json(body)}
    operation["responses"] = {"200": ok, **({"413": _ref("responses", "PayloadTooLarge")} if public
                                            else _errors(*errors))}
    if public:
        operation["security"] = []
    return operation


LIST_WARNING = {"X-PolyCRM-Warning": {"schema": {"type": "string"}, "description": (
    "What the request asked for and was ignored, as EspoCRM ignores it, e.g. `where ignored: a plain string, "
    "not a list of where items` (a `where` that is not a list filters nothing). Absent when nothing was.")}}


def _list_ok(entity: str) -> dict[str, Any]:
    return _ok({"type": "object", "required": ["total", "list"], "additionalProperties": False, "properties": {
        "total": {"type": "integer", "description": "The number of records; -1: there are more, -2: no more "
                                                    "(when the total is not counted)."},
        "list": {"type": "array", "items": {"$ref": SCHEMAS + entity}}}}, headers=LIST_WARNING)


def _list_parameters(entity: str) -> list[dict[str, Any]]:
    common = ["offset", "maxSize", "orderBy", "order", "where", "searchParams", "textFilter", "q", "X-No-Total"]
    return [_ref("parameters", p) for p in common] + [
        _ref("parameters", f"{p}_{entity}") for p in ("select", "primaryFilter", "boolFilterList")]


BOOLEAN = {"type": "boolean"}
IDS_BODY = {"type": "object", "properties": {"id": {"type": "string"}, "ids": ID_LIST}}
CRITERIA = {"ids": ID_LIST, "where": {"type": "array", "items": {"$ref": SCHEMAS + "WhereItem"}},
            "byWhere": {"type": "boolean"}, "searchParams": {"$ref": SCHEMAS + "SearchParams"},
            "selectData": {"$ref": SCHEMAS + "SearchParams"}}


def _system_paths() -> dict[str, Any]:
    """Settings, App/about, I18n, GlobalSearch (dialects/espo/system.py). Settings and I18n answer without
    credentials too, and more with them."""
    anyone = [{}, {"ApiKeyAuth": []}, {"HmacAuth": []}, {"BasicAuth": []}, {"EspoAuth": []}]
    settings = {"type": "object", "description": "Without credentials only the global settings.", "properties": {
        "currencyList": {"type": "array", "items": {"type": "string"}}, "defaultCurrency": {"type": "string"},
        "baseCurrency": {"type": "string"}, "currencyRates": {"type": "object", "additionalProperties": {
            "type": "number", "description": "The value of one unit in the base currency."}},
        "ticketPrefix": {"type": "string", "maxLength": MAX_PREFIX_LENGTH,
                         "description": "The number prefix of new tickets."},
        "ticketNextNumber": {"type": "integer", "minimum": 1, "maximum": MAX_NUMBER,
                             "description": "The number the next ticket gets."}}}
    settings_update = dict(settings, description="Only the currency and ticket settings change; any other key "
                                                 "must keep its value. Administrators only.")
    found = {"type": "object", "required": ["_scope", "id"], "properties": {
        "id": {"type": "string"}, "name": {"type": ["string", "null"]}, "_scope": {"type": "string"}}}
    search_parameters = [
        {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}, "description": "The text."},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        {"name": "maxSize", "in": "query", "schema": {"type": "integer", "minimum": 0}}]
    return {
        "/App/about": {"get": _operation("about", "App", "Version information", _ok({
            "type": "object", "required": ["text", "version"],
            "properties": {"text": {"type": "string"}, "version": {"type": "string"}}}))},
        "/I18n": {"get": dict(_operation("i18n", "App", "Translations (en_US)", _ok({"type": "object"}),
                                         errors=()), security=anyone)},
        "/Settings": {"get": dict(_operation("settings", "App", "Settings", _ok(settings)), security=anyone),
                      **{method: dict(_operation(f"{verb}Settings", "App", "Change the currency settings (admin)",
                                                 _ok(settings), body=settings_update, errors=(("409", "Conflict"),)),
                                      security=anyone)
                         for method, verb in (("put", "update"), ("patch", "patch"))}},
        "/GlobalSearch": {"get": _operation("globalSearch", "App", "Search the global search's entity types",
                                            _list_ok_of(found), parameters=search_parameters)},
    }


def _list_ok_of(item: dict[str, Any]) -> dict[str, Any]:
    return _ok({"type": "object", "required": ["total", "list"], "properties": {
        "total": {"type": "integer"}, "list": {"type": "array", "items": item}}})


def _general_paths(registry: Registry) -> dict[str, Any]:
    names = registry.names()
    user_schema = record_schema(registry.entity("User")) if "User" in registry else {"type": "object"}
    user_schema = dict(user_schema, properties=dict(user_schema.get("properties", {}), isAdmin=BOOLEAN),
                       additionalProperties=True)
    app_user = {"type": "object", "required": ["user", "acl"], "properties": {
        "user": user_schema, "acl": {"type": "object"}, "preferences": {"type": "object"},
        "token": {"type": ["string", "null"], "description": "An auth token (only for Espo-Authorization)."},
        "settings": {"type": "object"}, "language": {"type": "string"}, "appParams": {"type": "object"}}}
    mass_body = {"type": "object", "required": ["entityType", "action", "params"], "properties": {
        "entityType": {"type": "string", "enum": names},
        "action": {"type": "string", "enum": ["update", "delete", "follow", "unfollow"]},
        "params": {"type": "object", "properties": CRITERIA},
        "data": {"type": "object", "description": "For update: {values: {...}} or the values themselves."}}}
    field_body = {"type": "object", "required": ["name", "type"], "properties": {
        "name": {"type": "string", "description": "Prefixed with `c` unless it already is."},
        "type": {"type": "string", "enum": list(CUSTOM_FIELD_TYPES)}, "label": {"type": "string"},
        "options": ID_LIST, "required": BOOLEAN, "maxLength": {"type": "integer"}, "default": {},
        "apiName": {"type": "string"}, "inflowApiName": {"type": "string"},
        "concordApiName": {"type": "string", "description": "The field's Concord CRM key (`cf_...`)."}}}
    return {
        "/": {"get": _operation("root", "General", "API root", _ok({"type": "string",
                                                                   "examples": ["EspoCRM REST API"]}), public=True)},
        "/App/user": {"get": _operation("appUser", "App", "Current user, ACL and auth token", _ok(app_user))},
        "/App/destroyAuthToken": {"post": _operation(
            "destroyAuthToken", "App", "Log out (destroy an auth token)", _ok(BOOLEAN),
            body={"type": "object", "required": ["token"], "properties": {"token": {"type": "string"}}})},
        "/Metadata": {"get": _operation(
            "metadata", "Metadata", "Metadata (entityDefs, scopes, ...)", _ok({}),
            parameters=[{"name": "key", "in": "query", "schema": {"type": "string"},
                         "description": "A dotted path, e.g. entityDefs.Lead.fields.status.options."}])},
        "/OpenApi": {"get": _operation("openApi", "Metadata", "This OpenAPI document",
                                       _ok({"type": "object", "required": ["openapi", "info", "paths"]}))},
        **_system_paths(),
        "/MassAction": {"post": _operation("massAction", "MassAction", "Mass update, delete, follow or unfollow "
                                           "(criteria that cannot be parsed are a 400, never ignored)",
                                           _ok({"$ref": SCHEMAS + "MassActionResult"}), body=mass_body)},
        "/Admin/fieldManager/{entity}": {
            "parameters": [dict(_path_param("entity", "An entity type."), schema={"type": "string", "enum": names})],
            "post": _operation("addField", "Admin", "Add a custom field (admin)",
                               _ok({"type": "object", "required": ["name", "type"],
                                    "properties": {"name": {"type": "string"}, "type": {"type": "string"}}}),
                               body=field_body, errors=(("409", "Conflict"),))},
    }


def _entity_paths(registry: Registry, entity: Entity) -> dict[str, Any]:
    e = entity.name
    ref = {"$ref": SCHEMAS + e}
    id_param = [_path_param("id", "A record ID.")]
    mass_update_body = {"type": "object", "required": ["attributes"],
                        "properties": {"attributes": {"$ref": SCHEMAS + f"{e}_update"}, **CRITERIA}}
    paths: dict[str, Any] = {
        f"/{e}": {
            "get": _operation(f"list{e}", e, f"List {e}", _list_ok(e), parameters=_list_parameters(e)),
            "post": _operation(f"create{e}", e, f"Create {e}", _ok(ref), body={"$ref": SCHEMAS + f"{e}_create"},
                               parameters=[_ref("parameters", "X-Skip-Duplicate-Check")],
                               errors=(("409", "Duplicate"),)),
        },
        f"/{e}/{{id}}": {
            "parameters": id_param,
            "get": _operation(f"read{e}", e, f"Read {e}", _ok(ref), parameters=[
                {"name": "select", "in": "query", "schema": {"type": "string"},
                 "description": "Comma-separated attributes to return."}]),
            **{method: _operation(f"{verb}{e}", e, f"Update {e}", _ok(ref, headers={"X-Record-Link-Updated": {
                "schema": {"type": "string"}, "description": "`true` when a link-multiple field changed."}}),
                body={"$ref": SCHEMAS + f"{e}_update"}, parameters=[_ref("parameters", "X-Version-Number")],
                errors=(("409", "Modified"),)) for method, verb in (("put", "update"), ("patch", "patch"))},
            "delete": _operation(f"delete{e}", e, f"Delete {e}", _ok({"type": "boolean", "const": True})),
        },
        f"/{e}/action/massCreate": {"post": _operation(
            f"massCreate{e}", e, f"Create many {e} records (all or nothing)",
            _ok({"$ref": SCHEMAS + "MassActionResult", "required": ["count", "ids"]}),
            body={"type": "object", "required": ["list"], "properties": {
                "list": {"type": "array", "items": {"$ref": SCHEMAS + f"{e}_create"}}}})},
        f"/{e}/action/massUpdate": {method: _operation(
            f"massUpdate{e}{method.title()}", e, f"Mass update {e} (legacy)",
            _ok({"$ref": SCHEMAS + "MassActionResult"}), body=mass_update_body) for method in ("put", "post")},
        f"/{e}/action/massDelete": {method: _operation(
            f"massDelete{e}{method.title()}", e, f"Mass delete {e} (legacy)",
            _ok({"$ref": SCHEMAS + "MassActionResult"}), body={"type": "object", "properties": CRITERIA})
            for method in ("post", "delete")},
    }
    if e == "Lead":
        convert_body = {"type": "object", "properties": {
            "id": {"type": "string", "description": "The lead (when not in the path)."},
            "records": {"type": "object", "properties": {
                name: {"$ref": SCHEMAS + f"{name}_create"} for name in ("Account", "Contact", "Opportunity")
                if name in registry}},
            "skipDuplicateCheck": BOOLEAN, "createAccount": BOOLEAN, "accountName": {"type": "string"},
            "createContact": BOOLEAN, "createOpportunity": BOOLEAN, "opportunityName": {"type": "string"}}}

        def convert(op_id: str) -> dict[str, Any]:
            return _operation(op_id, e, "Convert a lead; returns the lead", _ok(ref), body=convert_body,
                              errors=(("409", "Duplicate"),))

        paths["/Lead/action/convert"] = {"post": convert("convertLead")}
        paths["/Lead/action/getConvertAttributes"] = {"post": _operation(
            "getConvertAttributesLead", e, "Attributes the converted records would get",
            _ok({"type": "object", "additionalProperties": {"type": "object"}}),
            body={"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}})}
        paths["/Lead/{id}/convert"] = {"parameters": id_param, "post": convert("convertLeadById")}
        paths["/Lead/{id}/action/convert"] = {"parameters": id_param, "post": convert("convertLeadByIdAction")}
    if entity.stream:
        paths.update(_follow_paths(e))
    paths.update(_stream_paths(e))
    for link in entity.links.values():
        if link.entity is None or link.entity not in registry:
            continue
        cap = link.name[0].upper() + link.name[1:]
        relate_body = {"type": "object", "properties": {
            "id": {"type": "string"}, "ids": ID_LIST, "massRelate": BOOLEAN,
            "where": CRITERIA["where"], "searchParams": CRITERIA["searchParams"]}}
        paths.setdefault(f"/{e}/{{id}}/{link.name}", {
            "parameters": id_param,
            "get": _operation(f"list{e}{cap}", e, f"List {link.entity} records related through '{link.name}'",
                              _list_ok(link.entity), parameters=_list_parameters(link.entity)),
            "post": _operation(f"relate{e}{cap}", e, f"Relate {link.entity} records through '{link.name}'",
                               _ok(BOOLEAN, "true if anything was related."), body=relate_body),
            "delete": _operation(f"unrelate{e}{cap}", e, f"Unrelate {link.entity} records from '{link.name}'",
                                 _ok(BOOLEAN, "true if anything was unrelated."), body=IDS_BODY, parameters=[
                                     {"name": "id", "in": "query", "schema": {"type": "string"}},
                                     {"name": "ids", "in": "query", "schema": ID_LIST, "style": "deepObject",
                                      "explode": True}]),
        })
        paths.setdefault(f"/{e}/{{id}}/{link.name}/{{relatedId}}", {
            "parameters": id_param + [_path_param("relatedId", f"A {link.entity} record ID.")],
            "delete": _operation(f"unrelate{e}{cap}ById", e, f"Unrelate one {link.entity} from '{link.name}'",
                                 _ok(BOOLEAN, "true if anything was unrelated.")),
        })
    return paths


def _follow_paths(e: str) -> dict[str, Any]:
    """Following records of an entity with a stream (core/follows.py)."""
    id_param = [_path_param("id", "A record ID.")]
    done = _ok({"type": "boolean", "const": True})
    users_body = {"type": "object", "properties": {"id": {"type": "string", "description": "A user ID."},
                                                   "ids": {**ID_LIST, "description": "User IDs (given, `id` is "
                                                                                     "ignored)."}}}
    return {
        f"/{e}/{{id}}/subscription": {
            "parameters": id_param,
            "put": _operation(f"follow{e}", e, f"Follow a {e} record (the current user)", done),
            "delete": _operation(f"unfollow{e}", e, f"Stop following a {e} record (the current user)", done),
        },
        f"/{e}/{{id}}/followers": {
            "parameters": id_param,
            "get": _operation(f"listFollowers{e}", e, f"Users following a {e} record", _list_ok("User"),
                              parameters=_list_parameters("User")),
            "post": _operation(f"addFollowers{e}", e, f"Add followers to a {e} record (edit access; admins may "
                                                       "add any user, others only themselves)", done,
                               body=users_body),
            "delete": _operation(f"removeFollowers{e}", e, f"Remove followers from a {e} record", done,
                                 body=users_body),
        },
    }


def _stream_paths(e: str) -> dict[str, Any]:
    """A record's activity stream (core/stream.py). Every entity has the routes; those without a stream, and
    User, answer 403 as EspoCRM does."""
    id_param = [_path_param("id", "A record ID.")]
    page = [_ref("parameters", "offset"), _ref("parameters", "maxSize"),
            {"name": "after", "in": "query", "schema": {"type": "string"},
             "description": "Only notes created after this UTC time (`YYYY-MM-DD HH:MM:SS`)."},
            _ref("parameters", "X-No-Total")]
    notes = _ok({"type": "object", "required": ["total", "list"], "additionalProperties": False, "properties": {
        "total": {"type": "integer", "description": "The number of notes; -1: there are more, -2: no more "
                                                    "(when the total is not counted)."},
        "list": {"type": "array", "items": {"$ref": SCHEMAS + "Note"}}}})
    return {
        f"/{e}/{{id}}/stream": {"parameters": id_param, "get": _operation(
            f"stream{e}", e, f"The activity stream of a {e} record, newest first", notes, parameters=page)},
        f"/{e}/{{id}}/posts": {"parameters": id_param, "get": _operation(
            f"posts{e}", e, f"The posts in the stream of a {e} record, newest first", notes, parameters=page)},
    }


def build_openapi(registry: Registry) -> dict[str, Any]:
    """The whole document, from the registry as it is now (custom fields included)."""
    components = _static_components()
    from polycrm.dialects.espo.activity_openapi import activity_paths, activity_schemas  # built on these helpers

    paths = _general_paths(registry) | activity_paths()
    components["schemas"].update(activity_schemas())
    for entity in registry.entities.values():
        components["schemas"][entity.name] = record_schema(entity)
        components["schemas"][f"{entity.name}_create"] = input_schema(entity, creating=True)
        components["schemas"][f"{entity.name}_update"] = input_schema(entity, creating=False)
        components["parameters"].update(_entity_parameters(entity))
        for path, item in _entity_paths(registry, entity).items():
            paths.setdefault(path, item)
    document = {
        "openapi": "3.1.0",
        "info": {"title": "PolyCRM EspoCRM-compatible API", "version": "1.0.0",
                 "description": "EspoCRM REST API wire contract. Errors carry the reason in the X-Status-Reason "
                                "header; bodies only for validation (400), duplicates and version conflicts (409)."},
        "servers": [{"url": API_BASE}],
        "security": [{"ApiKeyAuth": []}, {"HmacAuth": []}, {"BasicAuth": []}, {"EspoAuth": []}],
        "tags": [{"name": name} for name in ["General", "App", "Metadata", "MassAction", "Admin", "Webhook", "Note",
                                             *registry.names()]],
        "paths": paths,
        "components": components,
    }
    from polycrm.dialects.espo.admin_openapi import add_admin_api  # it builds on this module's helpers

    add_admin_api(document, registry)
    return copy.deepcopy(document)  # no sharing with the module's constant tables
