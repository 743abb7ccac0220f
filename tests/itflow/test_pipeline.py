"""The request pipeline shared by every endpoint (specs/itflow.md §2, §3.9, §14), in its order."""

from __future__ import annotations

import pytest

from polycrm.core.audit import AuditQuery
from polycrm.dialects.itflow.envelope import AUTH_FAILED, GET_ONLY, NO_RESOURCE, POST_ONLY
from tests.itflow.conftest import Itflow


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_get_php_var_dump_before_authentication(itflow: Itflow, method: str):
    response = itflow.http.request(method, "/api/v1/clients/read.php")
    assert response.status_code == 405
    assert response.content == f'string({len(method)}) "{method}"\n'.encode()
    assert response.headers["content-type"] == "application/json"


def test_head_is_405_without_a_body(itflow: Itflow):
    response = itflow.http.head("/api/v1/clients/read.php")
    assert response.status_code == 405 and response.content == b""


def test_missing_key_is_401_with_an_empty_body(itflow: Itflow):
    response = itflow.http.get("/api/v1/clients/read.php")
    assert response.status_code == 401 and response.content == b""
    assert response.headers["content-type"] == "application/json"


def test_form_encoded_body_has_no_fields(itflow: Itflow):
    response = itflow.post("clients/create", raw=f"api_key={itflow.key.key}&client_name=X".encode())
    assert response.status_code == 401 and response.content == b""


def test_wrong_key_is_401_json_and_logged_without_the_key(itflow: Itflow):
    response = itflow.get("clients/read", key="not-a-key-at-all")
    assert response.status_code == 401
    assert response.content == b'{"success":"False","message":"' + AUTH_FAILED.encode() + b'"}'
    entries = itflow.harness.app.state.core.audit.entries(AuditQuery())
    failed = [e for e in entries if e["action"] == "Failed"]
    assert failed and failed[-1]["description"] == "Incorrect or expired key (endpoint: /api/v1/clients/read.php)"
    assert "not-a-key-at-all" not in str(entries)


def test_key_matches_ignoring_case_and_trailing_spaces(itflow: Itflow, client_id: int):
    response = itflow.get("clients/read", key=itflow.key.key.upper() + "  ")
    assert response.json()["success"] == "True"


def test_body_key_wins_over_query_key(itflow: Itflow, client_id: int):
    response = itflow.http.post("/api/v1/clients/archive.php?api_key=wrong",
                                content=f'{{"api_key":"{itflow.key.key}","client_id":"{client_id}"}}')
    assert response.json() == {"success": "True", "count": 1}
    response = itflow.http.post(f"/api/v1/clients/unarchive.php?api_key={itflow.key.key}",
                                content=f'{{"client_id":"{client_id}"}}')
    assert response.json() == {"success": "True", "count": 1}


def test_wrong_method_for_the_endpoint_after_authentication(itflow: Itflow):
    response = itflow.post("clients/read")
    assert response.status_code == 405 and response.json() == {"success": "False", "message": GET_ONLY}
    response = itflow.get("clients/create")
    assert response.status_code == 405 and response.json() == {"success": "False", "message": POST_ONLY}
    assert itflow.get("clients/create", key="wrong").status_code == 401


def test_unknown_module_or_function_is_404(itflow: Itflow):
    assert itflow.get("nothing/read").status_code == 404
    assert itflow.get("clients/delete").status_code == 404


@pytest.mark.parametrize("limit", ["0", "abc", "-1", "", "100001"])
def test_limits_that_give_no_rows(itflow: Itflow, client_id: int, limit: str):
    response = itflow.get("clients/read", limit=limit)
    assert response.status_code == 200
    assert response.json() == {"success": "False", "message": NO_RESOURCE}


def test_negative_offset_is_the_read_failure_with_a_reason(itflow: Itflow, client_id: int):
    response = itflow.get("clients/read", offset="-5")
    assert response.json() == {"success": "False", "message": NO_RESOURCE}
    assert "negative" in response.headers["x-polycrm-reason"]


def test_json_body_on_get_is_read(itflow: Itflow, client_id: int):
    itflow.create("clients", {"client_name": "Second"})
    response = itflow.http.request("GET", "/api/v1/clients/read.php", params={"api_key": itflow.key.key},
                                   content=b'{"limit": 1}')
    assert response.json()["count"] == 1


def test_oversized_body_is_refused_in_the_envelope(itflow: Itflow):
    big = b'{"client_name":"' + b"x" * (11 * 1024 * 1024) + b'"}'
    response = itflow.http.post("/api/v1/clients/create.php", content=big)
    assert response.status_code == 413 and response.json()["success"] == "False"
