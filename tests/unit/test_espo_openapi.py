"""The EspoCRM dialect's OpenAPI document (`build_openapi`), its explorer page and the response validator."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from polycrm.dialects.espo.docs import docs_page
from polycrm.dialects.espo.openapi import build_openapi
from polycrm.meta.registry import CustomFieldDefinition, Registry, load_builtin_registry
from tests.support.openapi_check import ResponseValidator, assert_valid_openapi, resolved

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture()
def registry() -> Registry:
    return load_builtin_registry()


@pytest.fixture()
def spec(registry: Registry) -> dict[str, Any]:
    return build_openapi(registry)


@pytest.fixture()
def validator(spec: dict[str, Any]) -> ResponseValidator:
    return ResponseValidator(spec)


def espo_route_table() -> list[tuple[str, str, list[str]]]:
    """(path, handler name, methods) of `espo_routes`."""
    from polycrm.dialects.espo.api import espo_routes

    class Name(str):
        """A handler's name, also of the handlers of an object the api holds (`admin.role_list`)."""

        def __getattr__(self, name: str) -> str:
            return Name(f"{self}.{name}")

    class Recorder:
        def __getattr__(self, name: str) -> str:
            return Name(name)

        def route(self, path: str, handlers: dict[str, str], **_: Any) -> list[tuple[str, str, list[str]]]:
            return [(path, handler, [m for m, h in handlers.items() if h == handler])
                    for handler in dict.fromkeys(handlers.values())]

    return [row for rows in espo_routes(Recorder()) for row in rows]  # type: ignore[arg-type]


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


# --- structure ------------------------------------------------------------------------------------

# Just enough of the OpenAPI 3.1 meta-schema to catch structural mistakes.
OPENAPI_SHAPE = {
    "type": "object",
    "required": ["openapi", "info", "paths", "components"],
    "properties": {
        "openapi": {"const": "3.1.0"},
        "info": {"type": "object", "required": ["title", "version"]},
        "servers": {"type": "array", "items": {"type": "object", "required": ["url"]}},
        "security": {"type": "array", "items": {"type": "object"}},
        "paths": {"type": "object", "propertyNames": {"pattern": "^/"}, "additionalProperties": {
            "type": "object",
            "propertyNames": {"enum": [*HTTP_METHODS, "parameters", "summary", "description", "servers"]},
            "properties": {"parameters": {"type": "array", "items": {"$ref": "#/$defs/parameter"}}},
            "additionalProperties": {"$ref": "#/$defs/operation"}}},
        "components": {"type": "object", "properties": {
            "schemas": {"type": "object", "additionalProperties": {"type": ["object", "boolean"]}},
            "responses": {"type": "object", "additionalProperties": {"$ref": "#/$defs/response"}},
            "parameters": {"type": "object", "additionalProperties": {"$ref": "#/$defs/parameter"},
                           "propertyNames": {"pattern": r"^[a-zA-Z0-9\.\-_]+$"}},
            "securitySchemes": {"type": "object", "additionalProperties": {
                "type": "object", "required": ["type"],
                "properties": {"type": {"enum": ["apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"]}}}}}},
    },
    "$defs": {
        "ref": {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string",
                                                                                "pattern": "^#/components/"}}},
        "parameter": {"oneOf": [
            {"$ref": "#/$defs/ref"},
            {"type": "object", "required": ["name", "in"], "not": {"required": ["$ref"]},
             "properties": {"in": {"enum": ["query", "header", "path", "cookie"]}, "required": {"type": "boolean"}},
             "oneOf": [{"required": ["schema"]}, {"required": ["content"]}],
             "if": {"properties": {"in": {"const": "path"}}}, "then": {"required": ["required"],
                                                                        "properties": {"required": {"const": True}}}},
        ]},
        "response": {"oneOf": [
            {"$ref": "#/$defs/ref"},
            {"type": "object", "required": ["description"], "not": {"required": ["$ref"]},
             "properties": {"content": {"type": "object", "additionalProperties": {"type": "object"}}}},
        ]},
        "operation": {"type": "object", "required": ["responses", "operationId"], "properties": {
            "operationId": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
            "parameters": {"type": "array", "items": {"$ref": "#/$defs/parameter"}},
            "requestBody": {"type": "object", "required": ["content"]},
            "responses": {"type": "object", "minProperties": 1,
                          "propertyNames": {"pattern": "^([1-5][0-9X]{2}|default)$"},
                          "additionalProperties": {"$ref": "#/$defs/response"}},
            "security": {"type": "array"}}},
    },
}


def test_document_is_structurally_valid_openapi_31(spec: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(OPENAPI_SHAPE)
    errors = sorted(Draft202012Validator(OPENAPI_SHAPE).iter_errors(spec), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
    assert spec["servers"] == [{"url": "/api/v1"}]
    assert_valid_openapi(spec)  # also the specification's meta-schema, references, operation ids, path parameters


def test_security_schemes(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ApiKeyAuth"] == {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert schemes["HmacAuth"]["name"] == "X-Hmac-Authorization"
    assert schemes["BasicAuth"] == {"type": "http", "scheme": "basic"}
    assert schemes["EspoAuth"]["name"] == "Espo-Authorization"
    assert spec["paths"]["/"]["get"]["security"] == []


def test_every_route_is_documented(spec: dict[str, Any], registry: Registry) -> None:
    paths = spec["paths"]
    routes = espo_route_table()
    assert len(routes) >= 15

    def methods_of(path: str) -> set[str]:
        return {m.upper() for m in paths.get(path, {}) if m in HTTP_METHODS}

    for route, handler, methods in routes:
        wanted = set(methods)
        if route in paths:
            assert wanted <= methods_of(route), (route, handler)
            continue
        assert route.startswith("/{entity}"), f"route {route} ({handler}) is not documented"
        for entity in registry.entities.values():
            links = [link.name for link in entity.links.values() if link.entity is not None]
            concrete = route.replace("{entity}", entity.name)
            if "{action}" in concrete:  # only the (action, method) pairs the handler serves
                prefix = concrete.split("{action}")[0]
                served = set().union(*(methods_of(p) for p in paths if p.startswith(prefix)))
                assert {"POST", "PUT", "DELETE"} <= served <= wanted, (concrete, served)
                continue
            if concrete.endswith(("/subscription", "/followers")) and not entity.stream:
                continue  # no followers without a stream: a bare 404, like an unknown link
            for path in [concrete.replace("{link}", link) for link in links] if "{link}" in concrete else [concrete]:
                assert wanted <= methods_of(path), (path, handler, methods_of(path))


def test_entity_operations_shapes(spec: dict[str, Any]) -> None:
    account = spec["paths"]["/Account"]
    assert account["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Account_create"}
    listed = account["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert listed["properties"]["list"]["items"] == {"$ref": "#/components/schemas/Account"}
    assert listed["properties"]["total"]["type"] == "integer"
    names = {resolved(spec, p)["name"] for p in account["get"]["parameters"]}
    assert {"offset", "maxSize", "select", "orderBy", "order", "where", "searchParams", "primaryFilter",
            "boolFilterList", "textFilter", "q", "X-No-Total"} <= names
    primary = spec["components"]["parameters"]["primaryFilter_Account"]["schema"]["enum"]
    assert primary == ["customers", "resellers", "partners", "recentlyCreated", "all", "followed"]
    assert spec["components"]["parameters"]["maxSize"]["schema"]["maximum"] == 200
    for method in ("put", "patch"):
        operation = spec["paths"]["/Account/{id}"][method]
        assert operation["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Account_update"}
    update = spec["components"]["schemas"]["Account_update"]
    assert "required" not in update
    assert update["properties"] == spec["components"]["schemas"]["Account_create"]["properties"]
    assert spec["components"]["schemas"]["Account_create"]["required"] == ["name"]
    related = spec["paths"]["/Account/{id}/contacts"]["get"]["responses"]["200"]["content"]["application/json"]
    assert related["schema"]["properties"]["list"]["items"] == {"$ref": "#/components/schemas/Contact"}
    convert = spec["paths"]["/Lead/{id}/convert"]["post"]["responses"]["200"]["content"]["application/json"]
    assert convert["schema"] == {"$ref": "#/components/schemas/Lead"}


def test_record_schema_types(spec: dict[str, Any], registry: Registry) -> None:
    schemas = spec["components"]["schemas"]
    lead = schemas["Lead"]
    assert lead["additionalProperties"] is False and lead["required"] == ["id"]
    assert set(lead["properties"]) == set(registry.entity("Lead").attributes) - {"deleted"} | {"acceptanceStatus"}
    props = lead["properties"]
    assert props["id"]["type"] == "string"
    assert props["name"]["type"] == ["string", "null"] and props["name"]["readOnly"] is True
    assert props["salutationName"]["enum"] == ["", "Mr.", "Ms.", "Mrs.", "Dr.", None]
    assert props["teamsIds"]["type"] == "array" and props["teamsNames"]["type"] == "object"
    assert props["doNotCall"]["type"] == ["boolean", "null"]
    assert "pattern" in props["createdAt"] and props["createdAt"]["readOnly"] is True
    assert schemas["Case"]["properties"]["number"]["type"] == ["integer", "null"]
    assert schemas["Opportunity"]["properties"]["amount"]["type"] == ["number", "null"]
    assert set(schemas["Call"]["properties"]["parentType"]["enum"]) >= {"Account", "Lead", None}
    assert "createdAt" not in schemas["Lead_create"]["properties"]
    assert schemas["Lead_create"]["properties"]["firstName"]["maxLength"] == 100


def test_relationship_columns_are_described(spec: dict[str, Any]) -> None:
    """`<field>Columns` maps typed per column, the attributes relationship lists add, and where to select them."""
    schemas = spec["components"]["schemas"]
    contact = schemas["Contact"]["properties"]
    columns = contact["accountsColumns"]
    assert columns["type"] == "object" and columns.get("readOnly") is None
    assert columns["additionalProperties"] == {"type": "object", "additionalProperties": False, "properties": {
        "role": {"type": ["string", "null"], "maxLength": 100}, "isInactive": {"type": "boolean"}}}
    assert schemas["Contact_update"]["properties"]["accountsColumns"]["type"] == ["object", "null"]
    status = schemas["Meeting"]["properties"]["usersColumns"]["additionalProperties"]["properties"]["status"]
    assert status == {"type": "string", "enum": ["None", "Accepted", "Tentative", "Declined"], "maxLength": 36}
    role = schemas["Opportunity_create"]["properties"]["contactsColumns"]["additionalProperties"]["properties"]["role"]
    assert role["enum"] == ["", "Decision Maker", "Evaluator", "Influencer", None]
    assert contact["accountRole"]["readOnly"] is True and contact["accountRole"]["type"] == ["string", "null"]
    assert contact["accountIsInactive"] == {"type": ["boolean", "null"], "readOnly": True}
    assert "accountIsInactive" not in schemas["Contact_update"]["properties"]
    assert schemas["Account"]["properties"]["contactRole"]["maxLength"] == 100
    assert "accountRole" not in schemas["Contact_create"]["properties"]
    assert "accountRole" in spec["components"]["parameters"]["select_Contact"]["schema"]["items"]["enum"]
    where_type = schemas["WhereItem"]["properties"]["type"]["description"]
    assert all(kind in where_type for kind in ("columnEquals", "columnNotEquals", "columnIn", "columnNotIn",
                                               "columnLike", "columnIsNull", "columnIsNotNull"))


def test_custom_fields_appear_without_caching(registry: Registry) -> None:
    before = build_openapi(registry)
    assert "cRating" not in before["components"]["schemas"]["Account"]["properties"]
    registry.add_custom_field(CustomFieldDefinition("Account", "cRating", "enum", {"options": ["Hot", "Cold"]}, {}))
    registry.add_custom_field(CustomFieldDefinition("Account", "cBudget", "currency", {}, {}))
    after = build_openapi(registry)
    account = after["components"]["schemas"]["Account"]["properties"]
    assert account["cRating"]["enum"] == ["Hot", "Cold", "", None]  # not required: the core accepts ""
    assert account["cRating"]["x-custom"] is True
    assert account["cBudget"]["type"] == ["number", "null"] and "cBudgetCurrency" in account
    assert "cRating" in after["components"]["schemas"]["Account_create"]["properties"]
    assert "cRating" in after["components"]["parameters"]["select_Account"]["schema"]["items"]["enum"]
    ResponseValidator(after).validate("GET", "/api/v1/Account/1", 200, body({"id": "1", "cRating": "Hot"}),
                                      "application/json")
    with pytest.raises(AssertionError, match="cRating"):
        ResponseValidator(after).validate("GET", "/api/v1/Account/1", 200, body({"id": "1", "cRating": "Warm"}),
                                          "application/json")


def test_document_is_json_and_independent(registry: Registry) -> None:
    first = build_openapi(registry)
    json.dumps(first)
    first["components"]["schemas"]["Account"]["properties"].clear()
    first["paths"]["/Account"]["get"]["parameters"].clear()
    second = build_openapi(registry)
    assert second["components"]["schemas"]["Account"]["properties"]
    assert second["paths"]["/Account"]["get"]["parameters"]


# --- the response validator -----------------------------------------------------------------------

def test_path_matching_prefers_literals(validator: ResponseValidator) -> None:
    assert validator.find_operation("GET", "/api/v1/Account/12/contacts")[0] == "/Account/{id}/contacts"
    assert validator.find_operation("POST", "/api/v1/Lead/5/convert")[0] == "/Lead/{id}/convert"
    assert validator.find_operation("POST", "/api/v1/Account/action/massCreate")[0] == "/Account/action/massCreate"
    assert validator.find_operation("DELETE", "/api/v1/Account/1/contacts/2")[0] == "/Account/{id}/contacts/{relatedId}"
    assert validator.find_operation("GET", "/api/v1/")[0] == "/"
    assert validator.find_operation("POST", "/api/v1/Admin/fieldManager/Account")[0] == "/Admin/fieldManager/{entity}"
    assert validator.match_paths("/api/v1/App/user")[0][0] == "/App/user"
    with pytest.raises(AssertionError, match="no documented path"):
        validator.find_operation("GET", "/api/v1/Nope/1/2/3/4")
    with pytest.raises(AssertionError, match="method"):
        validator.find_operation("PATCH", "/api/v1/Account")


def test_validator_accepts_good_bodies(validator: ResponseValidator) -> None:
    ok = "application/json; charset=utf-8"
    record = {"id": "55643ca033f7ab4c5", "name": "Acme", "createdAt": "2026-01-02 03:04:05", "teamsIds": ["1"],
              "teamsNames": {"1": "Sales"}, "assignedUserId": None, "type": "Customer", "versionNumber": 2,
              "emailAddressData": [{"emailAddress": "a@b.c", "lower": "a@b.c", "primary": True,
                                    "optOut": False, "invalid": False}]}
    validator.validate("GET", "/api/v1/Account/55643ca033f7ab4c5", 200, body(record), ok)
    validator.validate("POST", "/api/v1/Account", 200, body(record), ok)
    validator.validate("PATCH", "/api/v1/Account/1", 200, body(record), ok)
    validator.validate("GET", "/api/v1/Account", 200, body({"total": -2, "list": [{"id": "1"}, record]}), ok)
    validator.validate("GET", "/api/v1/Account/1/contacts", 200, body({"total": 0, "list": []}), ok)
    validator.validate("DELETE", "/api/v1/Account/1", 200, b"true", ok)
    validator.validate("POST", "/api/v1/Account/1/contacts", 200, b"false", ok)
    validator.validate("POST", "/api/v1/MassAction", 200, body({"count": 2, "ids": ["1", "2"]}), ok)
    validator.validate("POST", "/api/v1/MassAction", 200, body({"count": 0}), ok)
    validator.validate("POST", "/api/v1/Account/action/massCreate", 200, body({"count": 1, "ids": ["3"]}), ok)
    validator.validate("GET", "/api/v1/", 200, body("EspoCRM REST API"), ok)
    validator.validate("GET", "/api/v1/Metadata", 200, body({"entityDefs": {}}), ok)
    validator.validate("GET", "/api/v1/App/user", 200, body({
        "user": {"id": "1", "userName": "admin", "isAdmin": True}, "acl": {"table": {}}, "token": None}), ok)
    # errors: empty bodies, and the bodies EspoCRM sends
    for status in (400, 401, 403, 404, 413):
        validator.validate("GET", "/api/v1/Account/1", status, b"", None)
    validator.validate("POST", "/api/v1/Account", 400, body({"messageTranslation": {
        "label": "validationFailure", "scope": None, "data": {"field": "name", "type": "required"}}}), ok)
    validator.validate("POST", "/api/v1/Account", 409, body([{"id": "7", "name": "Acme"}]), ok)
    validator.validate("PUT", "/api/v1/Account/7", 409, body({"values": {"name": "A"}, "versionNumber": 3}), ok)


@pytest.mark.parametrize(("method", "path", "status", "payload", "message"), [
    ("GET", "/api/v1/Account/1", 200, {"id": "1", "name": 123}, "name"),
    ("GET", "/api/v1/Account/1", 200, {"id": 1}, "id"),
    ("GET", "/api/v1/Account/1", 200, {"id": "1", "deleted": False}, "deleted"),
    ("GET", "/api/v1/Account/1", 200, {"id": "1", "createdAt": "2026-01-02T03:04:05Z"}, "createdAt"),
    ("GET", "/api/v1/Account/1", 200, {"id": "1", "teamsIds": [1]}, "teamsIds"),
    ("GET", "/api/v1/Account", 200, {"total": 1, "list": [{"name": "no id"}]}, "id"),
    ("GET", "/api/v1/Account", 200, {"list": []}, "total"),
    ("DELETE", "/api/v1/Account/1", 200, "true", "boolean"),
    ("POST", "/api/v1/MassAction", 200, {"count": "2"}, "count"),
    ("POST", "/api/v1/Account", 400, {"message": "bad"}, "messageTranslation"),
    ("GET", "/api/v1/Account/1", 418, None, "not documented"),
    ("GET", "/api/v1/Account/1", 500, None, "not documented"),
    ("GET", "/api/v1/Account/1", 409, None, "not documented"),
    ("GET", "/api/v1/Account/1", 200, None, "empty body"),
    ("GET", "/api/v1/Account/1", 404, {"error": "x"}, "none is documented"),
])
def test_validator_rejects(validator: ResponseValidator, method: str, path: str, status: int, payload: Any,
                           message: str) -> None:
    raw = None if payload is None else body(payload)
    with pytest.raises(AssertionError, match=message):
        validator.validate(method, path, status, raw, "application/json")


def test_validator_rejects_wrong_content(validator: ResponseValidator) -> None:
    with pytest.raises(AssertionError, match="content type"):
        validator.validate("GET", "/api/v1/Account/1", 200, body({"id": "1"}), "text/html")
    with pytest.raises(AssertionError, match="not valid JSON"):
        validator.validate("GET", "/api/v1/Account/1", 200, b"{nope", "application/json")


# --- the explorer page ----------------------------------------------------------------------------

def test_docs_page_is_self_contained_and_escaped() -> None:
    page = docs_page("/api/v1/OpenApi?x=</script><b>&")
    assert page.startswith("<!DOCTYPE html>")
    assert "</script><b>" not in page and "\\u003c/script\\u003e" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "cdn" not in page.lower() and "@import" not in page
    assert "fetch(" in page and "X-Api-Key" in page
    assert page.count("<script>") == 1 and len(page.splitlines()) < 250
