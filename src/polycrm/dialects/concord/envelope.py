"""Concord CRM's answers (specs/concord.md §7, §9): Laravel's JSON bodies and headers, and its error shapes.

Successes, 401s, 422s and the API-access 403 are compact JSON, as controllers and middleware render them;
errors that go through Laravel's exception handler (404, 405, 409, 429, the policy 403, the search-field 403)
are pretty-printed with a 4-space indent. Every answer carries `X-App-Version`. Clients that forget
`Accept: application/json` still get JSON: Concord redirects them to an HTML login page, which no
integration wants (§10).
"""

from __future__ import annotations

from typing import Any, Mapping

from starlette.responses import Response

from polycrm.dialects.php_json import json_encode, json_encode_pretty

# PolyCRM answers as Concord CRM 1.5.1 where 1.4.1 and 1.5.1 differ (the rule).
APP_VERSION = "1.5.1"
BASE_HEADERS = {"X-App-Version": APP_VERSION, "Cache-Control": "no-cache, private"}
JSON_TYPE = "application/json"
# Sent when a request was served but something it sent was left aside (a key Concord would ignore too).
WARNING_HEADER = "X-PolyCRM-Warning"

UNAUTHENTICATED = "Unauthenticated."
NO_API_ACCESS = "Your account is not authorized to perform API requests."
UNAUTHORIZED_ACTION = "This action is unauthorized."
ADMIN_ONLY = "Your account is not authorized to perform this action."
NOT_PERMITTED = "You are not authorized to perform this action."  # an attach with nothing attachable (§9 §5)
TOO_MANY = "Too Many Attempts."
ALREADY_ASSOCIATED = "This record is already associated"


class ConcordResponse(Response):
    def __init__(self, body: bytes | None, status: int = 200, headers: Mapping[str, str] | None = None):
        super().__init__(body if body is not None else b"", status, {**BASE_HEADERS, **(headers or {})},
                         None if body is None else JSON_TYPE)


def answer(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> ConcordResponse:
    """A controller's JSON answer (compact)."""
    return ConcordResponse(json_encode(value), status, headers)


def no_content(headers: Mapping[str, str] | None = None) -> ConcordResponse:
    """204 without a body or a Content-Type, as Laravel sends it."""
    return ConcordResponse(None, 204, headers)


class ConcordError(Exception):
    """An answer that ends the request: raised anywhere below the pipeline, rendered by it."""

    def __init__(self, status: int, body: dict[str, Any], *, pretty: bool = True,
                 headers: Mapping[str, str] | None = None):
        super().__init__(body.get("message") or body.get("error") or str(status))
        self.status = status
        self.body = body
        self.pretty = pretty
        self.headers = dict(headers or {})

    def response(self, headers: Mapping[str, str] | None = None) -> ConcordResponse:
        encode = json_encode_pretty if self.pretty else json_encode
        return ConcordResponse(encode(self.body), self.status, {**self.headers, **(headers or {})})


def unauthenticated() -> ConcordError:
    return ConcordError(401, {"message": UNAUTHENTICATED}, pretty=False)


def no_api_access() -> ConcordError:
    return ConcordError(403, {"error": NO_API_ACCESS}, pretty=False)


def forbidden(message: str = UNAUTHORIZED_ACTION) -> ConcordError:
    return ConcordError(403, {"message": message})


def admin_only() -> ConcordError:
    """403 from Concord's super-admin middleware: a controller-built answer, compact."""
    return ConcordError(403, {"message": ADMIN_ONLY}, pretty=False)


def not_found(message: str = "") -> ConcordError:
    """404; an unknown resource or path has an empty message, a missing record names its model."""
    return ConcordError(404, {"message": message})


def record_not_found(model: str, record_id: Any) -> ConcordError:
    return not_found(f"No query results for model [{model}] {record_id}")


def conflict(message: str, *, pretty: bool = True) -> ConcordError:
    return ConcordError(409, {"message": message}, pretty=pretty)


def method_not_allowed(method: str, path: str, allowed: list[str]) -> ConcordError:
    """405 as Laravel's router answers it, `Allow` included; it comes before authentication."""
    shown = ", ".join(allowed)
    return ConcordError(405, {"message": f"The {method} method is not supported for route {path.lstrip('/')}. "
                                         f"Supported methods: {shown}."}, headers={"Allow": shown})


def too_many(retry_after: int, reset_at: int, limit: int) -> ConcordError:
    return ConcordError(429, {"message": TOO_MANY}, headers={
        "Retry-After": str(retry_after), "X-RateLimit-Reset": str(reset_at), "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0"})


def invalid(errors: Mapping[str, list[str]]) -> ConcordError:
    """422 in Laravel's validation shape: the first message, `(and N more errors)`, and every message by key."""
    messages = [m for items in errors.values() for m in items]
    first = messages[0] if messages else "The given data was invalid."
    more = len(messages) - 1
    if more > 0:
        first += f" (and {more} more error{'s' if more > 1 else ''})"
    return ConcordError(422, {"message": first, "errors": {k: list(v) for k, v in errors.items()}}, pretty=False)


def invalid_field(key: str, message: str) -> ConcordError:
    return invalid({key: [message]})
