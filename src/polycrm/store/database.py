"""Engine set-up and schema synchronisation (create or upgrade; idempotent).

The fixed tables and the entity tables are declared as SQLAlchemy `Table` objects from metadata; syncing
creates what is missing and adds missing columns and indexes through Alembic's operations API, which also
covers runtime custom fields. Nothing is dropped but a removed custom field's columns, once no server
process can still be using them (`Database.remove_custom_field`).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import orjson
from sqlalchemy import (Column, Engine, MetaData, Table, bindparam, cast, create_engine, delete, event, func, inspect,
                        select, update)
from sqlalchemy.engine import make_url
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from polycrm.meta import Entity, Registry, load_builtin_registry
from polycrm.meta.fieldtypes import expand
from polycrm.meta.model import Field
from polycrm.meta.registry import CustomFieldDefinition
from polycrm.store.bulk import BulkInsert
from polycrm.store.counts import REMEMBERED_COUNTS
from polycrm.store.schema import build_metadata, drop_removed_columns, metadata_for
from polycrm.store.sqlite_writes import LOCK_TIMEOUT, WriteAheadLog, WriterGate, begin_immediate
from polycrm.store.statements import StatementCache
from polycrm.store.text_search import sync_postgresql_text_indexes, sync_sqlite_text_indexes

SCHEMA_GENERATION = "schema_generation"
# A removed custom field's columns are dropped this long after its removal: by then every server process
# has forgotten the field (they look for schema changes every few seconds, core.service's
# SCHEMA_CHECK_INTERVAL), so none still reads or writes them. Read when used: tests set it to zero.
COLUMN_DROP_DELAY = timedelta(seconds=10)


class ColumnsStillPresent(ValueError):
    """A new custom field would take the columns of a removed one, which are not dropped yet."""
# Execution option marking write transactions (SQLite begins them IMMEDIATE).
WRITE_OPTION = "polycrm_write"
# Bytes SQLite's write-ahead log is truncated back to after a checkpoint.
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# Statements SQLAlchemy keeps compiled: one per entity, list shape and dialect in use.
COMPILED_CACHE_SIZE = 2000


def utcnow() -> datetime:
    """Naive UTC now, second precision: how every datetime is stored."""
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling is switched off so that `_sqlite_begin` decides how to begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside one writer; NORMAL sync is durable across process crashes in WAL mode.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Under steady writes the WAL file grows past its checkpoints; once a checkpoint has caught up, the file
    # is cut back to this size instead of keeping its peak on disk.
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    # No automatic checkpoints: SQLite's run after a commit, outside the write lock, and those of several
    # processes get in each other's way while the log grows without end. A write transaction of `Database`
    # checkpoints the log itself once it passes WAL_SIZE_LIMIT (see store.sqlite_writes); copying in large,
    # rare rounds writes a page changed by several commits once.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute(f"PRAGMA busy_timeout={int(LOCK_TIMEOUT * 1000)}")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A write transaction takes the write lock at once: a deferred one that reads first and then writes fails
    # at once with "database is locked" when another writer got in between, instead of waiting its turn.
    # Reads run in the driver's autocommit mode, as they do on PostgreSQL (see Database.connect).
    if conn.get_execution_options().get(WRITE_OPTION):
        begin_immediate(conn.connection.driver_connection)


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    """An engine for a SQLite or PostgreSQL URL; `schema` pins PostgreSQL's search_path (tests use it)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": LOCK_TIMEOUT},
                               query_cache_size=COMPILED_CACHE_SIZE)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    # No pre-ping: it costs a round trip per checkout; a connection the server dropped is discarded on its
    # first error and the pool recycles connections every five minutes.
    return create_engine(url, connect_args=connect_args, pool_size=10, max_overflow=20, pool_recycle=300,
                         query_cache_size=COMPILED_CACHE_SIZE)


class Database:
    """One data store: its engine, the live registry and the tables built from it."""

    def __init__(self, engine: Engine, registry: Registry | None = None):
        self.engine = engine
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        # SQLite's reads are already autocommit (see _sqlite_begin); AUTOCOMMIT there would stop BEGIN IMMEDIATE.
        self._read_engine = engine if engine.dialect.name == "sqlite" else engine.execution_options(
            isolation_level="AUTOCOMMIT")
        self.registry = registry or load_builtin_registry()
        self.metadata: MetaData = metadata_for(self.registry, self.dialect)
        self._lock = threading.Lock()
        self._writer_gate = WriterGate() if engine.dialect.name == "sqlite" else None
        database_file = engine.url.database if engine.dialect.name == "sqlite" else None
        self._log = (WriteAheadLog(database_file, WAL_SIZE_LIMIT)
                     if database_file and database_file != ":memory:" else None)
        self._generation = -1
        # When the earliest removal of a custom field whose columns are not dropped yet happened, if any.
        self._earliest_removal: datetime | None = None
        self._bulk_inserts: StatementCache[BulkInsert] = StatementCache()
        self._id_sequences: dict[str, str] = {}
        # Exact counts each pooled connection remembers (store.counts); 0 counts every time.
        self.remembered_counts = REMEMBERED_COUNTS

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def table(self, name: str) -> Table:
        return self.metadata.tables[name]

    def bulk_insert(self, table: Table, columns: Sequence[str]) -> BulkInsert:
        """The bulk INSERT of `columns` into `table`, built once per table and column list (a schema change
        builds new tables, hence new inserts)."""
        return self._bulk_inserts.get((table, tuple(columns)), lambda: BulkInsert(self.engine.dialect, table, columns))

    def connect(self) -> Connection:
        """A connection for reading. It opens no transaction (each statement sees what was committed when it
        ran): that spares the BEGIN and ROLLBACK round trips a transaction costs on every request."""
        return self._read_engine.connect()

    def transaction(self) -> Any:
        """A context manager giving a connection in a write transaction: committed on success, rolled
        back on any exception."""
        if self._writer_gate is None:
            return self._write_engine.begin()
        return self._sqlite_transaction(self._writer_gate)

    @contextmanager
    def _sqlite_transaction(self, gate: WriterGate) -> Iterator[Connection]:
        # The gate is held until the commit and any log restart are done (see store.sqlite_writes).
        with gate.turn(), self._write_engine.connect() as conn:
            with conn.begin():
                yield conn
            if self._log is not None:
                self._log.restart_if_grown(conn.connection.driver_connection)

    # --- schema -----------------------------------------------------------------------------------

    def sync_schema(self) -> None:
        """Create missing tables, columns and indexes, custom fields' included. Safe to run repeatedly."""
        with self.transaction() as conn:
            for name in ("custom_field", "sequence_counter"):
                self._sync(conn, self.metadata, only=name)
        self.load_custom_fields()
        self.drop_removed_columns_when_due()
        with self.transaction() as conn:
            self._sync(conn, self.metadata)

    def _sync(self, conn: Connection, metadata: MetaData, only: str | None = None) -> None:
        """Make the database hold `metadata`'s tables, columns and indexes; `only` limits it to one table
        (a custom field changes its entity's table alone, and inspecting every table took most of its time)."""
        from alembic.migration import MigrationContext  # here: only schema changes need Alembic (a fast CLI)
        from alembic.operations import Operations

        tables = [metadata.tables[only]] if only is not None else metadata.sorted_tables
        metadata.create_all(conn, tables=tables, checkfirst=True)
        inspector = inspect(conn)
        ops = Operations(MigrationContext.configure(conn))
        for table in tables:
            existing = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in existing:
                    ops.add_column(table.name, Column(column.name, column.type, nullable=column.nullable,
                                                      server_default=column.server_default))
            existing_indexes = {i["name"]: i for i in inspector.get_indexes(table.name)}
            wanted_indexes = {index.name for index in table.indexes}
            known_columns = set(table.columns.keys())
            for name, index in sorted(existing_indexes.items()):
                # PolyCRM's own indexes (ix_ names) hold no data, and one the definitions no longer ask for
                # only slows writes down. One over a column this metadata does not know (a custom field
                # another process just added) is not ours to judge.
                if name not in wanted_indexes and name.startswith(f"ix_{table.name[:30]}_") \
                        and set(index["column_names"]) <= known_columns:
                    ops.drop_index(name, table_name=table.name)
            for index in table.indexes:
                if index.name not in existing_indexes:
                    index.create(conn)
        if only is None:
            sync_text_indexes = sync_sqlite_text_indexes if self.dialect == "sqlite" else sync_postgresql_text_indexes
            sync_text_indexes(conn, self.registry)

    def load_custom_fields(self) -> None:
        """Replay custom fields from the database into the registry (on start, and when another process
        added one)."""
        with self._lock:
            with self.connect() as conn:
                generation = self._read_generation(conn)
                if generation == self._generation:
                    return
                rows = conn.execute(select(self.table("custom_field")).order_by("id")).all()
            self._take(rows, generation)

    def _take(self, rows: Sequence[Any], generation: int, metadata: MetaData | None = None) -> None:
        """Make this process hold the stored custom fields (`rows`, as of the schema `generation`), and their
        tables (`metadata`, when the caller built them already)."""
        if self._replay([row for row in rows if row.removed_at is None]) or metadata is not None:
            self.metadata = metadata or build_metadata(self.registry, self.dialect)
        removed = [row.removed_at for row in rows if row.removed_at is not None]
        self._earliest_removal = min(removed) if removed else None
        self._generation = generation

    def _replay(self, rows: Sequence[Any]) -> bool:
        """Make this process's registry hold exactly the stored custom fields: add those it does not know yet,
        forget removed ones, take changed parameters and API names. True if its tables or fields' rules
        changed (API names alone change neither)."""
        changed = False
        stored = {(row.entity, row.name): row for row in rows}
        for entity, field in self.registry.custom_fields():
            row = stored.get((entity.name, field.name))
            if row is None or row.type != field.type:  # removed (and perhaps added again as another type)
                self.registry.remove_custom_field(entity.name, field.name)
                changed = True
        for row in rows:
            entity = self.registry.entities.get(row.entity)
            if entity is None:
                continue
            field = entity.fields.get(row.name)
            if field is None:
                self.registry.add_custom_field(_definition(row))
                changed = True
                continue
            field.custom_id = row.id
            if field.api_names != (api_names := orjson.loads(row.api_names)):
                self.registry.set_api_names(row.entity, row.name, api_names)
            if field.params != dict(orjson.loads(row.params), type=row.type):
                # Anew, attributes included: they carry some parameters (an enum's options).
                self.registry.remove_custom_field(row.entity, row.name)
                self.registry.add_custom_field(_definition(row))
                changed = True
        return changed

    def refresh_if_stale(self) -> None:
        """Pick up custom fields added by another server process (cheap: one indexed read)."""
        with self.connect() as conn:
            stale = self._read_generation(conn) != self._generation
        if stale:
            self.load_custom_fields()
        self.drop_removed_columns_when_due()

    def drop_removed_columns_when_due(self) -> None:
        """Drop the columns of custom fields removed `COLUMN_DROP_DELAY` ago or more, if this process knows
        of any (whichever process comes first does it)."""
        if self._earliest_removal is None or utcnow() < self._earliest_removal + COLUMN_DROP_DELAY:
            return
        with self._lock:
            with self.transaction() as conn:
                generation = self.next_value(conn, SCHEMA_GENERATION)
                rows = self._drop_due_columns(conn, conn.execute(select(self.table("custom_field"))
                                                                 .order_by("id")).all())
            self._take(rows, generation)

    def _drop_due_columns(self, conn: Connection, rows: Sequence[Any]) -> list[Any]:
        """Drop the columns and indexes of the removed fields among `rows` that are due, and their rows;
        returns the rows left."""
        now = utcnow()
        due = [row for row in rows if row.removed_at is not None and row.removed_at <= now - COLUMN_DROP_DELAY]
        if not due:
            return list(rows)
        live = [_definition(row) for row in rows if row.removed_at is None]
        after = build_metadata(self.registry.with_custom_fields(live), self.dialect)
        table = self.table("custom_field")
        for row in due:
            if row.entity in self.registry:
                before = build_metadata(self.registry.with_custom_fields([*live, _definition(row)]), self.dialect)
                name = self.registry.entity(row.entity).table
                drop_removed_columns(conn, before.tables[name], after.tables[name])
            conn.execute(delete(table).where(table.c.id == row.id))
        return [row for row in rows if row not in due]

    def _read_generation(self, conn: Connection) -> int:
        return self.counter_value(conn, SCHEMA_GENERATION)

    def add_custom_field(self, definition: CustomFieldDefinition,
                         check: Callable[[Entity], None] | None = None) -> None:
        """Persist a custom field and add its column and indexes; visible at once in this process.

        `check` sees the entity as the database holds it (with custom fields other processes added) and may
        refuse the field by raising. It runs in the transaction that adds the column, after that transaction
        has locked the schema generation's counter row: concurrent adds, from any thread, process or server,
        run one after the other, so two fields that collide cannot both pass it."""
        table = self.table("custom_field")
        with self._lock:
            with self.transaction() as conn:
                generation = self.next_value(conn, SCHEMA_GENERATION)  # the lock, held until commit
                rows = self._drop_due_columns(conn, conn.execute(select(table).order_by("id")).all())
                _check_not_removing(definition, rows)
                stored = self.registry.with_custom_fields(_definition(row) for row in rows if row.removed_at is None)
                if check is not None:
                    check(stored.entity(definition.entity))
                new_metadata = build_metadata(stored.with_custom_field(definition), self.dialect)
                conn.execute(table.insert().values(
                    entity=definition.entity, name=definition.name, type=definition.type,
                    params=orjson.dumps(definition.params).decode(),
                    api_names=orjson.dumps(definition.api_names).decode(), created_at=utcnow()))
                self._sync(conn, new_metadata, only=self.registry.entity(definition.entity).table)
                rows = conn.execute(select(table).order_by("id")).all()
            self._take(rows, generation, new_metadata)

    def remove_custom_field(self, entity: str, name: str, check: Callable[[Connection], None] | None = None) -> bool:
        """Remove a custom field: at once from every process (they forget it as they learn of a new one),
        and its columns and indexes with their values `COLUMN_DROP_DELAY` later, when no process uses
        them any more (`drop_removed_columns_when_due`). `check` may refuse by raising, or clean up what
        refers to the field, in the same transaction (which holds the schema generation's lock, as
        `add_custom_field` does). False if the store holds no such custom field."""
        table = self.table("custom_field")
        live = (table.c.entity == entity) & (table.c.name == name) & table.c.removed_at.is_(None)
        with self._lock:
            with self.transaction() as conn:
                generation = self.next_value(conn, SCHEMA_GENERATION)
                if not conn.execute(update(table).where(live).values(removed_at=utcnow())).rowcount:
                    return False
                if check is not None:
                    check(conn)
                rows = self._drop_due_columns(conn, conn.execute(select(table).order_by("id")).all())
            self._take(rows, generation)
        return True

    def set_custom_field_params(self, entity: str, name: str, params: dict[str, Any],
                                api_names: dict[str, str]) -> None:
        """Replace a custom field's parameters (those that need no change of its column: the caller checks)
        and API names; other processes pick the change up like a new field."""
        table = self.table("custom_field")
        with self._lock:
            with self.transaction() as conn:
                conn.execute(update(table).where(table.c.entity == entity, table.c.name == name,
                                                 table.c.removed_at.is_(None))
                             .values(params=orjson.dumps(params).decode(),
                                     api_names=orjson.dumps(api_names).decode()))
                generation = self.next_value(conn, SCHEMA_GENERATION)
                rows = conn.execute(select(table).order_by("id")).all()
            self._take(rows, generation)
            # Services hold what they derived from the fields' parameters: new tables make them start over.
            self.metadata = build_metadata(self.registry, self.dialect)

    def set_custom_field_api_names(self, entity: str, name: str, api_names: dict[str, str]) -> None:
        """Replace a custom field's per-dialect API names; other processes pick the change up like a new field."""
        table = self.table("custom_field")
        with self._lock:
            with self.transaction() as conn:
                conn.execute(update(table).where(table.c.entity == entity, table.c.name == name,
                                                 table.c.removed_at.is_(None))
                             .values(api_names=orjson.dumps(api_names).decode()))
                self._generation = self.next_value(conn, SCHEMA_GENERATION)
            self.registry.set_api_names(entity, name, api_names)

    def next_value(self, conn: Connection, name: str) -> int:
        """Atomically increment and return a named counter (ticket numbers, schema generation)."""
        return self.next_values(conn, name, 1)[0]

    def upsert(self, table: Table) -> Any:
        """An INSERT into `table` that can say what to do on conflict (`on_conflict_do_nothing/update`): both
        backends spell it alike, through their own dialect's insert."""
        return (postgresql_insert if self.dialect == "postgresql" else sqlite_insert)(table)

    def next_values(self, conn: Connection, name: str, count: int) -> list[int]:
        """The next `count` values of a named counter, taken in one statement."""
        last = self._advance(conn, name, count)
        return list(range(last - count + 1, last + 1))

    def counter_value(self, conn: Connection, name: str) -> int:
        """A named counter's last value (0 before any was taken)."""
        counter = self.table("sequence_counter")
        return int(conn.execute(select(counter.c.value).where(counter.c.name == name)).scalar() or 0)

    def hold_counter(self, conn: Connection, name: str) -> int:
        """A named counter's last value (0 before any was taken), its row locked until `conn`'s transaction
        ends: no value is taken meanwhile, and values taken before are committed (or rolled back)."""
        return self._advance(conn, name, 0)

    def set_counter(self, conn: Connection, name: str, last: int) -> None:
        """Make `last` a counter's last value, the next one taken being `last` + 1 (hold it first)."""
        counter = self.table("sequence_counter")
        conn.execute(update(counter).where(counter.c.name == name).values(value=last))

    def _advance(self, conn: Connection, name: str, count: int) -> int:
        counter = self.table("sequence_counter")
        # One upsert: two transactions taking a counter's first value must not both try to insert its row.
        return int(conn.execute(self.upsert(counter).values(name=name, value=count).on_conflict_do_update(
            index_elements=[counter.c.name], set_={"value": counter.c.value + count}
        ).returning(counter.c.value)).scalar_one())

    def largest(self, conn: Connection, table_name: str, column: str) -> int | None:
        """The largest value a column holds in any row (soft-deleted ones included); None in an empty table."""
        table = self.table(table_name)
        return conn.execute(select(func.max(table.c[column]))).scalar()

    def reserve_ids(self, conn: Connection, table: Table, count: int) -> list[int]:
        """`count` new primary keys for `table`, for inserts that give their ids (no RETURNING needed).

        PostgreSQL takes them from the id sequence. SQLite continues after the largest id ever given (its
        AUTOINCREMENT counter, which the inserts then advance) or stored, which is safe because write
        transactions hold SQLite's write lock from their start."""
        if self.dialect == "postgresql":
            sequence = cast(bindparam("sequence", self._id_sequence(conn, table.name)), REGCLASS)
            rows = conn.execute(select(func.nextval(sequence)).select_from(func.generate_series(1, count))).scalars()
            return sorted(int(i) for i in rows)
        largest = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        # sqlite_sequence exists once any AUTOINCREMENT table does, which a store made before them lacks.
        has_counters = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'").first()
        given = conn.exec_driver_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                                     (table.name,)).scalar() if has_counters else None
        start = max(int(largest), int(given or 0)) + 1
        return list(range(start, start + count))

    def _id_sequence(self, conn: Connection, table_name: str) -> str:
        """The name of a PostgreSQL table's id sequence, looked up once: `nextval` of a per-row
        `pg_get_serial_sequence` costs five times more than of the name."""
        sequence = self._id_sequences.get(table_name)
        if sequence is None:
            sequence = conn.execute(select(func.pg_get_serial_sequence(table_name, "id"))).scalar_one()
            self._id_sequences[table_name] = sequence
        return sequence

    def has_schema(self) -> bool:
        """Whether PolyCRM's tables are there (`polycrm init` made them)."""
        with self.connect() as conn:
            return inspect(conn).has_table("sequence_counter")

    def dispose(self) -> None:
        self.engine.dispose()
        if self._log is not None:
            self._log.close()


def _columns(definition: CustomFieldDefinition) -> set[str]:
    field = Field(definition.name, definition.type, dict(definition.params, type=definition.type), custom=True)
    return {a.column.lower() for a in expand(field) if a.column is not None}


def _check_not_removing(definition: CustomFieldDefinition, rows: Sequence[Any]) -> None:
    """ColumnsStillPresent if a removed field whose columns are not dropped yet has the name or a column
    of `definition`: the new field would find the old one's values."""
    wanted = _columns(definition)
    for row in rows:
        if row.removed_at is not None and row.entity == definition.entity and (
                row.name.lower() == definition.name.lower() or _columns(_definition(row)) & wanted):
            raise ColumnsStillPresent(f"Field '{row.name}' of {row.entity} was removed moments ago; its column is "
                                      f"dropped within {int(COLUMN_DROP_DELAY.total_seconds())} seconds. "
                                      "Add the field after that.")


def _definition(row: Any) -> CustomFieldDefinition:
    """A stored custom field row as a definition."""
    return CustomFieldDefinition(row.entity, row.name, row.type, orjson.loads(row.params),
                                 orjson.loads(row.api_names), row.id)


class StoreNotFound(LookupError):
    """No store at a URL: no SQLite file, or a database without PolyCRM's tables."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def _create_private_file(path: Path) -> None:
    """An empty SQLite database file (a valid one) readable by its owner only, whatever the umask: SQLite gives
    its -wal and -shm files the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def open_database(url: str, *, schema: str | None = None, sync: bool = True, create: bool = True) -> Database:
    """Open a data store, creating or upgrading its schema when `sync` is set. Without `create`, a store that
    does not exist yet is StoreNotFound, and nothing is made (not even an empty SQLite file)."""
    path = sqlite_file(url)
    if path is not None:
        if create:
            _create_private_file(path)
        elif not path.is_file():
            raise StoreNotFound(url)
    database = Database(make_engine(url, schema=schema))
    if not create and not database.has_schema():
        database.dispose()
        raise StoreNotFound(url)
    if sync:
        database.sync_schema()
    else:
        database.load_custom_fields()
    return database


__all__ = ["Database", "StoreNotFound", "make_engine", "open_database", "sqlite_file", "utcnow"]
