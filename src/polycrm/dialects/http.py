"""HTTP helpers shared by every dialect: bounded body reading, the NUL rule for bodies, fast JSON responses."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from polycrm.core.values import nul_location, parse_non_negative

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


def json_bytes(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


class JSONResponse(Response):
    """orjson-encoded JSON; most of an API's CPU goes into encoding, so use the fastest encoder."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_bytes(content)
