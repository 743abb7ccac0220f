"""ITFlow's response envelopes, byte for byte (specs/itflow.md §3).

Every answer is `Content-Type: application/json`, even the empty 401 and the `var_dump` 405. Failures
carry ITFlow's own messages, which scripts compare; where PolyCRM knows more (which field, which rule), it
says so in the `X-PolyCRM-Reason` header, never by changing the message.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from polycrm.dialects.itflow.php import var_dump_string
from polycrm.dialects.php_json import json_encode

CONTENT_TYPE = "application/json"
REASON_HEADER = "X-PolyCRM-Reason"
WARNING_HEADER = "X-PolyCRM-Warning"

NO_RESOURCE = "No resource (for this client and company) with the specified parameter(s)."
INSERT_FAILED = ("Auth success but insert query failed, ensure ALL required variables are provided (and aren't "
                 "duplicates where applicable) and database schema is up-to-date. Turn on error logging and look "
                 "for 'undefined index'.")
UPDATE_FAILED = ("Auth success but update query failed/returned no results. Ensure ALL required variables are "
                 "provided and database schema is up-to-date. Most likely cause: non-existent module ID (i.e. bad "
                 "contact ID/ticket ID/etc) or no rows changed.")
DELETE_FAILED = ("Auth success but delete query failed. Ensure ALL required variables are provided and database "
                 "schema is up-to-date. Most likely cause: asset/client/company ID mismatch.")
AUTH_FAILED = "Authentication failed. API key is invalid or has expired."
GET_ONLY = "Can only send GET requests to this endpoint."
POST_ONLY = "Can only send POST requests to this endpoint."
FILTER_REQUIRED = "A filter is required. Please supply either invoice_id or item_id."
INVALID_MONTH = "Invalid month parameter. Must be between 1 and 12."
TOO_LARGE = "Request body too large."


class ItflowResponse(Response):
    media_type = CONTENT_TYPE

    def __init__(self, body: bytes, status_code: int = 200, reason: str | None = None):
        headers = {REASON_HEADER: header_safe(reason)} if reason else None
        super().__init__(body, status_code=status_code, headers=headers)


def header_safe(text: str) -> str:
    """Printable ASCII for a header value, at most 500 characters."""
    return "".join(c if " " <= c <= "~" else "?" for c in text)[:500]


class Failure(Exception):
    """A request refused with one of ITFlow's failure envelopes; `reason` says why in PolyCRM's words."""

    def __init__(self, message: str, reason: str, *, status: int = 200, extra: dict[str, Any] | None = None):
        super().__init__(reason)
        self.message = message
        self.reason = reason
        self.status = status
        self.extra = extra or {}

    def response(self) -> ItflowResponse:
        body = {"success": "False", "message": self.message, **self.extra}
        return ItflowResponse(json_encode(body), self.status, self.reason)


def no_resource(reason: str) -> Failure:
    return Failure(NO_RESOURCE, reason)


def insert_failed(reason: str) -> Failure:
    return Failure(INSERT_FAILED, reason)


def update_failed(reason: str) -> Failure:
    return Failure(UPDATE_FAILED, reason)


def delete_failed(reason: str) -> Failure:
    return Failure(DELETE_FAILED, reason)


def rows(data: list[dict[str, Any]]) -> ItflowResponse:
    """§3.1: `count` is the number of rows returned, an integer."""
    return ItflowResponse(json_encode({"success": "True", "count": len(data), "data": data}))


def created(insert_id: int) -> ItflowResponse:
    """§3.3: `count` is the string "1", `insert_id` an integer."""
    return ItflowResponse(json_encode({"success": "True", "count": "1", "data": [{"insert_id": insert_id}]}))


def changed(count: int) -> ItflowResponse:
    """§3.5/§3.7: update, archive, unarchive, resolve and delete successes."""
    return ItflowResponse(json_encode({"success": "True", "count": count}))


def missing_key() -> ItflowResponse:
    return ItflowResponse(b"", 401)


def method_not_allowed(method: str) -> ItflowResponse:
    """§2 step 4: any method but GET and POST, before authentication; PHP's var_dump, not JSON."""
    return ItflowResponse(b"" if method == "HEAD" else var_dump_string(method), 405)
