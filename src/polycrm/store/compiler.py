"""Compile the canonical filter tree (polycrm.query.tree) into SQLAlchemy expressions. One compiler for
every dialect: parsers differ, SQL does not.

Trees are compiled by shape: `lift_values` replaces every filter value with a numbered `Slot`, the compiler
turns each slot into a bound parameter, and the repository caches the statement built for that shape.
Building a SQLAlchemy statement costs several times more than running it, and lists that differ only in
their values (the usual case: the same integration asking again) then share one statement.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import orjson
from sqlalchemy import Table, and_, bindparam, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from polycrm.meta import Entity, LinkStorage, ValueKind
from polycrm.query.tree import (And, Compare, Const, Foreign, LinkColumn, LinkCount, Linked, LinkMode, Node, Not, Op, Or,
                                Sort)
from polycrm.store.database import Database
from polycrm.store.schema import search_index_columns
from polycrm.store.text_lookups import INDEX_SEARCHED, TextLookups
from polycrm.store.text_search import TRIGRAM


class CompileError(ValueError):
    """The tree names something the entity cannot filter on (parsers should have rejected it)."""


@dataclass(frozen=True, slots=True)
class Slot:
    """The place of a filter value lifted out of a tree (`index` into the lifted values). `findable`: a text a
    text search index can find (store.text_search), which decides the SQL of a contains or starts-with."""

    index: int
    findable: bool = False




def lift_values(node: Node) -> tuple[Node, tuple[Any, ...]]:
    """(the tree with each value replaced by a Slot, the values in slot order).

    What changes the SQL stays in the shape: None (IS NULL), and how many items a tuple has. Link ids are
    de-duplicated first, since "related to all of" counts distinct ids.
    """
    shape, _, values = lift_query(node, ())
    return shape, values


def lift_query(node: Node, sorts: Sequence[Sort]) -> tuple[Node, tuple[Sort, ...], tuple[Any, ...]]:
    """`lift_values` of a filter tree and of the conditions its sorts carry (`Sort.within`), numbered in
    one sequence: (tree shape, sort shapes, values)."""
    values: list[Any] = []

    def lift(value: Any, searched: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, (tuple, list)):
            return tuple(lift(item) for item in value)
        values.append(value)
        return Slot(len(values) - 1, searched and isinstance(value, str) and len(value) >= TRIGRAM)

    def walk(item: Node | None) -> Any:
        if item is None:
            return None
        if isinstance(item, Compare):
            return Compare(item.attribute, item.op, lift(item.value, item.op in INDEX_SEARCHED))
        if isinstance(item, And):
            return And(tuple(walk(i) for i in item.items))
        if isinstance(item, Or):
            return Or(tuple(walk(i) for i in item.items))
        if isinstance(item, Not):
            return Not(walk(item.item))
        if isinstance(item, Foreign):
            return Foreign(item.link, walk(item.condition))
        if isinstance(item, Linked):
            return Linked(item.link, item.mode, lift(tuple(dict.fromkeys(item.ids))), walk(item.within))
        if isinstance(item, LinkCount):
            return LinkCount(item.link, item.op, lift(item.value), walk(item.within))
        if isinstance(item, LinkColumn):
            condition = walk(item.condition)
            assert isinstance(condition, Compare)
            return LinkColumn(item.link, condition, lift(tuple(dict.fromkeys(item.related_ids))), walk(item.within))
        return item

    shape = walk(node)
    sort_shapes = tuple(Sort(s.attribute, s.descending, walk(s.within)) for s in sorts)
    return shape, sort_shapes, tuple(values)


Transform = Callable[..., Any]


class Bindings:
    """The bound parameters of one compiled shape: each takes its value from slots, through a transform."""

    def __init__(self) -> None:
        self._params: list[tuple[str, tuple[int, ...], Transform | None]] = []

    def bind(self, slots: Slot | tuple[Slot, ...], transform: Transform | None = None) -> BindParameter[Any]:
        name = f"f{len(self._params)}"
        indexes = tuple(s.index for s in slots) if isinstance(slots, tuple) else (slots.index,)
        self._params.append((name, indexes, transform))
        return bindparam(name)

    def values(self, lifted: tuple[Any, ...]) -> dict[str, Any]:
        """Parameter values for one execution, from the lifted values of a tree of this shape."""
        params = {}
        for name, indexes, transform in self._params:
            if transform is None:
                params[name] = lifted[indexes[0]]
            else:
                params[name] = transform(*(lifted[i] for i in indexes))
        return params


def _escape_like(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_PATTERNS: dict[Op, Callable[[Any], str]] = {
    Op.CONTAINS: lambda v: f"%{_escape_like(v)}%",
    Op.NOT_CONTAINS: lambda v: f"%{_escape_like(v)}%",
    Op.STARTS_WITH: lambda v: f"{_escape_like(v)}%",
    Op.ENDS_WITH: lambda v: f"%{_escape_like(v)}",
    Op.EQUALS_TEXT: _escape_like,
}


def _json_item(value: Any) -> str:
    """An array item as stored inside its JSON text (arrays are JSON strings in one column)."""
    return orjson.dumps(str(value)).decode()


def _json_list(*values: Any) -> str:
    return orjson.dumps([str(v) for v in values]).decode()


_COMPARISONS = {Op.GT: operator.gt, Op.GE: operator.ge, Op.LT: operator.lt, Op.LE: operator.le}
_COUNTED = {**_COMPARISONS, Op.EQ: operator.eq, Op.NE: operator.ne}
# Text matches on a phone field, each with the positive match a negated one excludes.
_TEXT_MATCH = {Op.CONTAINS: Op.CONTAINS, Op.STARTS_WITH: Op.STARTS_WITH, Op.ENDS_WITH: Op.ENDS_WITH,
               Op.EQUALS_TEXT: Op.EQUALS_TEXT, Op.LIKE: Op.LIKE, Op.NOT_CONTAINS: Op.CONTAINS, Op.NOT_LIKE: Op.LIKE}


class FilterCompiler(TextLookups):
    """Turns lifted filter trees over one entity into WHERE clauses of that entity's table."""

    def __init__(self, database: Database, entity: Entity, *, live: bool = True, text_drives: bool = True):
        """`live`: the conditions are read with the live rows (as the SQLite text search index holds them).
        `text_drives`: a text search index's matches may drive the plan (SQLite reads them, then sorts);
        without, SQLite walks the order's index and checks each row against them (`RecordRepository`
        chooses it for a page of many matches)."""
        self.database = database
        self.entity = entity
        self.table: Table = database.table(entity.table)
        self._lowercase_like = database.dialect == "postgresql"
        self._search_columns = frozenset(search_index_columns(entity))
        self._set_up_text_lookups(live, text_drives)

    def compile(self, node: Node, bindings: Bindings) -> ColumnElement[bool]:
        """The WHERE clause of a lifted tree; its parameters are registered in `bindings`."""
        handler: Callable[[Any, Bindings], ColumnElement[bool]] = getattr(self, f"_{type(node).__name__.lower()}")
        return handler(node, bindings)

    # --- boolean structure ------------------------------------------------------------------------

    def _and(self, node: And, bindings: Bindings) -> ColumnElement[bool]:
        return and_(*(self.compile(i, bindings) for i in node.items))

    def _or(self, node: Or, bindings: Bindings) -> ColumnElement[bool]:
        ids = self._united_ids(node, bindings)
        if ids is not None:
            return self._among(ids)
        return or_(*(self.compile(i, bindings) for i in node.items))

    def _not(self, node: Not, bindings: Bindings) -> ColumnElement[bool]:
        # EspoCRM's `not` is "id NOT IN (records matching)", so rows with NULLs in the inner condition match.
        return self.table.c.id.not_in(select(self.table.c.id).where(self.compile(node.item, bindings)))

    def _const(self, node: Const, _bindings: Bindings) -> ColumnElement[bool]:
        return true() if node.value else false()

    # --- comparisons ------------------------------------------------------------------------------

    def _compare(self, node: Compare, bindings: Bindings) -> ColumnElement[bool]:
        if self._full_text and self._text_searched(node):
            return self._among(self.text_matches([node], bindings))
        attribute = self.entity.attributes.get(node.attribute)
        if attribute is None:
            raise CompileError(f"unknown attribute {node.attribute}")
        field = self.entity.fields.get(attribute.field)
        if field is not None and field.type in {"email", "phone"} and attribute.name == field.name \
                and node.op in (Op.EQ, Op.IN, Op.NE, Op.NOT_IN):
            return self._contact_point(field.type, field.name, node, bindings)
        if field is not None and field.type == "phone" and attribute.name == field.name and node.op in _TEXT_MATCH:
            return self._any_phone(field.name, node, bindings)
        if attribute.name in self.entity.primary_row_columns:
            return self._column_condition(self.primary_row_value(attribute.name), node, bindings)
        if attribute.column is None:
            if attribute.name.endswith("Name") and attribute.field in self.entity.links:
                return self._foreign(Foreign(attribute.field, Compare("name", node.op, node.value)), bindings)
            raise CompileError(f"attribute {node.attribute} cannot be filtered")
        column = self.table.c[attribute.column]
        if attribute.kind is ValueKind.ARRAY:
            return self._array(column, node, bindings)
        return self._column_condition(column, node, bindings)

    def _column_condition(self, column: Any, node: Compare, bindings: Bindings) -> ColumnElement[bool]:
        op, value = node.op, node.value
        if op is Op.EQ:
            return column.is_(None) if value is None else column == bindings.bind(value)
        if op is Op.NE:
            return column.is_not(None) if value is None else or_(column != bindings.bind(value), column.is_(None))
        if op in (Op.GT, Op.GE, Op.LT, Op.LE):
            return column.operate(_COMPARISONS[op], bindings.bind(value))
        if op is Op.IN:
            return column.in_([bindings.bind(v) for v in value]) if value else false()
        if op is Op.NOT_IN:
            return or_(column.not_in([bindings.bind(v) for v in value]), column.is_(None)) if value else true()
        if op is Op.IS_NULL:
            return column.is_(None) if not self._is_text(column) else or_(column.is_(None), column == "")
        if op is Op.IS_NOT_NULL:
            return column.is_not(None) if not self._is_text(column) else and_(column.is_not(None), column != "")
        if op in (Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.EQUALS_TEXT, Op.LIKE, Op.NOT_LIKE):
            return self._like(column, op, value, bindings)
        raise CompileError(f"operator {op} does not apply to {column.name}")

    @staticmethod
    def _is_text(column: Any) -> bool:
        return column.type.python_type is str

    def _like(self, column: Any, op: Op, value: Slot, bindings: Bindings,
              encode: Transform | None = None) -> ColumnElement[bool]:
        """Case-insensitive LIKE conditions; `encode` turns the value into its stored form first (array items).

        SQLite's LIKE ignores ASCII case already. PostgreSQL's is case-sensitive, and ILIKE cannot use an
        index, so both sides are lowered there: `lower(column)` is what its search indexes hold."""
        def like(pattern: Any, **escape: str) -> ColumnElement[bool]:
            if self._lowercase_like:
                return func.lower(column).like(func.lower(pattern), **escape)
            return column.like(pattern, **escape)

        if op is Op.EQUALS_TEXT and encode is None:
            # An equality, which the search indexes answer with the rows in the index's order (a LIKE without
            # wildcards is a range to SQLite); SQLite's NOCASE folds ASCII letters, as its LIKE does.
            if self._lowercase_like:
                return func.lower(column) == func.lower(bindings.bind(value, str))
            return column.collate("NOCASE") == bindings.bind(value, str)
        if op is Op.LIKE:
            return like(bindings.bind(value, str))
        if op is Op.NOT_LIKE:
            return or_(not_(like(bindings.bind(value, str))), column.is_(None))
        pattern = _PATTERNS[op]
        transform = pattern if encode is None else (lambda v: pattern(encode(v)))
        condition = like(bindings.bind(value, transform), escape="\\")
        return or_(not_(condition), column.is_(None)) if op is Op.NOT_CONTAINS else condition

    def _array(self, column: Any, node: Compare, bindings: Bindings) -> ColumnElement[bool]:
        """Arrays are stored as JSON text; an item matches on its exact JSON-encoded form."""
        if node.op is Op.ARRAY_IS_EMPTY:
            return or_(column.is_(None), column == "[]")
        if node.op is Op.ARRAY_IS_NOT_EMPTY:
            return and_(column.is_not(None), column != "[]")
        values = node.value if isinstance(node.value, tuple) else (node.value,)
        if node.op in (Op.EQ, Op.NE) and node.value is not None:
            stored = bindings.bind(values, _json_list)
            return column == stored if node.op is Op.EQ else or_(column != stored, column.is_(None))
        if node.op in (Op.EQ, Op.NE, Op.IS_NULL, Op.IS_NOT_NULL):
            return self._column_condition(column, node, bindings)
        matches = [self._like(column, Op.CONTAINS, v, bindings, encode=_json_item) for v in values]
        if node.op is Op.ARRAY_ANY_OF:
            return or_(*matches) if matches else false()
        if node.op is Op.ARRAY_ALL_OF:
            return and_(*matches) if matches else true()
        if node.op is Op.ARRAY_NONE_OF:
            return or_(column.is_(None), not_(or_(*matches))) if matches else true()
        raise CompileError(f"operator {node.op} does not apply to array {node.attribute}")

    def _contact_point(self, kind: str, field: str, node: Compare, bindings: Bindings) -> ColumnElement[bool]:
        """Email and phone equality matches any of the record's values (email case-insensitively)."""
        if node.value is None:
            column = self.table.c[self.entity.attributes[field].column]
            return self._column_condition(column, node, bindings)
        side = self.database.table("email_address_link" if kind == "email" else "phone_number_link")
        value_column = side.c.address_lower if kind == "email" else side.c.number
        slots = node.value if isinstance(node.value, tuple) else (node.value,)
        transform = (lambda v: str(v).lower()) if kind == "email" else None
        matching = select(side.c.entity_id).where(side.c.entity_type == self.entity.name, side.c.field == field,
                                                  value_column.in_([bindings.bind(s, transform) for s in slots]))
        if node.op in (Op.EQ, Op.IN):
            return self.table.c.id.in_(matching)
        return self.table.c.id.not_in(matching)

    def _any_phone(self, field: str, node: Compare, bindings: Bindings) -> ColumnElement[bool]:
        """A text match on a phone field matches any of the record's numbers (Concord's `phones` rule, EspoCRM's
        phone search); the negated forms match records none of whose numbers match."""
        positive = _TEXT_MATCH[node.op]
        matching = self.phone_owners(field, positive, node.value, bindings, live=False)
        return self.table.c.id.in_(matching) if positive is node.op else self.table.c.id.not_in(matching)

    # --- relations --------------------------------------------------------------------------------

    def _foreign(self, node: Foreign, bindings: Bindings) -> ColumnElement[bool]:
        link = self.entity.links.get(node.link)
        if link is None or link.storage is not LinkStorage.COLUMN or link.entity is None:
            raise CompileError(f"{node.link} is not a belongsTo link")
        target = FilterCompiler(self.database, self.database.registry.entity(link.entity))
        inner = select(target.table.c.id).where(target.compile(node.condition, bindings),
                                                target.table.c.deleted == false())
        return self.table.c[link.far_column].in_(inner)

    def _linked(self, node: Linked, bindings: Bindings) -> ColumnElement[bool]:
        link = self.entity.relation(node.link)
        if link is None:
            raise CompileError(f"unknown link {node.link}")
        ids = [bindings.bind(i) for i in node.ids]
        if link.storage in (LinkStorage.COLUMN, LinkStorage.PARENT):
            column = self.table.c[link.far_column]
            if node.within is not None and link.storage is LinkStorage.COLUMN:
                counted = self._related_within(link, node.within, bindings)
                return {
                    LinkMode.ANY: lambda: and_(column.in_(ids), column.in_(counted)) if ids else false(),
                    LinkMode.NONE: lambda: or_(column.not_in(ids) if ids else true(), column.is_(None),
                                               column.not_in(counted)),
                    LinkMode.ALL: lambda: and_(column == ids[0], column.in_(counted)) if len(ids) == 1 else false(),
                    LinkMode.EXISTS: lambda: column.in_(counted),
                    LinkMode.NOT_EXISTS: lambda: or_(column.is_(None), column.not_in(counted)),
                }[node.mode]()
            return {
                LinkMode.ANY: lambda: column.in_(ids) if ids else false(),
                LinkMode.NONE: lambda: or_(column.not_in(ids), column.is_(None)) if ids else true(),
                LinkMode.ALL: lambda: column == ids[0] if len(ids) == 1 else false(),
                LinkMode.EXISTS: lambda: column.is_not(None),
                LinkMode.NOT_EXISTS: lambda: column.is_(None),
            }[node.mode]()
        owner_column, related_column, scope = self.relation_columns(link)
        base = select(owner_column).where(*scope)
        if node.within is not None:
            base = base.where(related_column.in_(self._related_within(link, node.within, bindings)))
        if node.mode is LinkMode.EXISTS:
            return self.table.c.id.in_(base)
        if node.mode is LinkMode.NOT_EXISTS:
            return self.table.c.id.not_in(base)
        if not ids:
            return {LinkMode.ANY: false(), LinkMode.NONE: true(), LinkMode.ALL: true()}[node.mode]
        related = base.where(related_column.in_(ids))
        if node.mode is LinkMode.ANY:
            return self.table.c.id.in_(related)
        if node.mode is LinkMode.NONE:
            return self.table.c.id.not_in(related)
        # Ids were de-duplicated when lifted, so "all of" is "as many distinct matches as ids".
        all_of = related.group_by(owner_column).having(func.count(func.distinct(related_column)) == len(ids))
        return self.table.c.id.in_(all_of)

    def _linkcount(self, node: LinkCount, bindings: Bindings) -> ColumnElement[bool]:
        """The count of a record's live related records (through a to-many link) compared with the value: a
        correlated subquery, so a record without any counts 0."""
        link = self.entity.relation(node.link)
        if link is None or link.storage in (LinkStorage.COLUMN, LinkStorage.PARENT) or node.op not in _COUNTED:
            raise CompileError(f"cannot count {node.link} with {node.op}")
        owner_column, related_column, scope = self.relation_columns(link)
        counted = select(func.count(related_column)).where(owner_column == self.table.c.id, *scope)
        if node.within is not None:
            counted = counted.where(related_column.in_(self._related_within(link, node.within, bindings)))
        return counted.scalar_subquery().operate(_COUNTED[node.op], bindings.bind(node.value))

    def _linkcolumn(self, node: LinkColumn, bindings: Bindings) -> ColumnElement[bool]:
        """Records with a junction row through the link (to one of the related ids, when given) whose column
        matches; the column compares like an attribute of the same kind."""
        link = self.entity.links.get(node.link)
        column = link.columns.get(node.condition.attribute) if link is not None else None
        if link is None or column is None:
            raise CompileError(f"{node.link} has no junction column {node.condition.attribute}")
        junction = self.database.table(link.table)
        rows = select(junction.c[link.near_column]).where(
            self._column_condition(junction.c[column.column], node.condition, bindings))
        if node.related_ids:
            rows = rows.where(junction.c[link.far_column].in_([bindings.bind(i) for i in node.related_ids]))
        if node.within is not None:
            rows = rows.where(junction.c[link.far_column].in_(self._related_within(link, node.within, bindings)))
        return self.table.c.id.in_(rows)

    def _related_within(self, link: Any, within: Node, bindings: Bindings) -> Any:
        """The ids of a link's target records that match `within` (live ones)."""
        target = FilterCompiler(self.database, self.database.registry.entity(link.entity))
        return select(target.table.c.id).where(target.compile(within, bindings), target.table.c.deleted == false())

    def primary_row_value(self, name: str) -> Any:
        """An attribute read from a junction row (`Entity.primary_row_columns`), as a correlated subquery;
        false for a boolean when there is no such row (EspoCRM's left join reads it as not true)."""
        source = self.entity.primary_row_columns[name]
        link, through = self.entity.links[source.link], self.entity.links[source.through]
        junction = self.database.table(link.table).alias(f"row_{name}")
        column = link.columns[source.column]
        value = select(junction.c[column.column]).where(
            junction.c[link.near_column] == self.table.c.id,
            junction.c[link.far_column] == self.table.c[through.far_column]).scalar_subquery()
        return func.coalesce(value, false()) if column.kind is ValueKind.BOOL else value

    def relation_columns(self, link: Any) -> tuple[Any, Any, list[ColumnElement[bool]]]:
        """(column holding this entity's id, column holding the related id, scoping conditions)."""
        if link.storage is LinkStorage.JUNCTION:
            junction = self.database.table(link.table)
            return junction.c[link.near_column], junction.c[link.far_column], []
        if link.storage is LinkStorage.POLYMORPHIC:
            poly = self.database.table(link.table)
            return poly.c.entity_id, poly.c[link.far_column], [poly.c.entity_type == self.entity.name]
        target = self.database.table(self.database.registry.entity(link.entity).table)
        if link.storage is LinkStorage.REVERSE_COLUMN:
            return target.c[link.far_column], target.c.id, [target.c.deleted == false()]
        if link.storage is LinkStorage.CHILDREN:
            return (target.c[link.far_column + "_id"], target.c.id,
                    [target.c[link.far_column + "_type"] == self.entity.name, target.c.deleted == false()])
        raise CompileError(f"link {link.name} cannot be filtered")

    # --- ordering ---------------------------------------------------------------------------------

    def order_by(self, sorts: list[Sort], bindings: Bindings | None = None) -> list[Any]:
        """ORDER BY clauses of lifted sorts (their `within` conditions bound into `bindings`); ties are broken
        by id in the direction of the last sort (EspoCRM does so)."""
        clauses = []
        descending = False
        for sort in sorts:
            expression = self.sort_expression(sort.attribute, sort.within, bindings)
            descending = sort.descending
            clauses.append(expression.desc() if descending else expression.asc())
        if not any(s.attribute == "id" for s in sorts):
            clauses.append(self.table.c.id.desc() if descending else self.table.c.id.asc())
        return clauses

    def sort_expression(self, name: str, within: Node | None = None, bindings: Bindings | None = None) -> Any:
        """The SQL expression to sort by for an attribute or a field name; a link sorts by the name of its
        record when that record matches `within`."""
        attribute = self.entity.attributes.get(name)
        if attribute is not None and attribute.column is not None:
            return self.table.c[attribute.column]
        if name in self.entity.primary_row_columns:
            return self.primary_row_value(name)
        field = self.entity.fields.get(name)
        link = self.entity.links.get(name if field is None or field.type in {"link", "linkParent"} else "")
        if link is not None and link.storage is LinkStorage.COLUMN and link.entity:
            target = FilterCompiler(self.database, self.database.registry.entity(link.entity))
            named = select(target.table.c.name).where(target.table.c.id == self.table.c[link.far_column])
            if within is not None:
                assert bindings is not None, "a sort with a condition needs bindings"
                named = named.where(target.compile(within, bindings))
            return named.scalar_subquery()
        if link is not None and link.storage is LinkStorage.PARENT:
            return self.table.c[link.far_column.removesuffix("_id") + "_type"]
        if field is not None and field.type in {"currency", "datetimeOptional"}:
            return self.table.c[self.entity.attributes[field.name].column]
        raise CompileError(f"cannot order by {name}")
