"""The OpenAPI description of the activity endpoints: the stream's notes (dialects/espo/stream.py) and webhook
subscriptions with their delivery log (dialects/espo/webhooks.py)."""

from __future__ import annotations

from typing import Any

from polycrm.dialects.espo.openapi import (BOOLEAN, DATETIME_PATTERN, ID_LIST, SCHEMAS, _ok, _operation, _path_param,
                                           _ref)

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_DATETIME = {"type": ["string", "null"], "pattern": DATETIME_PATTERN}
NOTE_TYPES = ["Post", "Create", "Update", "Status", "Assign"]


def _note_schemas() -> dict[str, Any]:
    """`Note` (EspoCRM's stream note) and the input of a post."""
    reference = {"type": ["string", "null"], "readOnly": True}
    note = {"type": "object", "additionalProperties": False, "required": ["id", "type"], "properties": {
        "id": {"type": "string"}, "number": {"type": "integer", "readOnly": True, "description": "Orders the notes."},
        "type": {"type": "string", "enum": NOTE_TYPES, "readOnly": True},
        "post": NULLABLE_STRING,
        "data": {"type": "object", "readOnly": True, "description": (
            "Create: assignedUserId/Name, statusField/Value/Style; Assign: assignedUserId/Name; Status: field, "
            "value, style; Update: fields and attributes {was, became}; Post: {}.")},
        "parentType": NULLABLE_STRING, "parentId": NULLABLE_STRING, "parentName": reference,
        "relatedType": reference, "relatedId": reference, "relatedName": reference,
        "isInternal": {"type": "boolean", "readOnly": True},
        "createdAt": {**NULLABLE_DATETIME, "readOnly": True}, "createdById": reference, "createdByName": reference,
        "modifiedAt": {**NULLABLE_DATETIME, "readOnly": True}, "modifiedById": reference,
        "modifiedByName": reference}}
    create = {"type": "object", "required": ["post", "parentType", "parentId"], "properties": {
        "type": {"type": "string", "const": "Post"}, "post": {"type": "string", "minLength": 1, "maxLength": 65535},
        "parentType": {"type": "string", "description": "An entity type with a stream."},
        "parentId": {"type": "string"}}}
    update = {"type": "object", "properties": {"post": create["properties"]["post"]},
              "description": "Only `post` changes; other attributes are ignored."}
    return {"Note": note, "Note_create": create, "Note_update": update}


def _note_paths() -> dict[str, Any]:
    ref = {"$ref": SCHEMAS + "Note"}
    return {
        "/Note": {"post": _operation("createNote", "Note", "Post in the stream of a record the user may read",
                                     _ok(ref), body={"$ref": SCHEMAS + "Note_create"})},
        "/Note/{id}": {
            "parameters": [_path_param("id", "A note ID.")],
            "get": _operation("readNote", "Note", "Read a note of a record the user may read", _ok(ref)),
            **{method: _operation(f"{verb}Note", "Note", "Change the text of one's own post", _ok(ref),
                                  body={"$ref": SCHEMAS + "Note_update"})
               for method, verb in (("put", "update"), ("patch", "patch"))},
            "delete": _operation("deleteNote", "Note", "Delete one's own post (admins: any note)",
                                 _ok({"type": "boolean", "const": True}))},
    }
PRECISE_DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$",
                    "description": "UTC, with milliseconds."}


def _webhook_schemas() -> dict[str, Any]:
    """`Webhook` (specs/espocrm.md §9.1), its input, and the delivery log (a PolyCRM addition)."""
    record = {"type": "object", "additionalProperties": False, "required": ["id", "event", "url", "isActive"],
              "properties": {
                  "id": {"type": "string"}, "event": {"type": "string", "examples": ["Contact.create"]},
                  "url": {"type": "string"}, "isActive": BOOLEAN, "userId": NULLABLE_STRING,
                  "userName": NULLABLE_STRING, "entityType": {"type": "string", "readOnly": True},
                  "type": {"type": "string", "enum": ["create", "update", "delete", "fieldUpdate"], "readOnly": True},
                  "field": {**NULLABLE_STRING, "readOnly": True},
                  "secretKey": {"type": "string", "readOnly": True, "description": "Signs deliveries (32 hex)."},
                  "skipOwn": BOOLEAN, "description": NULLABLE_STRING, "createdAt": NULLABLE_DATETIME,
                  "modifiedAt": NULLABLE_DATETIME, "createdById": NULLABLE_STRING, "createdByName": NULLABLE_STRING,
                  "disabledReason": {**NULLABLE_STRING, "readOnly": True,
                                     "description": "Why deliveries switched the webhook off (isActive false)."}}}
    writable = {"url": {"type": "string"}, "isActive": BOOLEAN, "skipOwn": BOOLEAN, "description": NULLABLE_STRING}
    create = {"type": "object", "required": ["event", "url"], "properties": {
        "event": {"type": "string", "description": "Entity.create, Entity.update, Entity.delete or "
                                                   "Entity.fieldUpdate.field"},
        "userId": {"type": "string", "description": "Admins only: the API user the webhook belongs to."},
        **writable}}
    attempt = {"type": "object", "additionalProperties": False, "properties": {
        "number": {"type": "integer"}, "startedAt": PRECISE_DATETIME, "durationMs": {"type": "number"},
        "statusCode": {"type": ["integer", "null"]},
        "outcome": {"type": "string", "enum": ["success", "retry", "fail", "gone", "skipped"]},
        "error": NULLABLE_STRING, "responseExcerpt": NULLABLE_STRING}}
    delivery = {"type": "object", "additionalProperties": False, "required": ["id", "webhookId", "status"],
                "properties": {
                    "id": {"type": "string", "description": "The X-PolyCRM-Delivery header of its requests."},
                    "webhookId": {"type": "string"},
                    "status": {"type": "string", "enum": ["pending", "sending", "succeeded", "failed", "cancelled"]},
                    "eventIds": ID_LIST, "createdAt": PRECISE_DATETIME,
                    "nextAttemptAt": {"type": ["string", "null"]}, "finishedAt": {"type": ["string", "null"]},
                    "lastStatusCode": {"type": ["integer", "null"]}, "lastError": NULLABLE_STRING,
                    "attempts": {"type": "array", "items": attempt}}}
    return {"Webhook": record, "Webhook_create": create, "Webhook_update": {"type": "object", "properties": {
        "event": {"type": "string", "description": "Cannot be changed."}, **writable}},
        "WebhookDelivery": delivery}


def _webhook_paths() -> dict[str, Any]:
    ref = {"$ref": SCHEMAS + "Webhook"}
    id_param = [_path_param("id", "A webhook ID.")]
    page = [_ref("parameters", "offset"), _ref("parameters", "maxSize")]
    created = _operation("createWebhook", "Webhook", "Subscribe a URL to an event (admins and API users)",
                         _ok(ref), body={"$ref": SCHEMAS + "Webhook_create"})
    created["responses"]["201"] = _ok(ref, "Created; `secretKey` signs the deliveries.")
    del created["responses"]["200"]
    deliveries = _ok({"type": "object", "required": ["total", "list"], "properties": {
        "total": {"type": "integer"}, "list": {"type": "array", "items": {"$ref": SCHEMAS + "WebhookDelivery"}}}})
    return {
        "/Webhook": {
            "get": _operation("listWebhook", "Webhook", "List webhooks (API users: their own)", _ok({
                "type": "object", "required": ["total", "list"], "properties": {
                    "total": {"type": "integer"}, "list": {"type": "array", "items": ref}}}), parameters=page),
            "post": created},
        "/Webhook/{id}": {
            "parameters": id_param,
            "get": _operation("readWebhook", "Webhook", "Read a webhook", _ok(ref)),
            **{method: _operation(f"{verb}Webhook", "Webhook", "Change url, isActive, skipOwn or description",
                                  _ok(ref), body={"$ref": SCHEMAS + "Webhook_update"})
               for method, verb in (("put", "update"), ("patch", "patch"))},
            "delete": _operation("deleteWebhook", "Webhook", "Delete a webhook", _ok({"type": "boolean"}))},
        "/Webhook/{id}/deliveries": {
            "parameters": id_param,
            "get": _operation("listWebhookDeliveries", "Webhook", "The delivery log, newest first", deliveries,
                              parameters=page + [{"name": "status", "in": "query", "schema": {
                                  "type": "string", "enum": ["pending", "sending", "succeeded", "failed",
                                                             "cancelled"]}}])},
        "/Webhook/{id}/deliveries/{deliveryId}/redeliver": {
            "parameters": id_param + [_path_param("deliveryId", "A delivery ID.")],
            "post": _operation("redeliverWebhookDelivery", "Webhook",
                               "Send a finished delivery again (same delivery ID)",
                               _ok({"$ref": SCHEMAS + "WebhookDelivery"}), errors=(("409", "Conflict"),))},
    }


def activity_schemas() -> dict[str, Any]:
    return _webhook_schemas() | _note_schemas()


def activity_paths() -> dict[str, Any]:
    return _webhook_paths() | _note_paths()
