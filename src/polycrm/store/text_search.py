"""Text search indexes: "contains" and "starts with" searches on names, emails, addresses and phone numbers
that find their rows without reading the whole table.

An entity with `collection.fullTextSearch` (EspoCRM's flag) has one over the text of its text filter fields
and its `fullTextSearchFields`; the phone numbers (their own table) have one too:

- SQLite: an FTS5 table with the trigram tokenizer (`<table>_text`), over the table as external content,
  keyed by its `id`. An entity's holds the live rows only (a soft-deleted record leaves it, a restored one
  comes back). Triggers keep it, so every write keeps it in its own transaction, whichever path wrote. A
  search of one or more columns is one MATCH: `{col} : "text"` finds the rows containing the text,
  `{col} : ^"text"` the rows starting with it; several columns' matches come out as one set of ids, which a
  count reads without touching the table (store.text_lookups compiles them).
- PostgreSQL: a pg_trgm GIN index on `lower(column)` per column, which serves the compiler's
  `lower(column) LIKE lower(pattern)` as it is. (One multicolumn index per table was measured: writes cost
  the same, since the trigrams are the same, and a search over several columns read it several times.)

Both fold case over all of Unicode, as PostgreSQL's `lower()` (and MySQL's collations, which EspoCRM and App CRM
run on) do; SQLite's own LIKE folds ASCII letters only. A text shorter than a trigram has no index to find it:
the compiler keeps the LIKE for it (a prefix is still served by the NOCASE search indexes).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import Select, literal_column, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from polycrm.meta import Entity, Registry, ValueKind
from polycrm.store.schema import index_name

TRIGRAM = 3  # the shortest text a trigram index can find
TEXT_KINDS = (ValueKind.STRING, ValueKind.TEXT)
# Phone numbers (of every entity) live in their own table, keyed by `id` like an entity's.
PHONE_TABLE, PHONE_COLUMN = "phone_number_link", "number"
# PostgreSQL's trigram indexes are made outside the metadata (their operator class names its schema), under
# a prefix of their own: the metadata's sync removes the `ix_` indexes it does not know.
TRIGRAM_INDEX_PREFIX = "trgm"


def text_search_columns(entity: Entity) -> list[str]:
    """The columns of an entity's text search index, in a stable order; none without `fullTextSearch`."""
    if not entity.full_text_search:
        return []
    columns = []
    for name in (*entity.text_filter_fields, *entity.full_text_search_fields):
        attribute = entity.attributes.get(name)
        if attribute is not None and attribute.column is not None and attribute.kind in TEXT_KINDS:
            columns.append(attribute.column)
    return list(dict.fromkeys(columns))


def phone_numbers_searched(registry: Registry) -> bool:
    """Whether the phone numbers get a text search index: some entity with `fullTextSearch` has a phone field."""
    return any(f.type == "phone" for e in registry.entities.values() if e.full_text_search for f in e.fields.values())


def text_table_name(table: str) -> str:
    return f"{table}_text"


def matching_rowids(table_name: str, query: Any) -> Select:
    """The rowids of the rows of an FTS5 table that match `query` (a bound FTS5 query, `match_expression`)."""
    fts = sqlalchemy.table(table_name, sqlalchemy.column("rowid"))
    return select(fts.c.rowid).where(literal_column(table_name).op("MATCH")(query))


def match_expression(terms: list[tuple[str, bool, str]]) -> str:
    """An FTS5 query matching rows where any (column, prefix, text) term holds: the column contains the text,
    or starts with it when `prefix`. The text is one quoted string, so nothing in it is query syntax. Terms of
    the same text are one phrase over their columns (`{a b} : "text"`): FTS5 reads the phrase's postings once,
    where an OR per column read them once per column (a quick search over nine columns: five times slower)."""
    columns: dict[tuple[bool, str], list[str]] = {}
    for column, prefix, value in terms:
        columns.setdefault((prefix, value), []).append(column)
    return " OR ".join(f'({{{" ".join(names)}}} : {"^" if prefix else ""}"{value.replace(chr(34), chr(34) * 2)}")'
                       for (prefix, value), names in columns.items())


def _ddl(table: str, columns: list[str], live: bool) -> list[str]:
    """The FTS5 table of `table`'s `columns` (keyed by its `id`) and the triggers that keep it; `live`: to the
    rows with deleted = 0."""
    name = text_table_name(table)
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    removed, added = (" WHERE old.deleted = 0", " WHERE new.deleted = 0") if live else ("", "")
    remove = f"INSERT INTO {name} ({name}, rowid, {listed}) SELECT 'delete', old.id, {old}{removed};"
    add = f"INSERT INTO {name} (rowid, {listed}) SELECT new.id, {new}{added};"
    watched = f"{listed}, deleted" if live else listed
    return [
        # columnsize=0: no per-row token counts (ranking reads them; nothing here ranks), a tenth off a write.
        f"CREATE VIRTUAL TABLE {name} USING fts5({listed}, content='{table}', content_rowid='id', "
        f"tokenize='trigram', columnsize=0)",
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON \"{table}\" BEGIN {add} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON \"{table}\" BEGIN {remove} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {watched} ON \"{table}\" BEGIN {remove} {add} END",
    ]


def sync_sqlite_text_indexes(conn: Connection, registry: Registry) -> None:
    """Make a SQLite store hold the text search index of every entity that has one (and of the phone numbers),
    as the definitions say: a missing or differing one is made again and filled with the live rows (a million
    contacts: seconds); one nothing asks for any more goes."""
    wanted = {text_table_name(e.table): (e.table, columns, True) for e in registry.entities.values()
              if (columns := text_search_columns(e))}
    if phone_numbers_searched(registry):
        wanted[text_table_name(PHONE_TABLE)] = (PHONE_TABLE, [PHONE_COLUMN], False)
    existing = {row[0]: row[1] for row in conn.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE '%\\_text%' ESCAPE '\\' "
        "AND type IN ('table', 'trigger')"))}
    for name in sorted({n for n in existing if n.endswith("_text")} - set(wanted)):
        if existing[name].upper().startswith("CREATE VIRTUAL TABLE"):
            _drop(conn, name)
    for name, (table, columns, live) in wanted.items():
        statements = _ddl(table, columns, live)
        if [existing.get(n) for n in (name, f"{name}_insert", f"{name}_delete", f"{name}_update")] == statements:
            continue
        _drop(conn, name)
        for statement in statements:
            conn.execute(text(statement))
        listed = ", ".join(columns)
        conn.execute(text(f"INSERT INTO {name} (rowid, {listed}) SELECT id, {listed} FROM \"{table}\""
                          + (" WHERE deleted = 0" if live else "")))


def _trigram_indexes(registry: Registry) -> dict[str, str]:
    """PostgreSQL's trigram indexes, name -> `CREATE INDEX` with `{ops}` for the operator class: of the
    entities' text search columns (live rows) and of the phone numbers."""
    wanted: list[tuple[str, str, str]] = []
    for entity in registry.entities.values():
        wanted += [(entity.table, column, "deleted = false") for column in text_search_columns(entity)]
    if phone_numbers_searched(registry):
        wanted.append((PHONE_TABLE, PHONE_COLUMN, ""))
    statements = {}
    for table, column, where in dict.fromkeys(wanted):
        name = index_name(table, [column], TRIGRAM_INDEX_PREFIX)
        statements[name] = (f'CREATE INDEX {name} ON "{table}" USING gin (lower({column}) {{ops}})'
                            + (f" WHERE {where}" if where else ""))
    return statements


def sync_postgresql_text_indexes(conn: Connection, registry: Registry) -> None:
    """Make a PostgreSQL store hold the trigram indexes the definitions ask for, and no other.

    pg_trgm is a trusted extension: the store's owner may create it. It goes into `public` (where it is not
    installed yet), and the indexes name its operator class with its schema, so that they do not depend on the
    search_path (a store in a schema of its own, as the tests make, sees the one extension of the database)."""
    if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first() is None:
        try:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
        except DBAPIError:  # another process created it at the same moment
            pass
    schema = conn.execute(text(
        "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")).scalar_one()
    wanted = _trigram_indexes(registry)
    existing = {row[0] for row in conn.execute(text(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE :prefix"),
        {"prefix": TRIGRAM_INDEX_PREFIX + "\\_%"})}
    for name in sorted(existing - set(wanted)):
        conn.execute(text(f"DROP INDEX {name}"))
    for name in sorted(set(wanted) - existing):
        conn.execute(text(wanted[name].format(ops=f"{schema}.gin_trgm_ops")))


def _drop(conn: Connection, name: str) -> None:
    for trigger in ("insert", "delete", "update"):
        conn.execute(text(f"DROP TRIGGER IF EXISTS {name}_{trigger}"))
    conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


__all__ = ["PHONE_COLUMN", "PHONE_TABLE", "TEXT_KINDS", "TRIGRAM", "match_expression", "phone_numbers_searched",
           "sync_postgresql_text_indexes", "sync_sqlite_text_indexes", "text_search_columns",
           "text_table_name"]
