"""One EspoCRM request as the handlers see it: who, what body, what query, and the wire conventions."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from polycrm.auth.acl import Actor
from polycrm.auth.schemes import CredentialVerifier, Login, LoginThrottled, MalformedCredentials, decode_user_password
from polycrm.core.errors import (BadRequest, Conflict, DuplicateFound, Forbidden, NotFound, PolyError, Unauthorized,
                                 ValidationFailure, VersionConflict)
from polycrm.dialects.php_query import parse_php_query
from polycrm.dialects.http import JSONResponse, body_nul_location, client_address, header_text, log_auth_failure

API_BASE = "/api/v1"


@dataclass(slots=True)
class EspoContext:
    request: Request
    actor: Actor
    login: Login
    body: dict[str, Any]
    raw_query: str

    @property
    def query(self) -> dict[str, Any]:
        return parse_php_query(self.raw_query)

    def header_true(self, name: str) -> bool:
        return self.request.headers.get(name, "").strip().lower() == "true"


def parse_body(request: Request, raw: bytes) -> dict[str, Any]:
    """EspoCRM's body rules (§0): JSON only with a JSON content type, forms as fields, else `{}`."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not raw.strip():
        return {}
    if content_type == "application/json":
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BadRequest("Body is not valid JSON.") from None
        _refuse_nul(body_nul_location(raw, value, json=True))
        if isinstance(value, list):
            return {"list": value}
        if not isinstance(value, dict):
            raise BadRequest("Body is not a JSON object.")
        return value
    if content_type == "application/x-www-form-urlencoded":
        try:
            form = parse_php_query(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise BadRequest("Body is not valid UTF-8.") from None
        _refuse_nul(body_nul_location(raw, form, json=False))
        return form
    return {}


def _refuse_nul(location: str | None) -> None:
    if location is not None:
        where = f" ('{location}')" if location else ""
        raise BadRequest(f"NUL characters are not allowed in the body{where}.")


def authenticate(request: Request, verifier: CredentialVerifier) -> Login:
    """Pick the scheme as EspoCRM does (§1): Espo-Authorization, X-Api-Key, X-Hmac-Authorization, Basic.
    Raises LoginThrottled when failed logins of the user name or client address are over budget. Failures
    are logged with the scheme, the user name tried and the client, never the secret."""
    headers = request.headers
    client = client_address(request)
    scheme, user = "none", None
    try:
        if "espo-authorization" in headers:
            scheme = "espo-authorization"
            user, secret = decode_user_password(headers["espo-authorization"])
            login = verifier.password_or_token(
                user, secret, client=client,
                token_only=headers.get("espo-authorization-by-token", "").lower() == "true", issue_token=True)
        elif "x-api-key" in headers:
            scheme = "api-key"
            login = verifier.api_key(headers["x-api-key"].strip())
        elif "x-hmac-authorization" in headers:
            scheme = "hmac"
            raw_path = request.scope.get("raw_path") or request.url.path.encode()
            path = raw_path.decode("latin-1")
            resource = path[len(API_BASE):] if path.startswith(API_BASE) else path
            query = request.scope.get("query_string", b"").decode("latin-1")
            full = f"{path}?{query}" if query else path
            login = verifier.hmac(headers["x-hmac-authorization"], request.method, resource, full)
        elif headers.get("authorization", "").lower().startswith("basic "):
            scheme = "basic"
            user, secret = decode_user_password(headers["authorization"][6:])
            login = verifier.password_or_token(user, secret, client=client)
        else:
            login = None
    except MalformedCredentials as exc:
        log_auth_failure("malformed credentials", scheme, None, client)
        raise BadRequest(str(exc)) from None
    except LoginThrottled as exc:
        log_auth_failure(f"login refused: {exc.reason}", scheme, user, client)
        raise
    if login is None:
        # No credentials at all is how a browser or a client starts; only wrong ones are worth a warning.
        log_auth_failure("authentication failed", scheme, user, client, level=logging.WARNING if scheme != "none"
                         else logging.DEBUG)
        raise Unauthorized()
    return login


_headers_of_second: tuple[int, dict[str, str]] = (-1, {})


def success_headers() -> dict[str, str]:
    """EspoCRM's headers on every success; they change once a second, so they are built once a second."""
    global _headers_of_second
    second, headers = _headers_of_second
    now = int(time.time())
    if now != second:
        headers = {"Cache-Control": "no-store, no-cache, must-revalidate, post-check=0, pre-check=0",
                   "Expires": "0", "Last-Modified": formatdate(now, usegmt=True), "X-App-Timestamp": str(now)}
        _headers_of_second = (now, headers)
    return dict(headers)


def espo_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers = success_headers()
    if headers:
        all_headers.update(headers)
    return JSONResponse(value, status_code=status, headers=all_headers)


def error_response(exc: Exception, request: Request, render: Any = None) -> Response:
    """Map a core error to EspoCRM's envelope: status + X-Status-Reason, a body only where Espo has one."""
    if isinstance(exc, Unauthorized):
        headers = {}
        if request.headers.get("x-requested-with") != "XMLHttpRequest" and "referer" not in request.headers \
                and request.method != "POST":
            headers["WWW-Authenticate"] = 'Basic realm=""'
        return Response(status_code=401, headers=headers)
    if isinstance(exc, LoginThrottled):  # EspoCRM's answer to too many failed logins, with when to retry
        return Response(status_code=403, headers={"X-Status-Reason": header_text(exc.reason, 500),
                                                  "Retry-After": str(exc.retry_after)})
    status, body = 500, None
    if isinstance(exc, ValidationFailure):
        status = 400
        body = {"messageTranslation": {"label": "validationFailure", "scope": None,
                                       "data": {"field": exc.field, "type": exc.kind}}}
    elif isinstance(exc, BadRequest):
        status = 400
    elif isinstance(exc, Forbidden):
        status = 403
    elif isinstance(exc, NotFound):
        status = 404
    elif isinstance(exc, DuplicateFound):
        status = 409
        body = [render(r) if render and "_entityType" not in r else
                {k: (str(v) if k == "id" else v) for k, v in r.items()} for r in exc.records]
    elif isinstance(exc, VersionConflict):
        status = 409
        body = {"values": render(exc.values) if render else exc.values, "versionNumber": exc.version}
    elif isinstance(exc, Conflict):
        status = 409
    reason = exc.reason if isinstance(exc, PolyError) else "Internal Server Error"
    headers = {"X-Status-Reason": header_text(reason, 500)} if reason else {}
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def basic_header(user: str, secret: str) -> str:
    """`base64(user:secret)`; used by tests and the start-up banner to show how to authenticate."""
    return base64.b64encode(f"{user}:{secret}".encode()).decode()
