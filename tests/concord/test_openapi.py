"""The Concord dialect's OpenAPI document (`GET /api/openapi.json`, dialects/concord/openapi.py): valid OpenAPI
3.1, served without a token, every route of the table for every resource, and what the mapping and the
registry hold as they are (a resource or custom field added shows up). The tests/concord clients check every
answer against it (conftest.concord_client); the last tests here prove that check bites."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from polycrm.dialects.concord import routes
from polycrm.dialects.concord.context import MAX_PER_PAGE
from polycrm.dialects.concord.mapping import ConcordMapping, load_spec
from polycrm.dialects.concord.openapi import build_openapi
from polycrm.meta import load_builtin_registry
from tests.concord.conftest import MAPPING, UNMATCHED, Concord, concord_client
from tests.support.openapi_check import ResponseValidator, assert_valid_openapi, resolved

HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_openapi(MAPPING, load_builtin_registry())


def schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return spec["components"]["schemas"][name]


def concrete(shape: tuple[str, ...], mapping: ConcordMapping) -> list[str]:
    """A route shape's paths, written out here rather than with the builder's helper."""
    paths = [""]
    for segment in shape:
        if segment == "{resource}":
            paths = [f"{p}/{name}" for p in paths for name in mapping.resources]
        elif segment == "{associated}":
            paths = [f"{p}/{key}" for p in paths for key in mapping.resources[p.split("/")[1]].associations]
        else:
            paths = [f"{p}/{segment}" for p in paths]
    return paths


def test_served_without_a_token_and_valid_openapi_31(concord: Concord, spec: dict[str, Any]) -> None:
    response = concord_client(concord.harness, {"Accept": "application/json"}).get("/api/openapi.json")
    assert response.status_code == 200 and response.headers["x-app-version"] == "1.5.1"
    served = response.json()
    assert served == spec
    assert_valid_openapi(served)
    assert served["servers"] == [{"url": "/api"}] and served["security"] == [{"BearerAuth": []}]
    assert served["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert served["paths"]["/openapi.json"]["get"]["security"] == []
    assert served["paths"]["/token"]["post"]["security"] == []


def test_every_route_of_the_table_for_every_resource(spec: dict[str, Any]) -> None:
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS}
    expected = {(path, method.lower()) for route in routes.ROUTES for path in concrete(route.shape, MAPPING)
                for method in route.methods}
    # a clone route only where the resource is cloneable (Concord's Cloneable resources)
    expected -= {(f"/{name}/{{id}}/clone", "post") for name, resource in MAPPING.resources.items()
                 if resource.clone is None}
    # comments only where the resource takes them (activities, calls, notes)
    expected -= {(f"/{name}/{{id}}/comments", method) for name, resource in MAPPING.resources.items()
                 if not resource.comments for method in ("get", "post")}
    # media uploads only on Concord's Mediable resources (contacts, companies, deals, activities)
    expected -= {(path, method) for name, resource in MAPPING.resources.items() if resource.media != "always"
                 for path, method in ((f"/{name}/{{id}}/media", "post"), (f"/{name}/{{id}}/media/{{media}}", "delete"))}
    # a timeline only on Concord's HasTimeline resources (contacts, companies, deals)
    expected -= {(f"/{name}/{{id}}/timeline", "get") for name, resource in MAPPING.resources.items()
                 if "module" not in (resource.timeline or {})}
    assert {path for path, _ in documented if path.endswith("/timeline")} == {
        "/contacts/{id}/timeline", "/companies/{id}/timeline", "/deals/{id}/timeline"}
    # exports only of Concord's Exportable resources
    expected -= {(f"/{name}/export", "post") for name, resource in MAPPING.resources.items() if not resource.export}
    # imports only of the resources PolyCRM imports (contacts, companies)
    expected -= {(path, method) for path, method in expected if path.split("/")[2:3] == ["import"]
                 and path.split("/")[1] not in ("contacts", "companies")}
    assert documented == expected
    assert {path for path, _ in documented if path.endswith("/export")} == {
        "/contacts/export", "/companies/export", "/deals/export", "/activities/export", "/products/export"}
    assert {path for path, _ in documented if path.endswith("/media")} == {
        "/contacts/{id}/media", "/companies/{id}/media", "/deals/{id}/media", "/activities/{id}/media"}
    assert {path for path, _ in documented if path.endswith("/clone")} == {"/products/{id}/clone",
                                                                           "/documents/{id}/clone"}
    for name, resource in MAPPING.resources.items():
        for path in (f"/{name}", f"/{name}/{{id}}", f"/{name}/search", f"/{name}/rules", f"/trashed/{name}",
                     f"/associations/{name}/{{id}}", *(f"/{name}/{{id}}/{key}" for key in resource.associations)):
            assert path in spec["paths"], path
    assert len(documented) > 30


def test_a_resource_added_to_the_mapping_is_documented() -> None:
    data = load_spec()
    data["resources"]["leads"] = dict(copy.deepcopy(data["resources"]["companies"]), entity="Lead",
                                      associations={}, model="Lead")
    data["resources"]["leads"]["fields"]["name"]["field"] = "lastName"
    spec = build_openapi(ConcordMapping(data), load_builtin_registry())
    assert {"/leads", "/leads/{id}", "/trashed/leads/{id}", "/associations/leads/{id}"} <= set(spec["paths"])
    assert "leads.record" in spec["components"]["schemas"]


def test_a_route_without_a_description_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = routes.Route(("{resource}", "{id}", "clone"), {"POST": routes.Operation(lambda api, request: None)})
    monkeypatch.setattr(routes, "ROUTES", (*routes.ROUTES, extra))
    with pytest.raises(LookupError, match="no OpenAPI description"):
        build_openapi(MAPPING, load_builtin_registry())


def test_parameters_errors_and_headers(spec: dict[str, Any]) -> None:
    index = spec["paths"]["/contacts"]["get"]
    names = {resolved(spec, p)["name"] for p in index["parameters"]}
    assert names == {"page", "per_page", "order", "select", "with", "q", "search_fields", "search_match", "filters",
                     "filter_id", "with_default_filter"}
    assert spec["components"]["parameters"]["per_page"]["schema"]["maximum"] == MAX_PER_PAGE
    search = {resolved(spec, p)["name"] for p in spec["paths"]["/contacts/search"]["get"]["parameters"]}
    assert "take" in search and "page" not in search
    assert {resolved(spec, p)["name"] for p in spec["paths"]["/search"]["get"]["parameters"]} == {"q", "take"}
    rules = schema(spec, "contacts.filters")["anyOf"][0]["properties"]["children"]["items"]["anyOf"][0]
    assert {"first_name", "phones", "created_at"} <= set(rules["properties"]["query"]["properties"]["rule"]["enum"])
    assert set(index["responses"]) == {"200", "400", "401", "403", "404", "422", "429"}
    assert set(spec["paths"]["/contacts"]["post"]["responses"]) == {"201", "400", "401", "403", "404", "409", "413",
                                                                    "422", "429"}
    assert "204" in spec["paths"]["/contacts/{id}"]["delete"]["responses"]
    assert "409" in spec["paths"]["/associations/contacts/{id}"]["put"]["responses"]
    assert set(spec["paths"]["/token"]["post"]["responses"]) == {"200", "413", "422", "429"}
    assert set(index["responses"]["200"]["headers"]) == {"X-App-Version", "X-RateLimit-Limit", "X-RateLimit-Remaining"}
    throttled = spec["components"]["responses"]["TooManyRequests"]["headers"]
    assert {"Retry-After", "X-RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(throttled)
    assert "Allow" in spec["components"]["responses"]["MethodNotAllowed"]["headers"]


def test_record_and_body_schemas_follow_the_mapping(spec: dict[str, Any]) -> None:
    record = schema(spec, "contacts.record")
    assert list(record["properties"])[:3] == ["id", "display_name", "path"]
    counts = [f"{key}_count" for key in MAPPING.resources["contacts"].associations]
    assert list(record["properties"])[11:16 + len(counts) - 2] == ["tags", "user_id", "source_id", *counts]
    assert record["properties"]["companies"]["items"] == {"$ref": "#/components/schemas/companies.linked"}
    assert {"actions", "associations_count"} <= set(record["required"])
    row = schema(spec, "contacts.row")
    assert "companies" not in row["required"] and "companies_count" in row["required"]
    assert "companies_count" not in schema(spec, "contacts.linked")["properties"]
    assert record["properties"]["phones"]["items"]["properties"]["type"]["enum"] == ["mobile", "work", "other"]
    assert record["properties"]["user_id"]["type"] == ["integer", "null"]
    create = schema(spec, "contacts.create")
    assert create["required"] == ["first_name"] and create["properties"]["first_name"]["minLength"] == 1
    assert create["properties"]["email"]["format"] == "email"
    assert {"array", "string", "integer"} == {s["type"] for s in create["properties"]["companies"]["anyOf"]}
    assert "required" not in schema(spec, "contacts.update")
    assert schema(spec, "companies.create")["required"] == ["name"]


def test_custom_fields_are_documented_and_their_values_checked(concord: Concord) -> None:
    core = concord.harness.app.state.core
    for name, kind, params in (("cVip", "bool", {}), ("cSince", "date", {}), ("cSeats", "int", {}),
                               ("cTier", "enum", {"options": ["gold", "silver"]}), ("cTags", "multiEnum", {"options": ["a", "b", "c"]})):
        core.add_field("Contact", name, kind, params, api_names={"concord": f"cf_{name[1:].lower()}"})
    spec = concord_client(concord.harness, {}).get("/api/openapi.json").json()
    record, create = schema(spec, "contacts.record")["properties"], schema(spec, "contacts.create")["properties"]
    assert record["cf_vip"]["type"] == ["boolean", "null"] and record["cf_seats"]["type"] == ["integer", "null"]
    assert create["cf_tier"]["type"] == ["integer", "string", "null"]  # an option id, or its name
    assert create["cf_tags"]["type"] == ["array", "null"] and record["cf_tier"]["type"] == ["integer", "null"]
    assert "cf_since" in record and "cf_since" not in schema(spec, "companies.linked")["properties"]
    rules = schema(spec, "contacts.filters")["anyOf"][0]["properties"]["children"]["items"]["anyOf"][0]
    assert "cf_vip" in rules["properties"]["query"]["properties"]["rule"]["enum"]
    created = concord.create("contacts", {"first_name": "Vip", "cf_vip": True, "cf_since": "2024-03-01",
                                          "cf_seats": 12, "cf_tier": "gold", "cf_tags": ["a", "b"]})  # checked
    assert created["cf_vip"] is True and created["cf_since"] == "2024-03-01"  # a custom date is MySQL text
    assert isinstance(created["cf_tier"], int) and [o["name"] for o in created["cf_tags"]] == ["a", "b"]
    assert concord.get("contacts", select="cf_vip").json()["data"][0]["cf_seats"] is None
    assert concord.post("contacts", {"first_name": "X", "cf_seats": "many"}).status_code == 422


def test_the_check_catches_answers_off_the_document(spec: dict[str, Any]) -> None:
    validator = ResponseValidator(spec, unmatched=UNMATCHED)
    headers = {"X-App-Version": "1.5.1", "X-RateLimit-Limit": "90", "X-RateLimit-Remaining": "89"}
    ok = json.dumps({"data": [], "links": {"first": "u", "last": "u", "prev": None, "next": None},
                     "meta": {"current_page": 1, "from": None, "last_page": 1, "links": [], "path": "u",
                              "per_page": 15, "to": None, "total": 0}}).encode()
    validator.validate("GET", "/api/contacts", 200, ok, "application/json", headers)
    with pytest.raises(AssertionError, match="required header X-RateLimit-Limit"):
        validator.validate("GET", "/api/contacts", 200, ok, "application/json", {"X-App-Version": "1.5.1"})
    with pytest.raises(AssertionError, match="per_page"):
        validator.validate("GET", "/api/contacts", 200, ok.replace(b'"per_page": 15', b'"per_page": "15"'),
                           "application/json", headers)
    with pytest.raises(AssertionError, match="not documented"):
        validator.validate("GET", "/api/contacts", 418, b'{"message": ""}', "application/json", headers)
    validator.validate("GET", "/api/nosuch/1", 404, b'{"message": ""}', "application/json", headers)
    with pytest.raises(AssertionError, match="nosuch"):
        validator.validate("GET", "/api/nosuch/1", 404, b'{"detail": "x"}', "application/json", headers)
    with pytest.raises(AssertionError, match="Allow"):
        validator.validate("PATCH", "/api/contacts/1", 405, b'{"message": "no"}', "application/json", headers)
