"""HTTP helpers shared by every dialect: bounded body reading, the NUL rule for bodies, fast JSON responses,
and the request log (request ids, the user, one access line per request)."""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any, MutableMapping

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, clear_contextvars

from polycrm.core.errors import ValidationFailure
from polycrm.core.values import nul_location, parse_non_negative
from polycrm.logs import loggable_target, printable

# JSON can carry NUL only as this escape (a raw control character is invalid JSON), so a body without it
# needs no walk.
JSON_NUL_ESCAPE = b"\\u0000"


class BodyTooLarge(Exception):
    """The request body exceeds the configured limit; nothing of it is processed."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing it as soon as it exceeds `limit` bytes (the header may lie or be absent)."""
    declared = request.headers.get("content-length")
    declared_size = parse_non_negative(declared) if declared is not None else None
    if declared_size is not None and declared_size > limit:
        raise BodyTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def body_nul_location(raw: bytes, value: Any, *, json: bool) -> str | None:
    """Where a parsed request body holds a NUL character (see `core.values.nul_location`), or None.

    Every dialect refuses such a body before anything reads it: no text PolyCRM stores may contain NUL
    (PostgreSQL cannot store it, SQLite would keep it), whichever field, form part or protocol it arrives
    in. Core validation refuses it again for callers that do not come through a dialect."""
    if json and JSON_NUL_ESCAPE not in raw:
        return None
    return nul_location(value)


def header_text(text: str, limit: int) -> str:
    """Text a client sent, made safe for a response header (which is latin-1 bytes): non-printable characters
    become spaces (as EspoCRM does), non-ASCII is escaped (`\\u00e9`), at most `limit` characters."""
    printable = "".join(c if c.isprintable() else " " for c in text)
    return printable.encode("ascii", "backslashreplace").decode("ascii")[:limit]


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(Response):
    """orjson-encoded JSON; most of an API's CPU goes into encoding, so use the fastest encoder."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


# --- the request log ------------------------------------------------------------------------------------------

access_log = logging.getLogger("polycrm.access")
auth_log = logging.getLogger("polycrm.auth")
REQUEST_ID_HEADER = b"x-request-id"
# An id a proxy sent is kept when it is short and made of characters that are safe in a header and a log.
INCOMING_REQUEST_ID = re.compile(rb"[A-Za-z0-9._:+=/@-]{1,128}")
USER_SCOPE_KEY = "polycrm.user"  # where the dialects leave who authenticated, for the access line


def client_address(request: Request) -> str:
    """The client's address (as uvicorn gives it, trusted proxies applied), "-" when there is none: what
    rate limits and failed logins count by and logs name."""
    return request.client.host if request.client else "-"


def bind_user(scope: MutableMapping[str, Any], user_name: str, user_id: int) -> None:
    """Name the authenticated user on the lines logged from here on in this request, and on its access line."""
    scope[USER_SCOPE_KEY] = (user_name, user_id)
    bind_contextvars(user=user_name, user_id=user_id)


def log_auth_failure(message: str, scheme: str, user_name: str | None, client: str, *,
                     level: int = logging.WARNING) -> None:
    """A refused authentication: the scheme, the user name tried (never the password, key or token), the
    client address."""
    if auth_log.isEnabledFor(level):
        auth_log.log(level, message, extra={"scheme": scheme, "client": client,
                                            "user_name": None if user_name is None else printable(user_name)})


def refusal_fields(exc: Exception) -> dict[str, Any]:
    """What a debug line about a refused request says beyond its reason: the field that failed validation
    (never its value)."""
    if isinstance(exc, ValidationFailure):
        return {"entity": exc.entity, "field": exc.field, "kind": exc.kind}
    return {}


class RequestLogging:
    """A pure ASGI middleware (no body buffering, streaming untouched): gives each HTTP request an id (a
    proxy's well-formed `X-Request-Id`, else a new one), binds it to every line logged while the request is
    handled, returns it in `X-Request-Id`, and logs one access line when the response is done."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # An id to find a request's lines by, not a secret: the pseudo-random generator is enough.
        request_id = _incoming_request_id(scope) or f"{random.getrandbits(96):024x}"
        clear_contextvars()  # nothing bound by an earlier request on this task's context
        bind_contextvars(request_id=request_id)
        id_header = (REQUEST_ID_HEADER, request_id.encode("latin-1"))
        status = 500  # what the server answers when the application fails before starting a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                user_name, user_id = scope.get(USER_SCOPE_KEY, (None, None))
                fields = {"method": scope["method"], "status": status,
                          "path": loggable_target(scope.get("raw_path") or scope["path"].encode(),
                                                  scope["query_string"]),
                          "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                          "user": user_name, "user_id": user_id, "client": client[0] if client else None}
                # Made and handled directly: `info()` would also look for its caller in the stack, which no
                # line shows (a quarter of the line's cost).
                access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, "", 0, "request", (), None,
                                                        extra=fields))


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value.decode("latin-1") if INCOMING_REQUEST_ID.fullmatch(value) else None
    return None
