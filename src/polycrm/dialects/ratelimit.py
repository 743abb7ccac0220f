"""Request budgets shared by every dialect, over the `limits` library (policies, Redis storage).

Counters live in memory (one process: MemoryWindow) or, when a Redis URL is configured, in Redis, so that several
`polycrm serve` processes and machines spend one budget per client. Each dialect states its own policy
(e.g. InflowCRM: 300 requests per 5 minutes per API key and client IP) and the identity it counts by.
A moving window is used: no client gets twice the budget across a window boundary. Failed logins are
counted the same way (LoginThrottle), by user name and by client address.

If Redis cannot be reached, requests are let through (fail open) and a warning is logged at most once a
minute: an outage of the counter store should not take the API down with it.

On Redis a request is counted and its headers' figures read in one round trip (`limits` takes two: `hit`,
then `get_window_stats`), by a script over the same list `limits` keeps, so `peek` and `limits` read it alike.
"""

from __future__ import annotations

import collections
import hashlib
import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from polycrm.auth.schemes import LoginThrottled

log = logging.getLogger("polycrm.ratelimit")
REDIS_TIMEOUT_SECONDS = 0.5
WARNING_INTERVAL_SECONDS = 60.0
# limits' moving window (acquire_moving_window.lua, then moving_window.lua) in one call. The list holds request
# times newest first; times older than the window count for nothing and are dropped from its tail here (limits
# leaves them for a binary search to skip), so the count is the list's length and the oldest time its last
# entry. Returns {acquired, oldest time in the window, count}.
HIT_WITH_STATS = """
local now, limit, expiry = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = now - expiry
local last = redis.call('lindex', KEYS[1], -1)
while last and tonumber(last) < start do
    redis.call('rpop', KEYS[1])
    last = redis.call('lindex', KEYS[1], -1)
end
local count = redis.call('llen', KEYS[1])
local acquired = 0
if count < limit then
    redis.call('lpush', KEYS[1], ARGV[1])
    redis.call('ltrim', KEYS[1], 0, limit - 1)
    redis.call('expire', KEYS[1], expiry)
    acquired, count = 1, count + 1
    last = last or ARGV[1]
end
if count == 0 then
    return {acquired, ARGV[1], 0}
end
return {acquired, last, count}
"""


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


class RedisWindow:
    """limits' moving window on Redis, counted and read in one round trip (HIT_WITH_STATS)."""

    def __init__(self, storage: RedisStorage):
        self._storage = storage
        self._script = storage.get_connection().register_script(HIT_WITH_STATS)

    def hit(self, rate: RateLimitItem, identity: tuple[str, ...]) -> tuple[bool, int, float]:
        """(allowed, remaining, reset time); StorageError as `limits` raises it."""
        key = self._storage.prefixed_key(rate.key_for(*identity))
        try:
            acquired, oldest, count = self._script([key], [repr(time.time()), rate.amount, rate.get_expiry()])
        except self._storage.base_exceptions as exc:
            raise StorageError(exc) from exc
        return bool(acquired), rate.amount - int(count), float(oldest) + rate.get_expiry()


class MemoryWindow:
    """The same moving window in this process's memory, without threads: limits' MemoryStorage starts a timer
    thread to expire its entries whenever the previous one has finished, which on a quiet server is nearly
    every request (a thread started and waited for within the request)."""

    SWEEP_EVERY = 4096  # hits between two sweeps of keys whose every time has expired

    def __init__(self) -> None:
        self._times: dict[str, tuple[float, collections.deque[float]]] = {}  # key -> (window, times oldest first)
        self._lock = threading.Lock()
        self._hits = 0

    def hit(self, rate: RateLimitItem, identity: tuple[str, ...]) -> tuple[bool, int, float]:
        """(allowed, remaining, reset time), as RedisWindow.hit."""
        now, expiry = time.time(), rate.get_expiry()
        with self._lock:
            self._hits += 1
            if self._hits % self.SWEEP_EVERY == 0:
                self._sweep(now)
            times = self._times.setdefault(rate.key_for(*identity), (expiry, collections.deque()))[1]
            _drop_before(times, now - expiry)
            allowed = len(times) < rate.amount
            if allowed:
                times.append(now)
            return allowed, rate.amount - len(times), (times[0] if times else now) + expiry

    def peek(self, rate: RateLimitItem, identity: tuple[str, ...]) -> tuple[int, float]:
        """(remaining, reset time) without counting."""
        now, expiry = time.time(), rate.get_expiry()
        with self._lock:
            times = self._times.get(rate.key_for(*identity), (expiry, collections.deque()))[1]
            _drop_before(times, now - expiry)
            return rate.amount - len(times), (times[0] if times else now) + expiry

    def _sweep(self, now: float) -> None:
        for key in [k for k, (expiry, times) in self._times.items() if not times or times[-1] < now - expiry]:
            del self._times[key]


def _drop_before(times: collections.deque[float], start: float) -> None:
    while times and times[0] < start:
        times.popleft()


class RateLimiter:
    """Counts requests against policies; thread-safe (Redis scripts are atomic, the memory window locks)."""

    def __init__(self, redis_url: str | None = None, *, key_prefix: str = "polycrm"):
        self._redis: RedisWindow | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        self._memory: MemoryWindow | None = None
        if redis_url:
            storage = storage_from_string(redis_url, key_prefix=f"{key_prefix}:ratelimit", wrap_exceptions=True,
                                          socket_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
            assert isinstance(storage, RedisStorage), "a redis:// URL"
            self._limiter = MovingWindowRateLimiter(storage)
            self._redis = RedisWindow(storage)
        else:
            self._memory = MemoryWindow()
        self._warned_at = -math.inf
        self._lock = threading.Lock()

    def hit(self, rate: RateLimitItem, *identity: str) -> RateDecision:
        """Count one request of `identity` (e.g. policy name, key hash, client IP) against `rate`."""
        try:
            if self._redis is not None:
                allowed, remaining, reset_time = self._redis.hit(rate, identity)
            else:
                assert self._memory is not None
                allowed, remaining, reset_time = self._memory.hit(rate, identity)
        except StorageError as exc:
            self._warn(exc)
            return RateDecision(True, rate.amount, rate.amount, int(time.time()) + rate.get_expiry(), 0)
        return RateDecision(allowed, rate.amount, max(0, remaining), math.ceil(reset_time),
                            max(1, math.ceil(reset_time - time.time())))

    def peek(self, rate: RateLimitItem, *identity: str) -> RateDecision:
        """Whether one more request of `identity` would be allowed, without counting it."""
        try:
            if self._limiter is not None:
                stats = self._limiter.get_window_stats(rate, *identity)
                remaining, reset_time = stats.remaining, stats.reset_time
            else:
                assert self._memory is not None
                remaining, reset_time = self._memory.peek(rate, identity)
        except StorageError as exc:
            self._warn(exc)
            return RateDecision(True, rate.amount, rate.amount, int(time.time()) + rate.get_expiry(), 0)
        return RateDecision(remaining > 0, rate.amount, max(0, remaining), math.ceil(reset_time),
                            max(1, math.ceil(reset_time - time.time())))

    def _warn(self, exc: StorageError) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._warned_at < WARNING_INTERVAL_SECONDS:
                return
            self._warned_at = now
        log.warning("rate-limit storage unavailable, letting requests through: %s", exc.storage_error)


def client_identity(address: str) -> str:
    """The identity a client address is counted by: an IPv6 address by its /64, which one subscriber usually
    holds whole (counting single addresses would give them 2^64 budgets); anything else as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    """Failed logins per user name and per client address (polycrm.auth's FailedLogins), in the limiter's
    storage, so that several servers share them through Redis.

    Only failures are counted: a client that sends its password with every request (Basic) never uses up a
    budget. A success clears nothing either: otherwise such a client would reset, again and again, the count
    of someone guessing the same user's password. Refused attempts are not counted (no password was checked),
    so a budget is whole again one window after its last counted failure at most."""

    def __init__(self, limiter: RateLimiter, per_user: RateLimitItem, per_client: RateLimitItem):
        self.limiter = limiter
        self.per_user = per_user
        self.per_client = per_client

    def _budgets(self, user_name: str, client: str) -> tuple[tuple[RateLimitItem, tuple[str, str], str], ...]:
        # The user name is the client's to choose, of any length: its digest keeps the keys short.
        name = hashlib.sha256(user_name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return ((self.per_client, ("login-ip", client_identity(client)),
                 f"Max failed login attempts exceeded for IP address {client}."),
                (self.per_user, ("login-user", name), "Max failed login attempts exceeded for this user name."))

    def check(self, user_name: str, client: str) -> None:
        refused = []
        for rate, identity, reason in self._budgets(user_name, client):
            decision = self.limiter.peek(rate, *identity)
            if not decision.allowed:
                refused.append((reason, decision.retry_after))
        if refused:
            # A login needs both budgets: it may succeed once the later of the two has room again.
            raise LoginThrottled(refused[0][0], max(after for _, after in refused))

    def failed(self, user_name: str, client: str) -> None:
        for rate, identity, _ in self._budgets(user_name, client):
            self.limiter.hit(rate, *identity)
