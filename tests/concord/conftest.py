"""Concord CRM API tests: an application over a fresh store, an administrator's personal access token, and a
client that calls the API as the n8n `ConcordCrm` node does (Bearer token, JSON both ways)."""

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
from tests.api.conftest import ApiHarness, harness_for
from tests.support.stores import Store

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class Concord:
    """Requests to `/api/...` with one token."""

    def __init__(self, harness: ApiHarness, token: str, user_id: int):
        self.harness = harness
        self.token = token
        self.user_id = user_id
        self.http: TestClient = harness.client({**JSON_HEADERS, "Authorization": f"Bearer {token}"},
                                               validate=False)

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
        return Concord(self.harness, directory.create_concord_token(user_id, "n8n").plain_text, user_id)


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
    return Concord(concord_harness, issued.plain_text, concord_harness.admin_id)
