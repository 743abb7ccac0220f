"""Concord CRM API tests: an application over a fresh store, an administrator's personal access token, and a
client that calls the API as the n8n `ConcordCrm` node does (Bearer token, JSON both ways). The fixtures'
clients check every answer against the dialect's OpenAPI document (`concord_client`)."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.auth.directory import UserDirectory
from polycrm.config import Config
from polycrm.dialects.concord.mapping import ConcordMapping
from polycrm.dialects.concord.openapi import build_openapi
from polycrm.meta import Registry
from tests.api.conftest import ApiHarness, harness_for
from tests.support.openapi_check import validator_for
from tests.support.stores import Store

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
MAPPING = ConcordMapping.load()
# What answers a path or method the document lacks: an unknown resource or association, PATCH.
UNMATCHED = {404: "NotFound", 405: "MethodNotAllowed"}


def concord_document(registry: Registry) -> dict[str, Any]:
    return build_openapi(MAPPING, registry)


def concord_client(harness: ApiHarness, headers: dict[str, str], *, validate: bool = True) -> TestClient:
    """A client of `/api/...`; with `validate`, each Concord answer it gets (status, headers, body) is checked
    against the OpenAPI document the application serves for its registry as it is then."""
    client = harness.client(headers, validate=False)
    if validate:
        def check(response: httpx.Response) -> None:
            path = response.request.url.path
            if path.startswith("/api/") and not path.startswith("/api/v1/"):
                response.read()
                validator_for(harness.app.state.core.registry, concord_document, unmatched=UNMATCHED).check(response)

        client.event_hooks["response"].append(check)
    return client


class Concord:
    """Requests to `/api/...` with one token; with `validate`, every answer is checked against the document."""

    def __init__(self, harness: ApiHarness, token: str, user_id: int, *, validate: bool = False):
        self.harness = harness
        self.token = token
        self.user_id = user_id
        self.validate = validate
        self.http: TestClient = concord_client(harness, {**JSON_HEADERS, "Authorization": f"Bearer {token}"},
                                               validate=validate)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(f"/api/{path}", params=params or None)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(f"/api/{path}", json=body)

    def put(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.put(f"/api/{path}", json=body)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(f"/api/{path}")

    def delete_json(self, path: str, body: Any) -> httpx.Response:
        return self.http.request("DELETE", f"/api/{path}", json=body)

    def create(self, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(resource, body)
        assert response.status_code == 201, response.content
        return response.json()

    def as_user(self, user_name: str, scopes: dict[str, Any] | None = None, **user: Any) -> Concord:
        """A client acting as a new user (with a role of `scopes`)."""
        directory = self.harness.directory
        user_id = directory.create_user(user_name, None, **user)
        if scopes is not None:
            directory.create_role(f"{user_name}-role", scopes)
            directory.assign_role(user_id, f"{user_name}-role")
        return Concord(self.harness, directory.create_concord_token(user_id, "n8n").plain_text, user_id,
                       validate=self.validate)


@pytest.fixture
def concord_harness(config: Config, store: Store, directory: UserDirectory,
                    portal: BlockingPortal) -> Iterator[ApiHarness]:
    """The application with Concord's budget raised: tests of the budget build their own (test_limits.py)."""
    app = build_app(dataclasses.replace(config, concord_rate_limit="100000/minute"), store.database)
    with harness_for(app, directory, portal) as h:
        yield h


@pytest.fixture
def concord(concord_harness: ApiHarness) -> Concord:
    issued = concord_harness.directory.create_concord_token(concord_harness.admin_id, "n8n")
    return Concord(concord_harness, issued.plain_text, concord_harness.admin_id, validate=True)


@pytest.fixture
def pat(concord: Concord) -> Concord:
    """A user with API access whose role grants contacts only (nothing on teams)."""
    return concord.as_user("pat", {"Contact": True}, email="pat@example.com")


@pytest.fixture
def sam(concord: Concord) -> Concord:
    """A second such user."""
    return concord.as_user("sam", {"Contact": True}, email="sam@example.com")
