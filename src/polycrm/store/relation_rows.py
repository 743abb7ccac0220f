"""Rows of a record's relations and contact points: the junction, link-column and side tables that
`RecordRepository` writes (and `link_rows` reads with their junction values)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import BigInteger, Table, Text, TypeDecorator, any_, bindparam, delete, false, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect

from polycrm.meta import LinkStorage
from polycrm.meta.model import Link

if TYPE_CHECKING:
    from polycrm.store.records import RecordRepository

# Columns of the email address and phone number side tables that `_contact_rows` fills, in its order.
_POINT_COLUMNS = ("entity_type", "entity_id", "field", "position", "is_primary", "opt_out", "invalid")
CONTACT_POINT_COLUMNS = {"email": (*_POINT_COLUMNS, "address", "address_lower"),
                         "phone": (*_POINT_COLUMNS, "number", "numeric", "type")}


@dataclass(slots=True)
class ContactPoint:
    """One email address or phone number of a record."""

    value: str
    primary: bool = False
    opt_out: bool = False
    invalid: bool = False
    type: str | None = None  # phones only


class JsonIdList(TypeDecorator[list[int]]):
    """Ids bound as one JSON array text, which SQLite's `json_each` reads back as rows."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Iterable[int] | None, dialect: Dialect) -> str | None:
        return None if value is None else orjson.dumps(list(value)).decode()


def any_of(column: Any, name: str, dialect: str) -> Any:
    """`column` is one of the ids bound as `name`, as one parameter: PostgreSQL gets an array, SQLite a JSON
    array. An expanding IN list is a new statement at every execution: SQLAlchemy renders it again (a
    tenth of a millisecond, inside SQLite's write lock for a create's check of its linked ids) and
    PostgreSQL parses and plans it again (four times slower for a mass create's thousand ids)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(BigInteger())))
    ids = func.json_each(bindparam(name, type_=JsonIdList())).table_valued("value")
    return column.in_(select(ids.c.value))


class RelationRows:
    """The relation and contact-point half of `RecordRepository` (its base: it shares the repository's
    database, entity and statement cache)."""

    def link_rows(self: RecordRepository, conn: Connection, link: Link, owner_id: int,
                  related_ids: Sequence[int] | None = None) -> dict[int, dict[str, Any]]:
        """The live records related to one record through a many-valued link (or those of them among
        `related_ids`), by id in id order, each with its junction column values (none where the link keeps
        none)."""
        if not link.columns:
            related = self.related_ids(conn, link, [owner_id]).get(owner_id, [])
            wanted = None if related_ids is None else set(related_ids)
            return {i: {} for i in related if wanted is None or i in wanted}
        if related_ids is not None and not related_ids:
            return {}

        def build() -> Any:
            junction = self.database.table(link.table)
            target = self.database.table(self.database.registry.entity(link.entity).table)
            far = junction.c[link.far_column]
            query = select(far, *(junction.c[c.column] for c in link.columns.values())).join(
                target, target.c.id == far).where(junction.c[link.near_column] == bindparam("owner"),
                                                  target.c.deleted == false())
            if related_ids is not None:
                query = query.where(any_of(far, "related", self.database.dialect))
            return query.order_by(far)

        params = {"owner": owner_id} | ({} if related_ids is None else {"related": list(related_ids)})
        rows = conn.execute(self._statement(("link_rows", link.name, related_ids is None), build), params)
        return {int(related): dict(zip(link.columns, values)) for related, *values in rows}

    def add_links(self: RecordRepository, conn: Connection, link: Link, owner_id: int, related_ids: Iterable[int]) -> int:
        """Relate records; returns how many new relations were made."""
        current = set(self.related_ids(conn, link, [owner_id]).get(owner_id, []))
        new = [i for i in dict.fromkeys(related_ids) if i not in current]
        self.insert_links(conn, link, [(owner_id, i) for i in new])
        return len(new)

    def insert_links(self: RecordRepository, conn: Connection, link: Link, pairs: Sequence[tuple[int, int]],
                     values: Mapping[tuple[int, int], Mapping[str, Any]] | None = None) -> None:
        """Write relations known to be new, as (owner id, related id) pairs, with the junction column values
        `values` gives a pair (the columns' defaults for the rest): one statement for a relation table, one per
        owner where the relation is a column of the related records."""
        if not pairs:
            return
        if link.storage is LinkStorage.JUNCTION:
            given = values or {}
            columns = [link.near_column, link.far_column, *(column.column for column in link.columns.values())]
            rows = [[owner, related, *link.new_row(given.get((owner, related), {})).values()]
                    for owner, related in pairs]
            self.database.bulk_insert(self.database.table(link.table), columns).execute(conn, rows)
        elif link.storage is LinkStorage.POLYMORPHIC:
            self.database.bulk_insert(self.database.table(link.table), ["entity_type", "entity_id", link.far_column]
                                      ).execute(conn, [(self.entity.name, owner, related) for owner, related in pairs])
        elif link.storage in (LinkStorage.REVERSE_COLUMN, LinkStorage.CHILDREN):
            target = self.database.table(self.database.registry.entity(link.entity).table)
            by_owner: dict[int, list[int]] = defaultdict(list)
            for owner, related in pairs:
                by_owner[owner].append(related)
            for owner, ids in by_owner.items():
                values = ({link.far_column: owner} if link.storage is LinkStorage.REVERSE_COLUMN else
                          {link.far_column + "_id": owner, link.far_column + "_type": self.entity.name})
                conn.execute(update(target).where(target.c.id.in_(ids)).values(values))
        else:
            raise ValueError(f"link {link.name} is not many-valued")

    def remove_links(self: RecordRepository, conn: Connection, link: Link, owner_id: int, related_ids: Iterable[int]) -> int:
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

    def update_link_columns(self: RecordRepository, conn: Connection, link: Link, owner_id: int,
                            values: Mapping[int, Mapping[str, Any]]) -> None:
        """Set junction column values of existing relations: related id -> {column: value}. One statement
        per set of columns changed together."""
        junction = self.database.table(link.table)
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for related, changed in values.items():
            by_columns[tuple(changed)].append({"related_": related, **{f"v_{n}": v for n, v in changed.items()}})
        for names, rows in by_columns.items():
            if names:
                conn.execute(update(junction).where(junction.c[link.near_column] == owner_id,
                                                    junction.c[link.far_column] == bindparam("related_"))
                             .values({link.columns[n].column: bindparam(f"v_{n}") for n in names}), rows)

    # --- email addresses and phone numbers --------------------------------------------------------

    def _contact_table(self: RecordRepository, kind: str) -> Table:
        return self.database.table("email_address_link" if kind == "email" else "phone_number_link")

    def _contact_rows(self: RecordRepository, kind: str, field: str, owner_id: int,
                      points: Sequence[ContactPoint]) -> list[tuple[Any, ...]]:
        """Side table rows of one record's points, in `CONTACT_POINT_COLUMNS[kind]` order."""
        entity = self.entity.name
        if kind == "email":
            return [(entity, owner_id, field, position, point.primary, point.opt_out, point.invalid, point.value,
                     point.value.lower()) for position, point in enumerate(points)]
        return [(entity, owner_id, field, position, point.primary, point.opt_out, point.invalid, point.value,
                 "".join(c for c in point.value if c.isdigit()), point.type) for position, point in enumerate(points)]

    def replace_contact_points(self: RecordRepository, conn: Connection, kind: str, field: str, owner_id: int,
                               points: Sequence[ContactPoint]) -> None:
        def build() -> Any:
            side = self._contact_table(kind)
            return delete(side).where(side.c.entity_type == self.entity.name, side.c.field == field,
                                      side.c.entity_id == bindparam("owner"))

        conn.execute(self._statement(("delete_contact_points", kind, field), build), {"owner": owner_id})
        self.insert_contact_points_many(conn, kind, field, [(owner_id, points)])

    def insert_contact_points_many(self: RecordRepository, conn: Connection, kind: str, field: str,
                                   items: Sequence[tuple[int, Sequence[ContactPoint]]]) -> None:
        """Write the contact points of records that have none stored (fresh inserts, or after a delete)."""
        rows = [row for owner_id, points in items for row in self._contact_rows(kind, field, owner_id, points)]
        self.database.bulk_insert(self._contact_table(kind), CONTACT_POINT_COLUMNS[kind]).execute(conn, rows)
