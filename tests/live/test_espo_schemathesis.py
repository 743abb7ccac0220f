"""Schemathesis against a live `polycrm serve`, held to the OpenAPI document it serves (`GET /api/v1/OpenApi`,
checked to be the one `build_openapi` gives for the built-in definitions): no generated request, valid or
not, may cause a server error, and every response must have a documented status and, when it has a body, a
documented content type and schema.

Covered (`is_covered`): every operation of Account and of the paths that are not an entity's, and each
other entity's list and record operations; a bounded, reproducible number of requests each. Most of the time
goes to schemathesis's coverage phase (boundary and malformed values of every parameter, methods a path does
not serve): it found the 500s these tests now guard against, where random examples did not. The entities
added for ITFlow (`ITFLOW_ENTITIES`: the same handlers, other fields) are sampled: three of them
(`ITFLOW_SAMPLE`) get what validates their fields, create and update, without that phase, one generated
request each (`is_covered_lightly`); every one has declarative API tests in tests/api/test_itflow_entities.py. Two deliberate narrowings, both covered by tests of their own (tests/api):
- requests carry the API key only: with arbitrary `Authorization`/`Espo-Authorization` values beside it the
  server rightly answers 400 "Auth: Bad authorization string provided." whatever the operation;
- an error's body is optional (EspoCRM sends one only for some errors, e.g. a field validation failure), so an
  empty error response is checked for its status alone, as tests/support/openapi_check.py does.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any, Callable, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from polycrm.dialects.espo.openapi import build_openapi
from polycrm.meta import load_builtin_registry
from tests.live.conftest import LiveServer, serve

ALL_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EMPTY_ERROR_CHECKS = [not_a_server_error, status_code_conformance]
SAMPLE_ENTITY = "Account"  # its other paths share their handlers with every entity
REGISTRY = load_builtin_registry()
ENTITY_NAMES = set(REGISTRY.entities)
DOCUMENT = build_openapi(REGISTRY)
# The entities PolyCRM has for ITFlow only: those its mapping names, but the three EspoCRM has too.
_ITFLOW_TABLES = json.loads((resources.files("polycrm.dialects") / "itflow" / "modules.json").read_text())["tables"]
ITFLOW_ENTITIES = {t["entity"] for t in _ITFLOW_TABLES.values()} - {"Account", "Contact", "Case"}
# A currency field and a number; a required link; a wysiwyg body and a default-true flag.
ITFLOW_SAMPLE = ("Invoice", "AssetInterface", "KnowledgeBaseArticle")
_ACCOUNT_LINKS_TO_ITFLOW = {name for name, link in REGISTRY.entity(SAMPLE_ENTITY).links.items()
                            if link.entity in ITFLOW_ENTITIES}


def is_covered(path: str) -> bool:
    """Every path of Account (but its relations with ITFlow's entities) and of what is not an entity (webhooks,
    notes, ...); of the other entities but ITFlow's, their lists and records (fields validate differently per
    entity) and lead conversion."""
    segments = path.strip("/").split("/")
    if segments[0] in ITFLOW_ENTITIES or (len(segments) > 2 and segments[2] in _ACCOUNT_LINKS_TO_ITFLOW):
        return False
    return (segments[0] == SAMPLE_ENTITY or segments[0] not in ENTITY_NAMES or len(segments) <= 2
            or segments[-1] == "convert")


def is_covered_lightly(path: str) -> bool:
    """The records of the sampled ITFlow entities (their creates and updates: `light_schema`)."""
    segments = path.strip("/").split("/")
    return segments[0] in ITFLOW_SAMPLE and len(segments) <= 2


def _tested_document(covered: Callable[[str], bool]) -> dict[str, Any]:
    document = copy.deepcopy(DOCUMENT)
    document["paths"] = {path: item for path, item in document["paths"].items() if covered(path)}
    document["security"] = [{"ApiKeyAuth": []}]
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security"):
                operation["security"] = [{"ApiKeyAuth": []}]
    return document


schema = schemathesis.openapi.from_dict(_tested_document(is_covered))
light_schema = schemathesis.openapi.from_dict(
    _tested_document(is_covered_lightly),
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})).include(method=["POST", "PUT"])


@pytest.fixture(scope="module")
def espo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("espo-live")) as server:
        # Before any generated request: some add custom fields, which rightly change the served document.
        served = httpx.get(f"{server.url}/api/v1/OpenApi", headers={"X-Api-Key": server.api_key})
        assert served.json() == DOCUMENT
        yield server


@schema.parametrize()
@settings(max_examples=2, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_espo_api_conforms_to_its_openapi_document(case, espo_server):
    _check(case, espo_server)


@light_schema.parametrize()
@settings(max_examples=1, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_itflow_entities_conform_to_the_openapi_document(case, espo_server):
    _check(case, espo_server)


def _check(case: Any, server: LiveServer) -> None:
    response = case.call(base_url=f"{server.url}/api/v1", headers={"X-Api-Key": server.api_key})
    empty_error = response.status_code >= 400 and not response.content.strip()
    case.validate_response(response, checks=EMPTY_ERROR_CHECKS if empty_error else ALL_CHECKS)
