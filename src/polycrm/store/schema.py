"""SQLAlchemy tables built from metadata, plus the fixed system tables.

Entity tables hold one column per stored attribute (custom fields included: real columns, so they filter,
sort and index like built-in ones). Relations live in foreign-key columns, junction tables and the
polymorphic `entity_team`-style tables that metadata names.
"""

from __future__ import annotations

import hashlib
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Float, Index, Integer, MetaData,
                        PrimaryKeyConstraint, String, Table, Text, UniqueConstraint, false, func, inspect)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from polycrm.meta import FOLLOWERS_LINK, Attribute, Entity, JunctionColumn, LinkStorage, Registry, ValueKind
from polycrm.store.event_tables import build_event_tables
from polycrm.store.settings import build_setting_table
from polycrm.meta.model import snake_case

# PostgreSQL cuts longer identifiers short (NAMEDATALEN - 1 bytes), so two long names could become one.
MAX_IDENTIFIER_LENGTH = 63
# SQLite only treats INTEGER PRIMARY KEY as the rowid alias (fast, autoincrementing).
IdType = BigInteger().with_variant(Integer(), "sqlite")

SIDE_TABLE_KINDS = {ValueKind.ID_LIST, ValueKind.NAME_MAP}


def column_type(attribute: Attribute) -> TypeEngine:
    kind = attribute.kind
    if kind is ValueKind.STRING:
        return String(attribute.max_length or 255)
    if kind in (ValueKind.TEXT, ValueKind.ARRAY, ValueKind.JSON):
        return Text()
    if kind in (ValueKind.INT, ValueKind.ID):
        return BigInteger()
    if kind is ValueKind.FLOAT:
        return Float()
    if kind is ValueKind.BOOL:
        return Boolean()
    if kind is ValueKind.DATE:
        return Date()
    if kind is ValueKind.DATETIME:
        return DateTime()
    raise ValueError(f"attribute {attribute.name} of kind {kind} has no column")


def entity_column(attribute: Attribute, default: Any = None) -> Column:
    """The column of an attribute; `default` is its field's. A boolean's default is also the server's, so a
    column added to a table that has rows (a new built-in field when `polycrm init` upgrades a store, or a
    custom field) gives them the field's default: booleans never hold NULL."""
    assert attribute.column is not None
    if attribute.name == "id":
        return Column("id", IdType, primary_key=True, autoincrement=True)
    if attribute.kind is ValueKind.BOOL:
        on = default is True
        return Column(attribute.column, Boolean(), nullable=False, default=on, server_default="1" if on else "0")
    return Column(attribute.column, column_type(attribute), nullable=True)


def junction_column(column: JunctionColumn) -> Column:
    """A value column of a junction table. Its default is also the server's: `polycrm init` adds the column
    to a store whose relations already exist, and they get the default (booleans never hold NULL)."""
    assert column.column is not None
    default = column.default
    if column.kind is ValueKind.BOOL:
        return Column(column.column, Boolean(), nullable=False, server_default="1" if default else "0")
    return Column(column.column, column_type(column), nullable=True,
                  server_default=None if default is None else str(default))


def index_name(table: str, columns: list[str], prefix: str = "ix") -> str:
    name = f"{prefix}_{table}_{'_'.join(columns)}"
    # PostgreSQL truncates identifiers at 63 bytes; long names get a stable digest instead.
    return name if len(name) <= 60 else f"{prefix}_{table[:30]}_{hashlib.sha1(name.encode()).hexdigest()[:12]}"


# Shown on every record but seldom filtered on: an index would cost every write and serve few reads.
RARELY_FILTERED_FIELDS = frozenset({"modifiedBy", "salutationName"})


def entity_index_columns(entity: Entity) -> list[list[str]]:
    """Indexes for what lists filter and sort by: definition indexes, link columns, custom fields.

    Indexes hold live rows only (see `build_entity_table`) and end in (deleted, created_at, id): "equals X,
    ordered by createdAt desc, first page" reads the index in order and stays flat as rows grow, and the
    count of a filtered list is answered from the index alone (SQLite still checks `deleted` per row, so
    the index carries it). The unfiltered list reads (created_at, id, deleted).

    Every index costs every insert about as much as the row itself, so none is kept that another covers:
    an index whose leading columns begin another's goes (EspoCRM's `firstName` beside its `name` on first
    and last name), unless they are links, whose related and owner lists read it in order; and so does the
    creator's column where records have an assigned user, who is then their owner for access control.
    """
    columns = {a.column for a in entity.column_attributes()}
    sort_tail = ["deleted"] + [c for c in ("created_at", "id") if c in columns]
    wanted: list[list[str]] = []
    for attribute_names in entity.indexes.values():
        cols = [entity.attributes[n].column for n in attribute_names if n in entity.attributes]
        if cols and all(cols):
            wanted.append(cols)  # type: ignore[arg-type]
    for attribute in entity.column_attributes():
        field = entity.fields.get(attribute.field)
        if field is None or field.name in RARELY_FILTERED_FIELDS or (
                field.name == "createdBy" and entity.has_assigned_user):
            continue
        indexed_kind = attribute.kind is ValueKind.ID and attribute.name != "id"
        # Email and phone filters look addresses up in their own tables, so their columns go unindexed.
        indexed_field = attribute.name == field.name and (
            field.type in {"enum", "personName"}
            or (field.custom and attribute.kind not in (ValueKind.TEXT, ValueKind.JSON, ValueKind.ARRAY)))
        if (indexed_kind or indexed_field) and attribute.column not in sort_tail:
            wanted.append([attribute.column])  # type: ignore[list-item]
    leads = [[c for c in cols if c not in sort_tail] for cols in wanted]
    links = {a.column for a in entity.column_attributes() if a.kind is ValueKind.ID}
    wanted = [cols for cols, lead in zip(wanted, leads) if set(lead) <= links
              or not any(len(other) > len(lead) and other[:len(lead)] == lead for other in leads)]
    unique: list[list[str]] = [sort_tail[1:] + ["deleted"]] if "created_at" in columns else []
    for cols in wanted:
        full = cols + [c for c in sort_tail if c not in cols]
        # (created_at, deleted, id) serves no list that (created_at, id, deleted) does not.
        if all(set(full) != set(kept) for kept in unique):
            unique.append(full)
    return unique


# Fields with few distinct values, each shared by many rows: their filtered lists have large totals.
FEW_VALUED_FIELD_TYPES = frozenset({"enum", "bool"})


def count_index_columns(entity: Entity) -> list[str]:
    """Columns that get a single-column index of live rows on PostgreSQL, for counting.

    The exact total of "status = X" counts every match. PostgreSQL answers it from the smallest index that
    covers the filter, and B-tree deduplication (PostgreSQL 13+) stores a column with few values in a few
    bytes per row: about a sixth of the (column, deleted, created_at, id) index the ordered page reads, so
    counting 300,000 of a million rows takes a third of the time. Only for few-valued fields (enums, bools,
    the assigned user), where totals are large; a link column's matches are few and its list index counts
    them fast enough. SQLite has no deduplication, so there the list index counts too."""
    indexed = {cols[0] for cols in entity_index_columns(entity)}
    columns = []
    for attribute in entity.column_attributes():
        field = entity.fields.get(attribute.field)
        if attribute.column not in indexed or field is None:
            continue
        if field.type in FEW_VALUED_FIELD_TYPES or attribute.name == "assignedUserId":
            columns.append(attribute.column)
    return columns  # type: ignore[return-value]


def search_index_columns(entity: Entity) -> list[str]:
    """Columns quick text search (core.search.text_filter) matches by prefix, case-insensitively: the text
    filter fields stored as strings, and a person's last name."""
    columns = []
    for name in entity.text_filter_fields:
        field = entity.fields.get(name)
        attribute = entity.attributes.get(name)
        if field is None or attribute is None or attribute.column is None or attribute.kind is not ValueKind.STRING:
            continue
        columns.append(attribute.column)
        if field.type == "personName" and "lastName" in entity.attributes:
            columns.append(entity.attributes["lastName"].column)
    return list(dict.fromkeys(columns))  # type: ignore[arg-type]


def _search_index(table: Table, column: str, dialect: str, live: ColumnElement[bool], order: list[str]) -> Index:
    """A case-insensitive prefix index: `col COLLATE NOCASE` serves SQLite's LIKE, `lower(col)` with
    text_pattern_ops PostgreSQL's `lower(col) LIKE 'abc%'`. Live rows only, like the other indexes. It ends in
    the entity's search order (`search_order_columns`), so that an equals-ignoring-case filter read in that
    order stops at the end of its page."""
    name = index_name(table.name, [column, "search", *order[:1]])
    tail = [table.c[c] for c in order]
    if dialect == "postgresql":
        lowered = func.lower(table.c[column]).label(f"{column}_lower")
        return Index(name, lowered, *tail, postgresql_ops={f"{column}_lower": "text_pattern_ops"},
                     postgresql_where=live)
    return Index(name, table.c[column].collate("NOCASE"), table.c.deleted, *tail, sqlite_where=live)


def search_order_columns(entity: Entity) -> list[str]:
    """The columns ending the search indexes: the entity's `searchOrderBy` column and the id (App CRM sorts
    its lists by their resource's order, then by id)."""
    attribute = entity.attributes.get(entity.search_order_by or "")
    return [attribute.column, "id"] if attribute is not None and attribute.column else []  # type: ignore[list-item]


def build_entity_table(metadata: MetaData, entity: Entity, dialect: str) -> Table:
    fields = entity.fields
    columns = [entity_column(a, fields[a.field].params.get("default") if a.field in fields else None)
               for a in entity.column_attributes()]
    if entity.name == "User":
        columns.append(Column("password_hash", String(255), nullable=True))
    # AUTOINCREMENT: SQLite would otherwise give a purged record's id to the next new record, while
    # integrations may still hold it (PostgreSQL's sequences never reuse ids either).
    table = Table(entity.table, metadata, *columns, sqlite_autoincrement=True)
    # Partial indexes of live rows: reads always ask for `deleted = false`. An index led by `deleted` (true of
    # almost no row) would tempt SQLite's planner into scanning it instead of using a selective condition
    # such as "id IN (records with this email address)".
    live = table.c.deleted == false()
    for cols in entity_index_columns(entity):
        Index(index_name(entity.table, cols), *[table.c[c] for c in cols], sqlite_where=live, postgresql_where=live)
    order = search_order_columns(entity)
    for column in search_index_columns(entity):
        _search_index(table, column, dialect, live, order)
    if dialect == "postgresql":
        for column in count_index_columns(entity):
            Index(index_name(entity.table, [column, "count"]), table.c[column], postgresql_where=live)
    return table


def build_relation_tables(metadata: MetaData, registry: Registry) -> None:
    for entity in registry.entities.values():
        for link in entity.links.values():
            if link.table is None or link.table in metadata.tables:
                continue
            if link.storage is LinkStorage.JUNCTION:
                table = Table(link.table, metadata,
                              Column(link.near_column, BigInteger(), nullable=False),
                              Column(link.far_column, BigInteger(), nullable=False),
                              *(junction_column(column) for column in link.columns.values()),
                              UniqueConstraint(link.near_column, link.far_column))
                Index(index_name(link.table, [link.far_column]), table.c[link.far_column])
            elif link.storage is LinkStorage.POLYMORPHIC:
                table = Table(link.table, metadata,
                              Column("entity_type", String(100), nullable=False),
                              Column("entity_id", BigInteger(), nullable=False),
                              Column(link.far_column, BigInteger(), nullable=False),
                              UniqueConstraint("entity_type", "entity_id", link.far_column))
                Index(index_name(link.table, [link.far_column]), table.c[link.far_column])


def build_follow_table(metadata: MetaData) -> None:
    """Who follows which record (`meta.FOLLOWERS_LINK`), one row per (entity type, record, user). The primary
    key serves "who follows this record" (reads, follow and unfollow); the second index, leading with the
    user, serves "what does this user follow" (the `followed` filter) from the index alone. On SQLite the
    rows live in the key itself (WITHOUT ROWID): a mass create's follows fill two B-trees, not three."""
    link = FOLLOWERS_LINK
    assert link.table is not None and link.near_column is not None and link.far_column is not None
    table = Table(link.table, metadata,
                  Column("entity_type", String(100), nullable=False),
                  Column(link.near_column, BigInteger(), nullable=False),
                  Column(link.far_column, BigInteger(), nullable=False),
                  PrimaryKeyConstraint("entity_type", link.near_column, link.far_column),
                  sqlite_with_rowid=False)
    columns = [link.far_column, "entity_type", link.near_column]
    Index(index_name(link.table, columns), *[table.c[c] for c in columns])


def build_note_table(metadata: MetaData) -> None:
    """The activity stream (EspoCRM's `Note`): posts and the notes written when records change. A stream page
    is "the live notes of one record, newest first", read in order from the partial index on (parent, id); ids
    only grow, so they are EspoCRM's `number`. Never changed in place but for a post's text and a soft delete."""
    table = Table("note", metadata,
                  Column("id", IdType, primary_key=True, autoincrement=True),
                  Column("type", String(24), nullable=False),
                  Column("post", Text(), nullable=True),
                  Column("data", Text(), nullable=True),  # JSON object
                  Column("parent_type", String(100), nullable=True),
                  Column("parent_id", BigInteger(), nullable=True),
                  Column("related_type", String(100), nullable=True),
                  Column("related_id", BigInteger(), nullable=True),
                  Column("is_internal", Boolean(), nullable=False, default=False, server_default="0"),
                  Column("created_at", DateTime(), nullable=False),
                  Column("created_by_id", BigInteger(), nullable=True),
                  Column("modified_at", DateTime(), nullable=True),
                  Column("modified_by_id", BigInteger(), nullable=True),
                  Column("deleted", Boolean(), nullable=False, default=False, server_default="0"),
                  sqlite_autoincrement=True)  # a purged note's id must never name another
    live = table.c.deleted == false()
    Index("ix_note_parent", table.c.parent_type, table.c.parent_id, table.c.id, sqlite_where=live,
          postgresql_where=live)


def _contact_point_columns() -> list[Column]:
    """Bookkeeping columns shared by the email address and phone number side tables."""
    return [
        Column("id", IdType, primary_key=True, autoincrement=True),
        Column("entity_type", String(100), nullable=False),
        Column("entity_id", BigInteger(), nullable=False),
        Column("field", String(100), nullable=False),
        Column("position", Integer(), nullable=False),
        Column("is_primary", Boolean(), nullable=False),
        Column("opt_out", Boolean(), nullable=False),
        Column("invalid", Boolean(), nullable=False),
    ]


def build_system_tables(metadata: MetaData) -> None:
    emails = Table("email_address_link", metadata, *_contact_point_columns(),
                   Column("address", String(255), nullable=False),
                   Column("address_lower", String(255), nullable=False))
    Index("ix_email_address_link_entity", emails.c.entity_type, emails.c.entity_id)
    Index("ix_email_address_link_lower", emails.c.entity_type, emails.c.address_lower)
    phones = Table("phone_number_link", metadata, *_contact_point_columns(),
                   Column("number", String(64), nullable=False),
                   Column("numeric", String(64), nullable=False),
                   Column("type", String(36), nullable=True))
    Index("ix_phone_number_link_entity", phones.c.entity_type, phones.c.entity_id)
    Index("ix_phone_number_link_number", phones.c.entity_type, phones.c.number)

    Table("api_key", metadata,
          Column("id", IdType, primary_key=True, autoincrement=True),
          Column("user_id", BigInteger(), nullable=False, index=True),
          Column("name", String(100), nullable=True),
          Column("key_hash", String(64), nullable=False, unique=True),
          Column("key_prefix", String(12), nullable=False),
          Column("hmac_secret", Text(), nullable=True),  # encrypted at rest
          Column("created_at", DateTime(), nullable=False),
          Column("expires_at", DateTime(), nullable=True),
          Column("revoked_at", DateTime(), nullable=True),
          Column("last_used_at", DateTime(), nullable=True),
          # ITFlow keys (auth.itflow_keys); NULL on PolyCRM's own keys, so stores made before them upgrade
          # by adding the columns. `expires_on` is ITFlow's expiry date, `vault_key` the credential vault's
          # master key wrapped under the key's decrypt password.
          Column("protocol", String(16), nullable=True),
          Column("client_id", BigInteger(), nullable=True),
          Column("expires_on", Date(), nullable=True),
          Column("vault_key", Text(), nullable=True))
    Table("auth_token", metadata,
          Column("id", IdType, primary_key=True, autoincrement=True),
          Column("user_id", BigInteger(), nullable=False, index=True),
          Column("token_hash", String(64), nullable=False, unique=True),
          Column("created_at", DateTime(), nullable=False),
          Column("last_access", DateTime(), nullable=False),
          Column("is_active", Boolean(), nullable=False))
    Table("role", metadata,
          Column("id", IdType, primary_key=True, autoincrement=True),
          Column("name", String(100), nullable=False, unique=True),
          Column("scopes", Text(), nullable=False),  # JSON {Entity: {create, read, edit, delete}}
          Column("mass_update", Boolean(), nullable=False, default=True),
          Column("created_at", DateTime(), nullable=False))
    Table("role_user", metadata,
          Column("role_id", BigInteger(), nullable=False),
          Column("user_id", BigInteger(), nullable=False, index=True),
          UniqueConstraint("role_id", "user_id"))
    Table("custom_field", metadata,
          Column("id", IdType, primary_key=True, autoincrement=True),
          Column("entity", String(100), nullable=False),
          Column("name", String(100), nullable=False),
          Column("type", String(36), nullable=False),
          Column("params", Text(), nullable=False),
          Column("api_names", Text(), nullable=False),
          Column("created_at", DateTime(), nullable=False),
          # Set when the field is removed; its row and columns go later (store.database.COLUMN_DROP_DELAY).
          Column("removed_at", DateTime(), nullable=True),
          UniqueConstraint("entity", "name"))
    Table("sequence_counter", metadata,
          Column("name", String(100), primary_key=True),
          Column("value", BigInteger(), nullable=False))
    build_event_tables(metadata, IdType)
    build_setting_table(metadata)


def build_file_tables(metadata: MetaData) -> None:
    """Metadata of stored files; their content lives under the data directory, named by `storage_key`.

    `field` is the canonical file field a file is the value of, or NULL for a record's standalone
    attachments. Rows go with their record's purge, never with a soft delete."""
    files = Table("stored_file", metadata,
                  Column("id", IdType, primary_key=True, autoincrement=True),
                  Column("entity", String(100), nullable=False),
                  Column("record_id", BigInteger(), nullable=False),
                  Column("field", String(100), nullable=True),
                  Column("name", String(255), nullable=False),
                  Column("size", BigInteger(), nullable=False),
                  Column("mime_type", String(255), nullable=False),
                  Column("storage_key", String(64), nullable=False, unique=True),
                  Column("created_at", DateTime(), nullable=False),
                  Column("created_by_id", BigInteger(), nullable=True),
                  sqlite_autoincrement=True)  # a replaced file's id must never name another file
    Index("ix_stored_file_record", files.c.entity, files.c.record_id)


def build_metadata(registry: Registry, dialect: str) -> MetaData:
    """Every table of an instance with this registry, for a database of this dialect (`sqlite`,
    `postgresql`): their search indexes differ."""
    metadata = MetaData()
    for entity in registry.entities.values():
        build_entity_table(metadata, entity, dialect)
    build_relation_tables(metadata, registry)
    build_follow_table(metadata)
    build_note_table(metadata)
    build_system_tables(metadata)
    build_file_tables(metadata)
    return metadata


def drop_removed_columns(conn: Connection, before: Table, after: Table) -> None:
    """Make a table that matched `before` match `after`, which lacks some of its columns (a removed custom
    field's): the indexes `after` does not have go first (SQLite refuses to drop an indexed column), then the
    columns. Indexes another process's metadata made for them go too: any index over a dropped column."""
    doomed = [column.name for column in before.columns if column.name not in after.columns]
    kept_indexes = {index.name for index in after.indexes}
    existing = {index["name"]: index for index in inspect(conn).get_indexes(before.name)}
    ops = Operations(MigrationContext.configure(conn))
    for name, index in sorted(existing.items()):
        covered = set(index.get("column_names") or []) | set(index.get("include_columns") or [])
        if name not in kept_indexes and (covered & set(doomed) or name in {i.name for i in before.indexes}):
            ops.drop_index(name, table_name=before.name)
    for column in doomed:
        ops.drop_column(before.name, column)


_BUILTIN_METADATA: dict[str, MetaData] = {}


def metadata_for(registry: Registry, dialect: str) -> MetaData:
    """`build_metadata`, built once per dialect for the built-in registry (`Registry.builtin`): every store
    a process opens shares those tables, which nothing changes once built (a custom field builds new
    ones), and building them took longer than opening the store."""
    if not registry.builtin:
        return build_metadata(registry, dialect)
    metadata = _BUILTIN_METADATA.get(dialect)
    if metadata is None:
        metadata = _BUILTIN_METADATA[dialect] = build_metadata(registry, dialect)
    return metadata


__all__ = ["MAX_IDENTIFIER_LENGTH", "build_metadata", "drop_removed_columns", "metadata_for", "column_type", "count_index_columns", "entity_column", "entity_index_columns", "index_name",
           "snake_case"]
