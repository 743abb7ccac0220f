"""A deal's or document's products (specs/concord.md §2 `GET/POST /api/{resource}/{id}/billable`, §4 the
`billable` key of deal and document writes): the body read with Concord's BillableController rules, the
answer shaped as its BillableResource and BillableProductResource, as Concord CRM 1.4.1 shows them (the
rules and totals are core/billables.py's).

Money values are shown as Concord's Money (2 places, a whole number without its fraction), quantities and
discounts as their decimal(15,2) strings, the tax rate as a number.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
import re
from typing import TYPE_CHECKING, Any, Callable, Mapping

from starlette.responses import Response

from polycrm.core.billable_service import BillableInput, BillableView, InvalidLine, LineInput
from polycrm.core.billables import DISCOUNT_TYPES, TAX_TYPES, rounded
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer, invalid
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.field_readers import (MAX_STRING, MAX_TEXT, Parsed, as_integer, read_integer,
                                                    read_string)
from polycrm.dialects.concord.mapping import ResourceField

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

# The resources whose records have products (their files say `billable`).
RESOURCES = ("deals", "documents")
# A line's request keys and their BillableProduct fields (BillableProduct::formAttributes).
LINE_KEYS = {"name": "name", "description": "description", "unit_price": "unitPrice", "qty": "quantity",
             "unit": "unit", "tax_rate": "taxRate", "tax_label": "taxLabel", "discount_type": "discountType",
             "discount_total": "discountTotal", "display_order": "displayOrder", "note": "note",
             "product_id": "productId"}
# Keys a line read back carries that a save takes without a word (Concord drops them: Arr::only).
SHOWN_ONLY = frozenset({"id", "sku", "amount", "created_at", "updated_at", "was_recently_created"})
MAX_LINES = 500
MAX_NUMBER = 1e12  # Concord's decimal(15,3): below 10^12
PRODUCT_LABEL = "Product"  # billable::product.product, the name Concord's `required` message gives a line's name
_QTY = re.compile(r"^[0-9]\d*(\.\d{0,2})?$")


def _resource_entity(request: ConcordRequest, api: ConcordApi) -> str:
    """The entity of the route's resource (`deals` or `documents`, literal in routes.py); a 404 names its
    model."""
    request.resource = api.mapping.resources[request.path.split("/")[2]]
    return request.resource.entity_name


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    from polycrm.dialects.concord.records import record_id  # records shows billables (shown_billable)

    entity = _resource_entity(request, api)
    return answer(billable_json(api.core.billables.read(request.user, entity, record_id(request))))


def save(api: ConcordApi, request: ConcordRequest) -> Response:
    from polycrm.dialects.concord.records import record_id

    entity = _resource_entity(request, api)
    owner_id = record_id(request)
    api.core.records(entity).read(request.user, owner_id)  # 404/403 before the body is read
    given = read_billable(request, request.body)
    try:
        view = api.core.billables.save(request.user, entity, owner_id, given)
    except InvalidLine as error:
        raise line_error(error) from None
    return answer(billable_json(view))


def _for_resource(handler: Callable[[ConcordApi, ConcordRequest], Response], name: str
                  ) -> Callable[[ConcordApi, ConcordRequest], Response]:
    """The handler under a name of its own per resource (the OpenAPI operation ids are the handlers')."""
    def bound(api: ConcordApi, request: ConcordRequest) -> Response:
        return handler(api, request)

    bound.__name__ = bound.__qualname__ = f"{handler.__name__}_{name}"
    return bound


# resource -> (GET handler, POST handler)
HANDLERS = {name: (_for_resource(show, name), _for_resource(save, name)) for name in RESOURCES}


def line_error(error: InvalidLine, prefix: str = "") -> Exception:
    key = f"{prefix}products.{error.index}.{'id' if error.key == 'id' else 'product_id'}"
    return invalid({key: [f"The selected {key} is invalid."]})


def shown_billable(api: ConcordApi, request: ConcordRequest, record: dict[str, Any]) -> None:
    """A single deal or document shows its billable when the resource always does (documents) or `with`
    names it (`billable` or `billable.products`, deals)."""
    resource = request.resource
    if resource is None or resource.billable is None:
        return
    wanted = {item.split(".")[0] for item in (request.text("with") or "").split(";")}
    if resource.billable == "always" or "billable" in wanted:
        record["billable"] = billable_json(api.core.billables.read(request.user, resource.entity_name, record["id"]))


def billable_of_write(request: ConcordRequest, creating: bool) -> BillableInput | None:
    """The `billable` key of a deal's or document's create or update: saved on create when it has products,
    on update when it is not empty (Concord's afterCreate and afterUpdate); 422 for a bad one."""
    resource = request.resource
    body = request.body
    if resource is None or resource.billable is None or not isinstance(body, dict) or not body.get("billable"):
        return None
    given = read_billable(request, body["billable"], "billable.")
    if creating and not given.lines:
        return None
    return given


# --- reading ----------------------------------------------------------------------------------------

def read_billable(request: ConcordRequest, body: Any, prefix: str = "") -> BillableInput:
    """A billable body as core input, or 422 with Concord's messages (keys under `prefix` inside a deal's or
    document's body)."""
    errors: dict[str, list[str]] = {}

    def fail(key: str, message: str) -> None:  # Laravel names a nested key in full
        errors.setdefault(prefix + key, []).append(message.replace(f"The {key} ", f"The {prefix}{key} "))

    if not isinstance(body, dict):
        raise invalid({prefix.rstrip(".") or "body": ["The billable must be a JSON object."]})
    given = BillableInput()
    tax_type = body.get("tax_type")
    if tax_type not in (None, ""):
        if not isinstance(tax_type, str):
            fail("tax_type", "The tax type field must be a string.")
        if tax_type not in TAX_TYPES:
            fail("tax_type", "The selected tax type is invalid.")
        else:
            given.tax_type = tax_type
    products = body.get("products")
    if products is None:
        products = []
    if not isinstance(products, list):
        fail("products", "The products field must be an array.")
        products = []
    elif len(products) > MAX_LINES:
        fail("products", f"The products field must not have more than {MAX_LINES} items.")
        products = []
    lines = [(index, line) for index, line in enumerate(products)]
    for index, line in lines:
        if not isinstance(line, dict):
            fail(f"products.{index}", f"The products.{index} field must be an array.")
    lines = [(index, line) for index, line in lines if isinstance(line, dict)]
    inputs = {index: LineInput({}) for index, _ in lines}
    for check in _LINE_CHECKS:  # Laravel reports rule by rule, each over every line
        for index, line in lines:
            check(line, index, inputs[index].values, fail)
    ignored = sorted({key for _, line in lines for key in line if key not in LINE_KEYS and key not in SHOWN_ONLY})
    for index, line in lines:
        if "id" in line and line["id"] is not None:
            line_id = as_integer(line["id"])
            if line_id is None:
                fail(f"products.{index}.id", f"The products.{index}.id field must be an integer.")
            inputs[index].line_id = line_id
    given.lines = [inputs[index] for index, _ in lines]
    removed = body.get("removed_products")
    if removed not in (None, ""):
        ids = [as_integer(i) for i in removed] if isinstance(removed, list) else [None]
        if None in ids:
            fail("removed_products", "The removed products field must be an array of ids.")
        else:
            given.removed = [i for i in ids if i is not None]
    unknown = [k for k in body if k not in ("tax_type", "products", "removed_products", "description", "note",
                                           "terms")]
    if ignored or unknown:
        request.warnings.append("billable keys ignored: " + ", ".join(
            [prefix + k for k in unknown] + [f"{prefix}products.*.{k}" for k in ignored]))
    if errors:
        raise invalid(errors)
    return given


Fail = Callable[[str, str], None]  # (key, message)


def _name(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
    key = f"products.{index}.name"
    if "name" not in line:
        if line.get("product_id") is None and not line.get("id"):
            fail(key, f"The {PRODUCT_LABEL} field is required.")
        return
    value = line["name"]
    if value is None or (isinstance(value, str) and not value.strip()):
        fail(key, f"The {PRODUCT_LABEL} field is required.")
    elif not isinstance(value, str):
        fail(key, f"The {key} field must be a string.")
    elif len(value) > MAX_STRING:
        fail(key, f"The {key} field must not be greater than {MAX_STRING} characters.")
    else:
        values["name"] = value.strip()


def _discount_type(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
    value = line.get("discount_type")
    if value in (None, ""):
        return
    key = f"products.{index}.discount_type"
    if not isinstance(value, str):
        fail(key, f"The {key} field must be a string.")
    if value not in DISCOUNT_TYPES:
        fail(key, f"The selected {key} is invalid.")
    else:
        values["discountType"] = value


def _display_order(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
    if line.get("display_order") is None:
        return
    number = as_integer(line["display_order"])
    in_range = number is not None and abs(number) <= 2**31 - 1  # an INT column's
    _read_line_key(read_integer, index, "display_order", "displayOrder", number if in_range else None, values, fail)


def _qty(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
    value = line.get("qty")
    if value in (None, ""):
        return
    text = _number_text(value)
    if text is None or not _QTY.fullmatch(text) or float(text) >= MAX_NUMBER:
        key = f"products.{index}.qty"
        fail(key, f"The {key} field format is invalid.")
    else:
        values["quantity"] = float(text)


def _string(request_key: str, field: str, limit: int = MAX_STRING) -> Any:
    def check(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
        if request_key not in line:
            return
        if line[request_key] is None:
            values[field] = None
        else:
            _read_line_key(read_string, index, request_key, field, line[request_key], values, fail, limit)

    return check


def _tax_rate(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
    value = line.get("tax_rate")
    if value in (None, ""):
        return
    key = f"products.{index}.tax_rate"
    number = _decimal(value)
    if number is None:
        fail(key, f"The {key} field must be a number.")
        return
    places = -number.as_tuple().exponent if isinstance(number.as_tuple().exponent, int) else 0
    if places > 3:
        fail(key, f"The {key} field must have 0-3 decimal places.")
    if number < 0:
        fail(key, f"The {key} field must be at least 0.")
    elif number >= 1000:
        fail(key, f"The {key} field must not be greater than 999.999.")
    elif places <= 3:
        values["taxRate"] = float(number)


def _product_id(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
    if line.get("product_id") is not None:
        _read_line_key(read_integer, index, "product_id", "productId", line["product_id"], values, fail)


def _read_line_key(read: Callable[..., None], index: int, request_key: str, field: str, value: Any,
                   values: dict[str, Any], fail: Fail, *limit: int) -> None:
    """A line's key read by the record keys' reader of its type (field_readers), labelled by its full key as
    Laravel names a nested one."""
    key = f"products.{index}.{request_key}"
    parsed = Parsed()
    read(parsed, ResourceField(key=key, field=field, type="int", label=key), value, *limit)  # attribute: field
    for message in parsed.errors.get(key, ()):
        fail(key, message)
    values.update(parsed.data)


def _money(request_key: str, field: str) -> Any:
    """unit_price and discount_total, which Concord does not validate: numbers (or their digits) below
    10^12; an empty one is 0."""
    def check(line: Mapping[str, Any], index: int, values: dict[str, Any], fail: Fail) -> None:
        if request_key not in line:
            return
        value = line[request_key]
        if value in (None, ""):
            values[field] = 0.0
            return
        number = _decimal(value)
        key = f"products.{index}.{request_key}"
        if number is None:
            fail(key, f"The {key} field must be a number.")
        elif abs(number) >= MAX_NUMBER:
            fail(key, f"The {key} field must be less than {int(MAX_NUMBER)}.")
        else:
            values[field] = float(number)

    return check


# Concord's rules in its order, then the keys it does not validate.
_LINE_CHECKS = (_name, _discount_type, _display_order, _qty, _string("unit", "unit"),
                _string("tax_label", "taxLabel"), _tax_rate, _product_id, _money("unit_price", "unitPrice"),
                _money("discount_total", "discountTotal"), _string("description", "description", MAX_TEXT),
                _string("note", "note", MAX_TEXT))


def _number_text(value: Any) -> str | None:
    """A number as PHP writes it in a string (a whole float without its fraction), or a string as given."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return value.strip()
    return None


def _decimal(value: Any) -> Decimal | None:
    text = _number_text(value)
    if text is None:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


# --- shaping ----------------------------------------------------------------------------------------

def _number(value: float) -> int | float:
    """PHP's json_encode of a float: a whole one without its fraction."""
    return int(value) if float(value).is_integer() else float(value)


def _money_value(value: float) -> int | float:
    return _number(rounded(value, 2))


def line_json(line: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": line["id"],
        "product_id": line.get("productId"),
        "name": line.get("name"),
        "description": line.get("description"),
        "unit_price": _money_value(line.get("unitPrice") or 0),
        "qty": f"{rounded(line.get('quantity') or 0, 2):.2f}",
        "unit": line.get("unit"),
        "tax_rate": _number(line.get("taxRate") or 0),
        "tax_label": line.get("taxLabel"),
        "discount_type": line.get("discountType"),
        "discount_total": f"{rounded(line.get('discountTotal') or 0, 2):.2f}",
        "sku": line.get("productCode"),
        "amount": _money_value(line.get("amount") or 0),
        "note": line.get("note"),
        "display_order": line.get("displayOrder"),
        "created_at": concord_datetime(line.get("createdAt")),
        "updated_at": concord_datetime(line.get("modifiedAt")),
        "was_recently_created": False,
    }


def billable_json(view: BillableView) -> dict[str, Any]:
    """Concord's BillableResource of a record's billable."""
    totals = view.totals
    return {
        "id": view.billable_id,
        "tax_type": view.tax_type,
        "subtotal": _money_value(totals.subtotal),
        "total": _money_value(totals.total),
        "total_tax": _money_value(totals.total_tax),
        "taxes": [{"key": f"{tax.label}{_number(tax.rate)}", "rate": _number(tax.rate), "label": tax.label,
                   "raw_total": _number(tax.total), "total": _money_value(tax.total)} for tax in totals.taxes],
        "has_discount": rounded(totals.total_discount, 2) > 0,
        "total_discount": _money_value(totals.total_discount),
        "products": [line_json(line) for line in view.lines],
        "was_recently_created": view.created,
    }
