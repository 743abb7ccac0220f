"""Compile the canonical filter tree (polycrm.query.tree) into SQLAlchemy expressions. One compiler for
every dialect: parsers differ, SQL does not."""

from __future__ import annotations

from typing import Any, Callable

import orjson
from sqlalchemy import Table, and_, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from polycrm.meta import Entity, LinkStorage, ValueKind
from polycrm.query.tree import And, Compare, Const, Foreign, Linked, LinkMode, Node, Not, Op, Or, Sort
from polycrm.store.database import Database


class CompileError(ValueError):
    """The tree names something the entity cannot filter on (parsers should have rejected it)."""


class FilterCompiler:
    """Turns filter trees over one entity into WHERE clauses of that entity's table."""

    def __init__(self, database: Database, entity: Entity):
        self.database = database
        self.entity = entity
        self.table: Table = database.table(entity.table)
        self._case_insensitive_like = database.dialect == "postgresql"

    def compile(self, node: Node) -> ColumnElement[bool]:
        handler: Callable[[Any], ColumnElement[bool]] = getattr(self, f"_{type(node).__name__.lower()}")
        return handler(node)

    # --- boolean structure ------------------------------------------------------------------------

    def _and(self, node: And) -> ColumnElement[bool]:
        return and_(*(self.compile(i) for i in node.items))

    def _or(self, node: Or) -> ColumnElement[bool]:
        return or_(*(self.compile(i) for i in node.items))

    def _not(self, node: Not) -> ColumnElement[bool]:
        # EspoCRM's `not` is "id NOT IN (records matching)", so rows with NULLs in the inner condition match.
        return self.table.c.id.not_in(select(self.table.c.id).where(self.compile(node.item)))

    def _const(self, node: Const) -> ColumnElement[bool]:
        return true() if node.value else false()

    # --- comparisons ------------------------------------------------------------------------------

    def _compare(self, node: Compare) -> ColumnElement[bool]:
        attribute = self.entity.attributes.get(node.attribute)
        if attribute is None:
            raise CompileError(f"unknown attribute {node.attribute}")
        field = self.entity.fields.get(attribute.field)
        if field is not None and field.type in {"email", "phone"} and attribute.name == field.name \
                and node.op in (Op.EQ, Op.IN, Op.NE, Op.NOT_IN):
            return self._contact_point(field.type, field.name, node)
        if attribute.column is None:
            if attribute.name.endswith("Name") and attribute.field in self.entity.links:
                return self._foreign(Foreign(attribute.field, Compare("name", node.op, node.value)))
            raise CompileError(f"attribute {node.attribute} cannot be filtered")
        column = self.table.c[attribute.column]
        if attribute.kind in (ValueKind.ARRAY,):
            return self._array(column, node)
        return self._column_condition(column, node)

    def _column_condition(self, column: Any, node: Compare) -> ColumnElement[bool]:
        op, value = node.op, node.value
        if op is Op.EQ:
            return column.is_(None) if value is None else column == value
        if op is Op.NE:
            return column.is_not(None) if value is None else or_(column != value, column.is_(None))
        if op is Op.GT:
            return column > value
        if op is Op.GE:
            return column >= value
        if op is Op.LT:
            return column < value
        if op is Op.LE:
            return column <= value
        if op is Op.IN:
            return column.in_(list(value)) if value else false()
        if op is Op.NOT_IN:
            return or_(column.not_in(list(value)), column.is_(None)) if value else true()
        if op is Op.IS_NULL:
            return column.is_(None) if not self._is_text(column) else or_(column.is_(None), column == "")
        if op is Op.IS_NOT_NULL:
            return column.is_not(None) if not self._is_text(column) else and_(column.is_not(None), column != "")
        if op in (Op.CONTAINS, Op.NOT_CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.LIKE, Op.NOT_LIKE):
            return self._like(column, op, str(value))
        raise CompileError(f"operator {op} does not apply to {column.name}")

    @staticmethod
    def _is_text(column: Any) -> bool:
        return column.type.python_type is str

    def _like(self, column: Any, op: Op, value: str) -> ColumnElement[bool]:
        like = column.ilike if self._case_insensitive_like else column.like
        if op is Op.LIKE:
            return like(value)
        if op is Op.NOT_LIKE:
            return or_(not_(like(value)), column.is_(None))
        escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = {Op.CONTAINS: f"%{escaped}%", Op.NOT_CONTAINS: f"%{escaped}%", Op.STARTS_WITH: f"{escaped}%",
                   Op.ENDS_WITH: f"%{escaped}"}[op]
        condition = like(pattern, escape="\\")
        return or_(not_(condition), column.is_(None)) if op is Op.NOT_CONTAINS else condition

    def _array(self, column: Any, node: Compare) -> ColumnElement[bool]:
        """Arrays are stored as JSON text; an item matches on its exact JSON-encoded form."""
        if node.op is Op.ARRAY_IS_EMPTY:
            return or_(column.is_(None), column == "[]")
        if node.op is Op.ARRAY_IS_NOT_EMPTY:
            return and_(column.is_not(None), column != "[]")
        values = node.value if isinstance(node.value, (list, tuple)) else (node.value,)
        matches = [self._like(column, Op.CONTAINS, orjson.dumps(str(v)).decode()) for v in values]
        if node.op is Op.ARRAY_ANY_OF:
            return or_(*matches) if matches else false()
        if node.op is Op.ARRAY_ALL_OF:
            return and_(*matches) if matches else true()
        if node.op is Op.ARRAY_NONE_OF:
            return or_(column.is_(None), not_(or_(*matches))) if matches else true()
        if node.op in (Op.EQ, Op.NE, Op.IS_NULL, Op.IS_NOT_NULL):
            return self._column_condition(column, Compare(node.attribute, node.op,
                                                          None if node.value is None else orjson.dumps(
                                                              list(values)).decode()))
        raise CompileError(f"operator {node.op} does not apply to array {node.attribute}")

    def _contact_point(self, kind: str, field: str, node: Compare) -> ColumnElement[bool]:
        """Email and phone equality matches any of the record's values (email case-insensitively)."""
        if node.value is None:
            column = self.table.c[self.entity.attributes[field].column]
            return self._column_condition(column, node)
        side = self.database.table("email_address_link" if kind == "email" else "phone_number_link")
        value_column = side.c.address_lower if kind == "email" else side.c.number
        values = list(node.value) if isinstance(node.value, (list, tuple)) else [node.value]
        if kind == "email":
            values = [str(v).lower() for v in values]
        matching = select(side.c.entity_id).where(side.c.entity_type == self.entity.name, side.c.field == field,
                                                  value_column.in_(values))
        if node.op in (Op.EQ, Op.IN):
            return self.table.c.id.in_(matching)
        return self.table.c.id.not_in(matching)

    # --- relations --------------------------------------------------------------------------------

    def _foreign(self, node: Foreign) -> ColumnElement[bool]:
        link = self.entity.links.get(node.link)
        if link is None or link.storage is not LinkStorage.COLUMN or link.entity is None:
            raise CompileError(f"{node.link} is not a belongsTo link")
        target = FilterCompiler(self.database, self.database.registry.entity(link.entity))
        inner = select(target.table.c.id).where(target.compile(node.condition), target.table.c.deleted == false())
        return self.table.c[link.far_column].in_(inner)

    def _linked(self, node: Linked) -> ColumnElement[bool]:
        link = self.entity.links.get(node.link)
        if link is None:
            raise CompileError(f"unknown link {node.link}")
        ids = list(node.ids)
        if link.storage in (LinkStorage.COLUMN, LinkStorage.PARENT):
            column = self.table.c[link.far_column]
            return {
                LinkMode.ANY: lambda: column.in_(ids) if ids else false(),
                LinkMode.NONE: lambda: or_(column.not_in(ids), column.is_(None)) if ids else true(),
                LinkMode.ALL: lambda: column == ids[0] if len(ids) == 1 else false(),
                LinkMode.EXISTS: lambda: column.is_not(None),
                LinkMode.NOT_EXISTS: lambda: column.is_(None),
            }[node.mode]()
        owner_column, related_column, scope = self.relation_columns(link)
        base = select(owner_column).where(*scope)
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
        all_of = related.group_by(owner_column).having(func.count(func.distinct(related_column)) == len(set(ids)))
        return self.table.c.id.in_(all_of)

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

    def order_by(self, sorts: list[Sort]) -> list[Any]:
        """ORDER BY clauses; ties are broken by id in the direction of the last sort (EspoCRM does so)."""
        clauses = []
        descending = False
        for sort in sorts:
            expression = self.sort_expression(sort.attribute)
            descending = sort.descending
            clauses.append(expression.desc() if descending else expression.asc())
        if not any(s.attribute == "id" for s in sorts):
            clauses.append(self.table.c.id.desc() if descending else self.table.c.id.asc())
        return clauses

    def sort_expression(self, name: str) -> Any:
        """The SQL expression to sort by for an attribute or a field name."""
        attribute = self.entity.attributes.get(name)
        if attribute is not None and attribute.column is not None:
            return self.table.c[attribute.column]
        field = self.entity.fields.get(name)
        link = self.entity.links.get(name if field is None or field.type in {"link", "linkParent"} else "")
        if link is not None and link.storage is LinkStorage.COLUMN and link.entity:
            target = self.database.table(self.database.registry.entity(link.entity).table)
            return select(target.c.name).where(target.c.id == self.table.c[link.far_column]).scalar_subquery()
        if link is not None and link.storage is LinkStorage.PARENT:
            return self.table.c[link.far_column.removesuffix("_id") + "_type"]
        if field is not None and field.type in {"currency", "datetimeOptional"}:
            return self.table.c[self.entity.attributes[field.name].column]
        raise CompileError(f"cannot order by {name}")
