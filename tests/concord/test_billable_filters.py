"""The filter rules Concord has over a deal's or document's products (its BillableProductsFilter: `products`,
operands `total_count`, `name`, `qty`, `unit`, `sku`) and a document's `amount` rule, parsed into the one
filter tree (`total_count` is a LinkCount). The listing is pinned against Concord 1.4.1's
`GET /api/documents/rules`; the matches against what the peer answered for the same filters."""

from __future__ import annotations

import json

import pytest

from tests.concord.conftest import Concord

# Concord 1.4.1's `products` rule of GET /api/documents/rules (and /api/deals/rules), in 1.5.1's form as
# PolyCRM answers every rule; `total_count` lists neither `between` (as Concord) nor the null operators
# (which match no record in Concord: a count is never null).
TEXT_OPERATORS = ["equal", "not_equal", "begins_with", "not_begins_with", "contains", "not_contains", "ends_with",
                  "not_ends_with"]
NUMBER_OPERATORS = ["equal", "not_equal", "less", "less_or_equal", "greater", "greater_or_equal"]
PEER_OPERANDS = [("total_count", "Total Products", "number", NUMBER_OPERATORS),
                 ("name", "Name", "text", TEXT_OPERATORS),
                 ("qty", "Quantity", "number", [*NUMBER_OPERATORS, "between", "not_between", "is_null", "is_not_null"]),
                 ("unit", "Unit (kg, lots)", "text", [*TEXT_OPERATORS, "is_null", "is_not_null"]),
                 ("sku", "SKU", "text", [*TEXT_OPERATORS, "is_null", "is_not_null"])]


def where(rule: str, operator: str, value=None, operand: str | None = None) -> dict:
    query = {"rule": rule, "operator": operator, "value": value}
    if operand is not None:
        query["operand"] = operand
    return {"filters": json.dumps({"condition": "and", "children": [{"type": "rule", "query": query}]})}


def ids(concord: Concord, resource: str, **params) -> list[int]:
    response = concord.get(resource, **params)
    assert response.status_code == 200, response.content
    return sorted(row["id"] for row in response.json()["data"])


@pytest.fixture
def stage_id(concord: Concord) -> int:
    pipeline = concord.get("pipelines").json()["data"][0]
    return concord.get(f"pipelines/{pipeline['id']}/stages").json()["data"][0]["id"]


@pytest.mark.parametrize("resource", ["documents", "deals"])
def test_the_products_rule_is_listed_as_concords(concord: Concord, resource: str) -> None:
    rules = {rule["id"]: rule for rule in concord.get(f"{resource}/rules").json()}
    products = rules["products"]
    assert (products["label"], products["type"], products["operators"]) == ("Product", "nullable", [])
    assert [(o["value"], o["label"], o["rule"]["type"], o["rule"]["operators"]) for o in products["operands"]] \
        == [(value, label, kind, operators) for value, label, kind, operators in PEER_OPERANDS]
    assert all(o["rule"]["id"] == o["value"] and o["rule"]["label"] == o["label"] for o in products["operands"])
    amount = rules["amount"]
    assert (amount["label"], amount["type"]) == ("Amount", "numeric")
    assert amount["operators"] == [*NUMBER_OPERATORS, "between", "not_between", "is_null", "is_not_null"]
    if resource == "documents":  # Concord's order: after the type, before the brand
        assert list(rules).index("amount") == list(rules).index("document_type_id") + 1


def test_deals_filter_by_their_products(concord: Concord, stage_id: int) -> None:
    concord.create("products", {"name": "Gadget", "unit_price": 5, "sku": "GAD-1"})
    two = concord.create("deals", {"name": "Two", "stage_id": stage_id, "billable": {"products": [
        {"name": "Widget", "unit_price": 10, "qty": 2, "unit": "kg"}, {"name": "Gadget", "unit_price": 5}]}})
    one = concord.create("deals", {"name": "One", "stage_id": stage_id, "billable": {"products": [
        {"name": "Bolt", "unit_price": 1, "qty": 7}]}})
    none = concord.create("deals", {"name": "None", "stage_id": stage_id})
    everyone = sorted([two["id"], one["id"], none["id"]])
    count = lambda op, n: ids(concord, "deals", **where("products", op, n, "total_count"))  # noqa: E731
    assert count("greater", 0) == sorted([two["id"], one["id"]])  # as the peer: `has products`
    assert count("less", 1) == [none["id"]] and count("equal", 0) == [none["id"]]
    assert count("equal", 2) == [two["id"]] and count("not_equal", 1) == sorted([two["id"], none["id"]])
    assert count("greater_or_equal", "1") == sorted([two["id"], one["id"]]) and count("less_or_equal", 9) == everyone
    assert ids(concord, "deals", **where("products", "contains", "idg", "name")) == [two["id"]]
    assert ids(concord, "deals", **where("products", "not_contains", "idg", "name")) == sorted([two["id"], one["id"]])
    assert ids(concord, "deals", **where("products", "greater", 5, "qty")) == [one["id"]]
    assert ids(concord, "deals", **where("products", "between", [1, 2], "qty")) == [two["id"]]
    assert ids(concord, "deals", **where("products", "equal", "KG", "unit")) == [two["id"]]
    assert ids(concord, "deals", **where("products", "is_null", None, "unit")) == sorted([two["id"], one["id"]])
    # `sku` is the catalogue product's (a line's `sku`): through the line's product
    assert ids(concord, "deals", **where("products", "begins_with", "GAD", "sku")) == [two["id"]]
    assert ids(concord, "deals", **where("products", "is_null", None, "sku")) == sorted([two["id"], one["id"]])
    # a removed line no longer counts
    lines = concord.get(f"deals/{two['id']}/billable").json()["products"]
    concord.post(f"deals/{two['id']}/billable", {"removed_products": [lines[0]["id"]]})
    assert count("equal", 1) == sorted([two["id"], one["id"]])
    assert ids(concord, "deals", **where("products", "contains", "idg", "name")) == []


def test_documents_filter_by_amount_and_products(concord: Concord) -> None:
    brand = concord.get("brands").json()[0]["id"]
    priced = concord.create("documents", {"title": "Priced", "brand_id": brand, "user_id": concord.user_id,
                                          "billable": {"products": [{"name": "Line", "unit_price": 150}]}})
    empty = concord.create("documents", {"title": "Empty", "brand_id": brand, "user_id": concord.user_id})
    assert ids(concord, "documents", **where("amount", "greater", 100)) == [priced["id"]]
    assert ids(concord, "documents", **where("amount", "between", [100, 200])) == [priced["id"]]
    assert ids(concord, "documents", **where("products", "equal", 0, "total_count")) == [empty["id"]]
    assert ids(concord, "documents", **where("products", "equal", "Line", "name")) == [priced["id"]]


@pytest.mark.parametrize("query, key, message", [
    (where("products", "between", [1, 2], "total_count"), "operator", "accepts: equal"),
    (where("products", "is_null", None, "total_count"), "operator", "accepts: equal"),
    (where("products", "equal", 1.5, "total_count"), "value", "must be a whole number"),
    (where("products", "equal", "many", "total_count"), "value", "must be a number"),
    (where("products", "equal", None, "total_count"), "value", "must be a whole number"),
    (where("products", "equal", 1e300, "total_count"), "value", "must be a whole number"),
    (where("products", "equal", [1, 2], "total_count"), "value", ""),
    (where("products", "is_null", None, "name"), "operator", "accepts: equal"),
    (where("products", "equal", "x", "price"), "operand", "needs one of the operands: total_count, name"),
    (where("products", "equal", "x"), "operand", "needs one of the operands"),
    (where("amount", "greater", "lots"), "value", "must be a number"),
])
def test_bad_product_rules_are_422_naming_the_place(concord: Concord, query: dict, key: str, message: str) -> None:
    response = concord.get("documents", **query)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert list(errors) == [f"filters.children.0.query.{key}"] and message in errors[list(errors)[0]][0]


def test_a_limited_user_filters_the_products_of_the_records_they_read(concord: Concord, stage_id: int) -> None:
    """A deal's lines are its parts (BillableProduct `partOf`): a user without rights on BillableProduct or
    Product filters the deals they read by them, as they read the lines on those deals; records they may not
    read stay out, as always."""
    seller = concord.as_user("seller", {"Opportunity": {"create": "yes", "read": "own", "edit": "own",
                                                        "delete": "no"}})
    mine = seller.create("deals", {"name": "Mine", "stage_id": stage_id, "user_id": seller.user_id, "billable": {
        "products": [{"name": "Part", "unit_price": 3}]}})
    concord.create("deals", {"name": "Theirs", "stage_id": stage_id, "billable": {"products": [
        {"name": "Part", "unit_price": 3}]}})
    assert ids(seller, "deals", **where("products", "equal", 1, "total_count")) == [mine["id"]]
    assert ids(seller, "deals", **where("products", "equal", "Part", "name")) == [mine["id"]]
    assert ids(seller, "deals", **where("products", "is_null", None, "sku")) == [mine["id"]]
    assert ids(seller, "deals", **where("products", "equal", 0, "total_count")) == []


def test_a_has_rule_keeps_its_condition_for_a_limited_user(concord: Concord) -> None:
    """A "has" rule over records the caller reads in part (a contact's companies) matches those whose readable
    linked record meets the rule, not any readable one."""
    reader = concord.as_user("reader", {"Contact": {"create": "no", "read": "all", "edit": "no", "delete": "no"},
                                        "Account": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}})
    acme = reader.create("companies", {"name": "Acme", "user_id": reader.user_id})
    other = reader.create("companies", {"name": "Other", "user_id": reader.user_id})
    hidden = concord.create("companies", {"name": "Acme hidden"})
    at_acme = concord.create("contacts", {"first_name": "A", "companies": [acme["id"]]})
    concord.create("contacts", {"first_name": "O", "companies": [other["id"]]})
    concord.create("contacts", {"first_name": "H", "companies": [hidden["id"]]})
    assert ids(reader, "contacts", **where("companies", "contains", "Acme", "companies.name")) == [at_acme["id"]]


def test_the_rules_need_a_token(concord: Concord) -> None:
    anonymous = concord.http.get("/api/documents", params=where("products", "equal", 1, "total_count"),
                                 headers={"Authorization": ""})
    assert anonymous.status_code == 401 and anonymous.json() == {"message": "Unauthenticated."}
