"""Request budgets shared by every dialect, over the `limits` library.

Counters live in memory (one process) or, when a Redis URL is configured, in Redis, so that several
`polycrm serve` processes and machines spend one budget per client. Each dialect states its own policy
(e.g. InflowCRM: 300 requests per 5 minutes per API key and client IP) and the identity it counts by.
A moving window is used: no client gets twice the budget across a window boundary.

If Redis cannot be reached, requests are let through (fail open) and a warning is logged at most once a
minute: an outage of the counter store should not take the API down with it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("polycrm.ratelimit")
REDIS_TIMEOUT_SECONDS = 0.5
WARNING_INTERVAL_SECONDS = 60.0


def parse_rate(text: str) -> RateLimitItem:
    """A policy such as `300/5minutes` or `300 per 5 minutes`; ValueError if it cannot be read."""
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(f"not a rate limit: {text!r} (use e.g. '300/5minutes')") from exc


@dataclass(frozen=True, slots=True)
class RateDecision:
    """The outcome of counting one request: whether it may proceed, and what to tell the client."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int  # epoch seconds when the budget is whole again
    retry_after: int  # seconds until the next request can succeed (when refused)

    def headers(self) -> dict[str, str]:
        """`RateLimit-Limit`/`-Remaining`/`-Reset` (epoch seconds), and `Retry-After` when refused."""
        headers = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": str(self.reset_at)}
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    """Counts requests against policies; thread-safe (the storages lock or are atomic)."""

    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "polycrm"):
        if redis_url:
            storage = storage_from_string(redis_url, key_prefix=f"{key_prefix}:ratelimit", wrap_exceptions=True,
                                          socket_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        else:
            storage = storage_from_string("memory://")
        self._limiter = MovingWindowRateLimiter(storage)
        self._warned_at = -math.inf
        self._lock = threading.Lock()

    def hit(self, rate: RateLimitItem, *identity: str) -> RateDecision:
        """Count one request of `identity` (e.g. policy name, key hash, client IP) against `rate`."""
        try:
            allowed = self._limiter.hit(rate, *identity)
            stats = self._limiter.get_window_stats(rate, *identity)
        except StorageError as exc:
            self._warn(exc)
            return RateDecision(True, rate.amount, rate.amount, int(time.time()) + rate.get_expiry(), 0)
        return RateDecision(allowed, rate.amount, max(0, stats.remaining), math.ceil(stats.reset_time),
                            max(1, math.ceil(stats.reset_time - time.time())))

    def _warn(self, exc: StorageError) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._warned_at < WARNING_INTERVAL_SECONDS:
                return
            self._warned_at = now
        log.warning("rate-limit storage unavailable, letting requests through: %s", exc.storage_error)
