"""Bulk inserts (`polycrm.store.bulk`): rows go to the driver as tuples, yet are stored exactly as SQLAlchemy's
own insert stores them, and a batch that fails writes nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterator

import pytest
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Float, Integer, MetaData, String, Table, Text,
                        insert, select)
from sqlalchemy.exc import IntegrityError

from polycrm.store.bulk import COPY_MIN_ROWS, BulkInsert

COLUMNS = ("id", "name", "amount", "score", "active", "flag", "day", "at", "payload")
SAMPLES: list[tuple[Any, ...]] = [
    ("Ada", 1.5, 2 ** 40, True, False, date(2031, 1, 2), datetime(2031, 1, 2, 3, 4, 5, 678901), '["a", "b"]'),
    (None, None, None, False, True, None, None, None),
    ("Zoë \u2603 tab\tnew\nline back\\slash 'q' \"dq\"", -0.25, -7, True, True, date(1999, 12, 31),
     datetime(1999, 12, 31, 23, 59, 59), '{"k": "\\N"}'),
    ("", 0.0, 0, False, False, date(2031, 1, 2), datetime(2031, 1, 2, 3, 4, 5, 678901), "[]"),
]
# Fewer rows than COPY_MIN_ROWS go through an executemany on PostgreSQL, more through COPY: both are tried.
SIZES = [pytest.param(COPY_MIN_ROWS - 1, id="few"), pytest.param(3 * COPY_MIN_ROWS, id="batch")]


def sample_rows(count: int) -> list[tuple[Any, ...]]:
    return [(i + 1, *SAMPLES[i % len(SAMPLES)]) for i in range(count)]


def _table(metadata: MetaData, name: str) -> Table:
    return Table(name, metadata,
                 Column("id", Integer(), primary_key=True, autoincrement=False),
                 Column("name", String(50), nullable=True),
                 Column("amount", Float(), nullable=True),
                 Column("score", BigInteger(), nullable=True),
                 Column("active", Boolean(), nullable=False, default=False, server_default="0"),
                 Column("flag", Boolean(), nullable=True),
                 Column("day", Date(), nullable=True),
                 Column("at", DateTime(), nullable=True),
                 Column("payload", Text(), nullable=True))


@pytest.fixture
def tables(store) -> Iterator[tuple[Table, Table]]:
    """Two identical tables: one filled by bulk inserts, one by SQLAlchemy's insert for comparison."""
    metadata = MetaData()
    bulk, core = _table(metadata, "bulk_probe"), _table(metadata, "bulk_probe_core")
    metadata.create_all(store.database.engine)
    yield bulk, core
    metadata.drop_all(store.database.engine)


def _stored(store, table: Table) -> list[tuple[Any, ...]]:
    """The rows as the driver returns them, no type processing: what is really in the table."""
    with store.database.engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {', '.join(COLUMNS)} FROM {table.name} ORDER BY id")]


@pytest.mark.parametrize("count", SIZES)
def test_rows_round_trip_and_are_stored_as_sqlalchemy_stores_them(store, tables, count):
    bulk, core = tables
    rows = sample_rows(count)
    with store.database.transaction() as conn:
        BulkInsert(store.database.engine.dialect, bulk, COLUMNS).execute(conn, rows)
        conn.execute(insert(core), [dict(zip(COLUMNS, row)) for row in rows])
    with store.database.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(bulk).order_by(bulk.c.id))] == rows
    assert _stored(store, bulk) == _stored(store, core)


def test_a_single_row_and_no_rows(store, tables):
    bulk, _ = tables
    inserter = BulkInsert(store.database.engine.dialect, bulk, COLUMNS)
    with store.database.transaction() as conn:
        inserter.execute(conn, [])
        inserter.execute(conn, sample_rows(1))
    with store.database.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(select(bulk))] == sample_rows(1)


@pytest.mark.parametrize("count", SIZES)
def test_a_failed_batch_writes_nothing(store, tables, count):
    bulk, _ = tables
    inserter = BulkInsert(store.database.engine.dialect, bulk, COLUMNS)
    broken = sample_rows(count - 1) + [(count, "no flag", None, None, None, None, None, None, None)]  # NOT NULL
    with pytest.raises(IntegrityError):
        with store.database.transaction() as conn:
            inserter.execute(conn, broken)
    assert _stored(store, bulk) == []


def test_defaults_are_the_columns_scalar_defaults(store, tables):
    bulk, _ = tables
    inserter = BulkInsert(store.database.engine.dialect, bulk, COLUMNS)
    assert dict(zip(COLUMNS, inserter.defaults)) == {c: False if c == "active" else None for c in COLUMNS}


def test_a_column_with_a_client_side_default_cannot_be_left_out(store, tables):
    bulk, _ = tables
    with pytest.raises(ValueError, match="active"):
        BulkInsert(store.database.engine.dialect, bulk, [c for c in COLUMNS if c != "active"])


def test_the_inserts_are_built_once_per_table_and_columns(store):
    database = store.database
    table = database.table("webhook_event")
    columns = ("entity_type", "record_id", "action", "created_at", "fanned_out")
    assert database.bulk_insert(table, columns) is database.bulk_insert(table, list(columns))
    assert database.bulk_insert(table, columns) is not database.bulk_insert(table, columns[::-1])
