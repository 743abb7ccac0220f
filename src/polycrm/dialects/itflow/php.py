"""PHP's value semantics, as ITFlow's API applies them to request values (specs/itflow.md §5);
`json_encode` is in `dialects.php_json`.

Request values arrive JSON-decoded (str, int, float, bool, list, dict) or as query-string text. Each
function here answers what the PHP built-in of the same name answers for such a value, so that a script
sending `"client_id" : "10"`, `"asset_vendor_id" : ""` or `"limit" : "10abc"` sees ITFlow's outcome.
"""

from __future__ import annotations

import math
import re
from typing import Any

# PHP ints are 64-bit; intval saturates beyond them.
PHP_INT_MAX = 2**63 - 1
PHP_INT_MIN = -(2**63)
# trim()'s default character list.
_TRIMMED = " \t\n\r\0\x0b"
# The numeric prefix intval/floatval read from a string (leading whitespace, sign, digits, fraction, exponent).
_NUMERIC_PREFIX = re.compile(r"[ \t\n\r\x0b\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)")
_NON_DIGITS = re.compile(r"\D+")


def is_set(body: dict[str, Any], key: str) -> bool:
    """PHP `isset($body[$key])`: present and not null."""
    return body.get(key) is not None


def is_empty(value: Any) -> bool:
    """PHP `empty()`: "", "0", 0, 0.0, null, false and empty arrays are empty."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return value in ("", "0")
    if isinstance(value, (int, float)):
        return value == 0
    if isinstance(value, (list, dict)):
        return not value
    return False


def intval(value: Any) -> int:
    """PHP `intval()`: the integer prefix of a string ("12abc" -> 12, "abc" -> 0, "1e3" -> 1000), floats
    truncated, booleans 0/1, arrays 0 when empty else 1; saturating at PHP's 64-bit range."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return _saturate(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return 0
        return _saturate(int(value))
    if isinstance(value, (list, dict)):
        return 1 if value else 0
    match = _NUMERIC_PREFIX.match(str(value))
    if not match:
        return 0
    text = match.group(1)
    if text.lstrip("+-").isdigit():
        return _saturate(int(text))
    number = float(text)
    return 0 if math.isinf(number) else _saturate(int(number))


def floatval(value: Any) -> float:
    """PHP `floatval()`: the numeric prefix of a string, 0.0 when there is none."""
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, (int, float)):
        number = float(value)
        return 0.0 if math.isnan(number) else number
    if isinstance(value, (list, dict)):
        return 1.0 if value else 0.0
    match = _NUMERIC_PREFIX.match(str(value))
    return float(match.group(1)) if match else 0.0


def _saturate(number: int) -> int:
    return max(PHP_INT_MIN, min(PHP_INT_MAX, number))


def to_text(value: Any) -> str:
    """PHP's string conversion of a scalar: true "1", false "", 1.0 "1"; arrays are refused by the caller."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def trim(text: str) -> str:
    return text.strip(_TRIMMED)


def strip_tags(text: str) -> str:
    """PHP `strip_tags()`: drops HTML and PHP tags and comments. A `<` followed by whitespace is text, quotes
    inside a tag do not end it, and an unclosed tag drops the rest of the text (as PHP does)."""
    if "<" not in text and ">" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "<":
            if i + 1 < n and text[i + 1].isspace():
                out.append(char)
                i += 1
                continue
            i = _skip_tag(text, i)
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _skip_tag(text: str, start: int) -> int:
    """The index after the tag, comment or PHP block opening at `start`."""
    if text.startswith("<!--", start):
        end = text.find("-->", start + 4)
        return len(text) if end < 0 else end + 3
    if text.startswith("<?", start):
        end = text.find("?>", start + 2)
        return len(text) if end < 0 else end + 2
    depth, quote, i = 1, "", start + 1
    while i < len(text):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def sanitize_input(value: Any) -> str:
    """ITFlow's `sanitizeInput` without its SQL escaping (PolyCRM binds values): tags stripped, trimmed."""
    return trim(strip_tags(to_text(value)))


def digits_only(value: Any) -> str:
    """ITFlow's phone rule: every non-digit removed (tags are not stripped first; they vanish as non-digits)."""
    return _NON_DIGITS.sub("", to_text(value))


def var_dump_string(text: str) -> bytes:
    """PHP `var_dump()` of a string: `string(N) "text"` and a newline, N counting UTF-8 bytes."""
    raw = text.encode("utf-8", "surrogateescape")
    return b'string(%d) "%s"\n' % (len(raw), raw)
