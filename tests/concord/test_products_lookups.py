"""Products, sources, industries and countries through Concord (specs/concord.md §2, §4 "Products", "Sources and
industries"), and the lookup keys of contacts and companies: `source_id`, `industry_id`, `parent_company_id`,
`country_id`. A product is PolyCRM's Product: the same record, with the same id, through ITFlow and `/api/v1`."""

from __future__ import annotations

import json

import pytest

from polycrm.core.lookups import default_rows
from tests.concord.conftest import Concord
from tests.concord.test_bad_input import HOSTILE_VALUES

US, FRANCE = 840, 250  # Concord's country ids: ISO 3166-1 numeric codes


def _rule(rule: str, value: object, *, kind: str = "select", operand: str | None = None) -> str:
    query = {"type": kind, "rule": rule, "operator": "equal", "value": value}
    if operand:
        query["operand"] = operand
    return json.dumps({"condition": "and", "children": [{"type": "rule", "query": query}]})


def _names(response) -> list[str]:  # noqa: ANN001 - an httpx response
    assert response.status_code == 200, response.content
    return [row["display_name"] for row in response.json()["data"]]


# --- products --------------------------------------------------------------------------------------------


def test_products_are_created_read_updated_and_deleted(concord: Concord) -> None:
    product = concord.create("products", {"name": "Widget", "sku": "W-1", "description": "A widget. " * 40,
                                          "unit_price": "12.345", "direct_cost": 5, "tax_rate": 20,
                                          "tax_label": "VAT", "unit": "kg", "is_active": True})
    assert product["path"] == f"/products/{product['id']}" and product["display_name"] == "Widget"
    assert product["sku"] == "W-1" and product["unit_price"] == 12.345 and product["direct_cost"] == 5
    assert product["tax_rate"] == 20 and product["tax_label"] == "VAT" and product["unit"] == "kg"
    assert product["is_active"] is True and product["was_recently_created"] is True
    assert len(product["description"]) == 400  # a text, longer than Laravel's 191-character strings
    defaults = concord.create("products", {"name": "Plain", "unit_price": 0})
    assert defaults["tax_rate"] == 0 and defaults["tax_label"] == "TAX" and defaults["is_active"] is True
    changed = concord.put(f"products/{product['id']}", {"is_active": False, "unit_price": 99})
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert changed.json()["unit_price"] == 99 and changed.json()["sku"] == "W-1"
    assert concord.put(f"products/{product['id']}", {"is_active": "1"}).json()["is_active"] is True
    assert [p["name"] for p in concord.get("products").json()["data"]] == ["Plain", "Widget"]
    assert [p["name"] for p in concord.get("products/search", q="W-1").json()] == ["Widget"]
    assert concord.delete(f"products/{product['id']}").status_code == 204
    assert concord.get(f"products/{product['id']}").status_code == 404


@pytest.mark.parametrize("body, errors", [
    ({}, {"name": ["The Name field is required."], "unit_price": ["The Unit Price field is required."]}),
    ({"name": "P", "unit_price": -1}, {"unit_price": ["The Unit Price field must be at least 0."]}),
    ({"name": "P", "unit_price": 1.2345}, {"unit_price": ["The Unit Price field must have 0-3 decimal places."]}),
    ({"name": "P", "unit_price": "cheap"}, {"unit_price": ["The Unit Price field must be a number."]}),
    ({"name": "P", "unit_price": 1, "tax_rate": 100.5}, {"tax_rate": ["The Tax Rate field must not be greater "
                                                                      "than 100."]}),
    ({"name": "P", "unit_price": 1, "tax_rate": -3}, {"tax_rate": ["The Tax Rate field must be at least 0."]}),
    ({"name": "P", "unit_price": 1, "direct_cost": "1.0001"},
     {"direct_cost": ["The Direct Cost field must have 0-3 decimal places."]}),
    ({"name": "P", "unit_price": 1, "is_active": "maybe"}, {"is_active": ["The Active field must be true or false."]}),
    ({"name": ["P"], "unit_price": 1, "sku": {"a": 1}}, {"name": ["The Name field must be a string."],
                                                         "sku": ["The SKU field must be a string."]}),
    ({"name": "x" * 192, "unit_price": 1}, {"name": ["The Name field must not be greater than 191 characters."]}),
])
def test_bad_products_are_refused_with_concords_messages(concord: Concord, body: dict, errors: dict) -> None:
    response = concord.post("products", body)
    assert response.status_code == 422 and response.json()["errors"] == errors
    assert concord.get("products").json()["meta"]["total"] == 0


def test_product_names_and_skus_are_unique(concord: Concord) -> None:
    first = concord.create("products", {"name": "Unique", "sku": "U-1", "unit_price": 1})
    taken = concord.post("products", {"name": "Unique", "sku": "U-1", "unit_price": 2})
    assert taken.status_code == 422 and taken.json()["errors"] == {
        "name": ["The Name has already been taken."], "sku": ["A product with this SKU already exists."]}
    assert concord.put(f"products/{first['id']}", {"name": "Unique", "sku": "U-1"}).status_code == 200


def test_product_filters_and_order(concord: Concord) -> None:
    concord.create("products", {"name": "Cheap", "unit_price": 1, "tax_rate": 5})
    concord.create("products", {"name": "Dear", "unit_price": 500, "tax_rate": 20})
    rule = _rule("unit_price", 100, kind="numeric").replace('"equal"', '"greater"')
    assert _names(concord.get("products", filters=rule)) == ["Dear"]
    assert _names(concord.get("products", order="unit_price|desc")) == ["Dear", "Cheap"]
    assert "tax_rate" in [r["id"] for r in concord.get("products/rules").json()]


def test_a_concord_product_is_the_same_product_through_itflow_and_espo(concord: Concord) -> None:
    harness = concord.harness
    product = concord.create("products", {"name": "Shared", "sku": "S-9", "unit_price": 42.5, "tax_rate": 10,
                                          "description": "Made in Concord"})
    espo = harness.key_client(harness.admin_key, validate=False)
    record = espo.get(f"/api/v1/Product/{product['id']}").json()
    assert (record["name"], record["code"], record["price"], record["taxRate"]) == ("Shared", "S-9", 42.5, 10)
    assert record["archivedAt"] is None
    key = harness.directory.create_itflow_key(harness.admin_id)
    itflow = harness.client(validate=False).get("/api/v1/products/read.php",
                                                params={"api_key": key.key, "product_id": product["id"]}).json()
    row = itflow["data"][0]
    assert row["product_id"] == str(product["id"]) and row["product_name"] == "Shared"
    assert row["product_code"] == "S-9" and float(row["product_price"]) == 42.5
    concord.put(f"products/{product['id']}", {"is_active": False})
    assert espo.get(f"/api/v1/Product/{product['id']}").json()["archivedAt"] is not None
    espo.put(f"/api/v1/Product/{product['id']}", json={"archivedAt": None, "price": 50})
    shown = concord.get(f"products/{product['id']}").json()
    assert shown["is_active"] is True and shown["unit_price"] == 50


# --- sources and industries ------------------------------------------------------------------------------


def test_a_new_store_has_concords_sources_and_industries_with_concords_ids(concord: Concord) -> None:
    defaults = default_rows()
    sources = concord.get("sources", per_page="100", order="id").json()
    assert [(s["id"], s["name"]) for s in sources["data"]] == [
        (n, row["name"]) for n, row in enumerate(defaults["Source"], start=1)]
    assert sources["data"][9]["name"] == "Web Form" and sources["meta"]["total"] == 10
    industries = concord.get("industries", per_page="500", order="id").json()["data"]
    assert industries[0] == {**industries[0], "id": 1, "name": "Accountants"}
    assert [i["name"] for i in industries] == [row["name"] for row in defaults["Industry"]]


@pytest.mark.parametrize("resource, label", [("sources", "Source"), ("industries", "Industry")])
def test_lookup_names_are_required_and_unique(concord: Concord, resource: str, label: str) -> None:
    made = concord.create(resource, {"name": "Trade show"})
    assert made["name"] == "Trade show" and "path" not in made  # the model's own JSON
    taken = concord.post(resource, {"name": "Trade show"})
    assert taken.status_code == 422 and taken.json() == {
        "message": f"The {label} has already been taken.", "errors": {"name": [f"The {label} has already been taken."]}}
    missing = concord.post(resource, {})
    assert missing.status_code == 422 and missing.json()["errors"] == {"name": [f"The {label} field is required."]}
    assert concord.put(f"{resource}/{made['id']}", {"name": "Trade show"}).status_code == 200  # its own name
    renamed = concord.put(f"{resource}/{made['id']}", {"name": "Fair"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Fair"
    assert concord.delete(f"{resource}/{made['id']}").status_code == 204


# --- countries -------------------------------------------------------------------------------------------


def test_countries_are_listed_with_concords_ids_for_any_user(concord: Concord) -> None:
    countries = concord.get("countries").json()
    assert len(countries) == 249 and countries[0] == {"id": 4, "name": "Afghanistan"}
    assert {"id": US, "name": "United States"} in countries and {"id": FRANCE, "name": "France"} in countries
    assert [c["id"] for c in countries] == sorted(c["id"] for c in countries)
    limited = concord.as_user("nobody", {"Contact": True})
    assert limited.get("countries").json() == countries
    assert concord.harness.client(validate=False).get("/api/countries",
                                                       headers={"Accept": "application/json"}).status_code == 401


# --- the lookup keys of contacts and companies -------------------------------------------------------------


def test_contact_source_and_country_round_trip_and_filter(concord: Concord) -> None:
    web_form = concord.get("sources", q="Web Form").json()["data"][0]["id"]
    jo = concord.create("contacts", {"first_name": "Jo", "source_id": web_form, "country_id": US})
    assert jo["source_id"] == web_form and jo["country_id"] == US
    concord.create("contacts", {"first_name": "Al", "source_id": 1, "country_id": FRANCE})
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    record = espo.get(f"/api/v1/Contact/{jo['id']}").json()
    assert record["addressCountry"] == "United States" and record["sourceId"] == str(web_form)
    espo.put(f"/api/v1/Contact/{jo['id']}", json={"addressCountry": "fr"})  # an ISO code typed elsewhere
    assert concord.get(f"contacts/{jo['id']}").json()["country_id"] == FRANCE
    espo.put(f"/api/v1/Contact/{jo['id']}", json={"addressCountry": "Atlantis"})
    assert concord.get(f"contacts/{jo['id']}").json()["country_id"] is None
    assert _names(concord.get("contacts", filters=_rule("source_id", web_form))) == ["Jo"]
    assert _names(concord.get("contacts", filters=_rule("address", FRANCE, operand="country_id"))) == ["Al"]
    assert _names(concord.get("contacts", q=str(web_form), search_fields="source_id:=")) == ["Jo"]
    cleared = concord.put(f"contacts/{jo['id']}", {"source_id": None, "country_id": None}).json()
    assert cleared["source_id"] is None and cleared["country_id"] is None


def test_company_lookups_round_trip_and_filter(concord: Concord) -> None:
    industries = {i["name"]: i["id"] for i in concord.get("industries", per_page="500").json()["data"]}
    parent = concord.create("companies", {"name": "Holding"})
    child = concord.create("companies", {"name": "Subsidiary", "domain": "sub.test", "industry_id":
                                         industries["Computer Software"], "source_id": 2,
                                         "parent_company_id": parent["id"], "country_id": US})
    assert child["industry_id"] == industries["Computer Software"] and child["source_id"] == 2
    assert child["parent_company_id"] == parent["id"] and child["country_id"] == US and child["domain"] == "sub.test"
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    account = espo.get(f"/api/v1/Account/{child['id']}").json()
    assert account["industry"] == "Computer Software" and account["billingAddressCountry"] == "United States"
    assert account["parentId"] == str(parent["id"]) and account["website"] == "sub.test"
    espo.put(f"/api/v1/Account/{parent['id']}", json={"industry": "Banking"})  # an EspoCRM industry has an id too
    assert concord.get(f"companies/{parent['id']}").json()["industry_id"] == industries["Banking"]
    by_name = concord.put(f"companies/{parent['id']}", {"industry_id": "computer software"}).json()
    assert by_name["industry_id"] == industries["Computer Software"]  # a name, as Concord's acceptLabelAsValue
    filtered = concord.get("companies", filters=_rule("industry_id", industries["Computer Software"]))
    assert sorted(_names(filtered)) == ["Holding", "Subsidiary"]
    assert _names(concord.get("companies", filters=_rule("address", US, operand="country_id"))) == ["Subsidiary"]
    assert _names(concord.get("companies", filters=_rule("source_id", 2))) == ["Subsidiary"]
    rules = {r["id"]: r for r in concord.get("companies/rules").json()}
    assert "industry_id" in rules and "source_id" in rules


def test_an_industry_outside_the_enum_is_refused(concord: Concord) -> None:
    made = concord.create("industries", {"name": "Space Mining"})
    refused = concord.post("companies", {"name": "Orbital", "industry_id": made["id"]})
    assert refused.status_code == 422 and refused.json()["errors"] == {"industry_id": ["The selected Industry is invalid."]}


@pytest.mark.parametrize("resource, body, key, label", [
    ("contacts", {"first_name": "X"}, "source_id", "Source"),
    ("contacts", {"first_name": "X"}, "country_id", "Country"),
    ("companies", {"name": "X"}, "industry_id", "Industry"),
    ("companies", {"name": "X"}, "source_id", "Source"),
    ("companies", {"name": "X"}, "parent_company_id", "Parent Company"),
    ("companies", {"name": "X"}, "country_id", "Country"),
])
def test_unknown_lookup_ids_are_refused(concord: Concord, resource: str, body: dict, key: str, label: str) -> None:
    unknown = concord.post(resource, {**body, key: 999999})
    assert unknown.status_code == 422 and unknown.json()["errors"] == {key: [f"The selected {label} is invalid."]}
    for value in ("no such thing", [1], {"id": 1}, True, 1.5):
        response = concord.post(resource, {**body, key: value})
        assert response.status_code == 422 and list(response.json()["errors"]) == [key], (value, response.content)
    assert concord.get(resource).json()["meta"]["total"] == 0


def test_every_user_reads_sources_and_industries_and_products_need_a_role(concord: Concord) -> None:
    """Sources and industries are lists a record names (`readByEveryone`): any user lists them and gives a
    contact or company one; changing them is an administrator's. Products are records: they need a role."""
    limited = concord.as_user("limited", {"Contact": True})
    assert limited.get("sources").status_code == 200 and limited.get("products").status_code == 403
    assert limited.post("sources", {"name": "Fair"}).status_code == 403
    made = limited.create("contacts", {"first_name": "Ann", "source_id": 1, "country_id": US})
    assert (made["source_id"], made["country_id"]) == (1, US)
    company = concord.create("companies", {"name": "Banked", "industry_id": "Banking"})
    companies_only = concord.as_user("companies", {"Account": True})
    shown = companies_only.get(f"companies/{company['id']}")
    assert shown.status_code == 200 and shown.json()["industry_id"] == concord.get(
        f"companies/{company['id']}").json()["industry_id"] is not None
    reader = concord.as_user("reader", {"Product": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    concord.create("products", {"name": "Seen", "unit_price": 1})
    assert [p["name"] for p in reader.get("products").json()["data"]] == ["Seen"]
    assert reader.post("products", {"name": "Nope", "unit_price": 1}).status_code == 403


@pytest.mark.parametrize("resource, body, key", [
    *(("products", {"name": "P", "unit_price": 1}, key) for key in (
        "name", "sku", "description", "unit_price", "direct_cost", "tax_rate", "tax_label", "unit", "is_active")),
    ("sources", {}, "name"), ("industries", {}, "name"),
    ("contacts", {"first_name": "C"}, "source_id"), ("contacts", {"first_name": "C"}, "country_id"),
    *(("companies", {"name": "C"}, key) for key in ("industry_id", "source_id", "parent_company_id", "country_id")),
])
def test_every_lookup_key_takes_any_json_value_without_a_500(concord: Concord, resource: str, body: dict,
                                                             key: str) -> None:
    for value in HOSTILE_VALUES:
        response = concord.post(resource, {**body, key: value})
        assert response.status_code in (201, 422), (key, str(value)[:80], response.status_code, response.content[:300])
    hostile = _rule("source_id", "' OR '1'='1")
    assert concord.get("contacts", filters=hostile).status_code in (200, 422)
    assert concord.get("companies", filters=_rule("industry_id", "1; DROP TABLE account")).status_code in (200, 422)
