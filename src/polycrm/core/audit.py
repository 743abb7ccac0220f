"""The audit log (ITFlow's `logs` table, specs/itflow.md §7): what was done through which key, from where.

Entries are AuditLogEntry records written by the core alone, never through a record service: every API shows
them read-only, to administrators only (auth.acl). An entry is written inside the transaction of the change it
tells of, or on its own (a failed authentication, which changes nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from polycrm.query.tree import TRUE, Compare, Node, Op, Sort, conjunction
from polycrm.store.database import utcnow
from polycrm.store.records import RecordRepository

AUDIT_ENTITY = "AuditLogEntry"
# ITFlow's column widths: longer texts are cut, as ITFlow's logAction cuts them.
TEXT_LIMITS = {"type": 200, "action": 255, "description": 1000, "ipAddress": 200, "userAgent": 250}


def _cut(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value.replace("\x00", "")[:limit]  # PostgreSQL stores no NUL; a header may carry one


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which entries `AuditLog.entries` returns, newest first."""

    client_id: int | None = None
    type: str | None = None
    since: datetime | None = None
    limit: int = 50


class AuditLog:
    """Writes and reads the audit log of one store."""

    def __init__(self, repository: RecordRepository):
        self.database = repository.database
        self.repository = repository

    def record(self, type: str, action: str, description: str, *, client_id: int = 0, entity_id: int = 0,
               user_id: int = 0, ip: str | None = None, user_agent: str | None = None,
               conn: Connection | None = None) -> int:
        """Write an entry (in `conn`'s transaction when given, else in its own) and return its id. Ids 0
        mean none, as in ITFlow: a client or user of 0 is stored as no link."""
        values: dict[str, Any] = {
            "type": _cut(type, TEXT_LIMITS["type"]), "action": _cut(action, TEXT_LIMITS["action"]),
            "description": _cut(description, TEXT_LIMITS["description"]),
            "ipAddress": _cut(ip, TEXT_LIMITS["ipAddress"]), "userAgent": _cut(user_agent, TEXT_LIMITS["userAgent"]),
            "createdAt": utcnow(), "accountId": client_id or None, "userId": user_id or None,
            "entityId": entity_id, "versionNumber": 1}
        if conn is not None:
            return self.repository.insert(conn, values)
        with self.database.transaction() as own:
            return self.repository.insert(own, values)

    def entries(self, query: AuditQuery) -> list[dict[str, Any]]:
        """Entries newest first: of one client (0: those of no client), of one type, since a time."""
        conditions: list[Node] = [TRUE]
        if query.client_id is not None:
            conditions.append(Compare("accountId", Op.EQ, query.client_id) if query.client_id
                              else Compare("accountId", Op.IS_NULL))
        if query.type is not None:
            conditions.append(Compare("type", Op.EQ, query.type))
        if query.since is not None:
            conditions.append(Compare("createdAt", Op.GE, query.since))
        with self.database.connect() as conn:
            return self.repository.fetch_rows(conn, conjunction(conditions),
                                              sorts=[Sort("createdAt", True), Sort("id", True)], limit=query.limit)
