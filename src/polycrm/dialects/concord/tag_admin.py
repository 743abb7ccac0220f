"""Concord's tag administration (its Core module's TagController and UpdateTagDisplayOrder, behind the
super-admin middleware): `POST /api/tags/{type?}`, `PUT /api/tags/{id}`, `DELETE /api/tags/{id}` and
`POST /api/tags/order`, over the Tag records contacts, companies and deals show (tags.py) and `/api/v1/Tag`
lists. Concord 1.4.1 has no route that lists tags: records show theirs, the `tags` filter rule lists them.

As Concord's TagRequest: `name` (a string of at most 191 characters without a comma) and `swatch_color` (a hex
colour) are required on create and on update; a create with the name of a tag of its type (ignoring case, as
MySQL compares it) gives that tag its colour (200) rather than making another (201, display order 1000); an
update keeps a name unique within its type. Checked in Laravel's order: the tag (404), the caller (403), the
body (422). Deleting a tag detaches it from its records, in the delete's transaction, as Concord's cascade.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.errors import NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import admin_only, answer, invalid, invalid_field, no_content, \
    record_not_found
from polycrm.dialects.concord.records import path_number
from polycrm.dialects.concord.tags import NEW_TAG_ORDER, TAG_ENTITY, named_tag, tag_resource
from polycrm.dialects.concord.field_readers import MAX_IDS, MAX_STRING, as_integer
from polycrm.query.tree import Compare, Op, Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Core\\Models\\Tag"  # 1.5.1's class, as the other 404s name (1.4.1: Modules\Core\App\Models)
COMMA = "Comas are not allowed in tag names."  # core::tags.validation.coma, Concord's spelling
TAKEN = "The name has already been taken."
# Laravel's hex_color rule: 3, 4, 6 or 8 hexadecimal digits after `#`.
_HEX = re.compile(r"#(?:(?:[0-9a-f]{3}){1,2}|(?:[0-9a-f]{4}){1,2})", re.IGNORECASE)
MAX_COLOR = 7  # the swatch_color column (Tag.swatchColor); Concord 1.4.1 answers 500 for 8 digits
MAX_ORDER = 2_147_483_647  # an int column
# The links a tag's records hang on (Tag.json): emptied when the tag is deleted.
TAGGED_LINKS = ("contacts", "accounts", "opportunities")
# TagResource keys a client may send back: not written, not named in the warning.
_SHOWN = frozenset({"id", "type"})


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/tags`: a tag without a type (the route allows it; 1.4.1's controller answers it with a 500)."""
    return _store(api, request, None)


def store_typed(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/tags/{type}` (`contacts` for contacts and companies, `deals`)."""
    return _store(api, request, request.params["id"])  # the path's one segment (routes.py): here the type


def _store(api: ConcordApi, request: ConcordRequest, tag_type: str | None) -> Response:
    """The tag of that name and type with the colour given (200), made if there is none (201)."""
    _require_admin(request)
    if tag_type is not None and (len(tag_type) > MAX_STRING or "\x00" in tag_type):  # the type column's bound
        raise invalid_field("type", f"The type must be at most {MAX_STRING} characters, without NUL characters.")
    name, color, _ = _body(api, request, tag_type, None)
    records = api.core.records(TAG_ENTITY)
    existing = named_tag(api, request.user, tag_type, name)
    if existing is not None:
        tag, _ = records.update(request.user, existing["id"], {"swatchColor": color})
        return answer(tag_resource(tag))
    tag = records.create(request.user, {"name": name, "type": tag_type, "swatchColor": color,
                                        "displayOrder": NEW_TAG_ORDER})
    return answer(tag_resource(tag), 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    """`PUT /api/tags/{id}`: name and colour (both required), and the display order when given."""
    current = _existing(api, request)
    _require_admin(request)
    name, color, order = _body(api, request, current.get("type"), current["id"])
    values: dict[str, Any] = {"name": name, "swatchColor": color}
    if order is not None:
        values["displayOrder"] = order
    tag, _ = api.core.records(TAG_ENTITY).update(request.user, current["id"], values)
    return answer(tag_resource(tag))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    """`DELETE /api/tags/{id}`: 204; the tag leaves every record it was on, then goes."""
    tag_id = _existing(api, request)["id"]
    _require_admin(request)
    records, relations = api.core.records(TAG_ENTITY), api.core.relations(TAG_ENTITY)
    with api.core.transaction() as conn:
        for link in TAGGED_LINKS:
            relations.sync_within(conn, request.user, tag_id, link, [])
        records.delete_within(conn, request.user, tag_id)
    records.committed()
    return no_content()


def reorder(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/tags/order`: `[{"id", "display_order"}, ...]`, every tag changed in one transaction (204).
    As PHP reads a JSON object as an array, an object's values are the items (`{}`, an empty body, is none).
    An unknown tag is 422 and nothing changes (1.4.1: 500 once the tags before it are changed)."""
    _require_admin(request)
    body = request.body
    items = list(body.values()) if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise invalid_field("body", "The request body must be a JSON array.")
    if len(items) > MAX_IDS:
        raise invalid_field("body", f"The request body must not have more than {MAX_IDS} items.")
    errors: dict[str, list[str]] = {}
    wanted: list[tuple[int, int, int]] = []
    for position, item in enumerate(items):
        item = item if isinstance(item, dict) else {}
        tag_id = _integer(errors, f"{position}.id", item.get("id"), 1)
        order = _integer(errors, f"{position}.display_order", item.get("display_order"), 0)
        if tag_id is not None and order is not None:
            wanted.append((position, tag_id, order))
    if not errors and wanted:
        known = _tag_ids(api, request, {tag_id for _, tag_id, _ in wanted})
        for position, tag_id, _ in wanted:
            if tag_id not in known:
                errors[f"{position}.id"] = [f"The selected {position}.id is invalid."]
    if errors:
        raise invalid(errors)
    records = api.core.records(TAG_ENTITY)
    with api.core.transaction() as conn:
        for _, tag_id, order in wanted:
            records.update_within(conn, request.user, tag_id, {"displayOrder": order})
    records.committed()
    return no_content()


# --- checks -----------------------------------------------------------------------------------------


def _require_admin(request: ConcordRequest) -> None:
    """Concord's `admin` middleware: only super admins (PolyCRM administrators) manage tags."""
    if not request.user.is_admin:
        raise admin_only()


def _existing(api: ConcordApi, request: ConcordRequest) -> dict[str, Any]:
    """The path's tag, whoever asks: Laravel binds it (404) before the super-admin middleware runs."""
    raw = request.params["id"]
    try:
        return api.core.records(TAG_ENTITY).read_without_acl(path_number(raw, MODEL))
    except NotFound:
        raise record_not_found(MODEL, raw) from None


def _tag_ids(api: ConcordApi, request: ConcordRequest, ids: set[int]) -> set[int]:
    query = SearchQuery(where=Compare("id", Op.IN, tuple(sorted(ids))), sorts=[Sort("id")], limit=len(ids),
                        select=["id"], total=TotalMode.NONE)
    return {int(tag["id"]) for tag in api.core.records(TAG_ENTITY).search_visible(request.user, query).records}


def _blank(value: Any) -> bool:
    """Laravel's `required` fails: null, a blank string (trimmed, then read as null), an empty array."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == {}


def _integer(errors: dict[str, list[str]], key: str, value: Any, least: int, label: str | None = None
             ) -> int | None:
    """A required integer (Laravel's `integer`: digits in a string too) of at least `least`; messages name
    `label` (default: the key, as Laravel names a list item's key)."""
    label = label or key
    number = None if _blank(value) else as_integer(value)
    if _blank(value):
        errors[key] = [f"The {label} field is required."]
    elif number is None:
        errors[key] = [f"The {label} field must be an integer."]
    elif number < least:
        errors[key] = [f"The {label} field must be at least {least}."]
    elif number > MAX_ORDER:
        errors[key] = [f"The {label} field must not be greater than {MAX_ORDER}."]
    else:
        return number
    return None


def _body(api: ConcordApi, request: ConcordRequest, tag_type: str | None, tag_id: int | None
          ) -> tuple[str, str, int | None]:
    """TagRequest's rules on the body (`tag_id`: the tag an update changes): the name, the colour and, on
    update, the display order (Concord reads it unchecked: 500 for one that is no integer)."""
    body = request.body
    if not isinstance(body, dict):
        raise invalid_field("body", "The request body must be a JSON object.")
    errors: dict[str, list[str]] = {}
    name = body.get("name")
    name = name.strip() if isinstance(name, str) else name  # Laravel trims every string of a request
    if _blank(name):
        errors["name"] = ["The name field is required."]
    elif not isinstance(name, str):
        errors["name"] = ["The name field must be a string."]
    else:
        if len(name) > MAX_STRING:
            errors.setdefault("name", []).append(f"The name field must not be greater than {MAX_STRING} characters.")
        if "," in name:
            errors.setdefault("name", []).append(COMMA)
    color = body.get("swatch_color")
    color = color.strip() if isinstance(color, str) else color
    if _blank(color):
        errors["swatch_color"] = ["The swatch color field is required."]
    elif not isinstance(color, str) or not _HEX.fullmatch(color):
        errors["swatch_color"] = ["The swatch color field must be a valid hexadecimal color."]
    elif len(color) > MAX_COLOR:
        errors["swatch_color"] = [f"The swatch color field must not be greater than {MAX_COLOR} characters."]
    order = None
    if tag_id is not None and not _blank(body.get("display_order")):  # null keeps the order (1.4.1: 500)
        order = _integer(errors, "display_order", body["display_order"], 0, "display order")
    if tag_id is not None and "name" not in errors:
        same = named_tag(api, request.user, tag_type, name)
        if same is not None and same["id"] != tag_id:
            errors["name"] = [TAKEN]  # Concord's unique rule within the tag's type
    if errors:
        raise invalid(errors)
    read = {"name", "swatch_color", *(("display_order",) if tag_id is not None else ())}
    ignored = [key for key in body if key not in read and key not in _SHOWN]
    if ignored:
        request.warnings.append(f"keys ignored (not written by this route): {', '.join(ignored)}")
    assert isinstance(name, str) and isinstance(color, str)
    return name, color, order
