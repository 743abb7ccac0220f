"""What every dialect's webhooks share: which events a subscription's owner may read at send time, a
created record as it was saved, and the delivery log as the APIs and the CLI show it."""

from __future__ import annotations

from typing import Any, Sequence

from polycrm.auth.directory import UserDirectory
from polycrm.core.service import Core
from polycrm.events.model import Action, Attempt, Delivery, DeliveryStatus, Event, Subscription
from polycrm.meta import Entity, ValueKind
from polycrm.query.tree import Compare, Op


def readable_events(core: Core, directory: UserDirectory, subscription: Subscription,
                    events: Sequence[Event]) -> list[Event]:
    """The events of records the subscription's owner may read now (deletes always pass: the record is
    gone, and its id is all they carry). Admins and owner-less subscriptions see all."""
    if subscription.owner_id is None:
        return list(events)
    entity_name = subscription.entity_type
    actor = directory.actor(subscription.owner_id)
    if actor is None or not actor.can(entity_name, "read"):
        return []
    if actor.is_admin or actor.level(entity_name, "read") == "all":
        return list(events)
    live = {e.record_id for e in events if e.action is not Action.DELETE}
    readable = set(core.records(entity_name).matching_ids(actor, Compare("id", Op.IN, tuple(live)), "read")
                   ) if live else set()
    return [e for e in events if e.action is Action.DELETE or e.record_id in readable]


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
