"""Fresh data stores for tests, without building a schema for each.

Building an initialised store costs more than most tests' bodies: SQLite creates some forty tables and their
indexes, PostgreSQL half a second of DDL and catalogue checks. So each test worker builds one of each once:
a SQLite file that every test gets a copy of, and a PostgreSQL schema that is emptied after each test
(every table's rows deleted, its id sequences restarted, the columns custom fields added dropped). A test
that changed the schema in any other way (dropped a table, an index) leaves a schema that is replaced by a
newly built one. Either way the next test starts from a store exactly like a new one: `tests/test_isolation.py`
checks that on both backends.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

from polycrm.store.database import Database, make_engine, open_database

log = logging.getLogger("tests.stores")
# Custom fields' columns all start so (core.fields): dropping them undoes what such tests added.
CUSTOM_COLUMN_PREFIX = "c_"
# Emptied tables keep their deleted rows until vacuumed, and this machine's PostgreSQL has autovacuum off.
VACUUM_EVERY = 100


@dataclass
class Store:
    url: str
    schema: str | None
    database: Database


class SqliteTemplate:
    """An initialised SQLite store built once; each test gets a copy of its file."""

    def __init__(self, directory: Path):
        self.path = directory / "template.db"
        database = open_database(f"sqlite:///{self.path}")
        database.dispose()  # the last connection closing folds the write-ahead log into the file

    @contextmanager
    def store(self, directory: Path) -> Iterator[Store]:
        path = directory / "polycrm.db"
        shutil.copyfile(self.path, path)
        url = f"sqlite:///{path}"
        database = open_database(url, sync=False)
        try:
            yield Store(url, None, database)
        finally:
            database.dispose()


@dataclass(frozen=True)
class _Shape:
    """What an initialised schema holds: its tables' columns, its indexes and its sequences."""

    columns: frozenset[tuple[str, str]]
    indexes: frozenset[str]
    sequences: frozenset[str]


class PostgresqlSchemas:
    """One initialised PostgreSQL schema per test worker, emptied after each test."""

    def __init__(self, url: str):
        self.url = url
        self._admin = make_engine(url)
        self._retired: list[str] = []
        self._resets = 0
        self._build()

    def _build(self) -> None:
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        with self._admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        built = open_database(self.url, schema=self.schema)
        built.dispose()
        self.engine: Engine = make_engine(self.url, schema=self.schema)
        with self.engine.connect() as conn:
            self.shape = self._shape(conn)

    def _shape(self, conn) -> _Shape:  # noqa: ANN001 - a SQLAlchemy connection
        """The schema's shape, read from the catalogue in one round trip (information_schema's views are ten
        times slower)."""
        rows = conn.execute(text("""
            SELECT 'column', c.relname, a.attname FROM pg_attribute a
              JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = :schema AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
            UNION ALL
            SELECT CASE c.relkind WHEN 'i' THEN 'index' ELSE 'sequence' END, c.relname, '' FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind IN ('i', 'S')
        """), {"schema": self.schema}).all()
        return _Shape(frozenset((t, c) for kind, t, c in rows if kind == "column"),
                      frozenset(t for kind, t, _ in rows if kind == "index"),
                      frozenset(t for kind, t, _ in rows if kind == "sequence"))

    @contextmanager
    def store(self) -> Iterator[Store]:
        database = Database(self.engine)
        database.load_custom_fields()
        try:
            yield Store(self.url, self.schema, database)
        finally:
            self._reset()

    def _reset(self) -> None:
        """Make the schema what it was when built, or build another if it cannot be."""
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                shape = self._shape(conn)
                added = shape.columns - self.shape.columns
                if (self.shape.columns - shape.columns or self.shape.indexes - shape.indexes
                        or (not added and shape.indexes != self.shape.indexes)
                        or shape.sequences != self.shape.sequences
                        or any(not column.startswith(CUSTOM_COLUMN_PREFIX) for _, column in added)):
                    raise _Changed()
                statements = [f'ALTER TABLE "{table}" DROP COLUMN "{column}"' for table, column in sorted(added)]
                statements += [f'DELETE FROM "{table}"' for table in sorted({t for t, _ in self.shape.columns})]
                statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sorted(self.shape.sequences)]
                conn.exec_driver_sql("; ".join(statements))
                if added and self._shape(conn).indexes != self.shape.indexes:  # an index not on a dropped column
                    raise _Changed()
            if added:
                self.engine.dispose()  # statements the connections prepared while the columns existed
            self._resets += 1
            if self._resets % VACUUM_EVERY == 0:
                tables = ", ".join(f'"{table}"' for table in sorted({t for t, _ in self.shape.columns}))
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql(f"VACUUM {tables}")
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, the next test gets a new schema
            if not isinstance(exc, _Changed):
                log.warning("could not empty schema %s (%s): building another", self.schema, exc)
            self.engine.dispose()
            self._retired.append(self.schema)
            self._build()

    def close(self) -> None:
        self.engine.dispose()
        with self._admin.begin() as conn:
            for schema in [*self._retired, self.schema]:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self._admin.dispose()


class _Changed(Exception):
    """The test changed the schema beyond adding custom fields."""
