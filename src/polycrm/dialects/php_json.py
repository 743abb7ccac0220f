"""PHP's `json_encode`, as ITFlow and Laravel (Concord CRM) answer: `/` escaped as `\\/`, every non-ASCII
character as a `\\u` escape of four hex digits (surrogate pairs beyond the BMP), compact or with
`JSON_PRETTY_PRINT`'s 4-space indent.

orjson does the encoding; only text that holds a `/` or a non-ASCII character is rewritten afterwards, so a
plain ASCII answer costs one orjson call.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_PRETTY = json.JSONEncoder(ensure_ascii=True, indent=4, separators=(",", ": "), allow_nan=False)


def _escape_non_ascii(match: re.Match[str]) -> str:
    return json.dumps(match.group(0))[1:-1]  # a four-hex-digit escape, or a surrogate pair


_NON_ASCII_TEXT = re.compile(r"[^\x00-\x7f]+")


def json_encode(value: Any) -> bytes:
    """PHP `json_encode($value)` with default flags: compact, no trailing newline."""
    encoded = orjson.dumps(value)
    if _NON_ASCII.search(encoded):
        encoded = _NON_ASCII_TEXT.sub(_escape_non_ascii, encoded.decode("utf-8")).encode("ascii")
    return encoded.replace(b"/", b"\\/")


def json_encode_pretty(value: Any) -> bytes:
    """PHP `json_encode($value, JSON_PRETTY_PRINT)`: what Laravel's exception handler renders."""
    return _PRETTY.encode(value).replace("/", "\\/").encode("ascii")
