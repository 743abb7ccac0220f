"""Webhook subscriptions of every protocol in one table; secrets encrypted at rest with the KeyRing."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from polycrm.auth.secrets import KeyRing
from polycrm.events.model import DeliveryStatus, Subscription
from polycrm.events.outbox import precise_utcnow
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository

EDITABLE = {"url", "is_active", "skip_own", "description", "settings"}


class SubscriptionLimitReached(Exception):
    """A protocol's cap on subscriptions to one event of one entity type is reached."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} subscriptions per entity type and event")
        self.limit = limit


class SubscriptionStore:
    """Create, read, change and remove subscriptions."""

    def __init__(self, database: Database, keyring: KeyRing):
        self.database = database
        self.keyring = keyring

    @property
    def table(self) -> Any:
        return self.database.table("webhook")

    def from_row(self, row: Row) -> Subscription:
        return Subscription(id=int(row.id), protocol=row.protocol, event=row.event, entity_type=row.entity_type,
                            action=row.action, field=row.field, url=row.url, secret=self.keyring.decrypt(row.secret),
                            owner_id=row.owner_id, skip_own=bool(row.skip_own), is_active=bool(row.is_active),
                            description=row.description, settings=orjson.loads(row.settings or "{}"),
                            disabled_reason=row.disabled_reason, consecutive_failures=int(row.consecutive_failures),
                            created_at=row.created_at, modified_at=row.modified_at, created_by_id=row.created_by_id,
                            uid=row.uid)

    def create(self, *, protocol: str, event: str, entity_type: str, action: str, field: str | None, url: str,
               secret: str, owner_id: int | None, created_by_id: int | None, skip_own: bool = False,
               is_active: bool = True, description: str | None = None,
               settings: dict[str, Any] | None = None) -> Subscription:
        values = dict(protocol=protocol, event=event, entity_type=entity_type, action=action, field=field, url=url,
                      secret=secret, owner_id=owner_id, created_by_id=created_by_id, skip_own=skip_own,
                      is_active=is_active, description=description, settings=settings)
        with self.database.transaction() as conn:
            new_id = self._insert(conn, values)
        return self._stored(new_id)

    def create_once(self, *, limit: int, **values: Any) -> tuple[Subscription, bool]:
        """`create`, unless the owner already has an active subscription to the same URL, entity type,
        action and field: then that one, and False (a disabled one is left as it is). Refuses
        (SubscriptionLimitReached) a new one past `limit` live subscriptions of the protocol to that entity
        type and action. The check and the insert are one transaction behind a counter-row lock, so
        concurrent requests cannot both pass it."""
        t = self.table
        same_event = [t.c.protocol == values["protocol"], t.c.entity_type == values["entity_type"],
                      t.c.action == values["action"], t.c.deleted.is_(False)]
        same_event.append(t.c.field.is_(None) if values.get("field") is None else t.c.field == values["field"])
        with self.database.transaction() as conn:
            self.database.next_value(conn, f"webhook:{values['protocol']}:{values['entity_type']}:{values['action']}")
            owner = t.c.owner_id.is_(None) if values.get("owner_id") is None else t.c.owner_id == values["owner_id"]
            existing = conn.execute(select(t.c.id).where(*same_event, owner, t.c.url == values["url"],
                                                         t.c.is_active.is_(True))
                                    .order_by(t.c.id).limit(1)).scalar()
            if existing is None:
                if conn.execute(select(func.count()).select_from(t).where(*same_event)).scalar_one() >= limit:
                    raise SubscriptionLimitReached(limit)
                new_id = self._insert(conn, values)
        if existing is not None:
            return self._stored(existing), False
        return self._stored(new_id), True

    def _insert(self, conn: Connection, values: dict[str, Any]) -> int:
        now = precise_utcnow()
        row = dict(values, uid=str(uuid.uuid4()), secret=self.keyring.encrypt(values["secret"]),
                   settings=orjson.dumps(values.get("settings") or {}).decode(), consecutive_failures=0,
                   deleted=False, created_at=now, modified_at=now)
        return int(conn.execute(insert(self.table).values(row).returning(self.table.c.id)).scalar_one())

    def _stored(self, subscription_id: int) -> Subscription:
        found = self.get(subscription_id)
        assert found is not None
        return found

    def get(self, subscription_id: int, protocol: str | None = None) -> Subscription | None:
        query = select(self.table).where(self.table.c.id == subscription_id, self.table.c.deleted.is_(False))
        if protocol is not None:
            query = query.where(self.table.c.protocol == protocol)
        with self.database.connect() as conn:
            row = conn.execute(query).first()
        return self.from_row(row) if row is not None else None

    def get_by_uid(self, uid: str, protocol: str) -> Subscription | None:
        query = select(self.table).where(self.table.c.uid == uid, self.table.c.protocol == protocol,
                                         self.table.c.deleted.is_(False))
        with self.database.connect() as conn:
            row = conn.execute(query).first()
        return self.from_row(row) if row is not None else None

    def list(self, protocol: str, *, owner_id: int | None = None, offset: int = 0,
             limit: int = 200) -> tuple[list[Subscription], int]:
        """A protocol's subscriptions by id (only `owner_id`'s when given), and how many there are."""
        condition = [self.table.c.protocol == protocol, self.table.c.deleted.is_(False)]
        if owner_id is not None:
            condition.append(self.table.c.owner_id == owner_id)
        with self.database.connect() as conn:
            rows = conn.execute(select(self.table).where(*condition).order_by(self.table.c.id)
                                .offset(offset).limit(limit)).all()
            total = conn.execute(select(func.count()).select_from(self.table).where(*condition)).scalar_one()
        return [self.from_row(r) for r in rows], int(total)

    def user_names(self, ids: set[int | None]) -> dict[int, str | None]:
        """Names of the users subscriptions refer to (owners, creators)."""
        users = RecordRepository(self.database, self.database.registry.entity("User"))
        with self.database.connect() as conn:
            return users.names(conn, [i for i in ids if i is not None])

    def count_owned(self, protocol: str, owner_id: int) -> int:
        condition = [self.table.c.protocol == protocol, self.table.c.owner_id == owner_id,
                     self.table.c.deleted.is_(False)]
        with self.database.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table).where(*condition)).scalar_one())

    def active(self, conn: Connection) -> list[Subscription]:
        """The subscriptions events are fanned out to, on the caller's connection."""
        rows = conn.execute(select(self.table).where(self.table.c.is_active.is_(True),
                                                     self.table.c.deleted.is_(False))
                            .order_by(self.table.c.id)).all()
        return [self.from_row(r) for r in rows]

    def update(self, subscription_id: int, changes: dict[str, Any]) -> Subscription | None:
        """Change editable columns; switching a subscription on again clears why it was switched off."""
        values = {k: v for k, v in changes.items() if k in EDITABLE}
        if "settings" in values:
            values["settings"] = orjson.dumps(values["settings"]).decode()
        if values.get("is_active") is True:
            values.update(disabled_reason=None, consecutive_failures=0)
        values["modified_at"] = precise_utcnow()
        with self.database.transaction() as conn:
            conn.execute(update(self.table).where(self.table.c.id == subscription_id,
                                                  self.table.c.deleted.is_(False)).values(values))
        return self.get(subscription_id)

    def delete(self, subscription_id: int, reason: str | None = None) -> bool:
        """Remove a subscription and cancel what it still had to send."""
        with self.database.transaction() as conn:
            return remove_subscription(self.database, conn, subscription_id, reason)


def remove_subscription(database: Database, conn: Connection, subscription_id: int, reason: str | None) -> bool:
    """Soft-delete a subscription and cancel its pending deliveries (in the caller's transaction)."""
    table, deliveries = database.table("webhook"), database.table("webhook_delivery")
    now = precise_utcnow()
    removed = conn.execute(update(table).where(table.c.id == subscription_id, table.c.deleted.is_(False))
                           .values(deleted=True, is_active=False, disabled_reason=reason, modified_at=now)).rowcount
    conn.execute(update(deliveries).where(deliveries.c.webhook_id == subscription_id,
                                          deliveries.c.status == DeliveryStatus.PENDING.value)
                 .values(status=DeliveryStatus.CANCELLED.value, finished_at=now,
                         last_error=reason or "subscription deleted"))
    return bool(removed)


def remove_field_subscriptions(database: Database, conn: Connection, entity_type: str, field: str) -> list[int]:
    """Remove the subscriptions to a field's updates (`Entity.fieldUpdate.field`) when the field goes, in the
    caller's transaction, with the reason recorded; returns their ids."""
    table = database.table("webhook")
    ids = sorted(int(i) for i in conn.execute(select(table.c.id).where(
        table.c.entity_type == entity_type, table.c.field == field, table.c.deleted.is_(False))).scalars())
    for subscription_id in ids:
        remove_subscription(database, conn, subscription_id, f"field {entity_type}.{field} was removed")
    return ids
