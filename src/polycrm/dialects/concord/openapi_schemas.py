"""The schemas of the Concord dialect's OpenAPI document (openapi.py): each resource's record, index row, linked
row, page, request bodies and `filters`, from the mapping (resources/) and the entity as defined now
(custom fields with a `cf_` key included); and the shapes every route shares (errors, tokens, the user,
global search groups, filter rules). Record keys follow render.py, bodies values.py (each value as
field_readers.py reads it), filters filters.py.
"""

from __future__ import annotations

from typing import Any

from polycrm.auth.concord_tokens import MAX_NAME_LENGTH
from polycrm.dialects.concord.context import MAX_PER_PAGE
from polycrm.dialects.concord.filter_rules import RULE_TYPES, TYPE_OPERATORS
from polycrm.dialects.concord.filters import MAX_CHILDREN
from polycrm.dialects.concord.custom_types import CustomField, custom_fields
from polycrm.dialects.concord.document_parties import parts_shown_schema, parts_written_schema
from polycrm.dialects.concord.media_view import AGGREGATE_TYPES
from polycrm.dialects.concord.mapping import CREATED, UPDATED, ConcordMapping, Resource, ResourceField
from polycrm.dialects.concord.render import AUTHORIZATIONS
from polycrm.dialects.concord.tags import MAX_TAGS
from polycrm.dialects.concord.field_readers import MAX_IDS, MAX_STRING, MAX_TEXT
from polycrm.dialects.concord.values import VIA_ID, VIA_RESOURCE
from polycrm.dialects.openapi_parts import nullable, schema_ref
from polycrm.meta import Entity

# Laravel's serialised datetime, as every timestamp and date is shown (render.concord_datetime).
CONCORD_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000Z$"
TIMESTAMP = {"type": ["string", "null"], "pattern": CONCORD_TIME, "examples": ["2024-05-01T10:00:00.000000Z"],
             "description": "UTC, Laravel's form (a date shows as its midnight)."}
# What a date or datetime value may be written as (field_readers._moment).
MOMENT = {"type": ["string", "null"],
          "pattern": r"^\s*\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?(?:\.000000Z|Z)?\s*$",
          "examples": ["2030-01-15", "2030-01-15 09:30:00"], "description": "YYYY-MM-DD[ HH:MM[:SS]], UTC."}
# Laravel's `integer` rule: a number or a string of digits (field_readers.as_integer).
INTEGER_INPUT = {"type": ["integer", "string"], "pattern": r"^\s*[+-]?\d{1,18}\s*$"}
STRING = {"type": "string"}
TOKEN_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_NAME_LENGTH, "pattern": r"\S",
              "description": "The token's name."}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
NUMBER = {"type": "number"}
OPERATORS = list(dict.fromkeys(op for operators in TYPE_OPERATORS.values() for op in operators))
ASSOCIATION_IDS = {
    "description": "Record ids, or names matched on the associated resource's title (ignoring case), as a list "
                   "or a comma string (`\"3,4\"`); ids the caller cannot read are left out (named in the "
                   "X-PolyCRM-Warning header).",
    "anyOf": [{"type": "array", "maxItems": MAX_IDS, "items": {"anyOf": [
        INTEGER, {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
        {"type": "object", "required": ["id"], "properties": {"id": {"type": ["integer", "string"]}},
         "description": "A record sent back: its id."}]}},
        {"type": "string", "examples": ["3,4"]}, INTEGER]}


# The keys Concord's JsonResource gives a timeline entry (`is_pinned`: PolyCRM pins nothing).
TIMELINE_KEYS = {"timeline_component": STRING, "timeline_relation": STRING, "timeline_key": STRING,
                 "timeline_sort_column": STRING, "is_pinned": BOOLEAN, "pinned_date": {"type": ["string", "null"]}}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A closed object: every key is described, the `required` ones (default: all) always there."""
    return {"type": "object", "required": list(properties) if required is None else required,
            "properties": properties, "additionalProperties": False, **extra}


# --- record keys -------------------------------------------------------------------------------------

def _shown(item: ResourceField, phone_types: list[str]) -> dict[str, Any]:
    """A mapped key's value in a record (render._value); any may be null (`select` nulls what it leaves out)."""
    kind = item.type
    if kind == "phones":
        phone = _object({"id": INTEGER, "number": STRING, "type": {"type": "string", "enum": phone_types}})
        return {"type": ["array", "null"], "items": phone}
    if kind in ("owner", "id", "int", "lookup"):
        return {"type": ["integer", "null"]}
    if kind == "tags":
        return {"type": ["array", "null"], "items": schema_ref("Tag"), "description": "In display order."}
    if kind == "guests":
        return {"type": ["array", "null"], "items": schema_ref("Guest"),
                "description": f"The guests the caller may read: {', then '.join(item.guests)}, each by id."}
    if kind in ("decimal", "numeric"):
        return {"type": ["number", "null"]}
    if kind in ("bool", "active", "flag"):
        return {"type": ["boolean", "null"]}
    if kind in ("date", "datetime"):
        return dict(TIMESTAMP)
    if kind == "datetimeOptional":
        return {"type": ["string", "null"], "pattern": rf"^\d{{4}}-\d{{2}}-\d{{2}}$|{CONCORD_TIME}",
                "examples": ["2030-01-15", "2030-01-15T09:30:00.000000Z"],
                "description": "A day (all day), or a UTC moment in Laravel's form."}
    if kind == "enum" and item.values:
        return {"type": ["string", "null"], "description": f"One of: {', '.join(item.values)}."}
    return {"type": ["string", "null"]}


# A custom field's value by its Concord type's value kind (custom_types.TYPES), as render.py shows it and
# field_readers.py reads it (specs/concord.md §6): option fields show option ids (Select, Radio) or option objects
# (Checkbox, MultiSelect) and take ids or names; dates are MySQL text.
OPTION_OBJECT = {"type": "object", "properties": {"id": INTEGER, "name": STRING,
                                                   "swatch_color": {"type": ["string", "null"]}}}
CUSTOM_SHOWN: dict[str, dict[str, Any]] = {
    "bool": {"type": ["boolean", "null"]}, "integer": {"type": ["integer", "null"]},
    "numeric": {"type": ["number", "null"]}, "option": {"type": ["integer", "null"]},
    "options": {"type": ["array", "null"], "items": OPTION_OBJECT},  # null: not selected (`select`)
}
CUSTOM_WRITTEN: dict[str, dict[str, Any]] = {
    "bool": {"type": ["boolean", "integer", "string", "null"]}, "integer": {"type": ["integer", "string", "null"]},
    "numeric": {"type": ["number", "string", "null"]}, "option": {"type": ["integer", "string", "null"]},
    "options": {"type": ["array", "null"], "items": {"type": ["integer", "string", "object"]}},
}


def _custom_shown(field: CustomField) -> dict[str, Any]:
    return dict(CUSTOM_SHOWN.get(field.type.value, {"type": ["string", "null"]}))


def _custom_written(field: CustomField) -> dict[str, Any]:
    return dict(CUSTOM_WRITTEN.get(field.type.value, {"type": ["string", "null"]}))


def _with_nested(mapping: ConcordMapping, resource: Resource, entity: Entity, fields: dict[str, Any], *,
                 everywhere: bool = False) -> dict[str, Any]:
    """The field keys with each nested object after its key (view.nested_objects): an owner's UserResource,
    a link's record as its resource's nested row; null when there is none (or the caller may not read it)."""
    shown: dict[str, Any] = {}
    for key, schema in fields.items():
        shown[key] = schema
        item = resource.by_key.get(key)
        if item is None or item.nested is None or (everywhere and not item.nested_everywhere):
            continue
        if item.type == "owner":
            shown[item.nested] = {"anyOf": [schema_ref("User"), {"type": "null"}]}
        else:
            target = mapping.by_entity[entity.links[item.field].entity or ""]
            shown[item.nested] = {"anyOf": [schema_ref(f"{target.name}.linked"), {"type": "null"}]}
    return shown


def record_schemas(mapping: ConcordMapping, resource: Resource, entity: Entity) -> dict[str, dict[str, Any]]:
    """`<resource>.linked` (a nested association item), `.row` (an index row: with `<key>_count`, and the
    association arrays `with` names) and `.record` (a single record: nested arrays, actions, counts)."""
    phone_types = list(mapping.phone_types)
    counts = {f"{key}_count": {"type": "integer", "minimum": 0}
              for key in [*resource.associations, *(key.removesuffix("_count") for key in resource.link_counts)]}
    head = {"id": INTEGER, **({"comments_count": {"type": "integer", "minimum": 0}} if resource.comments else {}),
            "display_name": {"type": ["string", "null"]},
            "path": {"type": "string", "pattern": rf"^/{resource.name}/\d*$"},
            CREATED: TIMESTAMP, UPDATED: TIMESTAMP,
            "authorizations": schema_ref("Authorizations") if resource.authorizations is None else
            _object({key: BOOLEAN for key in resource.authorizations}),
            "was_recently_created": BOOLEAN}
    fields = {item.key: _shown(item, phone_types) for item in resource.fields}
    linked_fields = _with_nested(mapping, resource, entity, fields, everywhere=True)
    fields = _with_nested(mapping, resource, entity, fields)
    custom = {field.key: _custom_shown(field) for field in custom_fields(entity)}
    nested = {key: {"type": "array", "items": schema_ref(f"{association.resource}.linked")}
              for key, association in resource.associations.items()}
    if resource.shape is not None:
        return _model_schemas(resource, fields, custom, nested)
    row = {**head, **resource.with_counts(fields, counts), **custom, **parts_shown_schema(resource)}
    if resource.comments:  # `with=comments`
        row["comments"] = {"type": "array", "items": schema_ref("Comment.nested")}
    billable = {"billable": schema_ref("Billable")} if resource.billable else {}  # billables.shown_billable
    if resource.media:  # media.shown_media
        billable["media"] = {"type": "array", "items": schema_ref("Media")}
    always = [key for key in row if key != "comments"]
    return {
        f"{resource.name}.linked": _object({**head, **linked_fields, **custom}),
        f"{resource.name}.row": _object({**row, **nested}, always),
        f"{resource.name}.record": _object({**row, **nested, **billable, "actions": {"type": "array"},
                                            "associations_count": {"type": "integer", "minimum": 0}},
                                           [*always, *nested, "actions", "associations_count"]),
        f"{resource.name}.page": page_schema(f"{resource.name}.row"),
        f"{resource.name}.associated": _object(nested, description="Each association's records."),
        **({f"{resource.name}.entry": _object({**row, **TIMELINE_KEYS}, [*always, *TIMELINE_KEYS])}
           if resource.timeline is not None and "key" in resource.timeline else {}),
    }


def _model_schemas(resource: Resource, fields: dict[str, Any], custom: dict[str, Any],
                   nested: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The same schemas for a model's own JSON (mapping.ModelShape): its associations on every row."""
    shape = resource.shape
    assert shape is not None
    tail: dict[str, Any] = {"is_primary": BOOLEAN} if shape.primary is not None else {}
    tail |= {CREATED: TIMESTAMP, UPDATED: TIMESTAMP}
    if shape.authorizations:
        tail["authorizations"] = _object({key: BOOLEAN for key in shape.authorizations})
    tail["was_recently_created"] = BOOLEAN
    linked = {"id": INTEGER, **fields, **custom, **tail}
    row = {"id": INTEGER, **fields, **custom, **nested, **tail}
    return {
        f"{resource.name}.linked": _object(linked),
        f"{resource.name}.row": _object(row),
        f"{resource.name}.record": _object({**row, "actions": {"type": "array"},
                                            "associations_count": {"type": "integer", "minimum": 0}}),
        f"{resource.name}.page": page_schema(f"{resource.name}.row"),
        f"{resource.name}.associated": _object(nested, description="Each association's records."),
    }


def page_schema(row: str) -> dict[str, Any]:
    """Laravel's length-aware paginator of rows (pages.paginated)."""
    return _object({"data": {"type": "array", "items": schema_ref(row)}, "links": schema_ref("PageLinks"),
                    "meta": schema_ref("PageMeta")})


# --- request bodies ----------------------------------------------------------------------------------

def _written(item: ResourceField, phone_types: list[str]) -> dict[str, Any]:
    """What a mapped key takes on create and update (values.BodyReader); null or "" empties it."""
    kind = item.type
    if kind == "phones":
        phone = {"type": "object", "required": ["number"], "properties": {
            "number": {"type": "string", "maxLength": MAX_STRING, "pattern": r"\S"},
            "type": {"type": ["string", "integer", "null"], "examples": phone_types, "default": "mobile",
                     "description": f"One of {', '.join(phone_types)}; another (`fax`) is stored as mobile, as "
                                    "Concord stores it (named in X-PolyCRM-Warning)."}}}
        bare = {"type": "string", "pattern": r"\S", "description": "A bare number, maybe ending in `|work`."}
        return {"anyOf": [{"type": ["array", "null"], "items": {"anyOf": [phone, bare]}},
                          {"type": "string", "description": "Numbers separated by commas, each maybe ending in "
                                                            "`|work` (or another type)."}]}
    if kind in ("owner", "id", "int"):
        return nullable(INTEGER_INPUT)
    if kind == "lookup":
        return {"type": ["integer", "string", "null"], "description": f"An id of GET /api/{item.lookup} (or a name)."}
    if kind == "tags":
        return {"type": ["array", "string", "null"], "maxItems": MAX_TAGS,
                "items": {"type": "string", "maxLength": MAX_STRING},
                "description": "Tag names (or a comma string), matched ignoring case; unknown ones are made."}
    if kind == "guests":
        return _guests_written(item)
    if kind == "decimal":
        return {"type": ["number", "string", "null"], "description": "A number below 10^15 (or its digits)."}
    if kind == "numeric":
        return {"type": ["number", "string", "null"], "description": "A number with at most 3 decimals."}
    if kind in ("bool", "active", "flag"):
        return {"enum": [True, False, 0, 1, "0", "1", "true", "false", None, ""]}
    if kind in ("date", "datetime", "datetimeOptional"):
        return dict(MOMENT)
    if kind == "enum" and item.values:
        return {"enum": [*item.values, None, ""]}
    if kind == "longtext":
        return {"type": ["string", "null"]}
    schema: dict[str, Any] = {"type": ["string", "null"], "maxLength": MAX_TEXT if kind == "text" else MAX_STRING}
    if kind == "email":
        schema["format"] = "email"
    return schema


def _guests_written(item: ResourceField) -> dict[str, Any]:
    """A guests key's value (field_readers.FieldReaders._guests): ids by kind, the whole set."""
    record_id = {"anyOf": [INTEGER_INPUT, {"type": "object", "required": ["id"], "properties": {"id": INTEGER_INPUT},
                                           "description": "A guest sent back: its id."}]}
    ids = {"anyOf": [{"type": "array", "maxItems": MAX_IDS, "items": record_id}, record_id,
                     {"type": "string", "examples": ["3,4"]}, {"type": "null"}],
           "description": "Ids of records the caller may read (otherwise 422), as a list or a comma string."}
    guests = {"type": "object", "properties": {name: ids for name in item.guests}, "additionalProperties": False}
    empty = [{"type": "array", "maxItems": 0}, {"type": "null"}, {"type": "string", "pattern": r"^\s*$"}]
    return {"anyOf": [guests, *empty],
            "description": "The whole set of guests: a kind left out has none, `[]` or `{}` none at all; null or "
                           "a blank string changes nothing."}


def _filled(schema: dict[str, Any]) -> dict[str, Any]:
    """A required key's value: never null or empty."""
    if "enum" in schema:
        return {**schema, "enum": [value for value in schema["enum"] if value is not None and value != ""]}
    kinds = [kind for kind in schema["type"] if kind != "null"]
    filled = {**schema, "type": kinds[0] if len(kinds) == 1 else kinds}
    if "string" in kinds:
        filled["minLength"] = 1
    if "array" in kinds:
        filled["minItems"] = 1
    return filled


def body_schemas(mapping: ConcordMapping, resource: Resource, entity: Entity) -> dict[str, dict[str, Any]]:
    """`<resource>.create` and `.update`: the mapped keys but read-only ones, association keys (also under
    `associations`), custom fields. Other keys are ignored (named in the X-PolyCRM-Warning header)."""
    phone_types = list(mapping.phone_types)
    properties: dict[str, Any] = {}
    for item in resource.fields:
        if item.read_only:
            continue
        written = _written(item, phone_types)
        properties[item.key] = _filled(written) if item.required else written  # "filled" on update
    properties.update({key: ASSOCIATION_IDS for key in resource.associations})
    if resource.associations:
        properties["associations"] = {"type": "object", "properties": {key: ASSOCIATION_IDS
                                                                       for key in resource.associations},
                                      "description": "The generic form of the association keys."}
    properties.update({field.key: _custom_written(field) for field in custom_fields(entity)})
    properties.update(parts_written_schema(resource))
    required = [item.key for item in resource.fields if item.required and not item.read_only]
    if resource.via:
        properties[VIA_RESOURCE] = {"enum": [*resource.via, None, ""],
                                    "description": "With via_resource_id: the record the write is made from, "
                                                   "attached to it (it must exist and be readable: 422)."}
        properties[VIA_ID] = nullable(INTEGER_INPUT)
        required += [VIA_RESOURCE, VIA_ID] if resource.via_required else []
    description = "Keys that are not the resource's are ignored and named in the X-PolyCRM-Warning header."
    return {f"{resource.name}.create": {"type": "object", "required": required, "properties": properties,
                                        "description": description},
            f"{resource.name}.update": {"type": "object", "properties": properties,
                                        "description": "Only the keys sent change; association keys sent replace "
                                                       "the associated records. " + description}}


def association_body(resource: Resource) -> dict[str, Any]:
    """The body of `/api/associations/{resource}/{id}`: association key -> ids; another key is a 409."""
    return {"type": "object", "properties": {key: ASSOCIATION_IDS for key in resource.associations},
            "description": "Association keys and the records to attach, sync or detach. A key the resource "
                           "cannot associate is refused (409)."}


def filters_schema(rule_ids: list[str]) -> dict[str, Any]:
    """`filters`: a group of rules (and groups of rules) or a list of groups; rule ids are the resource's."""
    query = {"type": "object", "required": ["rule", "operator"], "properties": {
        "rule": {"type": "string", "enum": rule_ids}, "operator": {"type": "string", "enum": OPERATORS},
        "operand": STRING, "type": {"type": "string", "enum": sorted(RULE_TYPES)},
        "value": {"description": "A value, [low, high] for between, a list for in, a preset for is."}}}
    rule = {"type": "object", "required": ["type", "query"], "properties": {"type": {"const": "rule"},
                                                                             "query": query}}
    condition = {"type": "string", "enum": ["and", "or"], "default": "and"}
    inner = {"type": "object", "required": ["type", "query"], "properties": {"type": {"const": "group"}, "query": {
        "type": "object", "required": ["children"], "properties": {
            "condition": condition, "children": {"type": "array", "maxItems": MAX_CHILDREN, "items": rule}}}}}
    group = {"type": "object", "required": ["children"], "properties": {
        "condition": condition,
        "children": {"type": "array", "maxItems": MAX_CHILDREN, "items": {"anyOf": [rule, inner]}}}}
    return {"anyOf": [group, {"type": "array", "maxItems": MAX_CHILDREN, "items": group}]}


# --- shared shapes -----------------------------------------------------------------------------------

def shared_schemas(mapping: ConcordMapping) -> dict[str, dict[str, Any]]:
    timestamps = {"created_at": TIMESTAMP, "updated_at": TIMESTAMP}
    token_row = {"id": INTEGER, "tokenable_type": STRING, "tokenable_id": INTEGER, "name": STRING,
                 "abilities": {"type": "array", "items": STRING}, "last_used_at": TIMESTAMP,
                 "expires_at": TIMESTAMP, **timestamps}
    new_row = {key: value for key, value in token_row.items() if key != "last_used_at"}
    plain_token = {"type": "string", "pattern": r"^\d+\|[A-Za-z0-9]{40}[0-9a-f]{8}$",
                   "description": "`{id}|{secret}`: send it as `Authorization: Bearer <token>`; shown once."}
    rule_entry = _object({
        "id": STRING, "label": STRING, "type": STRING, "operators": {"type": "array", "items": STRING},
        "operatorsOptions": {"type": ["array", "object"]}, "component": STRING, "isStatic": BOOLEAN,
        "operands": {"type": "array", "items": _object({"value": STRING, "label": STRING, "valueKey": STRING,
                                                        "labelKey": STRING, "rule": schema_ref("FilterRule")})},
        "hasAuthorization": BOOLEAN, "helpText": {"type": ["string", "null"]}, "displayAs": {},
        "quickFilter": {}, "onlyOncePerGroup": BOOLEAN, "valueKey": STRING, "labelKey": STRING,
        "options": {"type": "array", "items": {"type": "object"}}, "hideOperands": BOOLEAN},
        ["id", "label", "type", "operators", "operatorsOptions", "component", "isStatic", "operands"])
    found = _object({"id": INTEGER, "path": STRING, "display_name": {"type": ["string", "null"]},
                     "created_at": TIMESTAMP, "resourceName": {"type": "string", "enum": list(mapping.resources)}})
    page_link = _object({"url": {"type": ["string", "null"]}, "label": STRING, "active": BOOLEAN})
    count = {"type": ["integer", "null"], "minimum": 1}
    text = {"type": "string", "maxLength": MAX_STRING}
    maybe = {"type": ["string", "null"]}
    comment = {"id": INTEGER, "body": STRING, "created_by": {"type": ["integer", "null"]},
               "creator": {"anyOf": [schema_ref("User"), {"type": "null"}]}, "created_at": maybe,
               "updated_at": maybe, "authorizations": _object({"view": BOOLEAN, "update": BOOLEAN, "delete": BOOLEAN}),
               "was_recently_created": BOOLEAN}
    user = {"id": INTEGER, "name": maybe, "email": maybe, "timezone": STRING, "locale": maybe, "avatar": maybe,
            "uploaded_avatar_url": maybe, "avatar_url": maybe, "mail_signature": maybe, "guest_email": maybe,
            "guest_display_name": maybe, "teams": {"type": "array", "items": schema_ref("UserTeam"), "description": (
                "The teams the user is in or manages, by name; `[]` on a user nested in a team or a comment.")},
            "super_admin": BOOLEAN, "access_api": BOOLEAN, "time_format": STRING,
            "date_format": STRING, "default_landing_page": maybe,
            "roles": {"type": "array", "items": _object({"id": INTEGER, "name": STRING})}, **timestamps,
            "authorizations": _object({key: BOOLEAN for key in ("viewAny", "view", "create", "update", "delete")}),
            "was_recently_created": BOOLEAN}
    return {
        "Message": _object({"message": STRING}),
        "ApiAccessDenied": _object({"error": STRING}),
        "ValidationErrors": _object({"message": STRING, "errors": {
            "type": "object", "minProperties": 1,
            "additionalProperties": {"type": "array", "minItems": 1, "items": STRING}}}),
        "Authorizations": _object({key: BOOLEAN for key, _ in AUTHORIZATIONS}),
        "PageLinks": _object({"first": STRING, "last": STRING, "prev": {"type": ["string", "null"]},
                              "next": {"type": ["string", "null"]}}),
        "PageMeta": _object({"current_page": {"type": "integer", "minimum": 1}, "from": count,
                             "last_page": {"type": "integer", "minimum": 1},
                             "links": {"type": "array", "items": page_link}, "path": STRING,
                             "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
                             "to": count, "total": {"type": "integer", "minimum": 0}}),
        "TokenRequest": {"type": "object", "required": ["email", "password", "device_name"], "properties": {
            "email": {"type": "string", "minLength": 1, "maxLength": MAX_STRING},
            "password": {"type": "string", "minLength": 1, "maxLength": MAX_STRING}, "device_name": TOKEN_NAME}},
        "TokenName": {"type": "object", "required": ["name"], "properties": {"name": TOKEN_NAME}},
        "IssuedToken": _object({"accessToken": plain_token, "userId": INTEGER,
                                "email": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]}}),
        "TokenRow": _object(token_row),
        "NewToken": _object({"accessToken": _object(new_row), "plainTextToken": plain_token}),
        "User": _object(user, [key for key in user if key != "roles"],
                        description="A user; `roles` only for super admins."),
        "User.page": page_schema("User"),
        "UserRequest": {"type": "object", "description": "Create: name, email, password (with "
                        "password_confirmation), timezone, time_format and date_format are required.", "properties": {
            "name": text, "email": text, "password": STRING, "password_confirmation": STRING, "timezone": text,
            "time_format": text, "date_format": text, "locale": {"type": ["string", "null"]},
            "default_landing_page": {"type": ["string", "null"], "maxLength": MAX_STRING},
            "super_admin": BOOLEAN, "access_api": BOOLEAN,
            "roles": {"type": "array", "items": STRING, "description": "Role names."}}},
        "ProfileRequest": {"type": "object", "description": "Every key but default_landing_page is required.",
                           "required": ["name", "email", "time_format", "date_format", "locale", "timezone"],
                           "properties": {"name": text, "email": text, "time_format": text, "date_format": text,
                                          "locale": text, "timezone": text, "default_landing_page": {
                                              "type": ["string", "null"], "maxLength": MAX_STRING}}},
        "PasswordRequest": {"type": "object", "required": ["old_password", "password", "password_confirmation"],
                            "properties": {"old_password": STRING, "password": STRING,
                                           "password_confirmation": STRING}},
        "Tag": _object({"id": INTEGER, "name": STRING, "swatch_color": maybe, "display_order": INTEGER,
                        "type": maybe}),
        "TagRequest": {"type": "object", "required": ["name", "swatch_color"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": MAX_STRING, "pattern": r"^[^,]*\S[^,]*$"},
            "swatch_color": {"type": "string", "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6})$"},
            "display_order": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 2_147_483_647},
                                        {"type": "null"}], "description": "PUT only; null keeps it."}},
            "description": "Name and colour are required on PUT too, as Concord's TagRequest does."},
        "TagOrder": {"type": "array", "maxItems": MAX_IDS, "items": {
            "type": "object", "required": ["id", "display_order"], "properties": {
                "id": INTEGER_INPUT, "display_order": {"type": "integer", "minimum": 0, "maximum": 2_147_483_647}}}},
        "Guest": _object({"id": INTEGER, "guest_email": maybe, "guest_display_name": maybe,
                          "resource_name": STRING}, description="Concord's GuestResource: a user or contact invited."),
        "SearchGroup": _object({"title": STRING, "resource_name": {"type": "string", "enum": list(mapping.resources)},
                                "icon": STRING, "action": STRING, "data": {"type": "array", "items": found}}),
        "FilterRule": rule_entry,
        "Country": _object({"id": INTEGER, "name": STRING}),
        "Media": _object({"id": INTEGER, "file_name": STRING, "extension": STRING,
                          "size": {"type": "integer", "minimum": 0}, "disk_path": STRING, "mime_type": STRING,
                          "aggregate_type": {"enum": [*AGGREGATE_TYPES, "other"]},
                          **{f"{kind}_{part}": STRING for kind in ("view", "preview", "download")
                             for part in ("url", "path")},
                          "via_text_attribute": BOOLEAN, "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
                          "was_recently_created": BOOLEAN}),
        "Comment": _object(comment),
        # A record's `comments` (`with=comments`): Concord loads them without their authors.
        "Comment.nested": _object({key: value for key, value in comment.items() if key != "creator"}),
        "ChangelogEntry": _object({"id": INTEGER, "description": STRING, "causer_name": maybe,
                                   "properties": {"type": "object", "properties": {
                                       "attributes": {"type": "object"}, "old": {"type": "object"}},
                                                  "required": ["attributes"]},
                                   "module": maybe, "created_at": maybe, "updated_at": maybe, **TIMELINE_KEYS,
                                   "was_recently_created": BOOLEAN},
                                  description="A change of the record (a note of its stream)."),
        "Timeline": _object({"data": {"type": "array", "items": {"anyOf": [schema_ref("ChangelogEntry"), *(
            schema_ref(f"{name}.entry") for name, item in mapping.resources.items()
            if item.timeline is not None and "key" in item.timeline)]}},
                             "resources": {"type": "array", "items": _object({
                                 "name": STRING, "label": STRING, "timeline_relation": STRING})}}),
        "CommentRequest": {"type": "object", "required": ["body"], "properties": {
            "body": {"type": "string", "minLength": 1, "maxLength": 65535, "pattern": r"\S"},
            "via_resource": {"type": "string", "enum": ["contacts", "companies", "deals", "activities"]},
            "via_resource_id": {"type": ["integer", "string"]}}},
        "SavedFilter": _object({
            "id": INTEGER, "name": STRING, "identifier": STRING, "rules": {"type": ["object", "array"]},
            "user_id": {"type": ["integer", "null"]}, "is_shared": BOOLEAN, "is_shared_from_another_user": BOOLEAN,
            "is_system_default": BOOLEAN, "is_readonly": BOOLEAN,
            "defaults": {"type": "array", "items": _object({"user_id": INTEGER, "view": STRING})},
            "created_at": maybe, "updated_at": maybe,
            "authorizations": _object({"update": BOOLEAN, "delete": BOOLEAN}), "was_recently_created": BOOLEAN}),
        "SavedFilterRequest": {"type": "object", "required": ["name", "is_shared"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 191, "pattern": r"\S"},
            "identifier": {"type": "string", "description": "A resource name (`contacts`); required on create, "
                                                            "fixed once saved."},
            "is_shared": {"type": ["boolean", "integer", "string"], "enum": [True, False, 0, 1, "0", "1", "true",
                                                                              "false"]},
            "rules": {"description": "A query-builder group (as `filters` of a list), or a list of rules.",
                      "type": ["object", "array", "null"]}}},
        "BoardStage": _object({"id": INTEGER, "name": STRING, "win_probability": INTEGER, "display_order": INTEGER,
                               "summary": {"oneOf": [  # null when one stage is loaded (`load`)
                                   _object({"count": INTEGER, "value": NUMBER, "weighted_value": NUMBER}),
                                   {"type": "null"}]},
                               "cards": {"type": "array", "items": _object({
                                   "id": INTEGER, "name": STRING, "amount": {"type": ["string", "integer"]},
                                   "display_name": STRING, "path": STRING, "status": STRING,
                                   "authorizations": {"type": "object"}, "expected_close_date": maybe,
                                   "products_count": {"type": "integer", "minimum": 0},
                                   "user_id": {"type": ["integer", "null"]},
                                   "swatch_color": maybe, "stage_id": INTEGER, "updated_at": maybe,
                                   "created_at": maybe, "falls_behind_expected_close_date": BOOLEAN},
                                   ["id", "name", "amount", "display_name", "path", "status", "authorizations",
                                    "expected_close_date", "products_count", "user_id", "swatch_color", "stage_id", "updated_at",
                                    "created_at"])}}),
        "Currency": _object({"name": STRING, "code": INTEGER, "precision": INTEGER, "subunit": INTEGER,
                             "symbol": STRING, "symbol_first": BOOLEAN, "decimal_mark": STRING,
                             "thousands_separator": STRING}),
        "CustomField": _object({"id": INTEGER, "field_type": STRING, "resource_name": STRING, "field_id": STRING,
                                "label": STRING, "options": {"type": "array", "items": _object({
                                    "id": INTEGER, "custom_field_id": INTEGER, "name": STRING,
                                    "swatch_color": {"type": ["string", "null"]}, "display_order": INTEGER})},
                                "is_unique": BOOLEAN, "was_recently_created": BOOLEAN},
                               ["id", "field_type", "resource_name", "field_id", "label", "is_unique"]),
        "CustomField.page": page_schema("CustomField"),
        "CustomFieldRequest": {"type": "object", "properties": {
            "resource_name": STRING, "label": STRING, "field_type": STRING, "field_id": STRING,
            "options": {"type": "array", "items": {"type": "object", "properties": {
                "name": STRING, "display_order": INTEGER, "swatch_color": {"type": ["string", "null"]}}}},
            "is_unique": BOOLEAN}},
        **brand_schemas(),
        **team_schemas(),
        **billable_schemas(),
        "ZapierHook": _object({"hook": STRING, "resource_name": STRING, "action": {"enum": ["created", "updated"]},
                               "user_id": INTEGER, "zap_id": {"type": ["integer", "string", "null"]},
                               "data": {"type": ["object", "array", "null"]}, "id": INTEGER}),
        "ZapierSubscription": {"type": "object", "required": ["targetUrl"], "properties": {
            "targetUrl": {"type": "string", "format": "uri", "maxLength": 2048,
                          "description": "Where the records are sent: a public http(s) URL."},
            "zapId": {"type": ["integer", "string"], "description": "Zapier's subscription id "
                                                                    "(`subscription:123` or 123)."},
            "data": {"type": ["object", "array", "null"], "properties": {"triggerWhen": {
                "type": "object", "description": "Record keys and values a record must have to be sent (and, "
                                                 "for `updated`, one of them must have changed)."}}}}},
    }


def brand_schemas() -> dict[str, dict[str, Any]]:
    """`/api/brands` (brands.py): Concord's BrandResource, and its BrandRequest body."""
    nothing = {"type": "null", "description": "Not kept by PolyCRM."}
    color = {"type": ["string", "null"], "pattern": r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6})$"}
    name = {"type": "string", "minLength": 1, "maxLength": MAX_STRING}
    return {
        "Brand": _object({"id": INTEGER, "name": {"type": ["string", "null"]},
                          "display_name": {"type": ["string", "null"]}, "is_default": BOOLEAN,
                          "config": _object({"primary_color": {"type": ["string", "null"]}}),
                          **{key: nothing for key in ("logo_view", "logo_view_url", "logo_mail", "logo_mail_url",
                                                      "visibility_group")}}),
        "BrandRequest": {"type": "object", "required": ["name", "display_name"], "properties": {
            "name": name, "display_name": name,
            "is_default": {"enum": [True, False, 0, 1, "0", "1", "true", "false", None, ""]},
            "config": {"type": "object", "properties": {"primary_color": color},
                       "description": "Only `primary_color` is kept; other keys are ignored."}},
            "description": "Name and display name are required on PUT too, as Concord's BrandRequest does."},
    }


def team_schemas() -> dict[str, dict[str, Any]]:
    """`/api/teams` (teams.py): Concord's TeamResource, with its users as UserResource, and its TeamRequest."""
    team = {"id": INTEGER, "name": STRING, "description": {"type": ["string", "null"]},
            "user_id": {"type": ["integer", "null"]}, "manager": {"anyOf": [schema_ref("User"), {"type": "null"}]},
            "members": {"type": "array", "items": schema_ref("User")}, "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP, "was_recently_created": BOOLEAN}
    row = {key: value for key, value in team.items() if key not in ("manager", "members")}
    return {
        "Team": _object(team, [key for key in team if key != "description"],
                        description="A team; `description` only for super admins."),
        "UserTeam": _object(row, [key for key in row if key != "description"],
                            description="A team of a user (without its users); `description` only for super admins."),
        "TeamRequest": {"type": "object", "required": ["name", "user_id"], "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100,
                     "description": "At most 100 characters, EspoCRM's Team name (Concord's: 191)."},
            "description": {"type": ["string", "null"], "maxLength": MAX_STRING},
            "user_id": {**INTEGER_INPUT, "description": "The manager: a user id."},
            "members": {"type": "array", "items": INTEGER_INPUT, "maxItems": MAX_IDS,
                        "description": "User ids; when sent, the team's members become exactly these."}},
            "description": "Name and user_id are required on PUT too, as Concord's TeamRequest does."},
    }


def billable_schemas() -> dict[str, dict[str, Any]]:
    """`/api/{deals|documents}/{id}/billable` (billables.py): Concord's BillableResource and the save body."""
    number = {"type": "number"}
    text = {"type": ["string", "null"]}
    decimal2 = {"type": "string", "pattern": r"^-?\d+\.\d{2}$"}
    line = _object({"id": INTEGER, "product_id": {"type": ["integer", "null"]}, "name": STRING, "description": text,
                    "unit_price": number, "qty": decimal2, "unit": text, "tax_rate": number, "tax_label": text,
                    "discount_type": {"enum": ["fixed", "percent", None]}, "discount_total": decimal2, "sku": text,
                    "amount": number, "note": text, "display_order": INTEGER, "created_at": TIMESTAMP,
                    "updated_at": TIMESTAMP, "was_recently_created": BOOLEAN})
    tax = _object({"key": STRING, "rate": number, "label": STRING, "raw_total": number, "total": number})
    line_body = {"type": "object", "properties": {
        "id": {**INTEGER_INPUT, "description": "One of the record's lines, to change (else a new line)."},
        "product_id": nullable(INTEGER_INPUT), "name": {"type": ["string", "null"], "maxLength": MAX_STRING},
        "description": text, "unit_price": {"type": ["number", "string", "null"]},
        "qty": {"type": ["number", "string", "null"], "description": "At least 0, at most 2 decimals."},
        "unit": text, "tax_rate": {"type": ["number", "string", "null"], "description": "At least 0, 3 decimals."},
        "tax_label": text, "discount_type": {"enum": ["fixed", "percent", None, ""]},
        "discount_total": {"type": ["number", "string", "null"]}, "display_order": nullable(INTEGER_INPUT),
        "note": text}}
    return {
        "Billable": _object({"id": {"type": ["integer", "null"]}, "tax_type": {"enum": ["exclusive", "inclusive",
                                                                                      "no_tax"]},
                             "subtotal": number, "total": number, "total_tax": number,
                             "taxes": {"type": "array", "items": tax}, "has_discount": BOOLEAN,
                             "total_discount": number, "products": {"type": "array", "items": line},
                             "was_recently_created": BOOLEAN},
                            ["id", "tax_type", "subtotal", "total", "products"]),
        "BillableRequest": {"type": "object", "properties": {
            "tax_type": {"enum": ["exclusive", "inclusive", "no_tax", None, ""]},
            "products": {"type": ["array", "null"], "items": line_body},
            "removed_products": {"type": ["array", "null"], "items": INTEGER_INPUT,
                                 "description": "Ids of the record's lines to delete."}},
            "description": "Lines with an `id` change it, others are added; lines not sent stay."},
    }
