"""Record repository: rows of one entity table in and out, as attribute dicts.

Values here are Python values (int ids, `date`, naive-UTC `datetime`, lists for arrays); formatting for a
wire protocol is the dialect's job, validation and access control are the core's.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import orjson
from sqlalchemy import Table, and_, delete, false, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from polycrm.meta import Attribute, Entity, LinkStorage, ValueKind
from polycrm.meta.model import Link
from polycrm.query.tree import Sort
from polycrm.store.compiler import FilterCompiler
from polycrm.store.database import Database

JSON_KINDS = (ValueKind.ARRAY, ValueKind.JSON)


@dataclass(slots=True)
class ContactPoint:
    """One email address or phone number of a record."""

    value: str
    primary: bool = False
    opt_out: bool = False
    invalid: bool = False
    type: str | None = None  # phones only


def _to_column(attribute: Attribute, value: Any) -> Any:
    if attribute.kind in JSON_KINDS and value is not None:
        return orjson.dumps(value).decode()
    return value


def _from_column(attribute: Attribute, value: Any) -> Any:
    if attribute.kind in JSON_KINDS:
        if value is None:
            return [] if attribute.kind is ValueKind.ARRAY else None
        return orjson.loads(value)
    return value


class RecordRepository:
    """SQL for one entity: insert, update, soft delete, fetch, search, relations, contact points."""

    def __init__(self, database: Database, entity: Entity):
        self.database = database
        self.entity = entity
        self.table: Table = database.table(entity.table)
        self.compiler = FilterCompiler(database, entity)
        self._columns = {a.name: a for a in entity.column_attributes()}
        self._aliases: dict[str, Any] = {}

    # --- writes -----------------------------------------------------------------------------------

    def _row(self, values: dict[str, Any]) -> dict[str, Any]:
        return {self._columns[name].column: _to_column(self._columns[name], value)
                for name, value in values.items() if name in self._columns}

    def insert(self, conn: Connection, values: dict[str, Any]) -> int:
        result = conn.execute(insert(self.table).values(self._row(values)).returning(self.table.c.id))
        return int(result.scalar_one())

    def insert_many(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert many rows in one statement per batch and return their ids in input order."""
        if not rows:
            return []
        prepared = [self._row(values) for values in rows]
        keys = sorted({k for row in prepared for k in row})
        normalized = [{k: row.get(k) for k in keys} for row in prepared]
        result = conn.execute(insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True),
                              normalized)
        return [int(r[0]) for r in result]

    def update(self, conn: Connection, record_id: int, values: dict[str, Any]) -> None:
        row = self._row(values)
        if row:
            conn.execute(update(self.table).where(self.table.c.id == record_id).values(row))

    def soft_delete(self, conn: Connection, ids: Iterable[int], values: dict[str, Any]) -> None:
        conn.execute(update(self.table).where(self.table.c.id.in_(list(ids)))
                     .values(deleted=True, **self._row(values)))

    # --- reads ------------------------------------------------------------------------------------

    def select_columns(self, attributes: Iterable[str] | None) -> list[Attribute]:
        if attributes is None:
            return list(self._columns.values())
        wanted = set(attributes) | {"id"}
        return [a for a in self._columns.values() if a.name in wanted]

    def fetch_rows(self, conn: Connection, where: ColumnElement[bool], *, attributes: Iterable[str] | None = None,
                   sorts: list[Sort] | None = None, offset: int = 0, limit: int | None = None,
                   name_links: Iterable[str] = (), include_deleted: bool = False) -> list[dict[str, Any]]:
        """Rows as attribute dicts; `name_links` are belongsTo links whose `<link>Name` is joined in."""
        columns = self.select_columns(attributes)
        selected = [self.table.c[a.column] for a in columns]
        joined = self.table
        name_keys = []
        for link_name in name_links:
            link = self.entity.links[link_name]
            target = self._link_alias(link_name)
            joined = joined.outerjoin(target, and_(target.c.id == self.table.c[link.far_column],
                                                   target.c.deleted == false()))
            selected.append(target.c.name)
            name_keys.append(f"{link_name}Name")
        query = select(*selected).select_from(joined).where(where)
        if not include_deleted:
            query = query.where(self.table.c.deleted == false())
        if sorts:
            query = query.order_by(*self.compiler.order_by(sorts))
        if offset:
            query = query.offset(offset)
        if limit is not None:
            query = query.limit(limit)
        rows = []
        width = len(columns)
        for row in conn.execute(query):
            record = {a.name: _from_column(a, v) for a, v in zip(columns, row)}
            record.update(zip(name_keys, row[width:]))
            rows.append(record)
        return rows

    def _link_alias(self, link_name: str) -> Any:
        """The joined target table of a belongsTo link; built once, since aliasing copies every column."""
        alias = self._aliases.get(link_name)
        if alias is None:
            link = self.entity.links[link_name]
            target = self.database.table(self.database.registry.entity(link.entity).table)
            alias = self._aliases[link_name] = target.alias(f"l_{link_name}")
        return alias

    def fetch(self, conn: Connection, record_id: int, attributes: Iterable[str] | None = None) -> dict[str, Any] | None:
        rows = self.fetch_rows(conn, self.table.c.id == record_id, attributes=attributes)
        return rows[0] if rows else None

    def count(self, conn: Connection, where: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(self.table).where(where, self.table.c.deleted == false())
        return int(conn.execute(query).scalar_one())

    def existing_ids(self, conn: Connection, ids: Iterable[int]) -> set[int]:
        wanted = list(set(ids))
        if not wanted:
            return set()
        query = select(self.table.c.id).where(self.table.c.id.in_(wanted), self.table.c.deleted == false())
        return {int(r[0]) for r in conn.execute(query)}

    def names(self, conn: Connection, ids: Iterable[int]) -> dict[int, str | None]:
        wanted = list({i for i in ids if i is not None})
        if not wanted:
            return {}
        query = select(self.table.c.id, self.table.c.name).where(self.table.c.id.in_(wanted),
                                                                  self.table.c.deleted == false())
        return {int(r[0]): r[1] for r in conn.execute(query)}

    # --- relations --------------------------------------------------------------------------------

    def related(self, conn: Connection, link: Link, owner_ids: Sequence[int]) -> dict[int, list[tuple[int, Any]]]:
        """For many-valued links: owner id -> [(related id, related name)] of live related records, by id."""
        if not owner_ids:
            return {}
        owner_column, related_column, scope = self.compiler.relation_columns(link)
        target = self.database.table(self.database.registry.entity(link.entity).table)
        query = select(owner_column, related_column, target.c.name).where(owner_column.in_(list(owner_ids)), *scope)
        if link.storage in (LinkStorage.JUNCTION, LinkStorage.POLYMORPHIC):
            query = query.join(target, target.c.id == related_column).where(target.c.deleted == false())
        grouped: dict[int, list[tuple[int, Any]]] = defaultdict(list)
        for owner, related, name in conn.execute(query.order_by(related_column)):
            grouped[int(owner)].append((int(related), name))
        return grouped

    def related_ids(self, conn: Connection, link: Link, owner_ids: Sequence[int]) -> dict[int, list[int]]:
        return {owner: [i for i, _ in pairs] for owner, pairs in self.related(conn, link, owner_ids).items()}

    def add_links(self, conn: Connection, link: Link, owner_id: int, related_ids: Iterable[int]) -> int:
        """Relate records; returns how many new relations were made."""
        current = set(self.related_ids(conn, link, [owner_id]).get(owner_id, []))
        new = [i for i in dict.fromkeys(related_ids) if i not in current]
        if not new:
            return 0
        if link.storage is LinkStorage.JUNCTION:
            conn.execute(insert(self.database.table(link.table)),
                         [{link.near_column: owner_id, link.far_column: i} for i in new])
        elif link.storage is LinkStorage.POLYMORPHIC:
            conn.execute(insert(self.database.table(link.table)),
                         [{"entity_type": self.entity.name, "entity_id": owner_id, link.far_column: i} for i in new])
        elif link.storage is LinkStorage.REVERSE_COLUMN:
            target = self.database.table(self.database.registry.entity(link.entity).table)
            conn.execute(update(target).where(target.c.id.in_(new)).values({link.far_column: owner_id}))
        elif link.storage is LinkStorage.CHILDREN:
            target = self.database.table(self.database.registry.entity(link.entity).table)
            conn.execute(update(target).where(target.c.id.in_(new)).values(
                {link.far_column + "_id": owner_id, link.far_column + "_type": self.entity.name}))
        else:
            raise ValueError(f"link {link.name} is not many-valued")
        return len(new)

    def remove_links(self, conn: Connection, link: Link, owner_id: int, related_ids: Iterable[int]) -> int:
        """Unrelate records; returns how many relations were removed."""
        ids = list(set(related_ids))
        if not ids:
            return 0
        if link.storage is LinkStorage.JUNCTION:
            junction = self.database.table(link.table)
            result = conn.execute(delete(junction).where(junction.c[link.near_column] == owner_id,
                                                         junction.c[link.far_column].in_(ids)))
        elif link.storage is LinkStorage.POLYMORPHIC:
            poly = self.database.table(link.table)
            result = conn.execute(delete(poly).where(poly.c.entity_type == self.entity.name,
                                                     poly.c.entity_id == owner_id, poly.c[link.far_column].in_(ids)))
        elif link.storage is LinkStorage.REVERSE_COLUMN:
            target = self.database.table(self.database.registry.entity(link.entity).table)
            result = conn.execute(update(target).where(target.c.id.in_(ids), target.c[link.far_column] == owner_id)
                                  .values({link.far_column: None}))
        elif link.storage is LinkStorage.CHILDREN:
            target = self.database.table(self.database.registry.entity(link.entity).table)
            result = conn.execute(update(target).where(
                target.c.id.in_(ids), target.c[link.far_column + "_id"] == owner_id,
                target.c[link.far_column + "_type"] == self.entity.name).values(
                {link.far_column + "_id": None, link.far_column + "_type": None}))
        else:
            raise ValueError(f"link {link.name} is not many-valued")
        return int(result.rowcount or 0)

    def replace_links(self, conn: Connection, link: Link, owner_id: int, related_ids: Sequence[int]) -> bool:
        """Make the relation set exactly `related_ids`; True when it changed."""
        current = set(self.related_ids(conn, link, [owner_id]).get(owner_id, []))
        wanted = set(related_ids)
        removed = self.remove_links(conn, link, owner_id, current - wanted)
        added = self.add_links(conn, link, owner_id, [i for i in related_ids if i not in current])
        return bool(removed or added)

    # --- email addresses and phone numbers --------------------------------------------------------

    def _contact_table(self, kind: str) -> Table:
        return self.database.table("email_address_link" if kind == "email" else "phone_number_link")

    def contact_points(self, conn: Connection, kind: str, field: str,
                       owner_ids: Sequence[int]) -> dict[int, list[ContactPoint]]:
        if not owner_ids:
            return {}
        side = self._contact_table(kind)
        value_column = side.c.address if kind == "email" else side.c.number
        type_column = side.c.type if kind == "phone" else side.c.field
        query = (select(side.c.entity_id, value_column, side.c.is_primary, side.c.opt_out, side.c.invalid,
                        type_column)
                 .where(side.c.entity_type == self.entity.name, side.c.field == field,
                        side.c.entity_id.in_(list(owner_ids)))
                 .order_by(side.c.entity_id, side.c.position))
        grouped: dict[int, list[ContactPoint]] = defaultdict(list)
        for owner, value, primary, opt_out, invalid, kind_value in conn.execute(query):
            grouped[int(owner)].append(ContactPoint(value, bool(primary), bool(opt_out), bool(invalid),
                                                    kind_value if kind == "phone" else None))
        return grouped

    def _contact_rows(self, kind: str, field: str, owner_id: int,
                      points: Sequence[ContactPoint]) -> list[dict[str, Any]]:
        rows = []
        for position, point in enumerate(points):
            row = {"entity_type": self.entity.name, "entity_id": owner_id, "field": field, "position": position,
                   "is_primary": point.primary, "opt_out": point.opt_out, "invalid": point.invalid}
            if kind == "email":
                row.update(address=point.value, address_lower=point.value.lower())
            else:
                row.update(number=point.value, numeric="".join(c for c in point.value if c.isdigit()),
                           type=point.type)
            rows.append(row)
        return rows

    def replace_contact_points(self, conn: Connection, kind: str, field: str, owner_id: int,
                               points: Sequence[ContactPoint]) -> None:
        side = self._contact_table(kind)
        conn.execute(delete(side).where(side.c.entity_type == self.entity.name, side.c.field == field,
                                        side.c.entity_id == owner_id))
        self.insert_contact_points_many(conn, kind, field, [(owner_id, points)])

    def insert_contact_points_many(self, conn: Connection, kind: str, field: str,
                                   items: Sequence[tuple[int, Sequence[ContactPoint]]]) -> None:
        """Write the contact points of records that have none stored (fresh inserts, or after a delete)."""
        rows = [row for owner_id, points in items for row in self._contact_rows(kind, field, owner_id, points)]
        if rows:
            conn.execute(insert(self._contact_table(kind)), rows)
