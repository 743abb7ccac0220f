"""`GET/PUT/PATCH /api/v1/Settings`: who sees what, what administrators may change, and converted amounts that
follow every change of a rate, the default or the base currency (both backends)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from polycrm.app import build_app
from polycrm.store.database import open_database
from tests.api.conftest import ApiHarness

OPPORTUNITY = {"name": "Deal", "closeDate": "2030-01-01"}


def opportunity(api, amount, currency=None, **extra):
    body = dict(OPPORTUNITY, amount=amount, **({"amountCurrency": currency} if currency else {}), **extra)
    response = api.post("/api/v1/Opportunity", json=body)
    assert response.status_code == 200, response.headers.get("x-status-reason")
    return response.json()


def converted(api, record):
    return api.get(f"/api/v1/Opportunity/{record['id']}").json()["amountConverted"]


def put(api, body, status=200):
    response = api.put("/api/v1/Settings", json=body)
    assert response.status_code == status, response.headers.get("x-status-reason")
    return response


def test_with_the_euro_as_default_amounts_convert_into_euros(euro_api):
    """Issue 18: 1000 EUR converted to 1080 with hard-coded dollar rates."""
    assert opportunity(euro_api, 1000, "EUR")["amountConverted"] == 1000
    assert opportunity(euro_api, 108, "USD")["amountConverted"] == pytest.approx(100)
    assert opportunity(euro_api, 50)["amountCurrency"] == "EUR"  # no currency given: the default
    settings = euro_api.get("/api/v1/Settings").json()
    assert settings["defaultCurrency"] == "EUR" and settings["baseCurrency"] == "USD"


def test_a_new_rate_recomputes_every_converted_amount(api, store):
    euros, dollars = opportunity(api, 100, "EUR"), opportunity(api, 100, "USD")
    gone = opportunity(api, 200, "EUR")
    api.delete(f"/api/v1/Opportunity/{gone['id']}")
    lead = api.post("/api/v1/Lead", json={"lastName": "L", "opportunityAmount": 10,
                                          "opportunityAmountCurrency": "EUR"}).json()
    assert converted(api, euros) == pytest.approx(108)
    rates = dict(api.get("/api/v1/Settings").json()["currencyRates"], EUR=1.5)
    answer = put(api, {"currencyRates": rates}).json()
    assert answer["currencyRates"]["EUR"] == 1.5
    assert converted(api, euros) == 150 and converted(api, dollars) == 100
    assert api.get(f"/api/v1/Lead/{lead['id']}").json()["opportunityAmountConverted"] == 15
    after = api.get(f"/api/v1/Opportunity/{euros['id']}").json()
    assert after["versionNumber"] == euros["versionNumber"] and after["modifiedAt"] == euros["modifiedAt"]
    found = api.get("/api/v1/Opportunity", params={"where[0][type]": "greaterThan",
                                                    "where[0][attribute]": "amountConverted",
                                                    "where[0][value]": "120"}).json()
    assert [r["id"] for r in found["list"]] == [euros["id"]]
    table = store.database.table("opportunity")  # deleted records too: they may be restored
    with store.database.connect() as conn:
        assert conn.execute(select(table.c.amount_converted).where(table.c.id == int(gone["id"]))).scalar() == 300


def test_a_new_default_currency_converts_everything_into_it(api):
    euros, dollars = opportunity(api, 108, "EUR"), opportunity(api, 108, "USD")
    put(api, {"defaultCurrency": "EUR"})
    assert converted(api, euros) == 108 and converted(api, dollars) == pytest.approx(100)
    put(api, {"baseCurrency": "EUR"})  # the same rates, restated: nothing moves
    assert converted(api, euros) == 108 and converted(api, dollars) == pytest.approx(100)
    assert opportunity(api, 5)["amountCurrency"] == "EUR"


def test_any_iso_currency_can_be_enabled(api):
    refused = api.post("/api/v1/Opportunity", json=dict(OPPORTUNITY, amount=400, amountCurrency="PLN"))
    assert refused.status_code == 400 and refused.json()["messageTranslation"]["data"]["type"] == "validCurrency"
    settings = api.get("/api/v1/Settings").json()
    put(api, {"currencyList": settings["currencyList"] + ["PLN"],
              "currencyRates": dict(settings["currencyRates"], PLN=0.25)})
    assert opportunity(api, 400, "PLN")["amountConverted"] == 100
    assert "PLN" in api.get("/api/v1/Metadata", params={"key": "app.currency.list"}).json()


def test_unknown_codes_are_refused_with_a_400(api):
    settings = api.get("/api/v1/Settings").json()
    response = put(api, {"currencyList": settings["currencyList"] + ["ZZZ"],
                         "currencyRates": dict(settings["currencyRates"], ZZZ=1)}, 400)
    assert "'ZZZ' is not an ISO 4217 currency code" in response.headers["x-status-reason"]
    assert api.get("/api/v1/Settings").json() == settings


def test_a_currency_in_use_cannot_be_disabled(api):
    before = api.get("/api/v1/Settings").json()
    record = opportunity(api, 10, "GBP")
    api.delete(f"/api/v1/Opportunity/{record['id']}")
    smaller = [c for c in before["currencyList"] if c not in ("GBP", "CAD")]
    response = put(api, {"currencyList": smaller}, 409)
    assert "GBP is still used: 1 Opportunity record(s) have amount in GBP" in response.headers["x-status-reason"]
    assert api.get("/api/v1/Settings").json() == before  # nothing of the change was applied
    fewer = put(api, {"currencyList": [c for c in before["currencyList"] if c != "CAD"]}).json()
    assert "CAD" not in fewer["currencyList"] and "CAD" not in fewer["currencyRates"]


def test_what_each_caller_sees(harness, api):
    anonymous = harness.client().get("/api/v1/Settings")
    assert anonymous.status_code == 200
    assert anonymous.json()["language"] == "en_US" and "currencyRates" not in anonymous.json()
    _, reader = harness.user({"Account": {"read": "all"}})
    seen = reader.get("/api/v1/Settings").json()
    assert seen["currencyList"] == api.get("/api/v1/Settings").json()["currencyList"]
    assert seen["globalSearchEntityList"] == ["Account"]
    assert api.get("/api/v1/Settings").json()["globalSearchEntityList"] == ["Account", "Contact", "Lead",
                                                                            "Opportunity"]
    assert harness.client({"X-Api-Key": "wrong"}).get("/api/v1/Settings").status_code == 401


def test_only_administrators_change_settings(harness, api):
    before = api.get("/api/v1/Settings").json()
    _, user = harness.user({"Account": {"read": "all", "edit": "all"}})
    assert user.put("/api/v1/Settings", json={"defaultCurrency": "EUR"}).status_code == 403
    assert user.patch("/api/v1/Settings", json={"defaultCurrency": "EUR"}).status_code == 403
    assert harness.client().put("/api/v1/Settings", json={"defaultCurrency": "EUR"}).status_code == 401
    assert api.get("/api/v1/Settings").json() == before


@pytest.mark.parametrize("body, reason", [
    ({"currencyList": "USD"}, "currencyList must be an array"),
    ({"currencyList": [None]}, "currencyList must be an array"),
    ({"currencyRates": 1}, "currencyRates must be an object"),
    ({"currencyRates": {"EUR": "1.1"}}, "The rate of EUR must be a number"),
    ({"defaultCurrency": 7}, "defaultCurrency must be a currency code"),
    ({"baseCurrency": None}, "baseCurrency must be a currency code"),
    ({"defaultCurrency": "usd"}, "is not an ISO 4217"),
    ({"defaultCurrency": "PLN"}, "default currency PLN must be in the currency list"),
    ({"defaultCurrency": "EUR'; DROP TABLE setting; --"}, "is not an ISO 4217"),
    ({"passwordSalt": "x"}, "Unknown setting 'passwordSalt'"),
    ({"x" * 5000: 1}, "Unknown setting 'xxx"),
    ({"timeZone": "Europe/Warsaw"}, "Setting 'timeZone' is read-only"),
    ({"version": "1"}, "Setting 'version' is read-only"),
])
def test_bad_changes_are_refused_whole(api, body, reason):
    before = api.get("/api/v1/Settings").json()
    response = api.patch("/api/v1/Settings", json=body)
    assert response.status_code == 400
    assert reason in response.headers["x-status-reason"]
    assert api.get("/api/v1/Settings").json() == before


def test_unchanged_read_only_values_and_empty_bodies_pass(api):
    settings = api.get("/api/v1/Settings").json()
    assert put(api, settings).json() == settings  # a client sending back what it read
    assert put(api, {}).json() == settings
    assert api.put("/api/v1/Settings", content=b"[1", headers={"Content-Type": "application/json"}).status_code == 400


def test_a_change_reaches_another_server_process(config, store, harness, api):
    record = opportunity(api, 100, "EUR")
    other_database = open_database(store.url, schema=store.schema, sync=False)
    try:
        other = ApiHarness(build_app(dataclasses.replace(config, default_currency="GBP"), other_database),
                           harness.directory, harness.admin_id, harness.admin_key, harness.portal)
        other_api = other.key_client(other.admin_key)
        # The store's settings rule, not the other process's configured default.
        assert other_api.get("/api/v1/Settings").json()["defaultCurrency"] == "USD"
        put(api, {"defaultCurrency": "EUR"})
        assert other_api.get("/api/v1/Settings").json()["defaultCurrency"] == "EUR"
        assert other_api.post("/api/v1/Opportunity", json=dict(OPPORTUNITY, amount=3)).json()[
            "amountCurrency"] == "EUR"
        assert converted(other_api, record) == 100
        other_api.close()
    finally:
        other_database.dispose()
