"""The InflowCRM OpenAPI document the tests hold the server to: `../shared/reference/inflowcrm/openapi.yaml`
with the amendments below, each because the document itself is broken or behind its own prose.

1. PolyCRM's own webhook delivery log (`GET /webhooks/{id}/deliveries`, `POST .../{deliveryId}/redeliver`;
   InflowCRM has none) is added as the README describes it, and so are the optional extras `isActive` and
   `disabledReason` of `WebhookSubscription`.
2. Nulls the docs' own examples use are allowed: `meta.deprecation: null` (every example), the
   `getModuleFields` item keys (`"decimal": null`, `"relationField": null` in the HEAD example), and
   `data: null` from findRecord when nothing matches (the docs name no status for that; see the README).
3. The error statuses errors.md gives for every endpoint (400, 401, 403, 404, 409, 413, 415, 429, 500, with
   405 for a method the path does not serve) are added where an operation omits them, all with the
   `{"error": {code, message, details}}` envelope.
4. The endpoints documented only in prose (getProcessesForModule, and the 2026 record-by-id, getByIds,
   getUser, updateUser, record files, file download and make/getModuleFields) are added as that prose
   describes them.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "inflowcrm"
ERROR_STATUSES = ("400", "401", "403", "404", "405", "409", "413", "415", "429", "500")
NULLABLE_OBJECT = {"type": "object", "nullable": True, "additionalProperties": True}


def reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"{path} is missing: the InflowCRM reference files live in ../shared beside the repository",
                    allow_module_level=True)
    return path


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ok(data: dict[str, Any], *, meta: bool = True, description: str = "OK") -> dict[str, Any]:
    properties: dict[str, Any] = {"data": data}
    if meta:
        properties["meta"] = {"$ref": "#/components/schemas/Meta"}
    return {"description": description, **_json({"type": "object", "required": ["data"], "properties": properties})}


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"required": True, **_json({"type": "object", "required": required, "properties": properties})}


def _path_parameters(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names]


_RECORD = {"$ref": "#/components/schemas/RecordResponse"}
_FILE_ITEM = {"type": "object", "required": ["id", "fileName", "fileSize", "mimeType", "fileExtension",
                                             "createdTime"],
              "properties": {"id": {"type": "string"}, "fileName": {"type": "string"},
                             "fileSize": {"type": "integer"}, "mimeType": {"type": "string"},
                             "fileExtension": {"type": "string"}, "createdTime": {"type": "string"}}}
_USER = {"type": "object", "required": ["id", "systemLabel", "email"], "additionalProperties": True,
         "properties": {"id": {"type": "string"}, "systemLabel": {"type": "string", "nullable": True},
                        "email": {"type": "string", "nullable": True}}}
_SECURITY = [{"ApiKeyAuth": []}]
_DELIVERY = {"type": "object", "required": ["id", "subscriptionId", "status", "eventIds", "attempts"],
             "properties": {"id": {"type": "string"}, "subscriptionId": {"type": "string"},
                            "status": {"type": "string"}, "eventIds": {"type": "array", "items": {"type": "string"}},
                            "attempts": {"type": "array", "items": {"type": "object"}}}}


def _prose_paths() -> dict[str, Any]:
    """Endpoints documented in prose only (HEAD endpoints.md and the 2026 docs), as they describe them."""
    module = {"module": {"type": "string"}}
    return {
        "/api/getProcessesForModule": {"post": {
            "operationId": "getProcessesForModule", "security": _SECURITY,
            "requestBody": _body(module, ["module"]),
            "responses": {"200": _ok({"type": "array", "items": {
                "type": "object", "required": ["id", "systemLabel", "stagesNames"],
                "properties": {"id": {"type": "string"}, "systemLabel": {"type": "string"},
                               "stagesNames": {"type": "array", "items": {"type": "string"}}}}})}}},
        "/api/records/getByIds": {"post": {
            "operationId": "getRecordsByIds", "security": _SECURITY,
            "requestBody": _body({**module, "ids": {"type": "array", "items": {"type": "string"}},
                                  "page": {"type": "integer", "minimum": 1},
                                  "limit": {"type": "integer", "minimum": 1, "maximum": 200},
                                  "sort": {"type": "object"}}, ["module", "ids"]),
            "responses": {"200": {"description": "Records",
                                  **_json({"$ref": "#/components/schemas/SearchRecordsResponse"})}}}},
        "/api/getUser/{id}": {"get": {
            "operationId": "getUser", "security": _SECURITY, "parameters": _path_parameters("id"),
            "responses": {"200": _ok(_USER)}}},
        "/api/updateUser/{id}": {"patch": {
            "operationId": "updateUser", "security": _SECURITY, "parameters": _path_parameters("id"),
            "requestBody": {"required": True, **_json({"type": "object", "additionalProperties": True})},
            "responses": {"200": _ok(_USER)}}},
        "/api/{module}/{id}/files": {"get": {
            "operationId": "listRecordFiles", "security": _SECURITY,
            "parameters": _path_parameters("module", "id"),
            "responses": {"200": _ok({"type": "array", "items": _FILE_ITEM})}}},
        "/api/files/{fileId}/download": {"get": {
            "operationId": "downloadFile", "security": _SECURITY, "parameters": _path_parameters("fileId"),
            "responses": {"200": {"description": "The file", "content": {"*/*": {
                "schema": {"type": "string", "format": "binary"}}}}}}},
        "/webhooks/{id}/deliveries": {"get": {
            "operationId": "listWebhookDeliveries", "security": _SECURITY, "parameters": [
                *_path_parameters("id"),
                {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                {"name": "perPage", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": [
                    "pending", "sending", "succeeded", "failed", "cancelled"]}}],
            "responses": {"200": {"description": "Deliveries, newest first", **_json({
                "type": "object", "required": ["data", "meta"],
                "properties": {"data": {"type": "array", "items": _DELIVERY},
                               "meta": {"$ref": "#/components/schemas/WebhookPaginationMeta"}}})}}}},
        "/webhooks/{id}/deliveries/{deliveryId}/redeliver": {"post": {
            "operationId": "redeliverWebhookDelivery", "security": _SECURITY,
            "parameters": _path_parameters("id", "deliveryId"),
            "responses": {"200": _ok(_DELIVERY, meta=False)}}},
        "/api/make/getModuleFields": {"post": {
            "operationId": "makeGetModuleFields", "security": _SECURITY,
            "requestBody": _body({**module, "requestType": {"type": "string"}}, ["module"]),
            "responses": {"200": _ok({"type": "array", "items": {
                "type": "object", "required": ["name", "label", "type", "required"],
                "properties": {"name": {"type": "string"}, "label": {"type": "string"},
                               "type": {"type": "string"}, "required": {"type": "boolean"},
                               "options": {"type": "array"}}}}, meta=False)}}},
    }


@lru_cache(maxsize=1)
def _amended() -> dict[str, Any]:
    spec = yaml.safe_load(reference("openapi.yaml").read_text())
    spec["paths"].update(_prose_paths())
    spec["paths"]["/api/{module}/{id}"]["get"] = {
        "operationId": "getRecord", "security": _SECURITY, "parameters": _path_parameters("module", "id"),
        "responses": {"200": {"description": "The record", **_json(_RECORD)}}}
    schemas = spec["components"]["schemas"]
    schemas["WebhookSubscription"]["properties"].update(
        isActive={"type": "boolean"}, disabledReason={"type": "string", "nullable": True})
    schemas["Meta"]["properties"]["deprecation"]["nullable"] = True
    schemas["RecordResponse"]["properties"]["data"] = NULLABLE_OBJECT
    for item in schemas["ModuleField"]["properties"].values():
        item["nullable"] = True
    spec["components"]["responses"]["Error"] = {"description": "Error (errors.md)", **_json({
        "type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}}})}
    for operations in spec["paths"].values():
        for operation in operations.values():
            for status in ERROR_STATUSES:
                operation["responses"].setdefault(status, {"$ref": "#/components/responses/Error"})
    return spec


def openapi() -> dict[str, Any]:
    """The amended OpenAPI 3.0 document (for Schemathesis)."""
    return copy.deepcopy(_amended())


def _nullable_to_type_lists(node: Any) -> Any:
    """OpenAPI 3.0 `nullable: true` as JSON Schema `type: [t, "null"]` (for draft 2020-12 validators)."""
    if isinstance(node, dict):
        converted = {k: _nullable_to_type_lists(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable") is True:
            if "type" in converted:
                converted["type"] = [converted["type"], "null"]
            elif "$ref" in converted:
                converted = {"anyOf": [{"$ref": converted.pop("$ref")}, {"type": "null"}], **converted}
        return converted
    if isinstance(node, list):
        return [_nullable_to_type_lists(v) for v in node]
    return node


@lru_cache(maxsize=1)
def json_schema_document() -> dict[str, Any]:
    """The amended document with JSON Schema nullability, for tests.support.openapi_check."""
    return _nullable_to_type_lists(_amended())
