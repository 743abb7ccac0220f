"""What the events layer passes around: events, subscriptions, deliveries, attempts and their outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field as dataclass_field
from datetime import datetime
from typing import Any


class Action(str, enum.Enum):
    """What a change did to a record (the outbox's `action`)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Outcome(str, enum.Enum):
    """How a delivery attempt ended, which decides what happens next."""

    SUCCESS = "success"  # done
    RETRY = "retry"  # try again later, while attempts remain
    FAIL = "fail"  # give up at once
    GONE = "gone"  # the receiver asked to be removed (EspoCRM: 410): delete the subscription
    SKIPPED = "skipped"  # nothing left to send (e.g. the owner may no longer read any of the records)


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change, as recorded in the outbox; `id` orders the events of a record by commit."""

    id: int
    entity_type: str
    record_id: int
    action: Action
    actor_id: int | None
    before: dict[str, Any] | None  # update: old values of the changed attributes
    after: dict[str, Any] | None  # create: the saved values; update: new values of the changed attributes
    created_at: datetime

    @property
    def changed(self) -> list[str]:
        """Attributes an update changed (in the order they were recorded)."""
        return list(self.after or {}) if self.action is Action.UPDATE else []

    def diff(self) -> list[tuple[str, Any, Any]]:
        """(attribute, old value, new value) per changed attribute of an update (InflowCRM's `diff`).
        The old value of a link set (`teamsIds`) is not recorded: None."""
        before = self.before or {}
        return [(name, before.get(name), value) for name, value in (self.after or {}).items()] \
            if self.action is Action.UPDATE else []


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook subscription of one protocol, matching one entity type and action (or field)."""

    id: int
    protocol: str
    event: str  # as the subscriber spelled it, echoed back
    entity_type: str
    action: str  # create, update, delete, fieldUpdate
    field: str | None
    url: str
    secret: str  # decrypted; never logged
    owner_id: int | None
    skip_own: bool
    is_active: bool
    description: str | None = None
    settings: dict[str, Any] = dataclass_field(default_factory=dict)
    disabled_reason: str | None = None
    consecutive_failures: int = 0
    created_at: datetime | None = None
    modified_at: datetime | None = None
    created_by_id: int | None = None
    uid: str | None = None  # the public UUID (InflowCRM subscription ids)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request's worth of events for one subscription; `uid` is stable across retries and redelivery."""

    id: int
    uid: str
    webhook_id: int
    event_ids: list[int]
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    last_status_code: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One entry of the delivery log."""

    number: int
    started_at: datetime
    duration_ms: float
    status_code: int | None
    outcome: Outcome
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What sending one delivery produced, before it is written to the log."""

    started_at: datetime
    duration_ms: float
    status_code: int | None
    outcome: Outcome
    error: str | None = None
    response_excerpt: str | None = None
