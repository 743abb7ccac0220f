"""The retry schedule: doubling with equal jitter, capped, bounded in attempts."""

from __future__ import annotations

import random

from polycrm.events.backoff import retry_delay
from polycrm.events.settings import WebhookSettings

SETTINGS = WebhookSettings(backoff_base=30, backoff_max=3600, max_attempts=8)


def test_delays_double_within_jitter_and_are_capped():
    rng = random.Random(7)
    for attempt in range(1, 8):
        ceiling = min(3600, 30 * 2 ** (attempt - 1))
        for _ in range(50):
            delay = retry_delay(attempt, SETTINGS, rng)
            assert delay is not None and ceiling / 2 <= delay <= ceiling


def test_attempts_are_bounded():
    assert retry_delay(8, SETTINGS) is None
    assert retry_delay(9, SETTINGS) is None
    assert retry_delay(1, WebhookSettings(max_attempts=1)) is None


def test_jitter_spreads_retries():
    delays = {retry_delay(3, SETTINGS, random.Random(seed)) for seed in range(20)}
    assert len(delays) > 15
