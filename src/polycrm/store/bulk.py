"""Bulk inserts: many rows of fixed columns handed to the driver as plain tuples.

SQLAlchemy's executemany of a Core `insert()` turns every row's parameter dict into the driver's parameters
in Python (key lookups, defaults, a bind processor call per value); for a mass create that costs more than
the database's own work. Here the INSERT is built once per (table, columns) and rows go to the driver as
tuples in that column order; on PostgreSQL a batch goes through COPY instead. Values still pass through their
column type's bind processor where the type has one (SQLite's datetimes and booleans), so rows are stored
exactly as SQLAlchemy would store them.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from sqlalchemy import Column, Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError

# The positional parameter marker of each DBAPI paramstyle the supported drivers use.
PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
# From how many rows PostgreSQL gets a COPY instead of an executemany: COPY is already ahead at 5 rows and
# takes a third of the time at 1,000 (psycopg pipelines the executemany); one row is quicker as an INSERT.
COPY_MIN_ROWS = 5
# Rows per INSERT statement on SQLite (fewer when a row has many columns: a statement takes at most 32,766
# parameters). One statement per row made a text search index (store.text_search) write a segment per row from
# its trigger, five times the cost of the row; a statement of many rows is also quicker without one.
SQLITE_ROWS_PER_STATEMENT = 100
SQLITE_MAX_PARAMETERS = 32766
_NOTHING = object()


def _scalar_default(column: Column[Any]) -> Any:
    """What an omitted value of `column` is: its client-side scalar default (booleans' False), else NULL."""
    default = column.default
    if default is None:
        return None
    if not default.is_scalar:
        raise ValueError(f"bulk inserts fill in scalar defaults only; {column.table.name}.{column.name} has another")
    return default.arg  # type: ignore[attr-defined]


class BulkInsert:
    """An INSERT into `table` of the given columns, run for many rows at once; each row is a sequence of
    values in `columns` order (`defaults` says what to put where a row has no value).

    Columns left out get their server default or NULL, so a column with a client-side default must be listed:
    the constructor refuses to build an insert that would silently skip one."""

    def __init__(self, dialect: Dialect, table: Table, columns: Sequence[str]):
        unlisted = [c.name for c in table.columns if c.default is not None and c.name not in columns]
        if unlisted:
            raise ValueError(f"bulk insert into {table.name} must list {', '.join(unlisted)} (client-side defaults)")
        preparer = dialect.identifier_preparer
        marker = PLACEHOLDERS[dialect.paramstyle]
        self.columns = tuple(columns)
        self.defaults = tuple(_scalar_default(table.c[c]) for c in self.columns)
        target = f"{preparer.format_table(table)} ({', '.join(preparer.quote(c) for c in self.columns)})"
        self.sql = f"INSERT INTO {target} VALUES ({', '.join(marker for _ in self.columns)})"
        self._copy_sql = f"COPY {target} FROM STDIN" if dialect.name == "postgresql" else None
        self._many_rows = dialect.name == "sqlite"
        self._per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_PARAMETERS // max(1, len(self.columns))))
        self._row_values = f"({', '.join(marker for _ in self.columns)})"
        self._target = target
        processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in self.columns]
        self._processors: list[tuple[int, Callable[[Any], Any]]] = [
            (i, p) for i, p in enumerate(processors) if p is not None]

    def execute(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """Insert the rows on `conn` (in its transaction): one COPY on PostgreSQL from `COPY_MIN_ROWS` rows on,
        on SQLite statements of `SQLITE_ROWS_PER_STATEMENT` rows, else one executemany."""
        if self._copy_sql is not None and len(rows) >= COPY_MIN_ROWS:
            self._copy(conn, self._copy_sql, self._bound(rows))
        elif self._many_rows and len(rows) > 1:
            bound, step = self._bound(rows), self._per_statement
            for start in range(0, len(bound), step):
                chunk = bound[start:start + step]
                values = ", ".join([self._row_values] * len(chunk))
                conn.exec_driver_sql(f"INSERT INTO {self._target} VALUES {values}",
                                     tuple(v for row in chunk for v in row))
        elif rows:
            conn.exec_driver_sql(self.sql, self._bound(rows))

    @staticmethod
    def _copy(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """COPY the rows through the connection's psycopg connection (same transaction); a driver error is
        raised as SQLAlchemy's exception for it, as an executemany's would be."""
        driver = conn.connection.driver_connection
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
        except dbapi_error as error:
            raise DBAPIError.instance(sql, None, error, dbapi_error, dialect=conn.dialect) from error

    def _bound(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows as the driver's parameters: tuples, with bind processors applied column by column."""
        if not self._processors:
            return [tuple(row) for row in rows]
        columns: list[Sequence[Any]] = list(zip(*rows))
        for index, process in self._processors:
            columns[index] = _processed(process, columns[index])
        return list(zip(*columns))


def _processed(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """`process` applied to each value, called once per run of the same object: a column of a batch mostly
    repeats one object (its timestamp, False), and a call costs ten times the identity check."""
    processed = []
    last = last_processed = _NOTHING
    for value in values:
        if value is not last:
            last, last_processed = value, process(value)
        processed.append(last_processed)
    return processed
