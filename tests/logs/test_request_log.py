"""The request log: one access line per request (method, path without credentials, status, duration, user,
client), the request id in `X-Request-Id` and on every line logged while the request is handled."""

from __future__ import annotations

import base64
import logging
import re

import pytest

GENERATED_ID = re.compile(r"[0-9a-f]{24}")


def test_an_access_line_per_request_with_the_user(harness, logs):
    api = harness.key_client(harness.admin_key)
    response = api.get("/api/v1/Account?maxSize=2&orderBy=name")
    assert response.status_code == 200
    line = logs.one("request", logger="polycrm.access")
    assert line["level"] == "info"
    assert line["method"] == "GET" and line["path"] == "/api/v1/Account?maxSize=2&orderBy=name"
    assert line["status"] == 200 and isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["user"] == "admin" and line["user_id"] == harness.admin_id
    assert line["client"] == "testclient"
    assert line["request_id"] == response.headers["x-request-id"]
    assert GENERATED_ID.fullmatch(line["request_id"])


def test_the_inflow_api_names_its_user_too(harness, logs):
    user_id, _ = harness.user({"Account": {"read": "all"}})
    key = harness.directory.create_api_key(user_id).key
    response = harness.client({"x-api-key": key}, validate=False).get("/api/getBundleModuleNames")
    assert response.status_code == 200
    line = logs.one("request", logger="polycrm.access")
    assert (line["path"], line["status"], line["user_id"]) == ("/api/getBundleModuleNames", 200, user_id)
    assert line["user"].startswith("user")


def test_unauthenticated_and_unrouted_requests_are_logged_without_a_user(harness, logs):
    client = harness.client(validate=False, address="203.0.113.9")
    assert client.get("/api/v1/Account").status_code == 401
    assert client.get("/nowhere/%0A?x=1").status_code == 404
    assert client.delete("/docs").status_code == 405
    lines = logs.find("request")
    assert [(r["status"], r["path"], r["user"], r["client"]) for r in lines] == [
        (401, "/api/v1/Account", None, "203.0.113.9"), (404, "/nowhere/%0A?x=1", None, "203.0.113.9"),
        (405, "/docs", None, "203.0.113.9")]
    assert len({r["request_id"] for r in lines}) == 3


def test_credentials_in_the_query_string_are_not_logged(harness, logs):
    api = harness.key_client(harness.admin_key)
    api.get(f"/api/v1/Account?maxSize=1&api_key={harness.admin_key}&access_token=tok123&where%5B0%5D%5Btype%5D=isTrue")
    line = logs.one("request")
    assert line["path"] == "/api/v1/Account?maxSize=1&api_key=***&access_token=***&where%5B0%5D%5Btype%5D=isTrue"
    assert harness.admin_key not in logs.text and "tok123" not in logs.text


def test_a_well_formed_incoming_request_id_is_kept(harness, logs):
    api = harness.key_client(harness.admin_key)
    response = api.get("/api/v1/Account", headers={"X-Request-Id": "lb-7f3a.42:b"})
    assert response.headers["x-request-id"] == "lb-7f3a.42:b"
    assert logs.one("request")["request_id"] == "lb-7f3a.42:b"


@pytest.mark.parametrize("incoming", ["a" * 129, "two words", "id\twith\ttabs", "<script>", "caf\u00e9", ""])
def test_a_malformed_incoming_request_id_is_replaced(harness, logs, incoming):
    api = harness.key_client(harness.admin_key)
    response = api.get("/api/v1/Account", headers={"X-Request-Id": incoming.encode()})
    assert GENERATED_ID.fullmatch(response.headers["x-request-id"])
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]
    assert logs.one("request")["request_id"] == response.headers["x-request-id"]


def test_lines_logged_while_handling_a_request_carry_its_id_and_user(harness, logs):
    api = harness.key_client(harness.admin_key)
    refused = api.post("/api/v1/Account", json={"name": ""})  # a validation failure, logged at debug
    assert refused.status_code == 400
    line = logs.one("request refused", logger="polycrm.espo")
    assert line["level"] == "debug" and line["request_id"] == refused.headers["x-request-id"]
    assert line["user"] == "admin" and (line["field"], line["kind"], line["status"]) == ("name", "required", 400)
    failed = harness.client({"Authorization": "Basic " + base64.b64encode(b"admin:wrong-one").decode()})
    response = failed.get("/api/v1/Account")
    assert logs.one("authentication failed")["request_id"] == response.headers["x-request-id"]
    # Nothing of a request stays bound once it is done.
    logging.getLogger("polycrm.test").warning("outside")
    outside = logs.one("outside")
    assert "request_id" not in outside and "user" not in outside


def test_inflow_lines_after_authentication_carry_the_user(harness, logs):
    inflow = harness.client({"x-api-key": harness.admin_key}, validate=False)
    response = inflow.post("/api/searchRecords", json={"module": "NoSuchModule"})
    assert response.status_code == 400
    line = logs.one("request refused", logger="polycrm.inflow")
    assert (line["user"], line["user_id"], line["status"], line["code"]) == ("admin", harness.admin_id, 400,
                                                                             "VALIDATION_ERROR")
    assert line["request_id"] == response.headers["x-request-id"]


def test_streamed_responses_pass_through_with_the_id(harness, logs):
    api = harness.key_client(harness.admin_key, validate=False)
    with api.stream("GET", "/api/v1/OpenApi") as response:
        body = b"".join(response.iter_bytes())
    assert response.status_code == 200 and body.startswith(b"{")
    assert logs.one("request")["request_id"] == response.headers["x-request-id"]


def test_missing_credentials_are_a_debug_line_wrong_ones_a_warning(harness, logs):
    client = harness.client(validate=False)
    client.get("/api/v1/Account")
    client.get("/api/getBundleModuleNames")
    client.get("/api/getBundleModuleNames", headers={"x-api-key": "not-a-key"})
    client.get("/api/v1/Account", headers={"X-Api-Key": "not-a-key"})
    assert [(r["level"], r["scheme"]) for r in logs.find("authentication failed")] == [
        ("debug", "none"), ("debug", "none"), ("warning", "inflow-api-key"), ("warning", "api-key")]


def test_an_oversized_body_is_a_debug_line(harness, logs):
    api = harness.key_client(harness.admin_key, validate=False)
    response = api.post("/api/v1/Account", content=b"{" + b" " * (11 * 1024 * 1024) + b"}",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    line = logs.one("request refused")
    assert (line["status"], line["request_id"]) == (413, response.headers["x-request-id"])
