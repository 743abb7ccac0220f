"""Exact counts, remembered while the database provably has not changed.

A list's exact total counts every match: 100,000 rows for "tier = Gold" in a million contacts, ten times the
work of reading its page. Lists are asked for again and again (a dashboard refreshing, a user paging back)
while nothing is written, so each pooled connection remembers the counts it ran together with a stamp of the
database state they were taken in, and answers a count again only while the stamp is unchanged:

- SQLite: `PRAGMA data_version`, which changes whenever another connection (of any process) commits, paired
  with the connection's own `total_changes`, which changes with every row it writes itself;
- PostgreSQL: `pg_current_snapshot()`: its xmax and in-progress list fix exactly which transactions a new
  statement sees, so an equal snapshot sees the same rows.

The stamp is read before the count: a commit landing between the two makes the count newer than its stamp,
so the next stamp differs and the count runs again. Inside a transaction nothing is remembered (its own
uncommitted rows may still be rolled back).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable

from sqlalchemy.engine import Connection

# Counts one pooled connection keeps by default: distinct filters in use at once, per connection.
REMEMBERED_COUNTS = 128
_INFO_KEY = "polycrm.remembered_counts"


def _sqlite_stamp(driver: Any) -> Hashable | None:
    if driver.in_transaction:
        return None
    return driver.execute("PRAGMA data_version").fetchone()[0], driver.total_changes


def _postgresql_stamp(driver: Any) -> Hashable | None:
    # A write transaction has not begun on the server before its first statement: its driver's mode says it.
    from psycopg.pq import TransactionStatus  # here: a SQLite store (and the CLI) never loads psycopg

    if not driver.autocommit or driver.info.transaction_status != TransactionStatus.IDLE:
        return None
    return driver.execute("SELECT pg_current_snapshot()::text", prepare=True).fetchone()[0]


_STAMPS: dict[str, Callable[[Any], Hashable | None]] = {"sqlite": _sqlite_stamp, "postgresql": _postgresql_stamp}


def remembered_count(conn: Connection, key: Hashable, run: Callable[[], int], capacity: int = REMEMBERED_COUNTS) -> int:
    """`run()`, or the value it gave on this connection for `key` in the same database state; each connection
    remembers `capacity` counts (0: none).

    `key` must name the statement and every value bound into it; an unhashable key just runs the count."""
    if capacity <= 0:
        return run()
    try:
        hash(key)
    except TypeError:
        return run()
    pooled = conn.connection
    stamp = _STAMPS[conn.dialect.name](pooled.driver_connection)
    if stamp is None:
        return run()
    memo: OrderedDict[Hashable, tuple[Hashable, int]] = pooled.info.setdefault(_INFO_KEY, OrderedDict())
    found = memo.get(key)
    if found is not None and found[0] == stamp:
        memo.move_to_end(key)
        return found[1]
    value = run()
    memo[key] = (stamp, value)
    memo.move_to_end(key)
    while len(memo) > capacity:
        memo.popitem(last=False)
    return value
