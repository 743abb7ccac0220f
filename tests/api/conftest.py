"""An application per test over a fresh store, with clients authenticated in various ways. Every
response a test sees is validated against the live OpenAPI document."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx
import pytest
from anyio.from_thread import BlockingPortal
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.auth.directory import UserDirectory
from polycrm.config import Config
from polycrm.dialects.espo.openapi import build_openapi
from tests.conftest import Store
from tests.support.openapi_check import ResponseValidator, validator_for

_counter = itertools.count(1)


@dataclass
class ApiHarness:
    app: Any
    directory: UserDirectory
    admin_id: int
    admin_key: str
    portal: BlockingPortal | None = None  # shared by the clients (tests/conftest.py `portal`)
    clients: list[TestClient] = field(default_factory=list)

    def client(self, headers: dict[str, str] | None = None, *, validate: bool = True,
               address: str = "testclient") -> TestClient:
        client = TestClient(self.app, base_url="http://testserver", headers=headers or {}, client=(address, 50000))
        client.portal = self.portal
        if validate:
            client.event_hooks["response"].append(self._validate)
        self.clients.append(client)
        return client

    def _validate(self, response: httpx.Response) -> None:
        path = response.request.url.path
        if not path.startswith("/api/v1"):
            return
        response.read()
        self._validator_for(self.app.state.core.registry).validate(
            response.request.method, path, response.status_code, response.content, response.headers.get("content-type"))

    @staticmethod
    def _validator_for(registry: Any) -> ResponseValidator:
        """The validator of the OpenAPI document of this registry (built once per set of custom fields)."""
        return validator_for(registry, build_openapi)

    def key_client(self, key: str, **kwargs: Any) -> TestClient:
        return self.client({"X-Api-Key": key}, **kwargs)

    def user(self, scopes: dict[str, Any] | None = None, *, teams: list[int] | None = None,
             user_type: str = "regular", mass_update: bool = True) -> tuple[int, TestClient]:
        """A user with a role made of `scopes` (and team membership), and a client acting as them."""
        n = next(_counter)
        user_id = self.directory.create_user(f"user{n}", f"password-{n}-secret", user_type=user_type,
                                             team_ids=teams)
        if scopes is not None:
            self.directory.create_role(f"role{n}", scopes, mass_update=mass_update)
            self.directory.assign_role(user_id, f"role{n}")
        key = self.directory.create_api_key(user_id).key
        return user_id, self.key_client(key)


@contextmanager
def harness_for(app: Any, directory: UserDirectory, portal: BlockingPortal) -> Iterator[ApiHarness]:
    """A harness over an application, with its administrator; its clients are closed afterwards."""
    admin_id = directory.create_user("admin", "admin-password-1", user_type="admin")
    h = ApiHarness(app, directory, admin_id, directory.create_api_key(admin_id).key, portal)
    yield h
    for client in h.clients:
        client.close()


@pytest.fixture
def harness(config: Config, store: Store, directory: UserDirectory, portal: BlockingPortal) -> Iterator[ApiHarness]:
    with harness_for(build_app(config, store.database), directory, portal) as h:
        yield h


@pytest.fixture
def api(harness: ApiHarness) -> TestClient:
    """A client authenticated as an administrator with an API key."""
    return harness.key_client(harness.admin_key)


@pytest.fixture
def inflow(harness: ApiHarness) -> TestClient:
    """An administrator's InflowCRM client, its responses checked against the InflowCRM OpenAPI document."""
    from tests.inflow.conftest import InflowValidator  # the InflowCRM tests' validator, built once per use

    client = harness.client({"x-api-key": harness.admin_key}, validate=False)
    client.event_hooks["response"].append(InflowValidator())
    return client
