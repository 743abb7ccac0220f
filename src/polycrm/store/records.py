"""Record repository: rows of one entity table in and out, as attribute dicts.

Values here are Python values (int ids, `date`, naive-UTC `datetime`, lists for arrays); formatting for a
wire protocol is the dialect's job, validation and access control are the core's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import (BigInteger, Boolean, Integer, String, Table, Text, bindparam, cast, false, func, insert,
                        literal_column, null, select, true, union_all, update)
from sqlalchemy.engine import Connection

from polycrm.meta import Attribute, Entity, LinkStorage, ValueKind
from polycrm.meta.model import Link
from polycrm.query.tree import Compare, Node, Op, Or, Sort
from polycrm.store.compiler import Bindings, FilterCompiler, lift_query, lift_values
from polycrm.store.counts import remembered_count
from polycrm.store.database import Database
from polycrm.store.relation_rows import ContactPoint, RelationRows, any_of
from polycrm.store.statements import StatementCache

JSON_KINDS = (ValueKind.ARRAY, ValueKind.JSON)
# From how many text search matches a sorted page walks the order's index instead of sorting the matches: at a
# million rows each way then costs at most a few milliseconds (2,000 row lookups, or 20 rows of 1 in 500).
WALK_FROM_MATCHES = 2000


@dataclass(slots=True)
class SideData:
    """What a record shows besides its own columns: link name -> owner id -> [(related id, name)], for links
    whose junction keeps values link name -> owner id -> related id -> {column: value}, and email/phone
    field -> owner id -> contact points in order."""

    related: dict[str, dict[int, list[tuple[int, Any]]]]
    contact_points: dict[str, dict[int, list[ContactPoint]]]
    columns: dict[str, dict[int, dict[int, dict[str, Any]]]]

    def related_ids(self, links: Iterable[Link]) -> dict[str, dict[int, list[int]]]:
        """Link name -> owner id -> the ids of its related records, for these links (read with the others)."""
        return {link.name: {owner: [i for i, _ in pairs] for owner, pairs in self.related[link.name].items()}
                for link in links}


def merged_links(links: Sequence[Link], more: Iterable[Link]) -> list[Link]:
    """`links` and those of `more` not among them (by name): the side data one read asks for."""
    names = {link.name for link in links}
    return [*links, *(link for link in more if link.name not in names)]


def _from_json(attribute: Attribute) -> Callable[[Any], Any]:
    if attribute.kind is ValueKind.ARRAY:
        return lambda value: [] if value is None else orjson.loads(value)
    return lambda value: None if value is None else orjson.loads(value)


def _row_decoder(keys: Sequence[str], json_columns: Sequence[Attribute]) -> Callable[[Any], dict[str, Any]]:
    """Turns a result row (values in `keys` order) into an attribute dict; only JSON columns need decoding."""
    keys = tuple(keys)
    decoders = [(a.name, _from_json(a)) for a in json_columns]

    def decode(row: Any) -> dict[str, Any]:
        record = dict(zip(keys, row))
        for name, from_json in decoders:
            record[name] = from_json(record[name])
        return record

    return decode


SIDE_COLUMNS = ("part", "owner", "related", "text", "kind", "is_primary", "opt_out", "invalid", "columns", "ord")
# What one record's side rows carry in its JSON column: the owner is the record itself.
_SIDE_JSON_COLUMNS = tuple(name for name in SIDE_COLUMNS if name != "owner")


def _empty_side_data(links: Sequence[Link], contact_fields: Sequence[tuple[str, str]]) -> SideData:
    return SideData({link.name: defaultdict(list) for link in links},
                    {field: defaultdict(list) for _, field in contact_fields},
                    {link.name: defaultdict(dict) for link in links if link.columns})


@dataclass(frozen=True, slots=True)
class _SidePart:
    """What one `part` number of the side rows is: a link's set (`link` given) or a contact field's points."""

    source: str  # "link", "email" or "phone"
    name: str  # link or field name
    link: Link | None = None


def _side_parts(links: Sequence[Link], contact_fields: Sequence[tuple[str, str]]) -> list[_SidePart]:
    return [_SidePart("link", link.name, link) for link in links] + [
        _SidePart(kind, field) for kind, field in contact_fields]


def _junction_values(link: Link, values: Mapping[str, Any]) -> dict[str, Any]:
    """Junction column values as attribute values: booleans arrive as 0/1 where they were built into JSON
    on SQLite."""
    return {name: (None if value is None else bool(value)) if link.columns[name].kind is ValueKind.BOOL else value
            for name, value in values.items() if name in link.columns}


def _add_side_rows(result: SideData, parts: Sequence[_SidePart], rows: Iterable[Sequence[Any]]) -> None:
    """File side rows (part, owner, related, text, kind, is_primary, opt_out, invalid, columns, ord) into
    `result`. A link's `columns` is the JSON object of its junction row's values (a string, or already an
    object when SQLite nested it into a record's side JSON as JSON)."""
    for part, owner, related, text, kind_value, primary, opt_out, invalid, columns, _ in rows:
        source = parts[part]
        if source.link is not None:
            result.related[source.name][int(owner)].append((int(related), text))
            if source.link.columns:
                values = orjson.loads(columns) if isinstance(columns, str) else columns or {}
                result.columns[source.name][int(owner)][int(related)] = _junction_values(source.link, values)
        else:
            result.contact_points[source.name][int(owner)].append(ContactPoint(
                text, bool(primary), bool(opt_out), bool(invalid), kind_value if source.source == "phone" else None))


_by_part_and_ord = itemgetter(_SIDE_JSON_COLUMNS.index("part"), _SIDE_JSON_COLUMNS.index("ord"))
_by_part_owner_and_ord = itemgetter(*(SIDE_COLUMNS.index(name) for name in ("part", "owner", "ord")))


def _owned_by(column: Any, single: bool, dialect: str) -> Any:
    """`column` matches the bound "owners": plain equality for one owner, the common case of reading one
    record."""
    return column == bindparam("owners") if single else any_of(column, "owners", dialect)


def _owners(owner_ids: Sequence[int]) -> dict[str, Any]:
    return {"owners": owner_ids[0] if len(owner_ids) == 1 else list(owner_ids)}


class RecordRepository(RelationRows):
    """SQL for one entity: insert, update, soft delete, fetch, search, relations, contact points.

    Statements are built once per shape (see `polycrm.store.statements`) and run with bound parameters.
    With `deleted`, the record reads (`fetch_rows`, `fetch`, `count`, `fetch_with_side_data`) see the
    soft-deleted rows instead of the live ones: the trash (core.trash). Related records are live ones either way.
    """

    def __init__(self, database: Database, entity: Entity, *, deleted: bool = False):
        self.database = database
        self.entity = entity
        self.deleted = deleted
        self.table: Table = database.table(entity.table)
        self.compiler = FilterCompiler(database, entity, live=not deleted)
        self._walking = FilterCompiler(database, entity, live=not deleted, text_drives=False)
        self._columns = {a.name: a for a in entity.column_attributes()}
        self._column_names = {a.name: a.column for a in self._columns.values()}
        self._json_attributes = frozenset(a.name for a in self._columns.values() if a.kind in JSON_KINDS)
        # What reads return: every column but `deleted`, which a repository's reads fix (`_in_view`), and the
        # attributes read from a junction row.
        self._readable = [a for a in entity.attributes.values() if a.name != "deleted" and (
            a.column is not None or a.name in entity.primary_row_columns)]
        # Bulk inserts give every column (id first): one statement per table, whatever attributes rows set.
        self._insert_attributes = tuple(name for name in self._columns if name != "id")
        self._insert_columns = ("id", *(self._column_names[name] for name in self._insert_attributes))
        self._insert_json = tuple((position, name) for position, name in enumerate(self._insert_attributes, start=1)
                                  if name in self._json_attributes)
        self._statements: StatementCache[Any] = StatementCache()

    def _statement(self, key: Hashable, build: Callable[[], Any]) -> Any:
        return self._statements.get(key, build)

    # --- writes -----------------------------------------------------------------------------------

    def _stored(self, name: str, value: Any) -> Any:
        """An attribute value as its column stores it (JSON kinds as JSON text)."""
        return orjson.dumps(value).decode() if value is not None and name in self._json_attributes else value

    def _row(self, values: dict[str, Any]) -> dict[str, Any]:
        """Attribute values as column values."""
        columns = self._column_names
        row = {columns[name]: value for name, value in values.items() if name in columns}
        for name in self._json_attributes.intersection(values):
            row[columns[name]] = self._stored(name, values[name])
        return row

    def insert(self, conn: Connection, values: dict[str, Any]) -> int:
        statement = self._statement("insert", lambda: insert(self.table).returning(self.table.c.id))
        return int(conn.execute(statement, self._row(values)).scalar_one())

    def new_rows(self, records: Sequence[dict[str, Any]]) -> list[list[Any]]:
        """Records (attribute dicts) as rows for `insert_rows`, built before the write transaction: SQLite holds
        its one write lock for the whole transaction. An attribute a record leaves out is stored as a single
        insert would store it: its column's default (booleans' False), else NULL."""
        names = self._insert_attributes
        defaults = self.database.bulk_insert(self.table, self._insert_columns).defaults[1:]
        rows = []
        for values in records:
            row = [None, *map(values.get, names, defaults)]  # the id comes in `insert_rows`
            for position, name in self._insert_json:
                row[position] = self._stored(name, row[position])
            rows.append(row)
        return rows

    def insert_rows(self, conn: Connection, rows: list[list[Any]],
                    late: Mapping[str, Sequence[Any]] | None = None) -> list[int]:
        """Insert rows from `new_rows` with ids reserved up front (so the driver can batch them without
        RETURNING) and the `late` attributes (name -> value per row) only known inside the transaction;
        returns the ids in row order."""
        if not rows:
            return []
        ids = self.database.reserve_ids(conn, self.table, len(rows))
        for row, record_id in zip(rows, ids):
            row[0] = record_id
        for name, values in (late or {}).items():
            position = self._insert_attributes.index(name) + 1
            for row, value in zip(rows, values):
                row[position] = self._stored(name, value)
        self.database.bulk_insert(self.table, self._insert_columns).execute(conn, rows)
        return ids

    def update(self, conn: Connection, record_id: int, values: dict[str, Any]) -> None:
        row = self._row(values)
        if row:
            statement = self._statement("update", lambda: update(self.table).where(
                self.table.c.id == bindparam("record_id_")))
            conn.execute(statement, {**row, "record_id_": record_id})

    def soft_delete(self, conn: Connection, ids: Iterable[int], values: dict[str, Any]) -> None:
        conn.execute(update(self.table).where(self.table.c.id.in_(list(ids)))
                     .values(deleted=True, **self._row(values)))

    # --- reads ------------------------------------------------------------------------------------

    def select_columns(self, attributes: Iterable[str] | None) -> list[Attribute]:
        if attributes is None:
            return list(self._readable)
        wanted = set(attributes) | {"id"}
        return [a for a in self._readable if a.name in wanted]

    def fetch_rows(self, conn: Connection, where: Node, *, attributes: Iterable[str] | None = None,
                   sorts: Sequence[Sort] = (), offset: int = 0, limit: int | None = None,
                   name_links: Iterable[str] = (), lock: bool = False) -> list[dict[str, Any]]:
        """Rows matching a filter tree, as attribute dicts; `name_links` are belongsTo links whose
        `<link>Name` is joined in. `lock` takes the rows' write locks until the transaction ends (PostgreSQL's
        FOR UPDATE, in id order so that two transactions locking the same rows cannot deadlock; SQLite's
        write transactions hold the whole database already)."""
        return self.fetch_rows_with_side_data(conn, where, attributes=attributes, sorts=sorts, offset=offset,
                                              limit=limit, name_links=name_links, lock=lock)[0]

    def fetch_rows_with_side_data(self, conn: Connection, where: Node, *, attributes: Iterable[str] | None = None,
                                  sorts: Sequence[Sort] = (), offset: int = 0, limit: int | None = None,
                                  name_links: Iterable[str] = (), lock: bool = False, links: Sequence[Link] = (),
                                  contact_fields: Sequence[tuple[str, str]] = (), matching: int | None = None
                                  ) -> tuple[list[dict[str, Any]], SideData | None]:
        """`fetch_rows`, and the rows' side data (as `side_data` reads it) in the same statement when some is
        asked for: each row's side rows aggregated into a JSON column, computed for the page's rows only. A
        list's second statement was a tenth of its time. None for the side data when it was not read along
        (nothing asked; or a link back to this entity's own table, which the correlation could not tell
        from the outer row). `matching`: how many rows match, when counted first (`pages_by_count`)."""
        shape, sort_shapes, values = lift_query(where, sorts)
        columns = tuple(self.select_columns(attributes))
        name_links = tuple(name_links)
        along = bool(links or contact_fields) and not lock and self._correlatable(links)
        side_key = (tuple(link.name for link in links), tuple(contact_fields)) if along else None
        # Many text matches on a sorted page: walking the order's index finds the page's rows in a few
        # hundred steps, where reading every match to sort them costs a row lookup each.
        walk = matching is not None and matching >= WALK_FROM_MATCHES and bool(sort_shapes) and limit is not None
        key = ("rows", shape, tuple(a.name for a in columns), name_links, sort_shapes, bool(offset), limit, lock,
               side_key, walk)

        def build() -> tuple[Any, Bindings, Callable[[Any], dict[str, Any]]]:
            query, bindings, decode = self._build_rows(shape, columns, name_links, sort_shapes, bool(offset), limit,
                                                       lock, self._walking if walk else self.compiler)
            if along:
                query = query.add_columns(self._side_json(self._side_union(links, contact_fields, None),
                                                          correlated=True))
            return query, bindings, decode

        statement, bindings, decode = self._statement(key, build)
        params = bindings.values(values)
        if offset:
            params["offset_"] = offset
        rows = conn.execute(statement, params).all()
        if not along:
            return [decode(row) for row in rows], None
        records, side_rows = [], []
        for row in rows:
            record = decode(row[:-1])
            records.append(record)
            side_rows.extend((part, record["id"], *rest) for part, *rest in orjson.loads(row[-1] or "[]"))
        side_rows.sort(key=_by_part_owner_and_ord)  # as side_data orders them
        side = _empty_side_data(links, contact_fields)
        _add_side_rows(side, _side_parts(links, contact_fields), side_rows)
        return records, side

    def _correlatable(self, links: Sequence[Link]) -> bool:
        """Whether no link's rows come from this entity's own table (an account's child accounts)."""
        own = self.table.name
        return all(self.database.registry.entity(link.entity).table != own and link.table != own
                   for link in links)

    def _build_rows(self, shape: Node, columns: tuple[Attribute, ...], name_links: tuple[str, ...],
                    sorts: tuple[Sort, ...], with_offset: bool, limit: int | None,
                    lock: bool, compiler: FilterCompiler) -> tuple[Any, Bindings, Callable[[Any], dict[str, Any]]]:
        bindings = Bindings()
        selected, keys = [], []
        wanted = {a.name for a in columns}
        # Selected in definition order, link names included, so records need no reordering later.
        for attribute in self.entity.attributes.values():
            if attribute.name in wanted:
                selected.append(self.table.c[attribute.column] if attribute.column is not None
                                else self.compiler.primary_row_value(attribute.name))
            elif attribute.column is None and attribute.field in name_links and attribute.name.endswith("Name"):
                selected.append(self._link_name(attribute.field))
            else:
                continue
            keys.append(attribute.name)
        matching = (compiler.compile(shape, bindings), self._in_view())
        order = compiler.order_by(list(sorts), bindings) if sorts else []
        if lock:
            assert limit is None and not sorts, "locked rows are read whole, in id order"
            query = select(*selected).where(*matching).order_by(self.table.c.id).with_for_update(of=self.table)
        elif limit is None:
            query = self._paged(select(*selected).where(*matching).order_by(*order), with_offset, None)
        else:
            # A page picks its ids first, and only then computes the link names and other subqueries of its
            # rows: SQLite computes a row's whole select list before sorting, so a sorted search would run
            # them for each of its thousands of matches (PostgreSQL defers them by itself).
            page = select(self.table.c.id).where(*matching).order_by(*order).correlate(None)
            query = select(*selected).where(self.table.c.id.in_(self._paged(page, with_offset, limit)))
            query = query.order_by(*order)
        return query, bindings, _row_decoder(keys, [a for a in columns if a.kind in JSON_KINDS])

    @staticmethod
    def _paged(query: Any, with_offset: bool, limit: int | None) -> Any:
        """`query` with the page's OFFSET (bound as `offset_`) and LIMIT.

        Both are written into the SQL: PostgreSQL's generic plan of a prepared statement cannot know that an
        unknown limit is small, finds itself costlier than a fresh plan, and so plans every execution again;
        that planning was half of a list query's time. The limit (a page size: few values) is part of the
        statement; an offset, which takes many values, is written in at each execution."""
        if with_offset:
            query = query.offset(bindparam("offset_", type_=Integer(), literal_execute=True))
        if limit is not None:
            query = query.limit(literal_column(str(int(limit))))
        return query

    def _link_name(self, link_name: str) -> Any:
        """The name of a belongsTo link's record, as a correlated subquery: PostgreSQL plans a join of four
        link tables in milliseconds, every time a list's filter values change, and these in microseconds."""
        link = self.entity.links[link_name]
        target = self.database.table(self.database.registry.entity(link.entity).table).alias(f"l_{link_name}")
        return select(target.c.name).where(target.c.id == self.table.c[link.far_column],
                                           target.c.deleted == false()).scalar_subquery()

    def _in_view(self) -> Any:
        """The rows this repository's record reads see: the live ones, or the soft-deleted ones (`deleted`)."""
        return self.table.c.deleted == (true() if self.deleted else false())

    def fetch(self, conn: Connection, record_id: int, attributes: Iterable[str] | None = None, *,
              lock: bool = False) -> dict[str, Any] | None:
        rows = self.fetch_rows(conn, Compare("id", Op.EQ, record_id), attributes=attributes, lock=lock)
        return rows[0] if rows else None

    def pages_by_count(self, where: Node) -> bool:
        """Whether a sorted page of `where` is read best knowing how many rows match (pass the count as
        `matching`): a SQLite text search, whose matches may be few (read them and sort) or many (walk the
        order's index)."""
        return self.compiler.text_searched_in(where)

    def count(self, conn: Connection, where: Node) -> int:
        shape, values = lift_values(where)

        def build() -> tuple[Any, Bindings]:
            bindings = Bindings()
            # A search the indexes answer alone is counted from them: no row of the table is read.
            ids = self.compiler.live_ids(shape, bindings)
            if ids is not None:
                return select(func.count()).select_from(ids.subquery()), bindings
            return (select(func.count()).select_from(self.table).where(
                self.compiler.compile(shape, bindings), self._in_view()), bindings)

        statement, bindings = self._statement(("count", shape), build)
        params = bindings.values(values)
        key = (self.table.name, self.deleted, shape,
               tuple(tuple(v) if isinstance(v, list) else v for v in params.values()))
        return remembered_count(conn, key, lambda: int(conn.execute(statement, params).scalar_one()),
                                self.database.remembered_counts)

    def group_totals(self, conn: Connection, where: Node, group_by: str,
                     summed: str | None) -> dict[Any, tuple[int, float]]:
        """Per value of the `group_by` attribute, the count of the rows matching `where` and the sum of `summed`
        over them (empty values count as 0; no `summed`: 0)."""
        shape, values = lift_values(where)
        group = self.table.c[self._column_names[group_by]]
        total = func.coalesce(func.sum(self.table.c[self._column_names[summed]]), 0) if summed else literal_column("0")

        def build() -> tuple[Any, Bindings]:
            bindings = Bindings()
            return (select(group, func.count(), total).select_from(self.table).where(
                self.compiler.compile(shape, bindings), self._in_view()).group_by(group), bindings)

        statement, bindings = self._statement(("totals", group_by, summed, shape), build)
        return {row[0]: (int(row[1]), float(row[2])) for row in conn.execute(statement, bindings.values(values))}

    def matching_ids(self, conn: Connection, where: Node, *, deleted: bool | None = False) -> set[int]:
        """Ids of the rows matching a filter tree: live ones, soft-deleted ones (`deleted`), or either (None)."""
        shape, values = lift_values(where)

        def build() -> tuple[Any, Bindings]:
            bindings = Bindings()
            query = select(self.table.c.id).where(self.compiler.compile(shape, bindings))
            return (query if deleted is None else query.where(self.table.c.deleted == deleted)), bindings

        statement, bindings = self._statement(("matching_ids", shape, deleted), build)
        return {int(row[0]) for row in conn.execute(statement, bindings.values(values))}

    def ids_matching_each(self, conn: Connection, conditions: Sequence[Node], limit: int) -> set[int]:
        """Ids of up to `limit` live rows per condition, in one statement: a UNION ALL of one indexed query
        per condition (an OR across a column and an email subquery would scan the table)."""
        if not conditions:
            return set()
        shape, values = lift_values(Or(tuple(conditions)))

        def build() -> tuple[Any, Bindings]:
            bindings = Bindings()
            parts = [select(self.table.c.id).where(self.compiler.compile(item, bindings),
                                                   self.table.c.deleted == false())
                     .limit(literal_column(str(int(limit)))).subquery(f"match_{position}")
                     for position, item in enumerate(shape.items)]  # type: ignore[union-attr]
            return union_all(*(select(part.c.id) for part in parts)), bindings

        statement, bindings = self._statement(("ids_matching_each", shape, limit), build)
        return {int(row[0]) for row in conn.execute(statement, bindings.values(values))}

    def existing_ids(self, conn: Connection, ids: Iterable[int]) -> set[int]:
        return existing_ids_among(conn, [(self, ids)])[0]

    def live_ids_select(self, name: str, part: int) -> Any:
        """(part, id) of the live rows whose ids are bound as `name`."""
        return select(literal_column(str(part)).label("part"), self.table.c.id).where(
            self._id_among(name), self.table.c.deleted == false())

    def _id_among(self, name: str) -> Any:
        return any_of(self.table.c.id, name, self.database.dialect)

    def names(self, conn: Connection, ids: Iterable[int]) -> dict[int, str | None]:
        wanted = list({i for i in ids if i is not None})
        if not wanted:
            return {}
        statement = self._statement("names", lambda: select(self.table.c.id, self.table.c.name).where(
            self._id_among("ids"), self.table.c.deleted == false()))
        return {int(r[0]): r[1] for r in conn.execute(statement, {"ids": wanted})}

    # --- relations --------------------------------------------------------------------------------

    def related(self, conn: Connection, link: Link, owner_ids: Sequence[int]) -> dict[int, list[tuple[int, Any]]]:
        """For many-valued links: owner id -> [(related id, related name)] of live related records, by id."""
        if not owner_ids:
            return {}

        single = len(owner_ids) == 1

        def build() -> Any:
            owner_column, related_column, scope = self.compiler.relation_columns(link)
            target = self.database.table(self.database.registry.entity(link.entity).table)
            query = select(owner_column, related_column, target.c.name).where(
                _owned_by(owner_column, single, self.database.dialect), *scope)
            if link.storage in (LinkStorage.JUNCTION, LinkStorage.POLYMORPHIC):
                query = query.join(target, target.c.id == related_column).where(target.c.deleted == false())
            return query.order_by(related_column)

        grouped: dict[int, list[tuple[int, Any]]] = defaultdict(list)
        for owner, related, name in conn.execute(self._statement(("related", link.name, single), build),
                                                 _owners(owner_ids)).all():
            grouped[int(owner)].append((int(related), name))
        return grouped

    def related_ids(self, conn: Connection, link: Link, owner_ids: Sequence[int]) -> dict[int, list[int]]:
        return {owner: [i for i, _ in pairs] for owner, pairs in self.related(conn, link, owner_ids).items()}

    def side_data(self, conn: Connection, owner_ids: Sequence[int], links: Sequence[Link],
                  contact_fields: Sequence[tuple[str, str]]) -> SideData:
        """Related ids and names of many-valued links, and the email addresses and phone numbers of
        (kind, field) pairs, for several records in one statement: a read costs one round trip for them
        all, not one per link and field."""
        result = _empty_side_data(links, contact_fields)
        if not owner_ids or not (links or contact_fields):
            return result
        single = len(owner_ids) == 1
        key = ("side", tuple(link.name for link in links), tuple(contact_fields), single)
        statement = self._statement(key, lambda: self._side_union(
            links, contact_fields, lambda column: _owned_by(column, single, self.database.dialect)
        ).order_by(literal_column("part"), literal_column("owner"), literal_column("ord")))
        _add_side_rows(result, _side_parts(links, contact_fields), conn.execute(statement, _owners(owner_ids)))
        return result

    def fetch_with_side_data(self, conn: Connection, record_id: int, *, name_links: Iterable[str],
                             links: Sequence[Link], contact_fields: Sequence[tuple[str, str]]
                             ) -> tuple[dict[str, Any] | None, SideData]:
        """One record (every readable attribute, `name_links` names joined in) and its side data, in one
        statement: the side rows come aggregated into a JSON column. Reading one record is the commonest
        request, and its second statement was a third of its time on SQLite and more on PostgreSQL."""
        shape, values = lift_values(Compare("id", Op.EQ, record_id))
        name_links = tuple(name_links)
        key = ("full", shape, name_links, tuple(link.name for link in links), tuple(contact_fields))

        def build() -> tuple[Any, Bindings, Callable[[Any], dict[str, Any]]]:
            query, bindings, decode = self._build_rows(shape, tuple(self._readable), name_links, (), False, None,
                                                       False, self.compiler)
            if links or contact_fields:
                query = query.add_columns(self._side_json(self._side_union(
                    links, contact_fields, lambda column: _owned_by(column, True, self.database.dialect))))
            return query, bindings, decode

        statement, bindings, decode = self._statement(key, build)
        result = _empty_side_data(links, contact_fields)
        row = conn.execute(statement, {**bindings.values(values), "owners": record_id}).first()
        if row is None:
            return None, result
        if links or contact_fields:
            side_rows = row[-1]
            side_rows = orjson.loads(side_rows) if side_rows else []
            side_rows.sort(key=_by_part_and_ord)  # as side_data orders them
            _add_side_rows(result, _side_parts(links, contact_fields),
                           [(part, record_id, *rest) for part, *rest in side_rows])
            row = row[:-1]
        return decode(row), result

    def _of_outer_row(self, column: Any) -> Any:
        """`column` names the row of this entity's table that the enclosing statement reads."""
        return column == self.table.c.id

    def _side_json(self, union: Any, correlated: bool = False) -> Any:
        """The side rows of one record as one JSON array text of arrays in `_SIDE_JSON_COLUMNS` order; the
        union names its owner by parameter, or (`correlated`) as the outer row's id."""
        side = union.subquery("side")
        columns = [side.c[name] for name in _SIDE_JSON_COLUMNS]
        if self.database.dialect == "postgresql":
            rows = cast(func.json_agg(func.json_build_array(*columns)), Text())
        else:
            rows = func.json_group_array(func.json_array(*columns))
        json = select(rows).select_from(side).scalar_subquery()
        return (json.correlate(self.table) if correlated else json.correlate(None)).label("side_rows_")

    def _side_union(self, links: Sequence[Link], contact_fields: Sequence[tuple[str, str]],
                    owned: Callable[[Any], Any] | None) -> Any:
        """A UNION ALL of one branch per link and contact field, each row (part, owner, related, text, kind,
        is_primary, opt_out, invalid, ord); `part` is the branch's position; `owned(owner column)` is the
        condition naming whose rows they are (None: the outer row of this entity's table, correlated)."""
        correlated = owned is None
        owned = owned or self._of_outer_row
        def no(type_: Any) -> Any:
            return cast(null(), type_)

        def labelled(*columns: Any) -> list[Any]:
            return [column.label(name) for column, name in zip(columns, SIDE_COLUMNS)]

        branches = []
        for part, link in enumerate(links):
            owner_column, related_column, scope = self.compiler.relation_columns(link)
            target = self.database.table(self.database.registry.entity(link.entity).table)
            columns = self._junction_json(link) if link.columns else no(Text())
            branch = select(*labelled(literal_column(str(part)), owner_column, related_column, target.c.name,
                                      no(String()), no(Boolean()), no(Boolean()), no(Boolean()), columns,
                                      related_column)
                            ).where(owned(owner_column), *scope)
            if link.storage in (LinkStorage.JUNCTION, LinkStorage.POLYMORPHIC):
                branch = branch.join(target, target.c.id == related_column).where(target.c.deleted == false())
            branches.append(branch)
        for part, (kind, field) in enumerate(contact_fields, start=len(links)):
            side = self._contact_table(kind)
            branches.append(select(*labelled(
                literal_column(str(part)), side.c.entity_id, no(BigInteger()),
                side.c.address if kind == "email" else side.c.number, side.c.type if kind == "phone" else no(String()),
                side.c.is_primary, side.c.opt_out, side.c.invalid, no(Text()), side.c.position)).where(
                side.c.entity_type == self.entity.name, side.c.field == field,
                owned(side.c.entity_id)))
        return union_all(*(branch.correlate(self.table) for branch in branches)) if correlated else \
            union_all(*branches)

    def _junction_json(self, link: Link) -> Any:
        """A junction row's column values as the text of one JSON object (`{"role": ..., "isInactive": ...}`),
        so that links of different columns share the side rows' one column for them."""
        junction = self.database.table(link.table)
        pairs = [item for column in link.columns.values()
                 for item in (literal_column(f"'{column.name}'"), junction.c[column.column])]
        if self.database.dialect == "postgresql":
            return cast(func.json_build_object(*pairs), Text())
        return func.json_object(*pairs)


_EXISTENCE_CHECKS: StatementCache[Any] = StatementCache()


def existing_ids_among(conn: Connection, wanted: Sequence[tuple[RecordRepository, Iterable[int]]]) -> list[set[int]]:
    """For each (repository, ids), the ids naming live records of it; one statement for all of them (a
    create linking an account and a user checks both in one round trip)."""
    asked = [(repository, list(set(ids))) for repository, ids in wanted]
    asked_for = [(position, repository, ids) for position, (repository, ids) in enumerate(asked) if ids]
    found: list[set[int]] = [set() for _ in asked]
    if not asked_for:
        return found

    def build() -> Any:
        parts = [repository.live_ids_select(f"ids_{position}", position) for position, repository, _ in asked_for]
        return parts[0] if len(parts) == 1 else union_all(*parts)

    statement = _EXISTENCE_CHECKS.get(tuple((position, repository.table) for position, repository, _ in asked_for),
                                      build)
    for part, record_id in conn.execute(statement, {f"ids_{position}": ids for position, _, ids in asked_for}):
        found[int(part)].add(int(record_id))
    return found
