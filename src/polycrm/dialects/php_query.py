"""PHP's `parse_str` and `intval`: how EspoCRM and Concord CRM (Laravel) read a query string or a form body
(specs/espocrm.md §2.4(1), specs/concord.md §9 `filters`).

EspoCRM clients rely on its exact behaviour: `where[0][value][]=a` nests and appends, a repeated plain key
keeps the last value, `.` and space in a top-level name become `_`, and an array whose keys are exactly
0..n-1 in order is a list. Every leaf value is a string. Hostile input is bounded (nesting depth and
number of parameters) and only ever fails with `BadRequest`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from polycrm.core.errors import BadRequest

MAX_DEPTH = 32  # bracket levels below the top-level name (PHP's max_input_nesting_level is 64)
MAX_PARAMS = 1000  # as PHP's max_input_vars
INT64_MAX = 2 ** 63 - 1

# PHP turns a key into an integer key only in this canonical decimal form ("05" and "-0" stay strings).
_INTEGER_KEY = re.compile(r"-?(?:0|[1-9][0-9]{0,18})")
_LEADING_INTEGER = re.compile(r"[ \t\n\r\v\f]*([+-]?)([0-9]+)")


def parse_php_query(query: str) -> dict[str, Any]:
    """`a[b][]=1&c=2` -> `{"a": {"b": ["1"]}, "c": "2"}`, exactly as PHP's `parse_str` builds it.

    Raises BadRequest for more than MAX_PARAMS parameters or more than MAX_DEPTH bracket levels.
    """
    root = _PhpArray()
    count = 0
    for chunk in query.split("&"):
        if not chunk:
            continue
        count += 1
        if count > MAX_PARAMS:
            raise BadRequest("Too many query parameters.")
        raw_key, _, raw_value = chunk.partition("=")
        path = _key_path(unquote_plus(raw_key, errors="replace"))
        if path is not None:
            root.store(path, unquote_plus(raw_value, errors="replace"))
    return {str(key): _finish(value) for key, value in root.items.items()}


def php_intval(value: Any) -> int:
    """PHP `intval` of a decoded request value: a string's leading integer (else 0), saturated to int64."""
    if isinstance(value, (bool, int)):
        return max(-INT64_MAX, min(INT64_MAX, int(value)))
    if isinstance(value, float):
        return int(value) if abs(value) < INT64_MAX else 0
    if isinstance(value, (list, dict)):
        return 1 if value else 0  # PHP: a non-empty array is 1
    if not isinstance(value, str):
        return 0
    match = _LEADING_INTEGER.match(value)
    if match is None:
        return 0
    sign, digits = match.groups()
    magnitude = INT64_MAX if len(digits) > 18 else int(digits)  # bounded: no huge int() conversions
    return -magnitude if sign == "-" else magnitude


class _PhpArray:
    """An ordered PHP array: int and str keys, plus the next index `[]` appends at."""

    __slots__ = ("items", "next_index")

    def __init__(self) -> None:
        self.items: dict[int | str, Any] = {}
        self.next_index = 0

    def store(self, path: list[str | None], value: str) -> None:
        """Set `value` at `path` (None = append), creating arrays on the way and replacing scalars in it."""
        node = self
        for key in path[:-1]:
            node = node._child(key)
        node._put(path[-1], value)

    def _child(self, key: str | None) -> "_PhpArray":
        if key is not None:
            existing = self.items.get(_php_key(key))
            if isinstance(existing, _PhpArray):
                return existing
        child = _PhpArray()
        self._put(key, child)
        return child

    def _put(self, key: str | None, value: Any) -> None:
        php_key = self.next_index if key is None else _php_key(key)
        self.items[php_key] = value
        if isinstance(php_key, int) and php_key >= self.next_index:
            self.next_index = php_key + 1


def _php_key(key: str) -> int | str:
    return int(key) if _INTEGER_KEY.fullmatch(key) and key != "-0" and abs(int(key)) <= INT64_MAX else key


def _key_path(raw: str) -> list[str | None] | None:
    """A decoded key -> [top-level name, index, ...] (None for `[]`), or None when PHP skips the key.

    Mirrors `php_register_variable_ex`: the name ends at a NUL byte, leading spaces are dropped, `.` and
    space in the top-level name become `_`, text after a `]` not followed by `[` is ignored, and an
    unterminated `[` is no index: in the first one it becomes `_` (`a[b` -> `a_b`), later ones are dropped.
    """
    name = raw.split("\0", 1)[0].lstrip(" ")
    bracket = name.find("[")
    top = _mangle(name if bracket < 0 else name[:bracket])
    if not top:
        return None
    path: list[str | None] = [top]
    position = bracket
    while position >= 0:
        if len(path) > MAX_DEPTH:
            raise BadRequest("Query is nested too deeply.")
        start = position + 1
        probe = start + 1 if name.startswith(" ", start) else start  # PHP reads `[ ]` as `[]`
        close = name.find("]", probe)
        if close < 0:
            if len(path) == 1:
                return [top + "_" + _mangle(name[start:]).replace("[", "_")]
            break
        path.append(None if close == probe else name[start:close])
        position = close + 1 if name.startswith("[", close + 1) else -1
    return path


def _mangle(name: str) -> str:
    return name.replace(".", "_").replace(" ", "_")


def _finish(value: Any) -> Any:
    """Leaves stay strings; an array keyed exactly 0..n-1 in order becomes a list, any other a dict."""
    if not isinstance(value, _PhpArray):
        return value
    keys = list(value.items)
    if keys == list(range(len(keys))):
        return [_finish(item) for item in value.items.values()]
    return {str(key): _finish(item) for key, item in value.items.items()}
