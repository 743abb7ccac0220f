"""One InflowCRM request as handlers see it: the actor, the JSON body or the form with its uploads, and the
shape of the answer (`Reply`), plus the request-level checks shared by the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping

from starlette.requests import Request

from polycrm.auth.acl import Actor
from polycrm.core.values import parse_non_negative
from polycrm.dialects.inflow.envelope import Page, invalid
from polycrm.dialects.multipart import FormContent

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_PAGE = 10_000_000


@dataclass(slots=True)
class InflowRequest:
    request: Request
    actor: Actor
    body: dict[str, Any]  # the JSON object sent ({} when there is none)
    form: FormContent | None = None  # multipart or urlencoded bodies

    def path(self, name: str) -> str:
        return self.request.path_params[name]


@dataclass(slots=True)
class Reply:
    """A success: `data`, with `meta` (pagination when `page` is set) unless `meta` is False."""

    data: Any
    status: int = 200
    page: Page | None = None
    meta: bool = True
    headers: dict[str, str] = dataclass_field(default_factory=dict)


def positive_int(body: Mapping[str, Any], key: str, default: int, maximum: int) -> int:
    """An integer request field in 1..maximum; 400 VALIDATION_ERROR for anything else (numeric strings and
    integral numbers are accepted, as loosely typed clients send them)."""
    value = body.get(key)
    if value is None:
        return default
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        # Bounded before converting (int() refuses over 4300 digits); past int64 is past every maximum.
        number = parse_non_negative(value.strip())
        if number is None:
            number = maximum + 1
    if number is None or number < 1:
        raise invalid(key, f"{key} must be an integer of at least 1")
    if number > maximum:
        raise invalid(key, f"{key} must be at most {maximum}")
    return number


def paging(body: Mapping[str, Any]) -> tuple[int, int]:
    """(page, limit) of a list request: defaults 1 and 50, limit at most 200 (§7)."""
    return positive_int(body, "page", 1, MAX_PAGE), positive_int(body, "limit", DEFAULT_LIMIT, MAX_LIMIT)


def grouped(pairs: list[tuple[str, str]]) -> dict[str, list[Any]]:
    """Form fields by name, keeping repeated keys' values in order."""
    items: dict[str, list[Any]] = {}
    for key, value in pairs:
        items.setdefault(key, []).append(value)
    return items
