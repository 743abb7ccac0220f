"""A bounded cache of built SQL statements, keyed by what shapes them.

Building a SQLAlchemy statement (coercing every column and operand) costs several times more than executing
a built one, whose compiled form SQLAlchemy keeps; so hot statements are built once per shape and executed
with bound parameters.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, Generic, TypeVar

T = TypeVar("T")


class StatementCache(Generic[T]):
    """Least-recently-used map from a shape to what was built for it; safe to share between threads."""

    def __init__(self, size: int = 256):
        self._size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        # Built outside the lock: two threads may build the same shape once each, which is harmless.
        built = build()
        with self._lock:
            self._items[key] = built
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return built

    def __len__(self) -> int:
        return len(self._items)
