"""Schemathesis against a live `polycrm serve`, held to the Concord dialect's OpenAPI document (`GET
/api/openapi.json`, checked to be the one `build_openapi` gives for the built-in definitions and the custom
field made here, `cf_vip`): no generated request, valid or not, may cause a server error, and every response
must have a documented status, headers, content type and body schema. On SQLite, and on PostgreSQL when
POLYCRM_TEST_DATABASE_URL is set (its bounds differ: a 64-bit integer column, no NUL in text).

Covered (`is_covered`): every operation that is not a resource's, and every operation of SAMPLE_RESOURCE, a
bounded, reproducible number of requests each; most come from schemathesis's coverage phase (boundary and
malformed values of each parameter and body key, methods a path does not serve), some 800 for a list with its
`filters`. The other resources' operations have the same handlers over other fields, and SAMPLE_RESOURCE's
search and trash lists read their parameters as its index does: they get a few generated requests each,
without that phase (`light_schema`), what validates their fields and shows their records.
Requests carry the Bearer token of an administrator, made with `polycrm token create`; a generated `DELETE
/api/personal-access-tokens/{id}` may revoke it, so then a spare one takes over (`Tokens`). The rate limits
are raised: they have tests of their own (tests/concord/test_auth.py).

Two deliberate narrowings. A Zapier hook's `targetUrl` is one public IP address's URL (HOOK_URL): a
generated host name would be looked up, and a lookup with no DNS server at hand takes seconds (URL checks
have tests of their own: tests/concord/test_zapier.py). And the tested document lets a `filters` tree have
at most FILTER_ITEMS groups and children a level (the server takes MAX_CHILDREN): schemathesis fills every
array to its bound, and a hundred groups of a hundred rules make a query string of megabytes, which the HTTP
server refuses (a plain 400 beyond 64 KB) before the API sees it. Big trees have tests of their own (tests/unit/test_concord_filters.py).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance,
                                               unsupported_method)

from polycrm.dialects.concord import routes
from polycrm.dialects.concord.mapping import ConcordMapping
from polycrm.dialects.concord.openapi import build_openapi
from polycrm.meta import load_builtin_registry
from polycrm.meta.registry import CustomFieldDefinition
from tests.conftest import BACKENDS
from tests.live.conftest import LiveServer, live_database, run_cli, serve


def unsupported_method_as_laravel(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's check that an undeclared method is 405, but for the methods another route of the path
    serves, as Laravel's router picks the first route that serves the method: `GET /api/token` is Concord's
    `GET /api/{resource}` of no resource, 404 as Concord 1.4.1 answers it (routes.match)."""
    segments = response.request.url.split("?")[0].split("/api/", 1)[1].split("/")
    method = "GET" if response.request.method == "HEAD" else response.request.method
    served = routes.match(segments, method)
    if response.status_code == 404 and served is not None and method in served[0].methods:
        return None
    return unsupported_method(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, unsupported_method_as_laravel]
VIP = CustomFieldDefinition("Contact", "cVip", "bool", {}, {"concord": "cf_vip"})
MAPPING = ConcordMapping.load()
DOCUMENT = build_openapi(MAPPING, load_builtin_registry().with_custom_field(VIP))
FILTER_ITEMS = 3
HOOK_URL = "https://93.184.215.14/hook"


def _narrowed(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: min(value, FILTER_ITEMS) if key == "maxItems" else _narrowed(value) for key, value in node.items()}
    return [_narrowed(item) for item in node] if isinstance(node, list) else node


# `/custom-fields` changes the schema under the document this module checks against (a generated DELETE drops
# `cf_vip`, a POST adds keys): tests/concord/test_custom_fields.py covers it against the served document.
SCHEMA_CHANGING = "/custom-fields"


def _tested_document(covered: Callable[[str], bool]) -> dict[str, Any]:
    tested = copy.deepcopy(DOCUMENT)
    tested["paths"] = {path: item for path, item in tested["paths"].items()
                       if covered(path) and not path.startswith(SCHEMA_CHANGING)}
    schemas = tested["components"]["schemas"]
    schemas.update({name: _narrowed(item) for name, item in schemas.items() if name.endswith(".filters")})
    schemas["ZapierSubscription"]["properties"]["targetUrl"] = {"type": "string", "enum": [HOOK_URL]}
    return tested


def _resource(path: str) -> str | None:
    """The resource a path is of (`/contacts/{id}`, `/trashed/contacts`, `/associations/contacts/{id}`,
    `/zapier/hooks/contacts/created`)."""
    segments = path.strip("/").split("/")
    name = segments[1] if segments[0] in ("trashed", "associations") and len(segments) > 1 else segments[0]
    if segments[:2] == ["zapier", "hooks"] and len(segments) == 4:
        name = segments[2]
    return name if name in MAPPING.resources else None


SAMPLE_RESOURCE = "contacts"  # with a custom field and a phone list: the most varied keys
# Its lists that read their parameters as its index does (records.list_condition, list_order, pages).
SAME_AS_INDEX = {f"/{SAMPLE_RESOURCE}/search", f"/trashed/{SAMPLE_RESOURCE}", f"/trashed/{SAMPLE_RESOURCE}/search"}


def is_covered(path: str) -> bool:
    return _resource(path) is None or (_resource(path) == SAMPLE_RESOURCE and path not in SAME_AS_INDEX)


schema = schemathesis.openapi.from_dict(_tested_document(is_covered))
light_schema = schemathesis.openapi.from_dict(
    _tested_document(lambda path: not is_covered(path)),
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}))


@dataclass
class Tokens:
    """The token requests carry, and a spare for when a generated request revokes it."""

    url: str
    main: str
    spare: str = ""

    def __post_init__(self) -> None:
        self.spare = self.spare or self._new()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.main}", "Accept": "application/json"}

    def _new(self) -> str:
        created = httpx.post(f"{self.url}/api/personal-access-tokens", json={"name": "spare"}, headers=self.headers())
        assert created.status_code == 201, created.text
        return created.json()["plainTextToken"]

    def renew_if_revoked(self) -> None:
        if httpx.get(f"{self.url}/api/me", headers=self.headers()).status_code == 401:
            self.main = self.spare
            self.spare = self._new()


def _prepare(env: dict[str, str]) -> None:
    """The custom field, before the server starts (the CLI cannot give a Concord key yet)."""
    from polycrm.core.fields import add_custom_field
    from polycrm.store.database import open_database

    database = open_database(env.get("POLYCRM_DATABASE_URL") or f"sqlite:///{Path(env['POLYCRM_DATA_DIR'])}/polycrm.db")
    try:
        add_custom_field(database, VIP.entity, VIP.name, VIP.type, VIP.params, VIP.api_names)
    finally:
        database.dispose()


def _token(env: dict[str, str]) -> str:
    issued = run_cli(env, "token", "create", "--user", "integration", "--name", "n8n", "--json")
    assert issued.returncode == 0, issued.stderr
    return json.loads(issued.stdout)["plainTextToken"]


@pytest.fixture(scope="module", params=BACKENDS)
def concord_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[LiveServer, Tokens]]:
    limits = {"POLYCRM_CONCORD_RATE_LIMIT": "100000/minute", "POLYCRM_CONCORD_TOKEN_RATE_LIMIT": "100000/minute"}
    with live_database(request.param) as url, serve(tmp_path_factory.mktemp("concord-live"), database_url=url,
                                                     setup=_prepare, **limits) as server:
        tokens = Tokens(server.url, _token(server.env))
        served = httpx.get(f"{server.url}/api/openapi.json")
        assert served.status_code == 200 and served.json() == DOCUMENT
        yield server, tokens


@schema.parametrize()
@settings(max_examples=1, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_concord_api_conforms_to_its_openapi_document(case: Any, concord_server: tuple[LiveServer, Tokens]) -> None:
    _check(case, *concord_server)


@light_schema.parametrize()
@settings(max_examples=3, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_other_resources_conform_to_the_openapi_document(case: Any, concord_server: tuple[LiveServer, Tokens]) -> None:
    _check(case, *concord_server)


def _check(case: Any, server: LiveServer, tokens: Tokens) -> None:
    response = case.call(base_url=f"{server.url}/api", headers=tokens.headers())
    try:
        case.validate_response(response, checks=CHECKS)
    finally:
        if case.path == "/personal-access-tokens/{id}" and response.status_code == 204:
            tokens.renew_if_revoked()
