"""Junction tables keep relationship column values; `polycrm init` (the schema sync) adds the columns to a
store whose junction tables were made before them, giving existing relations the columns' defaults."""

from __future__ import annotations

from sqlalchemy import inspect, text

from tests.conftest import Store

# Junction table -> column -> the value an existing relation gets.
ADDED = {"account_contact": {"role": None, "is_inactive": False},
         "contact_meeting": {"status": "None"},
         "contact_opportunity": {"role": None}}


def test_sync_adds_junction_columns_with_their_defaults(store: Store) -> None:
    database = store.database
    with database.transaction() as conn:
        for table, columns in ADDED.items():
            for index in inspect(conn).get_indexes(table):  # a store made before the columns had no index on them
                if set(columns) & set(index["column_names"]):
                    conn.execute(text(f"DROP INDEX {index['name']}"))
            for column in columns:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
            near, far = [c["name"] for c in inspect(conn).get_columns(table)]
            conn.execute(text(f"INSERT INTO {table} ({near}, {far}) VALUES (1, 2)"))
    database.sync_schema()
    database.sync_schema()  # idempotent
    with database.connect() as conn:
        for table, columns in ADDED.items():
            assert set(columns) <= {c["name"] for c in inspect(conn).get_columns(table)}
            row = conn.execute(text(f"SELECT {', '.join(columns)} FROM {table}")).one()
            assert [bool(v) if isinstance(v, int) else v for v in row] == list(columns.values())
