"""Every endpoint driven with the JSON examples of `../shared/reference/inflowcrm/examples/`: example request
bodies are sent as they are, and responses must have the examples' shape (every key an example shows)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.inflow.conftest import create, error
from tests.inflow.spec import reference

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def example(name: str) -> Any:
    return json.loads(reference(f"examples/{name}").read_text())


def assert_shape(actual: Any, expected: Any, where: str = "body") -> None:
    """`actual` has every key `expected` has, recursively, with values of the same JSON type."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}: missing key {key!r} (has {sorted(actual)})"
            if value is not None and actual[key] is not None:
                assert_shape(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        if expected and actual:
            assert_shape(actual[0], expected[0], f"{where}[0]")
    else:
        assert type(actual) is type(expected) or {type(actual), type(expected)} <= {int, float}, \
            f"{where}: {actual!r} is not of the type of {expected!r}"


@pytest.fixture
def customers(harness, inflow):
    """Customers with the custom fields the examples filter on (status, amount, customerNip, customerContact)."""
    core = harness.app.state.core
    core.add_field("Account", "cStatus", "enum", {"options": ["active", "pending", "archived"]}, {"inflow": "status"})
    core.add_field("Account", "cAmount", "float", {}, {"inflow": "amount"})
    core.add_field("Account", "cNip", "varchar", {}, {"inflow": "customerNip"})
    core.add_field("Account", "cContact", "varchar", {}, {"inflow": "customerContact"})
    rows = [("John Doe", "john@example.com", "active", 150, "8943092379", "Wrocław", "Anna"),
            ("Low Ltd", "low@example.com", "active", 50, None, "Kraków", None),
            ("Pending Co", "pending@example.com", "pending", 499, None, "Wrocław", ""),
            ("Archived SA", "old@example.com", "archived", 300, None, None, "Piotr"),
            ("Big Corp", "big@example.com", "active", 500, None, "Gdańsk", None)]
    return {name: create(inflow, "customer", {"name": name, "email": email, "status": status, "amount": amount,
                                               "customerNip": nip, "customerCity": city, "customerContact": contact})
            for name, email, status, amount, nip, city, contact in rows}


def names(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {r["name"] for r in response.json()["data"]}


def test_get_bundle_module_names(inflow):
    response = inflow.get("/api/getBundleModuleNames")
    assert response.status_code == 200
    body = response.json()
    assert_shape(body, example("head-a8bc94f.endpoints.01.get-api-getbundlemodulenames.response.json"))
    assert body["meta"] == {"deprecation": None}
    assert [m["moduleName"] for m in body["data"]] == ["customer", "contact", "potential", "task", "event"]


def test_get_user_list(inflow, harness):
    body = inflow.get("/api/getUserList").json()
    assert_shape(body, example("head-a8bc94f.endpoints.02.get-api-getuserlist.response.json"))
    assert set(body["data"][0]) == {"id", "systemLabel", "email"}
    assert all(OBJECT_ID.match(u["id"]) for u in body["data"])
    harness.directory.create_user("zed", "zed-password-1")
    assert [u["systemLabel"] for u in inflow.get("/api/getUserList").json()["data"]] == ["admin", "zed"]


def test_validate_api_key_by_header_and_by_v0_body(inflow, inflow_api, harness):
    expected = example("head-a8bc94f.endpoints.05.post-api-validateapikey.response.json")
    by_header = inflow.post("/api/validateApiKey")
    assert by_header.status_code == 200
    assert_shape(by_header.json(), expected)
    assert by_header.json()["data"]["valid"] is True and by_header.json()["data"]["userType"] == "admin"
    v0_body = example("v0-62025dd.endpoints.03.post-api-validateapikey.body.json")
    anonymous = inflow_api.client(None)
    assert anonymous.post("/api/validateApiKey", json=v0_body).status_code == 401
    by_body = anonymous.post("/api/validateApiKey", json={"apiKey": harness.admin_key})
    assert by_body.json() == by_header.json()


def test_get_processes_for_module(inflow):
    body = example("head-a8bc94f.endpoints.03.post-api-getprocessesformodule.body.json")
    assert error(inflow.post("/api/getProcessesForModule", json=body), 400, "VALIDATION_ERROR")["details"] == [
        {"field": "module", "errors": ["Module 'order' not found"]}]
    response = inflow.post("/api/getProcessesForModule", json={"module": "potential"})
    assert_shape(response.json(), example("head-a8bc94f.endpoints.04.post-api-getprocessesformodule.response.json"))
    process = response.json()["data"][0]
    assert process["stagesNames"][:2] == ["Prospecting", "Qualification"]
    assert error(inflow.post("/api/getProcessesForModule", json={"module": "task"}), 400, "VALIDATION_ERROR")


def test_create_and_update_record(inflow):
    created = inflow.post("/api/createRecord",
                          json=example("head-a8bc94f.endpoints.06.post-api-createrecord.body-json.json"))
    assert created.status_code == 201
    assert_shape(created.json(), example("idx2026-66464615267.endpoints.post-api-createrecord.response.json"))
    record = created.json()["data"]
    assert (record["name"], record["email"]) == ("John Doe", "john@example.com")
    assert OBJECT_ID.match(record["id"]) and TIMESTAMP.match(record["createdAt"])
    updated = inflow.patch(f"/api/updateRecord/{record['id']}",
                           json=example("head-a8bc94f.endpoints.08.patch-api-updaterecord-id.body-json.json"))
    assert updated.status_code == 200
    assert_shape(updated.json(), example("idx2026-66464615267.endpoints.patch-api-updaterecord-id.response.json"))
    assert updated.json()["data"]["name"] == "Jane Doe"
    assert updated.json()["data"]["email"] == "john@example.com"  # partial update


@pytest.mark.parametrize("name,expected", [
    ("head-a8bc94f.endpoints.10.post-api-searchrecords.body-simple-filter.json",
     {"John Doe", "Low Ltd", "Big Corp"}),
    ("head-a8bc94f.endpoints.11.post-api-searchrecords.body-advanced-filter.json", {"John Doe", "Pending Co"}),
    ("v0-62025dd.endpoints.10.post-api-searchrecords.body-advanced-filter.json", {"John Doe", "Pending Co"}),
    ("head-a8bc94f.endpoints.14.advanced-filtering.example-isempty-isnotempty.json", {"John Doe", "Archived SA"}),
    ("head-a8bc94f.endpoints.15.advanced-filtering.example-isempty-isnotempty.json",
     {"Low Ltd", "Pending Co", "Big Corp"}),
    ("head-a8bc94f.endpoints.16.advanced-filtering.example-isempty-isnotempty.json",
     {"Low Ltd", "Pending Co", "Big Corp"}),
])
def test_search_records_examples(inflow, customers, name, expected):
    response = inflow.post("/api/searchRecords", json=example(name))
    assert names(response) == expected
    assert response.json()["meta"]["pagination"] == {"page": 1, "limit": 50, "total": len(expected), "pages": 1}


@pytest.mark.parametrize("name,expected", [
    # (A AND B) OR C: amounts in [100, 500), or status active/pending
    ("head-a8bc94f.endpoints.13.advanced-filtering.example.json",
     {"John Doe", "Low Ltd", "Pending Co", "Archived SA", "Big Corp"}),
    ("v0-62025dd.endpoints.12.advanced-filtering.example.json", {"John Doe", "Pending Co"}),
])
def test_advanced_filtering_examples(inflow, customers, name, expected):
    response = inflow.post("/api/searchRecords", json={"module": "customer", **example(name)})
    assert names(response) == expected


def test_search_example_sort_and_paging(inflow, customers):
    first = inflow.post("/api/searchRecords", json={"module": "customer", "sort": {"amount": -1}, "limit": 2})
    assert [r["name"] for r in first.json()["data"]] == ["Big Corp", "Pending Co"]
    assert first.json()["meta"]["pagination"] == {"page": 1, "limit": 2, "total": 5, "pages": 3}
    third = inflow.post("/api/searchRecords", json={"module": "customer", "sort": {"amount": -1}, "limit": 2,
                                                    "page": 3})
    assert [r["name"] for r in third.json()["data"]] == ["Low Ltd"]
    newest = inflow.post("/api/searchRecords", json={"module": "customer"}).json()["data"]
    assert newest[0]["name"] == "Big Corp"  # default sort: createdAt descending (ties: newest id first)


@pytest.mark.parametrize("name", ["head-a8bc94f.endpoints.17.post-api-findrecord.body-simple-filter.json",
                                  "head-a8bc94f.endpoints.18.post-api-findrecord.body-advanced-filter.json",
                                  "v0-62025dd.endpoints.14.post-api-findrecord.body-advanced-filter.json"])
def test_find_record_examples(inflow, customers, name):
    response = inflow.post("/api/findRecord", json=example(name))
    assert response.status_code == 200
    assert_shape(response.json(), example("idx2026-66464615267.endpoints.post-api-findrecord.response.json"))
    assert response.json()["data"]["name"] == "John Doe"


def test_find_record_without_match_is_null(inflow, customers):
    response = inflow.post("/api/findRecord", json={"module": "customer", "filters": {"name": "Nobody"}})
    assert response.json() == {"data": None, "meta": {"deprecation": None}}


@pytest.mark.parametrize("name,count", [
    ("head-a8bc94f.endpoints.24.post-api-records-count.body-simple-filter.json", 3),
    ("head-a8bc94f.endpoints.25.post-api-records-count.body-advanced-filter.json", 3),
    ("v0-62025dd.endpoints.21.post-api-records-count.body-advanced-filter.json", 3),
])
def test_count_examples(inflow, customers, name, count):
    response = inflow.post("/api/records/count", json=example(name))
    assert_shape(response.json(), example("head-a8bc94f.endpoints.26.post-api-records-count.response.json"))
    assert response.json()["data"] == {"count": count}


def test_get_module_fields_has_every_documented_key(inflow, customers):
    response = inflow.post("/api/getModuleFields",
                           json=example("head-a8bc94f.endpoints.20.post-api-getmodulefields.body.json"))
    fields = {f["apiFieldName"]: f for f in response.json()["data"]}
    head = example("head-a8bc94f.endpoints.21.post-api-getmodulefields.response.json")["data"][0]
    for older in (example("head-a8bc94f.modules.02.example-get-module-fields.response.json")["data"][0],
                  example("v0-62025dd.endpoints.17.post-api-getmodulefields.response.json")["data"][0], head):
        assert set(older) <= set(fields["email"])
    assert set(fields["email"]) - {"fieldId", "readonly", "maxLength", "minLength"} == set(head)
    assert fields["name"]["required"] is True and fields["email"]["type"] == "string"
    assert fields["status"]["type"] == "picklist"
    assert fields["status"]["pickListValues"] == ["active", "pending", "archived"]
    assert fields["assignedUser"]["type"] == "relation" and fields["assignedUser"]["relatedModule"] == "user"
    assert fields["amount"]["type"] == "number" and fields["customerNip"]["length"] == 255


def test_make_get_module_fields(inflow):
    body = example("idx2026-66464615267.endpoints.post-api-make-getmodulefields.body.json")
    response = inflow.post("/api/make/getModuleFields", json=body)
    assert set(response.json()) == {"data"}  # no meta, as documented
    expected = example("idx2026-66464615267.endpoints.post-api-make-getmodulefields.response-200.json")["data"]
    fields = {f["name"]: f for f in response.json()["data"]}
    assert_shape(fields["name"], expected[0])
    assert_shape(fields["assignedUser"], expected[1])
    assert fields["assignedUser"]["options"][0]["label"] == "admin"
    assert fields["name"]["required"] is True
    update = inflow.post("/api/make/getModuleFields", json={"module": "customer", "requestType": "updateRecord"})
    assert not any(f["required"] for f in update.json()["data"])


def test_get_sample_data(inflow, customers):
    response = inflow.post("/api/getSampleData", json={"module": "customer"})
    assert_shape(response.json(), example("idx2026-66464615267.endpoints.post-api-getsampledata.response.json"))
    assert response.json()["data"]["name"] == "Big Corp"  # the newest record
    empty = inflow.post("/api/getSampleData", json={"module": "event"}).json()["data"]
    assert set(empty) >= {"id", "name", "dateStart", "createdAt", "modifiedAt"}


def test_record_by_id_and_by_ids(inflow, customers):
    john = customers["John Doe"]
    by_id = inflow.get(f"/api/customer/{john['id']}")
    assert_shape(by_id.json(), example("idx2026-66464615267.endpoints.get-api-module-id.response-200.json"))
    assert by_id.json()["data"] == john
    assert inflow.get(f"/api/Customers/{john['id']}").json()["data"] == john  # a module's translation
    body = example("idx2026-66464615267.endpoints.post-api-records-getbyids.body.json")
    body["ids"] = [john["id"], customers["Big Corp"]["id"], body["ids"][2]]
    response = inflow.post("/api/records/getByIds", json=body)
    assert_shape(response.json(), example("idx2026-66464615267.endpoints.post-api-records-getbyids.response-200.json"))
    assert [r["name"] for r in response.json()["data"]] == ["Big Corp", "John Doe"]
    assert response.json()["meta"]["pagination"] == {"page": 1, "limit": 50, "total": 2, "pages": 1}


def test_get_and_update_user(inflow):
    user_id = inflow.post("/api/validateApiKey").json()["data"]["userId"]
    response = inflow.get(f"/api/getUser/{user_id}")
    assert_shape(response.json(), example("idx2026-66464615267.endpoints.get-api-getuser-id.response-200.json"))
    body = example("idx2026-66464615267.endpoints.patch-api-updateuser-id.body.json")
    updated = inflow.patch(f"/api/updateUser/{user_id}", json=body)
    assert_shape(updated.json(), example("idx2026-66464615267.endpoints.patch-api-updateuser-id.response-200.json"))
    assert {k: updated.json()["data"][k] for k in body} == body


def test_record_files_list(inflow):
    record = inflow.post("/api/createRecord", data={"module": "customer", "name": "Filed"},
                         files=[("standaloneAttachments", ("contract.pdf", b"%PDF-1.4", "application/pdf")),
                                ("standaloneAttachments", ("photo.jpg", b"\xff\xd8\xff", "image/jpeg"))]).json()["data"]
    response = inflow.get(f"/api/customer/{record['id']}/files")
    expected = example("idx2026-66464615267.endpoints.get-api-module-recordid-files.response-200.json")
    assert_shape(response.json(), expected)
    assert [(f["fileName"], f["fileSize"], f["mimeType"], f["fileExtension"]) for f in response.json()["data"]] == [
        ("contract.pdf", 8, "application/pdf", "pdf"), ("photo.jpg", 3, "image/jpeg", "jpg")]


def test_delete_record(inflow):
    record = create(inflow, "customer", {"name": "Short-lived"})
    response = inflow.delete(f"/api/customer/{record['id']}")
    assert response.status_code == 204 and response.content == b""
    error(inflow.get(f"/api/customer/{record['id']}"), 404, "NOT_FOUND")
    error(inflow.delete(f"/api/customer/{record['id']}"), 404, "NOT_FOUND")


def test_error_envelope_has_the_documented_shape(inflow_api):
    response = inflow_api.client("not-a-key").get("/api/getBundleModuleNames")
    body = error(response, 401, "UNAUTHORIZED")
    assert_shape({"error": body}, example("head-a8bc94f.README.02.common-response-format.error.json"))
    assert body["message"] == example("head-a8bc94f.webhooks.18.common-error-responses.invalid-api-key-401.json")[
        "error"]["message"]
