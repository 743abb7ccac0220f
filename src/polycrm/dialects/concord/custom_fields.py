"""Concord's custom fields API (specs/concord.md §6, §9 "§6 Custom fields"), for super admins (PolyCRM
administrators): `GET/POST /api/custom-fields`, `GET/PUT/DELETE /api/custom-fields/{id}`.

A field made here is a PolyCRM custom field like one made by EspoCRM's field manager or `polycrm field add`:
a real column of the resource's entity, read and written, filtered and sorted through every protocol. Its
`field_id` is its Concord API name; its PolyCRM name is `c` and the field id's words after `cf_` in
camel case (`cf_vip_level` -> `cVipLevel`, EspoCRM's custom field naming); the column is `c_vip_level`.
Its Concord type picks the PolyCRM type (custom_types.TYPES); `label` is the field's label; options are
the field's options, their ids the numbers PolyCRM keeps for them (`optionIds`), their swatch colours kept
for Concord in the field's `dialectParams`. Fields made elsewhere show here once they have a Concord key
(`core.set_api_name(entity, field, "concord", "cf_...")`, the field manager's `concordApiName`).

Requests are checked as Concord's CustomFieldRequest checks them, with its messages. Unlike Concord:
`is_unique: true` is refused (PolyCRM does not keep custom field values unique yet); a field id PolyCRM
cannot name a column after (more than 39 letters after `cf_`, or none) is refused; `PUT` may add, remove,
reorder and recolour options but not rename one (the column holds names: renaming would rewrite values);
`GET /api/custom-fields/{id}` answers (Concord 1.5.1 routes it to a missing method, a 500); an unknown id is
a 404 (Concord: 500); `display_order` is an option's position; the field JSON has no `created_at` and
`updated_at`.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from starlette.responses import Response

from polycrm.core.errors import BadRequest, Conflict
from polycrm.core.fields import NAME_PATTERN
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.custom_types import (PREFIX, ConcordOption, ConcordType, CustomField,
                                                   concord_params, concord_type, describe)
from polycrm.dialects.concord.envelope import admin_only, answer, invalid, no_content, record_not_found
from polycrm.dialects.concord.mapping import DIALECT, Resource
from polycrm.dialects.concord.pages import PageLinks, page_number, page_size, paginated
from polycrm.dialects.concord.records import record_id
from polycrm.dialects.concord.field_readers import HEX_COLOR, MAX_STRING, as_integer

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Core\\Models\\CustomField"
FIELD_ID_MIN = 3 + len(PREFIX)
FIELD_ID_MAX = 64
MAX_LETTERS = 39  # PolyCRM field names have at most 40 characters: `c` and the field id's letters
MAX_OPTION_NAME = 255
MAX_OPTIONS = 1000
# Resources that take custom fields (Concord's AcceptsCustomFields), of those PolyCRM maps, and those whose
# fields may be marked unique (AcceptsUniqueCustomFields).
CUSTOM_FIELD_RESOURCES = frozenset({"contacts", "companies", "deals", "products"})
UNIQUE_RESOURCES = frozenset({"contacts", "companies"})
_FIELD_ID = re.compile(r"[a-z_]+")

EXISTS = "It looks like field with this ID already exists for the resource."
FIELD_ID_INVALID = "Only lowercase alpha characters (a-z) and underscore (_) are accepted."
TYPE_INVALID = "Field type is not supported"
REQUIRES_OPTIONS = "Add options for this field."
REFUSES_OPTIONS = "This field does not support options."
OPTION_COMMA = "Comas are not allowed in option names."
OPTIONS_UNIQUE = "All field options must be unique."
NOT_UNIQUE = "PolyCRM does not keep custom field values unique: the field cannot be marked unique."
NO_RENAME = ("An option cannot be renamed: its records hold its name. Remove it and add an option with the new "
             "name.")


# --- the handlers ------------------------------------------------------------------------------------


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    """Every Concord custom field, the newest first, paginated."""
    _require_admin(request)
    fields = sorted(_all(api), key=lambda found: found[1].custom_id or 0, reverse=True)
    per_page, page = page_size(request), page_number(request)
    rows = [render(resource, item) for resource, item in fields[(page - 1) * per_page: page * per_page]]
    return answer(paginated(rows, total=len(fields), page=page, per_page=per_page, links=PageLinks(request)))


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    _require_admin(request)
    resource, item = _find(api, request)
    return answer(render(resource, item))


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    _require_admin(request)
    body = request.body if isinstance(request.body, dict) else {}
    errors = _Errors()
    resource = _resource(api, body.get("resource_name"), errors)
    label = _label(body.get("label"), errors)
    kind = _type(body.get("field_type"), errors)
    _unique(body.get("is_unique"), kind, resource, errors, creating=True)
    field_id = _field_id(api, body.get("field_id"), resource, errors)
    # Concord answers 500 for an option type without `options`; PolyCRM asks for them.
    options = _options(body.get("options"), kind, errors) if kind is not None else None
    errors.raise_any()
    assert resource is not None and kind is not None and label is not None and field_id is not None
    params: dict[str, Any] = dict(kind.params, label=label)
    colors: dict[str, str] = {}
    if options is not None:
        params["options"] = [option["name"] for option in options]
        colors = {option["name"]: option["color"] for option in options if option["color"]}
    params["dialectParams"] = concord_params(kind, colors)
    with _refusals("field_id"):
        field = api.core.add_field(resource.entity_name, _canonical_name(field_id), kind.canonical, params,
                                   {DIALECT: field_id})
    created = describe(field)
    assert created is not None
    return answer(render(resource, created, created=True), 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    """Label and options (kept when not sent: Concord answers 500); `field_type`, `field_id` and
    `resource_name` are ignored, as Concord ignores them."""
    _require_admin(request)
    resource, item = _find(api, request)
    body = request.body if isinstance(request.body, dict) else {}
    errors = _Errors()
    label = _label(body.get("label"), errors)
    _unique(body.get("is_unique"), item.type, resource, errors, creating=False)
    options = _options(body["options"], item.type, errors) if "options" in body else None
    changes: dict[str, Any] = {"label": label}
    if options is not None:
        kept = _kept_options(item, options, errors)
        changes["options"] = [option["name"] for option in kept]
        changes["dialectParams"] = concord_params(item.type, {o["name"]: o["color"] for o in kept if o["color"]})
    errors.raise_any()
    with _refusals("options" if options is not None else "label"):
        field = api.core.update_field(resource.entity_name, item.field, changes)
    changed = describe(field)
    assert changed is not None
    return answer(render(resource, changed))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    """Removes the field with its column, as `DELETE /api/v1/Admin/fieldManager/...` does."""
    _require_admin(request)
    resource, item = _find(api, request)
    api.core.remove_field(resource.entity_name, item.field)
    return no_content()


def render(resource: Resource, item: CustomField, *, created: bool = False) -> dict[str, Any]:
    """The field as Concord's CustomFieldResource: options only for option fields."""
    shown: dict[str, Any] = {"id": item.custom_id, "field_type": item.type.name, "resource_name": resource.name,
                             "field_id": item.key, "label": item.label}
    if item.options:
        shown["options"] = [_render_option(item, option) for option in item.options]
    shown["is_unique"] = False
    shown["was_recently_created"] = created
    return shown


def _render_option(item: CustomField, option: ConcordOption) -> dict[str, Any]:
    return {"id": option.id, "custom_field_id": item.custom_id, "name": option.name, "swatch_color": option.color,
            "display_order": option.order}  # the columns of Concord's custom_field_options, in their order


# --- lookups -----------------------------------------------------------------------------------------


def _require_admin(request: ConcordRequest) -> None:
    if not request.user.is_admin:
        raise admin_only()


def _all(api: ConcordApi) -> Iterable[tuple[Resource, CustomField]]:
    """Every field with a Concord key and type, with its resource."""
    for resource in api.mapping.resources.values():
        if resource.name not in CUSTOM_FIELD_RESOURCES:
            continue
        for field in api.core.records(resource.entity_name).entity.fields.values():
            item = describe(field)
            if item is not None and item.type.name and item.custom_id is not None:
                yield resource, item


def _find(api: ConcordApi, request: ConcordRequest) -> tuple[Resource, CustomField]:
    wanted = record_id(request, MODEL)
    for resource, item in _all(api):
        if item.custom_id == wanted:
            return resource, item
    raise record_not_found(MODEL, request.record_id)


def _canonical_name(field_id: str) -> str:
    """`cf_vip_level` -> `cVipLevel`."""
    return "c" + "".join(word.capitalize() for word in field_id.removeprefix(PREFIX).split("_"))


# --- checks, as Concord's CustomFieldRequest -----------------------------------------------------------


class _Errors(dict[str, list[str]]):
    def fail(self, key: str, message: str) -> None:
        self.setdefault(key, []).append(message)

    def raise_any(self) -> None:
        if self:
            raise invalid(self)


def _resource(api: ConcordApi, value: Any, errors: _Errors) -> Resource | None:
    if value is None or value == "":
        errors.fail("resource_name", "The resource name field is required.")
    elif not isinstance(value, str):
        errors.fail("resource_name", "The resource name field must be a string.")
    elif value not in CUSTOM_FIELD_RESOURCES or api.mapping.resource(value) is None:
        errors.fail("resource_name", "The selected resource name is invalid.")
    else:
        return api.mapping.resource(value)
    return None


def _label(value: Any, errors: _Errors) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.fail("label", "The label field is required.")
    elif not isinstance(value, str):
        errors.fail("label", "The label field must be a string.")
    elif len(value) > MAX_STRING:
        errors.fail("label", f"The label field must not be greater than {MAX_STRING} characters.")
    else:
        return value.strip()
    return None


def _type(value: Any, errors: _Errors) -> ConcordType | None:
    if value is None or value == "":
        errors.fail("field_type", "The field type field is required.")
        return None
    kind = concord_type(value)
    if kind is None:
        errors.fail("field_type", TYPE_INVALID)
    return kind


def _field_id(api: ConcordApi, value: Any, resource: Resource | None, errors: _Errors) -> str | None:
    """Concord's rules in its order, stopping at the first failure (`bail`), then what PolyCRM needs to
    name a field and its column after it."""
    key = "field_id"
    if value is None or value == "":
        errors.fail(key, "The field id field is required.")
    elif not isinstance(value, str):
        errors.fail(key, FIELD_ID_INVALID)
    elif len(value) < FIELD_ID_MIN:
        errors.fail(key, f"The field id field must be at least {FIELD_ID_MIN} characters.")
    elif len(value) > FIELD_ID_MAX:
        errors.fail(key, f"The field id field must not be greater than {FIELD_ID_MAX} characters.")
    elif not _FIELD_ID.fullmatch(value):
        errors.fail(key, FIELD_ID_INVALID)
    elif not value.startswith(PREFIX):
        errors.fail(key, f"The field id field must start with one of the following: {PREFIX}.")
    elif resource is not None and _taken(api, resource, value):
        errors.fail(key, EXISTS)
    elif len(_canonical_name(value)) < 2 or not NAME_PATTERN.match(_canonical_name(value)):
        errors.fail(key, f"The field id must have from 1 to {MAX_LETTERS} letters after {PREFIX}: PolyCRM names "
                         "the field and its column after them.")
    else:
        return value
    return None


def _taken(api: ConcordApi, resource: Resource, field_id: str) -> bool:
    """Whether a field of the resource has this Concord key (ignoring case) or a record key is it."""
    entity = api.core.records(resource.entity_name).entity
    keys = {item.api_names[DIALECT].lower() for item in entity.fields.values() if DIALECT in item.api_names}
    return field_id.lower() in keys or field_id in resource.by_key or field_id in resource.associations


def _options(value: Any, kind: ConcordType | None, errors: _Errors) -> list[dict[str, Any]] | None:
    """`options` as [{name, color}] in display order; None for a type without options (when none are given).
    Nameless options are left out, as Concord leaves them out."""
    key = "options"
    if value is not None and not isinstance(value, list):
        errors.fail(key, "The options field must be an array.")
        return None
    items = value or []
    if len(items) > MAX_OPTIONS:
        errors.fail(key, f"The options field must not have more than {MAX_OPTIONS} items.")
        return None
    options = []
    for position, item in enumerate(items):
        where = f"{key}.{position}"
        if not isinstance(item, dict):
            errors.fail(where, f"The {where} field must be an array.")
            continue
        name, color, order = item.get("name"), item.get("swatch_color"), item.get("display_order", position + 1)
        if name is None or name == "":
            continue
        if not isinstance(name, str) or len(name) > MAX_OPTION_NAME:
            errors.fail(f"{where}.name", f"The {where}.name field must be a string of at most {MAX_OPTION_NAME} "
                                         "characters.")
            continue
        if color is not None and color != "" and (not isinstance(color, str) or not HEX_COLOR.fullmatch(color)):
            errors.fail(f"{where}.swatch_color", f"The {where}.swatch_color field must be a valid hexadecimal "
                                                 "color.")
        number = as_integer(order) if order is not None else position + 1
        if number is None:
            errors.fail(f"{where}.display_order", f"The {where}.display_order field must be an integer.")
            number = position + 1
        options.append({"name": name, "color": color or None, "order": number, "id": item.get("id")})
    names = [option["name"] for option in options]
    optionable = kind is not None and kind.optionable
    if not optionable and names:
        errors.fail(key, REFUSES_OPTIONS)
    if optionable and not names and key not in errors:
        errors.fail(key, REQUIRES_OPTIONS)
    if any("," in name for name in names):
        errors.fail(key, OPTION_COMMA)
    if len(set(names)) != len(names):
        errors.fail(key, OPTIONS_UNIQUE)
    if not optionable:
        return None
    return sorted(options, key=lambda option: option["order"])


def _unique(value: Any, kind: ConcordType | None, resource: Resource | None, errors: _Errors, *,
            creating: bool) -> None:
    """`is_unique`: a boolean, on creation only for uniqueable types of contacts and companies (Concord's
    AcceptsUniqueCustomFields); PolyCRM keeps no values unique, so `true` is refused on creation (an update
    cannot mark a field)."""
    if value is None:
        return
    if value not in (True, False, 0, 1, "0", "1", "true", "false"):
        errors.fail("is_unique", "The is unique field must be true or false.")
    elif creating and (kind is not None and not kind.uniqueable
                       or resource is not None and resource.name not in UNIQUE_RESOURCES):
        errors.fail("is_unique", "The is unique field is prohibited.")
    elif creating and value in (True, 1, "1", "true"):
        errors.fail("is_unique", NOT_UNIQUE)


def _kept_options(item: CustomField, options: list[dict[str, Any]], errors: _Errors) -> list[dict[str, Any]]:
    """A `PUT`'s options against the field's: an option with an `id` is that option (which keeps its name),
    one without is the option of that name or a new one; options left out are removed."""
    by_id = {option.id: option for option in item.options}
    for position, option in enumerate(options):
        if option["id"] is None:
            continue
        known = by_id.get(as_integer(option["id"]) or 0)
        if known is None:
            errors.fail(f"options.{position}.id", f"The selected options.{position}.id is invalid.")
        elif known.name != option["name"]:
            errors.fail(f"options.{position}.name", NO_RENAME)
    return options


@contextmanager
def _refusals(key: str) -> Iterator[None]:
    """The core's refusals of a field change as a 422 on `key` (a ValidationFailure too: a default that no
    option is any more)."""
    try:
        yield
    except (BadRequest, Conflict) as error:
        raise invalid({key: [error.reason or "The field cannot be saved."]}) from None
