"""Typed errors of the core. Each dialect maps them onto its own wire envelope; core knows no HTTP."""

from __future__ import annotations

from typing import Any


class PolyError(Exception):
    """Base of every expected failure; `reason` is a short, client-safe sentence."""

    def __init__(self, reason: str = ""):
        super().__init__(reason)
        self.reason = reason


class BadRequest(PolyError):
    """The request is malformed or names something that does not exist (unknown attribute, bad value)."""


class ValidationFailure(BadRequest):
    """A field value failed validation (EspoCRM's `validationFailure`)."""

    def __init__(self, entity: str, field: str, kind: str, detail: str = ""):
        """`detail`, a client-safe sentence, follows the reason (EspoCRM's X-Status-Reason) when given."""
        super().__init__(f"Field validation failure; entityType: {entity}, field: {field}, type: {kind}."
                         + (f" {detail}" if detail else ""))
        self.entity = entity
        self.field = field
        self.kind = kind
        self.detail = detail


class Unauthorized(PolyError):
    """No valid credentials."""


class Forbidden(PolyError):
    """Credentials are valid but the action is not allowed."""


class WrongDecryptPassword(Forbidden):
    """The decrypt password given with an ITFlow key does not open its credential vault (core.vault.unlock)."""


class UnreadableSecret(PolyError):
    """A stored secret does not decrypt under the vault's key: it was altered in the database."""


class NotFound(PolyError):
    """The record, entity type or link does not exist (or is not visible)."""


class Conflict(PolyError):
    """The change conflicts with the current state."""


class DuplicateFound(Conflict):
    """Create would duplicate existing records; `records` are their attribute maps."""

    def __init__(self, records: list[dict[str, Any]]):
        super().__init__("duplicate")
        self.records = records


class VersionConflict(Conflict):
    """Optimistic locking: the client's version is stale."""

    def __init__(self, values: dict[str, Any], version: int):
        super().__init__("modified")
        self.values = values
        self.version = version
