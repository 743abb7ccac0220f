"""The outbox: one row per committed change, written on the caller's connection inside its transaction,
so a change that commits always has its event and a change that rolls back never does.

Writing is deliberately cheap (one INSERT per change, one multi-row INSERT for a mass operation): which
subscriptions want an event is decided later, by the delivery worker's fan-out. Only a change that no active
subscription could want (none to its entity type and action) writes nothing at all: a subscription never
receives changes from before it was made, so such an event could only be dropped at fan-out, after a write,
a read and a delete of its row.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import Select, bindparam, literal, or_, select
from sqlalchemy.engine import Connection

from polycrm.events.model import Action, Event
from polycrm.meta import Entity, ValueKind
from polycrm.store.database import Database
from polycrm.store.statements import StatementCache

# Bookkeeping EspoCRM leaves out of change detection (specs/espocrm.md §9.2).
NOT_A_CHANGE = frozenset({"modifiedAt", "modifiedById", "modifiedByName", "versionNumber", "streamUpdatedAt",
                          "isFollowed", "isStarred", "followersIds", "followersNames"})
# The outbox columns a change writes (the id is the table's own).
EVENT_COLUMNS = ("entity_type", "record_id", "action", "actor_id", "before", "after", "created_at", "fanned_out")
# The subscription actions that consume each kind of event (a field's updates come as update events).
CONSUMING_ACTIONS = {Action.CREATE: ("create",), Action.UPDATE: ("update", "fieldUpdate"), Action.DELETE: ("delete",)}


def precise_utcnow() -> datetime:
    """Naive UTC with microseconds: event and delivery times measure latency and backoff."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def encode_values(values: Mapping[str, Any]) -> str:
    """JSON of record values (datetimes and dates as ISO strings; `decode_values` turns them back)."""
    return orjson.dumps(dict(values), option=orjson.OPT_NON_STR_KEYS).decode()


def decode_values(entity: Entity | None, raw: str | None) -> dict[str, Any] | None:
    """Record values from `encode_values`, with dates and datetimes as Python values again."""
    if raw is None:
        return None
    values = orjson.loads(raw)
    if entity is None:
        return values
    for name, value in values.items():
        attribute = entity.attributes.get(name)
        if attribute is None or not isinstance(value, str):
            continue
        if attribute.kind is ValueKind.DATETIME:
            values[name] = datetime.fromisoformat(value)
        elif attribute.kind is ValueKind.DATE:
            values[name] = date.fromisoformat(value)
    return values


class Outbox:
    """Records changes of records as events, on the connection (and in the transaction) of the change."""

    def __init__(self, database: Database):
        self.database = database
        self._listener_queries: StatementCache[Select[Any]] = StatementCache()

    def listened(self, conn: Connection, entity: str, action: Action) -> bool:
        """Whether an active subscription (of any protocol) wants `action` events of `entity` at all: the
        fan-out decides which of them get each event. Asked on the change's own connection, so on SQLite,
        whose writers take turns, a subscription is either made before the change or sees none of it. On
        PostgreSQL a subscription committed while a change is under way may miss that change's event."""
        webhooks = self.database.table("webhook")
        query = self._listener_queries.get((webhooks, action), lambda: select(literal(1)).where(
            webhooks.c.entity_type == bindparam("entity"),
            or_(*(webhooks.c.action == name for name in CONSUMING_ACTIONS[action])),
            webhooks.c.is_active.is_(True), webhooks.c.deleted.is_(False)).limit(1))
        return conn.execute(query, {"entity": entity}).first() is not None

    def _insert(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        self.database.bulk_insert(self.database.table("webhook_event"), EVENT_COLUMNS).execute(conn, rows)

    @staticmethod
    def _row(entity: str, record_id: int, action: Action, actor_id: int | None, before: str | None,
             after: str | None, now: datetime) -> tuple[Any, ...]:
        """An outbox row, in `EVENT_COLUMNS` order."""
        return entity, record_id, action.value, actor_id, before, after, now, False

    def created(self, conn: Connection, entity: str, actor_id: int | None, ids: Sequence[int],
                saved: Iterable[Mapping[str, Any]], late: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Records were inserted. `saved` gives each one's values as saved, without its id and the `late`
        attributes (name -> value per record) taken inside the transaction, as the id was: those are added
        here, last. It is only iterated when the event is listened to."""
        if not self.listened(conn, entity, Action.CREATE):
            return
        now = precise_utcnow()
        rows = []
        for index, (record_id, values) in enumerate(zip(ids, saved)):
            after = {**values, **{name: late_values[index] for name, late_values in (late or {}).items()},
                     "id": record_id}
            rows.append(self._row(entity, record_id, Action.CREATE, actor_id, None, encode_values(after), now))
        self._insert(conn, rows)

    def updated(self, conn: Connection, entity: str, actor_id: int | None, record_id: int,
                before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """A record changed: `after` holds the new values of the changed attributes, `before` the old ones.
        Bookkeeping attributes alone are not a change: then nothing is recorded."""
        changed = {k: v for k, v in after.items() if k not in NOT_A_CHANGE}
        if not changed or not self.listened(conn, entity, Action.UPDATE):
            return
        old = {k: before.get(k) for k in changed}
        self._insert(conn, [self._row(entity, record_id, Action.UPDATE, actor_id, encode_values(old),
                                      encode_values(changed), precise_utcnow())])

    def deleted(self, conn: Connection, entity: str, actor_id: int | None, ids: Iterable[int]) -> None:
        if not self.listened(conn, entity, Action.DELETE):
            return
        now = precise_utcnow()
        self._insert(conn, [self._row(entity, record_id, Action.DELETE, actor_id, None, None, now)
                            for record_id in ids])


def event_from_row(row: Any, entity: Entity | None) -> Event:
    """An outbox row as an `Event` (values decoded for the entity's attribute kinds)."""
    return Event(id=int(row.id), entity_type=row.entity_type, record_id=int(row.record_id),
                 action=Action(row.action), actor_id=row.actor_id, before=decode_values(entity, row.before),
                 after=decode_values(entity, row.after), created_at=row.created_at)
