"""One ITFlow request as its handlers see it: the parsed query and body, the key and its client scope
(specs/itflow.md §2 steps 8-10, §4), and paging."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from polycrm.auth.acl import Actor
from polycrm.auth.itflow_keys import ItflowKey
from polycrm.dialects.itflow.php import intval, is_set

DEFAULT_LIMIT = 50
# ITFlow has no upper bound; PolyCRM refuses a page bigger than this (with ITFlow's failure envelope and a
# reason) rather than build it in memory.
MAX_LIMIT = 10_000
ALL_CLIENTS = 0


def parse_query(raw: bytes) -> dict[str, str]:
    """PHP's `$_GET` for plain keys: `+` is a space, the last of repeated keys wins."""
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"))


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The body decoded as JSON whatever its Content-Type (§2 step 2); anything but a JSON object (form
    fields, invalid JSON or UTF-8, an empty body) has no fields. JSON null values count as absent."""
    if not raw:
        return {}
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(slots=True)
class ItflowRequest:
    module: str
    function: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    key: ItflowKey
    actor: Actor
    ip: str
    user_agent: str
    warnings: list[str] = field(default_factory=list)  # what was done otherwise than asked (X-PolyCRM-Warning)

    @property
    def limit(self) -> int:
        return self._paging("limit", DEFAULT_LIMIT)

    @property
    def offset(self) -> int:
        return self._paging("offset", 0)

    def _paging(self, name: str, default: int) -> int:
        if name in self.query:
            return intval(self.query[name])
        return intval(self.body[name]) if is_set(self.body, name) else default

    @property
    def all_clients(self) -> bool:
        return self.key.client_id == ALL_CLIENTS

    def read_client(self) -> int | None:
        """The client reads are limited to, None for every client (ITFlow's `LIKE '%'`): a scoped key's own
        client, else the query's client_id when given (0 or a non-number: client 0's rows)."""
        if not self.all_clients:
            return self.key.client_id
        return intval(self.query["client_id"]) if "client_id" in self.query else None

    def write_client(self) -> int:
        """The client writes act on: a scoped key's own, else the body's client_id, else 0 (§2 step 10)."""
        if not self.all_clients:
            return self.key.client_id
        return intval(self.body["client_id"]) if is_set(self.body, "client_id") else ALL_CLIENTS

    def given(self, name: str) -> bool:
        return is_set(self.body, name)

    def log_name(self) -> str:
        """The key's name as ITFlow writes it into log texts (HTML entities encoded)."""
        return escape(self.key.name or "", quote=True)
