"""One Concord API request as handlers see it: who calls, the resource, path values, query and body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from polycrm.auth.acl import Actor
from polycrm.dialects.concord.mapping import Resource

# `per_page` above this is refused (Concord takes any size; a page of a million rows is a mistake).
MAX_PER_PAGE = 1000
DEFAULT_PER_PAGE = 15


@dataclass
class ConcordRequest:
    actor: Actor | None  # None on the routes a guest may call (`POST /api/token`)
    method: str
    path: str  # e.g. /api/contacts
    base_url: str  # scheme://host, for pagination links
    ip: str
    params: dict[str, str]  # path values: resource, id, associated
    query: dict[str, Any]  # PHP-parsed query string
    raw_query: str
    body: Any = None
    resource: Resource | None = None
    token_id: int | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def user(self) -> Actor:
        """The caller, on routes that require authentication."""
        assert self.actor is not None, "an authenticated route"
        return self.actor

    @property
    def record_id(self) -> str:
        return self.params["id"]

    def text(self, name: str) -> str | None:
        """A query parameter that must be a plain value (a nested array counts as absent)."""
        value = self.query.get(name)
        return value if isinstance(value, str) else None
