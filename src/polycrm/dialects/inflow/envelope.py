"""InflowCRM's wire envelopes (specs/inflowcrm.md §2): `{"data", "meta"}` on success, `{"error": {code,
message, details}}` on failure, and the mapping of core errors onto codes and statuses."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from polycrm.core.errors import (BadRequest, Conflict, Forbidden, NotFound, PolyError, Unauthorized,
                                 ValidationFailure)

VALIDATION_ERROR = "VALIDATION_ERROR"
VALIDATION_FAILED = "Validation failed"
INVALID_API_KEY = "Invalid API key"
RATE_LIMITED = "Rate limit exceeded. Please try again later."
OPERATION_RATE_LIMITED = "Rate limit exceeded for this operation. Please try again later."
# Deprecated `/integration/*` aliases (§12): when they are planned to go, in the snake_case shape of the docs.
SUNSET_DATE = "2027-12-31"
SUNSET_HTTP_DATE = "Fri, 31 Dec 2027 23:59:59 GMT"

_KIND_MESSAGES = {
    "required": "{} is required",
    "maxLength": "{} is too long",
    "emailAddress": "{} must be a valid email address",
    "min": "{} is below the allowed minimum",
    "max": "{} is above the allowed maximum",
    "array": "{} must be an array",
    "arrayOfString": "{} must be an array of strings",
    "maxItemLength": "{} has an item that is too long",
    "validCurrency": "{} has an unknown currency",
}


class InflowError(Exception):
    """A failure answered with InflowCRM's error envelope."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def field_errors(errors: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """`details` as the docs show it for validation: `[{"field": ..., "errors": [...]}]`."""
    return [{"field": name, "errors": list(messages)} for name, messages in errors.items()]


def invalid(field: str, message: str) -> InflowError:
    """400 VALIDATION_ERROR about one request field."""
    return InflowError(400, VALIDATION_ERROR, message, field_errors({field: [message]}))


def invalid_fields(errors: Mapping[str, list[str]]) -> InflowError:
    """400 VALIDATION_ERROR naming every bad field."""
    return InflowError(400, VALIDATION_ERROR, VALIDATION_FAILED, field_errors(errors))


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def deprecation(replacement: str) -> dict[str, str]:
    return {"message": f"This endpoint is deprecated. Use {replacement}.", "sunset_date": SUNSET_DATE,
            "replacement_endpoint": replacement}


@dataclass(frozen=True, slots=True)
class Page:
    """`meta.pagination` of a list: page and limit as asked, the total and the page count."""

    page: int
    limit: int
    total: int

    def meta(self) -> dict[str, int]:
        return {"page": self.page, "limit": self.limit, "total": self.total,
                "pages": math.ceil(self.total / self.limit) if self.limit else 0}


def from_core(exc: PolyError, api_names: Mapping[str, str] | None = None) -> InflowError:
    """The InflowCRM form of a core error; validation failures name the field by its API name."""
    if isinstance(exc, ValidationFailure):
        name = (api_names or {}).get(exc.field, exc.field)
        template = _KIND_MESSAGES.get(exc.kind, "{} has an invalid value")
        return invalid_fields({name: [template.format(name)]})
    if isinstance(exc, BadRequest):
        return InflowError(400, VALIDATION_ERROR, exc.reason or VALIDATION_FAILED)
    if isinstance(exc, Unauthorized):
        return InflowError(401, "UNAUTHORIZED", INVALID_API_KEY)
    if isinstance(exc, Forbidden):
        return InflowError(403, "FORBIDDEN", exc.reason or "Access denied")
    if isinstance(exc, NotFound):
        return InflowError(404, "NOT_FOUND", "Record not found or has been deleted")
    if isinstance(exc, Conflict):
        return InflowError(409, "CONFLICT", exc.reason or "Duplicate or conflicting data")
    return InflowError(500, "INTERNAL_SERVER_ERROR", "Internal server error")
