"""Credentials a process found live, trusted for a few seconds without asking the store again.

Integrations send the same key with every request, and looking it up (a query, perhaps decrypting a secret)
cost a third of a read's time. A credential revoked by another process therefore keeps working there for up
to the cache's time to live; the process that revoked it calls `forget` and refuses it at once. Unknown
credentials are never cached: a new one works at once, and junk sent by a client cannot fill the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from time import monotonic
from typing import Callable, Generic, TypeVar

T = TypeVar("T")
# Cached credentials per process: enough for every integration of an instance; the cache starts over beyond it.
TRUSTED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Trusted(Generic[T]):
    value: T
    trusted_until: float  # time.monotonic()


class TrustedCredentials(Generic[T]):
    """What each credential (by its lookup hash) was found to be, for `ttl` seconds."""

    def __init__(self, ttl: float, size: int = TRUSTED_CACHE_SIZE):
        self.ttl = ttl
        self.size = size
        self._found: dict[str, _Trusted[T]] = {}

    def get(self, key_hash: str, load: Callable[[str], T | None]) -> T | None:
        """The value found for `key_hash` while it is trusted, else `load(key_hash)` (the store's answer,
        None when the credential is not live), kept for `ttl` seconds if it is not None."""
        trusted = self._found.get(key_hash)
        if trusted is not None and trusted.trusted_until >= monotonic():
            return trusted.value
        value = load(key_hash)
        if value is None:
            self._found.pop(key_hash, None)
            return None
        if len(self._found) >= self.size:
            self._found.clear()
        self._found[key_hash] = _Trusted(value, monotonic() + self.ttl)
        return value

    def forget(self) -> None:
        """Trust nothing found so far: after a revocation made in this process."""
        self._found.clear()
