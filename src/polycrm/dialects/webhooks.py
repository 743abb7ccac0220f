"""What every dialect's webhooks share: which events a subscription's owner may read at send time, a
created record as it was saved, and the delivery log as the APIs and the CLI show it."""

from __future__ import annotations

from typing import Any, Sequence

from polycrm.auth.acl import Actor
from polycrm.auth.directory import UserDirectory
from polycrm.core.service import Core
from polycrm.events.model import Attempt, Delivery, DeliveryStatus, Event, Subscription
from polycrm.meta import Entity, ValueKind


def subscription_reader(directory: UserDirectory, subscription: Subscription) -> Actor | None:
    """Whom a subscription's payloads are shown to: its owner; None for an owner-less (admin) subscription,
    which sees everything."""
    return None if subscription.owner_id is None else directory.actor(subscription.owner_id)


def readable_events(core: Core, directory: UserDirectory, subscription: Subscription,
                    events: Sequence[Event]) -> list[Event]:
    """The events of records the subscription's owner may read now: a delete, of the record as it was when
    deleted (its id alone would tell of a record they may not see). Admins and owner-less subscriptions see
    all; an owner no longer active sees none."""
    if subscription.owner_id is None:
        return list(events)
    entity_name = subscription.entity_type
    actor = directory.actor(subscription.owner_id)
    if actor is None or not actor.can(entity_name, "read"):
        return []
    if actor.is_admin or actor.level(entity_name, "read") == "all":
        return list(events)
    readable = core.records(entity_name).readable_ids(actor, {e.record_id for e in events})
    return [e for e in events if e.record_id in readable]


def saved_record(entity: Entity, event: Event) -> dict[str, Any]:
    """A created record's stored attributes as saved (what was not given has its stored default)."""
    record = {a.name: (False if a.kind is ValueKind.BOOL else [] if a.kind is ValueKind.ARRAY else None)
              for a in entity.column_attributes() if a.name != "deleted"}
    record.update((k, v) for k, v in (event.after or {}).items() if k in record)
    record["id"] = event.record_id
    return record


def delivery_record(delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
    """A delivery and its attempts (times in UTC, milliseconds kept)."""
    def when(value: Any) -> str | None:
        return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    return {"id": delivery.uid, "webhookId": str(delivery.webhook_id), "status": delivery.status.value,
            "eventIds": [str(i) for i in delivery.event_ids], "createdAt": when(delivery.created_at),
            "nextAttemptAt": when(delivery.next_attempt_at) if delivery.status is DeliveryStatus.PENDING else None,
            "finishedAt": when(delivery.finished_at), "lastStatusCode": delivery.last_status_code,
            "lastError": delivery.last_error,
            "attempts": [{"number": a.number, "startedAt": when(a.started_at), "durationMs": a.duration_ms,
                          "statusCode": a.status_code, "outcome": a.outcome.value, "error": a.error,
                          "responseExcerpt": a.response_excerpt} for a in attempts]}
