"""The in-memory moving window (dialects/ratelimit.MemoryWindow): limits' moving window without its timer
threads."""

from __future__ import annotations

import threading

import pytest

from polycrm.dialects import ratelimit
from polycrm.dialects.ratelimit import MemoryWindow, RateLimiter, parse_rate


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(ratelimit.time, "time", fake.time)
    return fake


def test_a_moving_window(clock: Clock) -> None:
    window, rate = MemoryWindow(), parse_rate("3/minute")
    assert [window.hit(rate, ("k",))[:2] for _ in range(3)] == [(True, 2), (True, 1), (True, 0)]
    clock.now += 30
    assert window.hit(rate, ("k",)) == (False, 0, 1_000_060.0)  # whole again a minute after the oldest
    assert window.hit(rate, ("other",))[0]  # budgets are per identity
    assert window.peek(rate, ("k",)) == (0, 1_000_060.0)
    clock.now += 30.5  # the first three expired; the refused one was never counted
    assert window.peek(rate, ("k",)) == (3, clock.now + 60)
    assert window.hit(rate, ("k",))[:2] == (True, 2)


def test_no_boundary_doubling(clock: Clock) -> None:
    window, rate = MemoryWindow(), parse_rate("2/minute")
    clock.now += 59
    window.hit(rate, ("k",)), window.hit(rate, ("k",))
    clock.now += 2  # a fixed window would start afresh here
    assert window.hit(rate, ("k",))[0] is False


def test_expired_keys_are_swept(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    window, rate = MemoryWindow(), parse_rate("5/second")
    monkeypatch.setattr(MemoryWindow, "SWEEP_EVERY", 10)
    for number in range(9):
        window.hit(rate, (f"client-{number}",))
    clock.now += 2
    window.hit(rate, ("late",))  # the tenth hit sweeps the nine expired keys
    assert list(window._times) == [rate.key_for("late")]


def test_counting_starts_no_thread() -> None:
    limiter, rate = RateLimiter(), parse_rate("90/minute")
    before = threading.active_count()
    decisions = [limiter.hit(rate, "concord", "7") for _ in range(100)]
    assert threading.active_count() == before
    assert sum(d.allowed for d in decisions) == 90 and decisions[-1].remaining == 0
    assert limiter.peek(rate, "concord", "7").allowed is False and limiter.peek(rate, "concord", "8").allowed
