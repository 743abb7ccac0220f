"""Settings every server process shares, kept in the database, and the bulk SQL that keeps converted currency
amounts right when the rates they were computed with change.

A setting is one JSON value under a name in the `setting` table (one row per group of settings that change
together, e.g. `currency`). Readers take no lock; a write transaction that computes values from a setting
reads it with its row share-locked (PostgreSQL), so a change of that setting, which locks the row for update,
waits for those writes and they wait for it: nothing is ever computed from a setting that is being replaced.
SQLite runs one write transaction at a time, which gives the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import orjson
from sqlalchemy import (Column, DateTime, Float, MetaData, Numeric, String, Table, Text, case, cast, func, literal,
                        select, update)
from sqlalchemy.engine import Connection

if TYPE_CHECKING:  # store.database builds its tables with `build_setting_table`
    from polycrm.store.database import Database

SETTING_TABLE = "setting"
# Decimal places converted amounts are kept to (EspoCRM's currency columns have scale 4).
CONVERTED_SCALE = 4


def build_setting_table(metadata: MetaData) -> None:
    Table(SETTING_TABLE, metadata,
          Column("name", String(100), primary_key=True),
          Column("value", Text(), nullable=False),  # JSON
          Column("modified_at", DateTime(), nullable=False))


class SettingStore:
    """Reads and writes named settings."""

    def __init__(self, database: Database):
        self.database = database

    @property
    def _table(self) -> Table:
        return self.database.table(SETTING_TABLE)

    def read(self, conn: Connection, name: str, *, lock: str | None = None) -> Any | None:
        """The setting's value, None when it was never stored; `lock` "share" or "update" holds its row until
        the transaction ends (PostgreSQL; SQLite's write transactions already run one at a time). Sharing takes
        the weakest lock that FOR UPDATE waits for (FOR KEY SHARE): writers sharing a setting never wait for
        each other."""
        query = select(self._table.c.value).where(self._table.c.name == name)
        if lock is not None and self.database.dialect == "postgresql":
            query = query.with_for_update(read=lock == "share", key_share=lock == "share")
        raw = conn.execute(query).scalar()
        return None if raw is None else orjson.loads(raw)

    def insert_if_missing(self, conn: Connection, name: str, value: Any) -> bool:
        """Store a first value unless one is already stored (by any process); whether this one was. Told by the
        row the insert returns: SQLAlchemy leaves an INSERT's rowcount at -1 on PostgreSQL."""
        row = {"name": name, "value": orjson.dumps(value).decode(), "modified_at": func.current_timestamp()}
        result = conn.execute(self.database.upsert(self._table).values(**row)
                              .on_conflict_do_nothing(index_elements=[self._table.c.name])
                              .returning(self._table.c.name))
        return result.first() is not None

    def write(self, conn: Connection, name: str, value: Any) -> None:
        """Replace a stored setting (read it with lock="update" first, in the same transaction)."""
        conn.execute(update(self._table).where(self._table.c.name == name)
                     .values(value=orjson.dumps(value).decode(), modified_at=func.current_timestamp()))


@dataclass(frozen=True, slots=True)
class AmountColumns:
    """Where a currency field keeps its amount, its currency code and (optionally) its converted amount."""

    table: str
    amount: str
    currency: str
    converted: str | None


def recompute_converted(conn: Connection, database: Database, targets: Iterable[AmountColumns],
                        rates: Mapping[str, float]) -> int:
    """Set every converted amount to amount × the rate of its currency, rounded to CONVERTED_SCALE places,
    in one UPDATE per table (deleted records included: they may be restored); an amount in a currency without
    a rate converts to NULL. Returns the number of rows written."""
    written = 0
    for target in targets:
        if target.converted is None:
            continue
        table = database.table(target.table)
        amount, currency = table.c[target.amount], table.c[target.currency]
        rate = case({code: literal(value, Float()) for code, value in rates.items()}, value=currency,
                    else_=None) if rates else literal(None, Float())
        product = amount * rate
        # PostgreSQL rounds numerics only; SQLite's round() takes its REAL as it is.
        rounded = (cast(func.round(cast(product, Numeric()), CONVERTED_SCALE), Float())
                   if database.dialect == "postgresql" else func.round(product, CONVERTED_SCALE))
        written += conn.execute(update(table).values({target.converted: rounded})).rowcount
    return written


def count_by_currency(conn: Connection, database: Database, targets: Iterable[AmountColumns],
                      codes: Iterable[str]) -> dict[tuple[str, str], dict[str, int]]:
    """How many rows (deleted ones included) hold each of `codes` as a currency, per (table, amount column);
    only the pairs with any."""
    wanted = sorted(set(codes))
    found: dict[tuple[str, str], dict[str, int]] = {}
    if not wanted:
        return found
    for target in targets:
        table = database.table(target.table)
        currency = table.c[target.currency]
        rows = conn.execute(select(currency, func.count()).where(currency.in_(wanted)).group_by(currency)).all()
        if rows:
            found[(target.table, target.amount)] = {code: int(count) for code, count in rows}
    return found


__all__ = ["AmountColumns", "CONVERTED_SCALE", "SETTING_TABLE", "SettingStore", "build_setting_table",
           "count_by_currency", "recompute_converted"]
