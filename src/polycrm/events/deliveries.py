"""The delivery queue: fan-out of outbox events to subscriptions, claiming due deliveries (row locks on
PostgreSQL, so several workers never send one delivery at the same time), recording attempts, the
delivery log, redelivery and pruning.

Ordering: the deliveries of a subscription that share an `ordering_key` are sent one after another, in
commit order: a later one waits while an earlier one is being sent or waits for a retry. Batching
protocols (EspoCRM) use one key per subscription; one-event protocols (InflowCRM) one per record.
The oldest open delivery of each key is marked its `head`; only heads are claimed, and a head that
finishes hands over to the next open delivery of its key. So claiming costs the same however long the
queue is (a burst of one-event deliveries has one key per record).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Sequence

import orjson
from sqlalchemy import and_, delete, func, insert, literal_column, or_, select, text, update
from sqlalchemy.engine import Connection

from polycrm.events.backoff import retry_delay
from polycrm.events.model import (Action, Attempt, AttemptResult, Delivery, DeliveryStatus, Event, Outcome,
                                  Subscription)
from polycrm.events.outbox import event_from_row, precise_utcnow
from polycrm.events.settings import WebhookSettings
from polycrm.events.subscriptions import SubscriptionStore, remove_subscription
from polycrm.store.database import Database

log = logging.getLogger("polycrm.webhooks")
FANOUT_LOCK = "webhook_fanout"
# PostgreSQL plans claims by its statistics of the delivery table; a burst that queues thousands of
# deliveries before autovacuum looks makes it plan for an empty queue (a sort of every head per claim).
ANALYZE_AFTER_DELIVERIES = 1000
ANALYZE_INTERVAL_SECONDS = 10.0
MARK_CHUNK = 1000  # ids per statement when marking heads
SUBSCRIPTION_CACHE_SECONDS = 1.0
SUBSCRIPTION_CACHE_SIZE = 10_000
OPEN = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)


def is_open(status: Any) -> Any:
    """`status IN ('pending', 'sending')` with constants, not parameters: only then may SQLite and
    PostgreSQL's generic plans use the partial indexes on open deliveries (store/event_tables.py)."""
    return status.in_([literal_column(f"'{value}'") for value in OPEN])


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    delivery_id: int
    uid: str
    ordering_key: str
    attempt: int  # the number of this attempt within the current run
    log_number: int  # its number in the delivery's attempt log (which redelivery does not reset)
    event_ids: list[int]
    subscription: Subscription


# Delivery ids are `str(uuid4())`; anything else names no delivery (and NUL would break PostgreSQL's lookup).
DELIVERY_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_delivery_uid(value: object) -> bool:
    return isinstance(value, str) and DELIVERY_UID.fullmatch(value) is not None


def failure_fields(claimed: ClaimedDelivery, result: AttemptResult) -> dict[str, Any]:
    """A failed attempt's log fields: which delivery, which attempt, why. Never the URL (its path or query may
    carry the receiver's token), the headers (the signature) or the subscription's secret."""
    return {"webhook_id": claimed.subscription.id, "delivery_id": claimed.uid, "attempt": claimed.attempt,
            "status": result.status_code, "error": result.error}


class RedeliverRefused(ValueError):
    """The delivery is still queued (pending or being sent): there is nothing to redeliver."""


def _delivery(row: Any) -> Delivery:
    return Delivery(id=int(row.id), uid=row.uid, webhook_id=int(row.webhook_id),
                    event_ids=orjson.loads(row.event_ids), status=DeliveryStatus(row.status),
                    attempts=int(row.attempts), next_attempt_at=row.next_attempt_at, created_at=row.created_at,
                    finished_at=row.finished_at, last_status_code=row.last_status_code, last_error=row.last_error)


class DeliveryQueue:
    """SQL of the delivery tables."""

    def __init__(self, database: Database, subscriptions: SubscriptionStore, settings: WebhookSettings,
                 batch_sizes: dict[str, int]):
        self.database = database
        self.subscriptions = subscriptions
        self.settings = settings
        self.batch_sizes = batch_sizes  # protocol -> events per request
        self.events = database.table("webhook_event")
        self.deliveries = database.table("webhook_delivery")
        self.attempts = database.table("webhook_attempt")
        self.webhooks = database.table("webhook")
        self._subscription_cache: dict[int, tuple[float, Subscription]] = {}
        self._queued_since_analyze = 0
        self._analyzed_at = -ANALYZE_INTERVAL_SECONDS

    # --- fan-out ----------------------------------------------------------------------------------

    def fan_out(self) -> int:
        """Turn the oldest events not yet fanned out into deliveries; returns how many events it took.

        One worker at a time (a counter row is updated first and stays locked until commit), so the
        deliveries of every subscription are created in event order."""
        pending = self.events.c.fanned_out.is_(False)
        with self.database.connect() as conn:
            if conn.execute(select(self.events.c.id).where(pending).limit(1)).first() is None:
                return 0
        with self.database.transaction() as conn:
            self.database.next_value(conn, FANOUT_LOCK)
            rows = conn.execute(select(self.events).where(pending).order_by(self.events.c.id)
                                .limit(self.settings.fanout_batch)).all()
            if not rows:
                return 0
            events = [event_from_row(row, None) for row in rows]
            new, wanted = self._deliveries_for(events, self.subscriptions.active(conn))
            if new:
                self._mark_heads(conn, new)
                conn.execute(insert(self.deliveries), new)
            # Events no subscription wants are not kept: the outbox stays small where nobody listens.
            unwanted = [e.id for e in events if e.id not in wanted]
            if unwanted:
                conn.execute(delete(self.events).where(self.events.c.id.in_(unwanted)))
            if wanted:
                conn.execute(update(self.events).where(self.events.c.id.in_(sorted(wanted))).values(fanned_out=True))
        self._refresh_statistics(len(new))
        return len(events)

    def _refresh_statistics(self, queued: int) -> None:
        """PostgreSQL: ANALYZE the delivery table once a burst has queued many deliveries (at most every
        few seconds), so that claims keep walking the heads' index instead of sorting all of them."""
        if self.database.dialect != "postgresql":
            return
        self._queued_since_analyze += queued
        now = time.monotonic()
        if self._queued_since_analyze >= ANALYZE_AFTER_DELIVERIES \
                and now - self._analyzed_at >= ANALYZE_INTERVAL_SECONDS:
            self._queued_since_analyze, self._analyzed_at = 0, now
            with self.database.connect() as conn:
                conn.execute(text(f"ANALYZE {self.deliveries.name}"))

    def _deliveries_for(self, events: list[Event],
                        subscriptions: list[Subscription]) -> tuple[list[dict[str, Any]], set[int]]:
        """New delivery rows, and the ids of the events some delivery holds."""
        now = precise_utcnow()
        chunks: list[tuple[int, int, list[int], str]] = []  # (first event, subscription, event ids, key)
        wanted_ids: set[int] = set()
        for subscription in subscriptions:
            batch_size = self.batch_sizes.get(subscription.protocol)
            if batch_size is None:
                continue
            wanted = [e for e in events if self.matches(subscription, e)]
            wanted_ids.update(e.id for e in wanted)
            if batch_size == 1:
                chunks += [(e.id, subscription.id, [e.id], f"{e.entity_type}:{e.record_id}") for e in wanted]
            else:
                chunks += [(wanted[i].id, subscription.id, [e.id for e in wanted[i:i + batch_size]], "")
                           for i in range(0, len(wanted), batch_size)]
        # Event-major order (each subscription's own deliveries stay in event order): the deliveries of one
        # event to several subscriptions are claimed together and share one rendering.
        chunks.sort(key=lambda chunk: (chunk[0], chunk[1]))
        rows = [{"uid": str(uuid.uuid4()), "webhook_id": webhook_id, "ordering_key": key,
                 "event_ids": orjson.dumps(event_ids).decode(), "status": DeliveryStatus.PENDING.value,
                 "attempts": 0, "next_attempt_at": now, "created_at": now}
                for _, webhook_id, event_ids, key in chunks]
        return rows, wanted_ids

    def _mark_heads(self, conn: Connection, new: list[dict[str, Any]]) -> None:
        """Set `head` on new delivery rows: the first of its key, unless an open delivery has that key.

        The open deliveries found are share-locked (PostgreSQL): a worker finishing one of them waits for
        this fan-out to commit and then hands over to what it added; one that finished first is seen as
        closed. They are locked in id order, the order in which a key's deliveries finish and hand over, so
        the two cannot deadlock. (SQLite runs one write transaction at a time.)"""
        d = self.deliveries
        open_of_keys = (select(d.c.webhook_id, d.c.ordering_key)
                        .where(is_open(d.c.status),
                               *self._covering({(row["webhook_id"], row["ordering_key"]) for row in new}))
                        .order_by(d.c.id).with_for_update(read=True))
        taken = {(int(w), k) for w, k in conn.execute(open_of_keys).all()}
        for row in new:
            key = (row["webhook_id"], row["ordering_key"])
            row["head"] = key not in taken
            taken.add(key)

    def _hand_over(self, conn: Connection, keys: set[tuple[int, str]]) -> None:
        """Make the oldest open delivery of each of these keys its head (their heads have just finished).
        The oldest open delivery of any (webhook, key) pair is by definition its head, so one grouping over
        webhooks x keys serves all of them; the pairs that did not finish are left as they are."""
        if keys:
            self._mark_oldest(conn, *self._covering(keys))

    def _covering(self, keys: set[tuple[int, str]]) -> tuple[Any, Any]:
        """Conditions matching the deliveries of these (webhook, key) pairs, and of the other pairs the
        webhooks and keys make: two short IN lists instead of one per pair, which callers may over-match."""
        d = self.deliveries
        return (d.c.webhook_id.in_(sorted({w for w, _ in keys})), d.c.ordering_key.in_(sorted({k for _, k in keys})))

    def repair_heads(self) -> int:
        """Mark as head every oldest open delivery of its key that is not: deliveries queued by a version
        without heads, or a hand-over lost to a crash. Costs a scan of the open deliveries: the worker runs
        it when it starts and now and then."""
        with self.database.transaction() as conn:
            return self._mark_oldest(conn)

    def _mark_oldest(self, conn: Connection, *conditions: Any) -> int:
        """Mark as head the oldest open delivery of each (webhook, key) among those meeting `conditions`;
        how many were not heads yet.

        Two statements, the second by primary key and in chunks: joined into one, PostgreSQL planned it as
        a scan of the whole table (or a nested loop over both sides). Rows that already are heads are
        neither touched nor locked: another worker may be finishing one."""
        d = self.deliveries
        oldest = select(func.min(d.c.id)).where(is_open(d.c.status), *conditions).group_by(d.c.webhook_id,
                                                                                          d.c.ordering_key)
        ids = sorted(int(i) for i in conn.execute(oldest).scalars())
        marked = 0
        for start in range(0, len(ids), MARK_CHUNK):
            marked += conn.execute(update(d).where(d.c.id.in_(ids[start:start + MARK_CHUNK]),
                                                   d.c.head.is_not(True)).values(head=True)).rowcount or 0
        return marked

    def matches(self, subscription: Subscription, event: Event) -> bool:
        """Whether a subscription wants an event: its entity type and action (for fieldUpdate: an update
        that changed an attribute of the field), not caused by its own user when `skip_own`, and committed
        after the subscription was made."""
        if subscription.entity_type != event.entity_type:
            return False
        if subscription.skip_own and subscription.owner_id is not None and event.actor_id == subscription.owner_id:
            return False
        if subscription.created_at is not None and event.created_at < subscription.created_at:
            return False
        if subscription.action == "fieldUpdate":
            if event.action is not Action.UPDATE or event.entity_type not in self.database.registry:
                return False
            attributes = self.database.registry.entity(event.entity_type).attributes
            return any(name in attributes and attributes[name].field == subscription.field for name in event.changed)
        return subscription.action == event.action.value

    # --- claiming ---------------------------------------------------------------------------------

    def claim(self, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
        """Take up to `limit` due deliveries whose predecessors (same subscription and ordering key) are
        done; they are `sending` until `lease_seconds` from now, after which another worker may take them
        (a worker that died mid-send). Rows are locked with SKIP LOCKED on PostgreSQL."""
        d, w = self.deliveries, self.webhooks
        now = precise_utcnow()
        due = or_(and_(d.c.status == DeliveryStatus.PENDING.value, d.c.next_attempt_at <= now),
                  and_(d.c.status == DeliveryStatus.SENDING.value, d.c.locked_until < now))
        candidates = (select(d.c.id).join(w, w.c.id == d.c.webhook_id)
                      .where(d.c.head.is_(True), is_open(d.c.status), due, w.c.is_active.is_(True),
                             w.c.deleted.is_(False))
                      .order_by(d.c.id).limit(limit).with_for_update(of=d, skip_locked=True))
        # One statement: pick, lock and mark (PostgreSQL's `UPDATE ... WHERE id IN (SELECT ... SKIP LOCKED)`).
        claim = (update(d).where(d.c.id.in_(candidates.scalar_subquery())).values(
            status=DeliveryStatus.SENDING.value, attempts=d.c.attempts + 1, logged_attempts=d.c.logged_attempts + 1,
            locked_until=now + timedelta(seconds=lease_seconds))
            .returning(d.c.id, d.c.uid, d.c.ordering_key, d.c.attempts, d.c.logged_attempts, d.c.event_ids,
                       d.c.webhook_id))
        with self.database.transaction() as conn:
            self._relaxed_commit(conn)
            rows = sorted(conn.execute(claim).all(), key=lambda r: r.id)
            if not rows:
                return []
            subscriptions = self._subscriptions(conn, {int(r.webhook_id) for r in rows})
        return [ClaimedDelivery(int(r.id), r.uid, r.ordering_key, int(r.attempts), int(r.logged_attempts),
                                orjson.loads(r.event_ids), subscriptions[int(r.webhook_id)]) for r in rows]

    def _relaxed_commit(self, conn: Connection) -> None:
        """PostgreSQL: do not wait for this transaction's WAL flush. Only for claims and results: if the
        database server crashes before the flush, the delivery is claimed or sent again under the same
        delivery id (at-least-once holds). Fan-out, which makes the ids, keeps synchronous commits."""
        if self.database.dialect == "postgresql":
            conn.execute(text("SET LOCAL synchronous_commit TO OFF"))

    def _subscriptions(self, conn: Connection, ids: set[int]) -> dict[int, Subscription]:
        """The claimed deliveries' subscriptions, read at most once a second each (secrets are decrypted on
        reading); whether they are still active was checked by the claim itself."""
        now = time.monotonic()
        found = {i: cached[1] for i in ids if (cached := self._subscription_cache.get(i)) and cached[0] > now}
        missing = ids - set(found)
        if missing:
            if len(self._subscription_cache) > SUBSCRIPTION_CACHE_SIZE:
                self._subscription_cache.clear()
            for row in conn.execute(select(self.webhooks).where(self.webhooks.c.id.in_(sorted(missing)))).all():
                subscription = self.subscriptions.from_row(row)
                self._subscription_cache[subscription.id] = (now + SUBSCRIPTION_CACHE_SECONDS, subscription)
                found[subscription.id] = subscription
        return found

    def has_work(self) -> bool:
        """Whether events wait for fan-out or deliveries of active subscriptions are queued."""
        d, w = self.deliveries, self.webhooks
        with self.database.connect() as conn:
            if conn.execute(select(self.events.c.id).where(self.events.c.fanned_out.is_(False)).limit(1)).first():
                return True
            return conn.execute(select(d.c.id).join(w, w.c.id == d.c.webhook_id).where(
                is_open(d.c.status), w.c.is_active.is_(True), w.c.deleted.is_(False)).limit(1)).first() is not None

    def release_all(self) -> int:
        """Make every `sending` delivery due again; only for a sole worker starting (SQLite), whose
        predecessor died mid-send."""
        with self.database.transaction() as conn:
            return int(conn.execute(update(self.deliveries).where(
                self.deliveries.c.status == DeliveryStatus.SENDING.value).values(
                locked_until=precise_utcnow() - timedelta(seconds=1))).rowcount or 0)

    def load_events(self, ids: Iterable[int], entity_of: Callable[[str], Any]) -> dict[int, Event]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        with self.database.connect() as conn:
            rows = conn.execute(select(self.events).where(self.events.c.id.in_(wanted))).all()
        return {int(r.id): event_from_row(r, entity_of(r.entity_type)) for r in rows}

    # --- results ----------------------------------------------------------------------------------

    def record(self, results: Sequence[tuple[ClaimedDelivery, AttemptResult]]) -> None:
        """Log attempts and move each delivery on: done, retry later, failed (which may disable its
        subscription), or — on "gone" — remove the subscription."""
        if not results:
            return
        d, w = self.deliveries, self.webhooks
        now = precise_utcnow()
        with self.database.transaction() as conn:
            self._relaxed_commit(conn)
            conn.execute(insert(self.attempts), [
                {"delivery_id": claimed.delivery_id, "webhook_id": claimed.subscription.id,
                 "number": claimed.log_number, "started_at": result.started_at,
                 "duration_ms": result.duration_ms, "status_code": result.status_code,
                 "outcome": result.outcome.value, "error": result.error,
                 "response_excerpt": result.response_excerpt}
                for claimed, result in results])
            finished: dict[tuple[str, int | None, str | None], list[int]] = defaultdict(list)
            for claimed, result in results:
                delay = retry_delay(claimed.attempt, self.settings) if result.outcome is Outcome.RETRY else None
                if delay is not None:
                    conn.execute(update(d).where(d.c.id == claimed.delivery_id,
                                                 d.c.status == DeliveryStatus.SENDING.value).values(
                        status=DeliveryStatus.PENDING.value, next_attempt_at=now + timedelta(seconds=delay),
                        last_status_code=result.status_code, last_error=result.error, locked_until=None))
                    continue
                succeeded = result.outcome in (Outcome.SUCCESS, Outcome.SKIPPED)
                status = DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED
                finished[(status.value, result.status_code, result.error)].append(claimed.delivery_id)
                subscription = claimed.subscription.id
                if not succeeded:
                    log.warning("webhook delivery failed", extra=failure_fields(claimed, result))
                if result.outcome is Outcome.GONE:
                    remove_subscription(self.database, conn, subscription,
                                        f"Removed at {now:%Y-%m-%d %H:%M:%S} UTC: the receiver answered "
                                        f"{result.status_code} (Gone).")
                    log.warning("webhook removed: the receiver answered Gone", extra={"webhook_id": subscription})
                elif not succeeded:
                    self._count_failure(conn, subscription, result, now)
            # Finished deliveries in one statement per (status, code, error): most rounds have one.
            for (status_value, code, error), ids in finished.items():
                conn.execute(update(d).where(d.c.id.in_(ids), d.c.status == DeliveryStatus.SENDING.value).values(
                    status=status_value, finished_at=now, last_status_code=code, last_error=error,
                    locked_until=None, head=False))
            done = {i for ids in finished.values() for i in ids}
            self._hand_over(conn, {(c.subscription.id, c.ordering_key) for c, _ in results if c.delivery_id in done})
            succeeded_webhooks = {c.subscription.id for c, r in results
                                  if r.outcome in (Outcome.SUCCESS, Outcome.SKIPPED)}
            if succeeded_webhooks:
                conn.execute(update(w).where(w.c.id.in_(succeeded_webhooks), w.c.consecutive_failures != 0)
                             .values(consecutive_failures=0))

    def _count_failure(self, conn: Connection, subscription_id: int, result: AttemptResult, now: datetime) -> None:
        w = self.webhooks
        failures = conn.execute(update(w).where(w.c.id == subscription_id)
                                .values(consecutive_failures=w.c.consecutive_failures + 1)
                                .returning(w.c.consecutive_failures)).scalar()
        if failures is not None and failures >= self.settings.disable_after:
            cause = f"HTTP {result.status_code}" if result.status_code is not None else (result.error or "error")
            disabled = conn.execute(update(w).where(w.c.id == subscription_id, w.c.is_active.is_(True)).values(
                is_active=False, modified_at=now,
                disabled_reason=f"Disabled at {now:%Y-%m-%d %H:%M:%S} UTC after {failures} failed deliveries in a "
                                f"row; the last: {cause}.")).rowcount
            if disabled:
                log.warning("webhook disabled", extra={"webhook_id": subscription_id, "failures": failures,
                                                       "last": cause})

    # --- the delivery log -------------------------------------------------------------------------

    def list(self, webhook_id: int | None = None, *, status: str | None = None, offset: int = 0,
             limit: int = 50) -> tuple[list[Delivery], int]:
        """Deliveries, newest first."""
        d = self.deliveries
        condition = []
        if webhook_id is not None:
            condition.append(d.c.webhook_id == webhook_id)
        if status is not None:
            condition.append(d.c.status == status)
        with self.database.connect() as conn:
            rows = conn.execute(select(d).where(*condition).order_by(d.c.id.desc()).offset(offset).limit(limit)).all()
            total = conn.execute(select(func.count()).select_from(d).where(*condition)).scalar_one()
        return [_delivery(r) for r in rows], int(total)

    def get(self, uid: str) -> Delivery | None:
        if not is_delivery_uid(uid):
            return None
        with self.database.connect() as conn:
            row = conn.execute(select(self.deliveries).where(self.deliveries.c.uid == uid)).first()
        return _delivery(row) if row is not None else None

    def attempts_of(self, delivery_ids: Sequence[int]) -> dict[int, list[Attempt]]:
        a = self.attempts
        found: dict[int, list[Attempt]] = {i: [] for i in delivery_ids}
        if not delivery_ids:
            return found
        with self.database.connect() as conn:
            rows = conn.execute(select(a).where(a.c.delivery_id.in_(list(delivery_ids))).order_by(a.c.id)).all()
        for r in rows:
            found[int(r.delivery_id)].append(Attempt(int(r.number), r.started_at, float(r.duration_ms),
                                                     r.status_code, Outcome(r.outcome), r.error, r.response_excerpt))
        return found

    def redeliver(self, uid: str) -> Delivery | None:
        """Queue a finished delivery again, same id and events, with a fresh set of attempts (None: no such
        delivery; RedeliverRefused: it is still queued)."""
        if not is_delivery_uid(uid):
            return None
        d, other = self.deliveries, self.deliveries.alias("other")
        # Its key's head again, unless another delivery of the key is open (then it is next in line).
        key_is_free = ~select(other.c.id).where(is_open(other.c.status), other.c.webhook_id == d.c.webhook_id,
                                                other.c.ordering_key == d.c.ordering_key).exists()
        with self.database.transaction() as conn:
            changed = conn.execute(update(d).where(d.c.uid == uid, d.c.status.notin_(OPEN)).values(
                status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=precise_utcnow(),
                finished_at=None, locked_until=None, head=key_is_free)).rowcount
        delivery = self.get(uid)
        if delivery is not None and not changed:
            raise RedeliverRefused(f"Delivery {uid} is still queued ({delivery.status.value}).")
        return delivery

    def prune(self) -> None:
        """Forget finished deliveries (and their attempts) and fanned-out events past the retention time."""
        cutoff = precise_utcnow() - timedelta(days=self.settings.retention_days)
        d = self.deliveries
        with self.database.transaction() as conn:
            old = select(d.c.id).where(d.c.finished_at < cutoff).scalar_subquery()
            conn.execute(delete(self.attempts).where(self.attempts.c.delivery_id.in_(old)))
            conn.execute(delete(d).where(d.c.finished_at < cutoff))
            conn.execute(delete(self.events).where(self.events.c.fanned_out.is_(True),
                                                   self.events.c.created_at < cutoff))
