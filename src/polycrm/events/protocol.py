"""What a wire protocol supplies to deliver its webhooks: payload rendering, signature headers, timeouts
and its reading of response statuses. The events layer does the rest (fan-out, ordering, retries, log).

A dialect implements `WebhookProtocol` and the application registers it under the name stored in the
subscriptions' `protocol` column (`espo`, `inflow`).
"""

from __future__ import annotations

from typing import Protocol, Sequence

from polycrm.events.model import Event, Outcome, Subscription


class WebhookProtocol(Protocol):
    name: str
    batch_size: int  # events per request (EspoCRM 50, one JSON array; InflowCRM 1, one JSON object)
    connect_timeout: float
    read_timeout: float

    def render(self, subscription: Subscription, events: Sequence[Event]) -> bytes | None:
        """The request body for these events (in commit order), or None when nothing may be sent (e.g. the
        subscription's owner can no longer read any of the records). Called at send time, on every attempt.
        It must depend only on the subscription's `event` (spelling included), its `settings`, its `owner_id`
        and the events: the worker reuses a body for a moment across subscriptions that share these."""
        ...

    def signature_headers(self, subscription: Subscription, body: bytes) -> dict[str, str]:
        """The protocol's own signature headers over the exact body bytes."""
        ...

    def outcome(self, status_code: int) -> Outcome:
        """What an HTTP status means for this protocol (network errors and timeouts always retry)."""
        ...
