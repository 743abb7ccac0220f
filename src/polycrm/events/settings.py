"""Delivery settings (from `POLYCRM_WEBHOOK_*`, see config.py); the defaults suit production."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    allow_private: bool = False  # let webhooks reach loopback / private / link-local addresses
    workers: int = 1  # delivery workers inside each `polycrm serve` process (0: only `polycrm worker`)
    concurrency: int = 16  # requests one worker has in flight
    poll_interval: float = 0.2  # seconds between looks at the outbox when idle
    batch_size: int = 50  # most events per request where a protocol batches (EspoCRM's webhookBatchSize)
    fanout_batch: int = 500  # outbox events fanned out per round
    fanout_linger: float = 0.25  # seconds between two fan-outs: events arriving meanwhile share requests
    max_attempts: int = 8  # attempts per delivery before it fails
    backoff_base: float = 30.0  # seconds before the first retry; doubles with every attempt
    backoff_max: float = 3600.0  # longest wait between two attempts
    disable_after: int = 5  # consecutive failed deliveries that disable a subscription
    retention_days: int = 7  # how long finished deliveries, their attempts and old events are kept
