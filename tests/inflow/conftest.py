"""InflowCRM API tests: an application per test over a fresh store (SQLite, and PostgreSQL when configured),
with clients whose every response is checked against the amended InflowCRM OpenAPI document."""

from __future__ import annotations

from typing import Any, Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from tests.api.conftest import ApiHarness, harness  # noqa: F401 - the shared per-test application
from tests.inflow.spec import json_schema_document
from tests.support.openapi_check import ResponseValidator

INFLOW_PREFIXES = ("/api/", "/integration/")


class InflowValidator:
    """Validates `/api/*` responses (and the `/integration/*` aliases as their `/api` twins)."""

    def __init__(self) -> None:
        self.validator = ResponseValidator(json_schema_document())

    def __call__(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if path.startswith("/api/v1") or not path.startswith(INFLOW_PREFIXES):
            return
        response.read()
        path = "/api/" + path.split("/", 2)[2]
        if path.endswith("/download") and response.status_code == 200:
            return  # binary content; the download test checks its headers
        if response.status_code == 405:  # a method the path does not serve: no operation to look up
            assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
            return
        if response.status_code == 404 and not self.validator.match_paths(path):
            assert response.json()["error"]["code"] == "NOT_FOUND"
            return
        self.validator.validate(response.request.method, path, response.status_code, response.content,
                                response.headers.get("content-type"))


@pytest.fixture(scope="session")
def inflow_validator() -> InflowValidator:
    return InflowValidator()


class Inflow:
    """Clients for the InflowCRM API of one test's application."""

    def __init__(self, harness: ApiHarness, validator: InflowValidator):
        self.harness = harness
        self.validator = validator

    def client(self, key: str | None, **headers: str) -> TestClient:
        if key is not None:
            headers["x-api-key"] = key
        client = self.harness.client(headers, validate=False)
        client.event_hooks["response"].append(self.validator)
        return client

    def user(self, scopes: dict[str, Any] | None = None, **kwargs: Any) -> tuple[int, TestClient]:
        """A user with a role of `scopes`, and an InflowCRM client with their key."""
        user_id, espo_client = self.harness.user(scopes, **kwargs)
        return user_id, self.client(espo_client.headers["x-api-key"])


@pytest.fixture
def inflow_api(harness: ApiHarness, inflow_validator: InflowValidator) -> Inflow:  # noqa: F811
    return Inflow(harness, inflow_validator)


@pytest.fixture
def inflow(inflow_api: Inflow, harness: ApiHarness) -> Iterator[TestClient]:  # noqa: F811
    """An InflowCRM client authenticated as an administrator."""
    yield inflow_api.client(harness.admin_key)


def create(client: TestClient, module: str, data: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/createRecord", json={"module": module, "data": data})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The error object of a response that must have `status` and `code`."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]
