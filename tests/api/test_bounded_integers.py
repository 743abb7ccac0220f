"""Integers from requests are bounded before they reach SQL: offsets, page sizes, version numbers and ids past
2^63-1 (no column or SQL parameter holds them; SQLite's driver and PostgreSQL both failed with a 500),
digit strings int() refuses (over 4300 digits) and non-ASCII digits `str.isdigit` accepts ("²"). Each gets
a 400 (404 for an id that names no record), or EspoCRM's own clamping where its spec has one."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from polycrm.dialects.inflow.ids import kind_code
from tests.inflow.conftest import create, error

HOOK_URL = "https://hooks.example.com/hook"  # resolved by the tests' fake DNS (tests/support/ssrf.py)
HUGE = str(2 ** 63)
# Past int64, past int()'s 4300 digits, a superscript two (a digit to str.isdigit), negative, float, text, empty.
BAD_COUNTS = [HUGE, "99999999999999999999", "9" * 5000, "%C2%B2", "-1", "1.5", "abc", ""]




# --- EspoCRM -------------------------------------------------------------------------------------------


def test_webhook_lists_and_delivery_logs_refuse_offsets_and_sizes_out_of_range(api):
    hook = api.post("/api/v1/Webhook", json={"event": "Account.create", "url": HOOK_URL}).json()
    for path in ("/api/v1/Webhook", f"/api/v1/Webhook/{hook['id']}/deliveries"):
        for name in ("offset", "maxSize"):
            for value in [v for v in BAD_COUNTS if v != ""]:
                response = api.get(f"{path}?{name}={value}")
                assert response.status_code == 400, (path, name, value[:20], response.text)
                assert response.headers["x-status-reason"].startswith(f"'{name}' must be an integer from 0 to ")
            assert api.get(f"{path}?{name}=").status_code == 200  # empty: the default, as before
        assert api.get(f"{path}?maxSize=201").status_code == 400
        assert api.get(f"{path}?offset={2 ** 63 - 1}").json()["list"] == []


def test_webhook_owners_out_of_range_are_validation_failures(api):
    for user_id in ("99999999999999999999", 2 ** 64 - 1, "²", "0", "x"):
        response = api.post("/api/v1/Webhook", json={"event": "Account.create", "url": HOOK_URL, "userId": user_id})
        assert response.status_code == 400, (user_id, response.text)
        assert response.json()["messageTranslation"]["data"] == {"field": "userId", "type": "valid"}


def test_record_lists_clamp_offset_as_espocrm_intval_does(api):
    account = api.post("/api/v1/Account", json={"name": "Acme"}).json()
    for value in (HUGE, "99999999999999999999", "9" * 5000):
        for path in ("/api/v1/Account", f"/api/v1/Account/{account['id']}/stream",
                     f"/api/v1/Account/{account['id']}/contacts", f"/api/v1/Account/{account['id']}/followers"):
            response = api.get(f"{path}?offset={value}")
            assert response.status_code == 200 and response.json()["list"] == [], (path, response.text)
    assert api.get("/api/v1/Account?offset=abc").json()["total"] == 1  # intval("abc") is 0
    assert api.get("/api/v1/Account?offset=-1").status_code == 400
    assert api.get(f"/api/v1/Account?maxSize={HUGE}").status_code == 403  # the spec's "Max size" refusal


@pytest.mark.parametrize("offset", [2 ** 63, 2 ** 64 - 1, 1.5, "5", -1])
def test_search_params_offset_must_be_an_int64(api, offset):
    response = api.get("/api/v1/Account", params={"searchParams": orjson.dumps({"offset": offset}).decode()})
    assert response.status_code == 400
    assert response.headers["x-status-reason"] in ("offset must be integer.", "offset must not be negative.")


def test_version_numbers_out_of_range_are_refused(api):
    account = api.post("/api/v1/Account", json={"name": "Acme"}).json()
    path = f"/api/v1/Account/{account['id']}"
    for version in ("99999999999999999999", HUGE, "9" * 5000, "\u00b2", "-1", "1.0", "x"):
        response = api.put(path, json={"name": "B"}, headers={"X-Version-Number": version.encode("latin-1")})
        assert response.status_code == 400, (version[:20], response.text)
        assert response.headers["x-status-reason"] == "X-Version-Number must be an integer."
    assert api.put(path, json={"name": "B"}, headers={"X-Version-Number": str(2 ** 63 - 1)}).status_code == 409
    assert api.put(path, json={"name": "B"}, headers={"X-Version-Number": "1"}).json()["name"] == "B"


def test_ids_past_int64_name_no_record(api):
    account = api.post("/api/v1/Account", json={"name": "Acme"}).json()
    for big in ("99999999999999999999", HUGE):
        for method, path in [("GET", f"/api/v1/Account/{big}"), ("PUT", f"/api/v1/Account/{big}"),
                             ("DELETE", f"/api/v1/Account/{big}"), ("GET", f"/api/v1/Account/{big}/stream"),
                             ("GET", f"/api/v1/Account/{big}/contacts"), ("GET", f"/api/v1/Note/{big}"),
                             ("GET", f"/api/v1/Webhook/{big}"), ("PUT", f"/api/v1/Account/{big}/subscription")]:
            response = api.request(method, path, json={"name": "x"} if method == "PUT" else None)
            assert response.status_code == 404, (method, path, response.text)
        assert api.post(f"/api/v1/Account/{account['id']}/contacts", json={"id": big}).status_code == 404
        note = api.post("/api/v1/Note", json={"post": "x", "parentType": "Account", "parentId": big})
        assert note.status_code == 404
    for value in ("99999999999999999999", 2 ** 64 - 1):
        for body, field in [({"lastName": "x", "accountId": value}, "account"),
                            ({"lastName": "x", "teamsIds": [value]}, "teams")]:
            response = api.post("/api/v1/Contact", json=body)
            assert response.status_code == 400
            assert response.json()["messageTranslation"]["data"] == {"field": field, "type": "valid"}
    mass = api.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update",
                                                 "params": {"ids": ["99999999999999999999"]}, "data": {"name": "z"}})
    assert mass.json() == {"count": 0, "ids": []}
    found = api.get("/api/v1/Contact", params={"where[0][type]": "equals", "where[0][attribute]": "accountId",
                                                "where[0][value]": "99999999999999999999"})
    assert found.json() == {"total": 0, "list": []}


def test_quick_search_on_a_number_field_takes_any_text(api):
    case = api.post("/api/v1/Case", json={"name": "Broken"}).json()
    for text in ("99999999999999999999", "9" * 5000, "\u00b2"):
        response = api.get("/api/v1/Case", params={"q": text})
        assert response.status_code == 200 and response.json()["list"] == [], text[:20]
    assert [c["id"] for c in api.get("/api/v1/Case", params={"q": str(case["number"])}).json()["list"]] == [
        case["id"]]


# --- InflowCRM -----------------------------------------------------------------------------------------


def test_inflow_pages_and_limits_out_of_range_are_validation_errors(inflow):
    record = create(inflow, "customer", {"name": "Acme"})
    bad: list[Any] = [v for v in BAD_COUNTS if v != "%C2%B2"] + ["\u00b2", "0", 0, -1, 2 ** 64 - 1, 1.5, 1e300]
    for key in ("page", "limit"):
        for value in bad:
            for path in ("/api/searchRecords", "/api/records/getByIds"):
                body = {"module": "customer", "ids": [record["id"]], key: value}
                problem = error(inflow.post(path, json=body), 400, "VALIDATION_ERROR")
                assert problem["details"][0]["field"] == key, (path, key, str(value)[:20])
    for key in ("page", "perPage"):
        for value in BAD_COUNTS + ["0"]:
            problem = error(inflow.get(f"/webhooks?{key}={value}"), 400, "VALIDATION_ERROR")
            assert problem["details"][0]["field"] == key, (key, value[:20])
    page = inflow.post("/api/searchRecords", json={"module": "customer", "page": "10000000", "limit": "200"})
    assert page.status_code == 200 and page.json()["data"] == []


def test_inflow_ids_whose_number_overflows_int64_name_no_record(inflow):
    create(inflow, "customer", {"name": "Acme"})
    code = kind_code("Account")
    for overflow in (f"{code}ffffffffffffffff", f"{code}8000000000000000"):
        error(inflow.get(f"/api/customer/{overflow}"), 404, "NOT_FOUND")
        error(inflow.delete(f"/api/customer/{overflow}"), 404, "NOT_FOUND")
        error(inflow.patch(f"/api/updateRecord/{overflow}", json={"module": "customer", "data": {"name": "x"}}),
              404, "NOT_FOUND")
        assert inflow.post("/api/records/getByIds", json={"module": "customer", "ids": [overflow]}).json()["data"] == []
        found = inflow.post("/api/searchRecords", json={"module": "customer", "filters": {"id": overflow}})
        assert found.status_code == 200 and found.json()["data"] == []
        contact = {"module": "contact", "data": {"lastName": "x", "company": overflow}}
        error(inflow.post("/api/createRecord", json=contact), 400, "VALIDATION_ERROR")


def test_inflow_number_filters_and_stage_indexes_past_int64(inflow):
    create(inflow, "potential", {"name": "Deal", "amount": 100, "closeDate": "2030-01-01", "probability": 10})
    for value in ("99999999999999999999", "-99999999999999999999", "9" * 5000, 1e20, 2 ** 64 - 1):
        error(inflow.post("/api/searchRecords", json={"module": "potential", "filters": {"probability": value}}),
              400, "VALIDATION_ERROR")  # an integer field: past int64 (or past any float) is no value it can hold
    found = inflow.post("/api/searchRecords", json={"module": "potential", "filters": {"amount": "1e20"}})
    assert found.status_code == 200 and found.json()["data"] == []  # a float field compares any finite number
    for stage in ("\u00b2", "99999999999999999999"):  # neither a stage index nor a stage name
        deal = {"name": "x", "amount": 1, "closeDate": "2030-01-01", "stage": stage}
        error(inflow.post("/api/createRecord", json={"module": "potential", "data": deal}), 400, "VALIDATION_ERROR")
