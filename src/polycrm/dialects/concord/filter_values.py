"""Reading the values of Concord `filters`: PHP arrays as lists, Laravel's input habits (strings trimmed, ""
read as null), and numbers, booleans and select options typed or refused with a FilterError."""

from __future__ import annotations

import math
import re
from typing import Any

import orjson

from polycrm.core.values import INT_RANGE, NUL
from polycrm.dialects.concord.filter_rules import FilterError, FilterRule

MAX_VALUES = 1000  # items of one rule's value
MAX_TEXT = 1000  # characters of one value
MAX_JSON = 100_000  # characters of a JSON-string `filters`

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")
_TRUE = frozenset({"1", "true", "on", "yes"})
_FALSE = frozenset({"0", "false", "off", "no"})


def decode_json(text: str) -> Any:
    """A JSON-string `filters` (kinder than Concord, which ignores it or fails)."""
    if not text.strip():
        return None
    if len(text) > MAX_JSON:
        raise FilterError("filters", f"The filters are too long (at most {MAX_JSON} characters).")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FilterError("filters", "The filters must be JSON or query parameters (filters[condition]=...).") \
            from None


def entries(raw: Any, key: str, limit: int) -> list[tuple[str, Any]] | None:
    """(key, item) pairs of a list, or of a PHP array with integer keys in their order; [] for nothing;
    None when `raw` is neither."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        pairs = [(f"{key}.{i}", item) for i, item in enumerate(raw)]
    elif isinstance(raw, dict) and all(isinstance(k, str) and _INTEGER.fullmatch(k) for k in raw):
        pairs = [(f"{key}.{k}", item) for k, item in raw.items()]
    else:
        return None
    if len(pairs) > limit:
        raise FilterError(key, f"Too many items (at most {limit}).")
    return pairs


def value_list(value: Any, key: str) -> list[Any]:
    """The items of a list value; a single value is a list of one (Concord fails on it)."""
    pairs = entries(value, key, MAX_VALUES)
    return [value] if pairs is None else [item for _, item in pairs]


def bounds(value: Any, key: str) -> tuple[Any, Any]:
    """The two bounds of between / not_between. Concord also refuses "0" (PHP finds it empty); we take it."""
    items = value_list(value, key)
    if len(items) != 2 or any(single(item, key) is None for item in items):
        raise FilterError(key, "The between value must contain exactly 2 non-empty items.")
    return items[0], items[1]


def single(value: Any, key: str) -> Any:
    """One value, trimmed as Laravel trims input; None for nothing (Laravel turns "" into null). Text with
    a NUL character is refused: PostgreSQL cannot compare with it, and no stored text holds one."""
    if isinstance(value, (dict, list)):
        raise FilterError(key, "The value must be a single value, not a list or an object.")
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise FilterError(key, f"The value is too long (at most {MAX_TEXT} characters).")
        if NUL in value:
            raise FilterError(key, "The value must not contain NUL characters.")
        return value.strip() or None
    return value


def as_text(value: Any) -> str | None:
    """A scalar as PHP turns it into a string (true is "1", false is "")."""
    if value is None or value is False:
        return None
    if value is True:
        return "1"
    return value if isinstance(value, str) else str(value)


def as_number(value: Any, rule: FilterRule, key: str) -> int | float:
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        text = value.strip()
        value = int(text) if _INTEGER.fullmatch(text) else float(text)
    if isinstance(value, int) and not isinstance(value, bool) and not INT_RANGE[0] <= value <= INT_RANGE[1]:
        value = float(value)  # no integer column or parameter holds it; a float compares as MySQL would
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FilterError(key, f'The value of "{rule.id}" must be a number.')
    return value


def as_boolean(value: Any, rule: FilterRule, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise FilterError(key, f'The value of "{rule.id}" must be true or false.')


def as_option(rule: FilterRule, value: Any, key: str) -> Any:
    """A select value through the rule's `values`; Concord matches an unknown one against nothing."""
    assert rule.values is not None
    text = as_text(value) or ""
    if text in rule.values:
        return rule.values[text]
    folded = {str(option).lower(): canonical for option, canonical in rule.values.items()}
    if text.lower() in folded:
        return folded[text.lower()]
    accepted = [*rule.values, *(["me"] if rule.me else [])]
    raise FilterError(key, f'The value of "{rule.id}" must be one of: {", ".join(map(str, accepted))}.')
