"""When to try a failed delivery again: exponential backoff with jitter, a bounded number of attempts."""

from __future__ import annotations

import random

from polycrm.events.settings import WebhookSettings


def retry_delay(attempt: int, settings: WebhookSettings, rng: random.Random | None = None) -> float | None:
    """Seconds to wait after failed attempt number `attempt` (1-based), or None when attempts are used up.

    The wait doubles from `backoff_base` up to `backoff_max`; "equal jitter" then draws it uniformly from
    [half, all] of that, so receivers recovering from an outage are not hit by every sender at once while
    no retry comes much earlier than the schedule says."""
    if attempt >= settings.max_attempts:
        return None
    ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** (attempt - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
