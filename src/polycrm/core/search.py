"""List queries: the parameters every dialect fills in, and the text filter of an entity."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field as dataclass_field

from polycrm.core.errors import BadRequest
from polycrm.core.values import parse_non_negative
from polycrm.meta import Entity, ValueKind
from polycrm.query.tree import (TRUE, And, Compare, Foreign, LinkColumn, Node, Not, Op, Or, Sort, conjunction,
                                disjunction)


class TotalMode(str, enum.Enum):
    COUNT = "count"  # run a count query
    NONE = "none"  # EspoCRM's X-No-Total: report only whether more rows exist


@dataclass(slots=True)
class SearchQuery:
    where: Node = TRUE
    sorts: list[Sort] = dataclass_field(default_factory=list)
    offset: int = 0
    limit: int = 20
    select: list[str] | None = None  # attribute names; None = the default list attributes
    total: TotalMode = TotalMode.COUNT
    related: tuple[str, ...] = ()  # links whose related ids come with the records (`SearchResult.related`)


@dataclass(slots=True)
class SearchResult:
    records: list[dict]
    total: int | None  # None when not counted
    has_more: bool
    # Link name -> record id -> ids of the live records related through it, for the query's `related` links
    # (read in the records' own statement; not limited by access, as RelationService.related_ids).
    related: dict[str, dict[int, list[int]]] = dataclass_field(default_factory=dict)


def text_filter(entity: Entity, text: str, contains_min_length: int = 4) -> Node:
    """EspoCRM's quick search over `textFilterFields` (specs/espocrm.md §2.5), OR-ed across fields."""
    text = text.strip()
    if not text:
        return TRUE
    if "*" in text:
        pattern = text.replace("*", "%")
        op, value = Op.LIKE, pattern if pattern.endswith("%") else pattern + "%"
    else:
        op, value = Op.STARTS_WITH, text
    conditions: list[Node] = []
    for name in entity.text_filter_fields:
        field = entity.fields.get(name)
        if field is None:
            continue
        if field.type == "email":
            if " " not in text:
                conditions.append(Compare(name, Op.LIKE if op is Op.LIKE else Op.STARTS_WITH, value))
            continue
        attribute = entity.attributes.get(name)
        if attribute is None or attribute.column is None:
            continue
        if attribute.kind is ValueKind.INT:
            number = parse_non_negative(text)
            if number is not None:  # text no stored integer can equal matches nothing here
                conditions.append(Compare(name, Op.EQ, number))
            continue
        if attribute.kind is ValueKind.TEXT and op is Op.STARTS_WITH and len(text) >= contains_min_length:
            conditions.append(Compare(name, Op.CONTAINS, text))
        else:
            conditions.append(Compare(name, op, value))
        if field.type == "personName" and op is Op.STARTS_WITH:
            conditions.append(Compare("lastName", Op.STARTS_WITH, text))
            if " " in text:
                first_part, _, rest = text.partition(" ")
                conditions.append(conjunction([Compare("lastName", Op.STARTS_WITH, first_part),
                                               Compare("firstName", Op.STARTS_WITH, rest)]))
    return disjunction(conditions)


def check_filter_values(node: Node) -> None:
    """Refuse text containing NUL: no stored value can hold it, and PostgreSQL rejects it in a query."""
    if isinstance(node, (And, Or)):
        for item in node.items:
            check_filter_values(item)
    elif isinstance(node, Not):
        check_filter_values(node.item)
    elif isinstance(node, (Foreign, LinkColumn)):
        check_filter_values(node.condition)
    elif isinstance(node, Compare):
        values = node.value if isinstance(node.value, (list, tuple)) else (node.value,)
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise BadRequest("Filter values must not contain NUL characters.")
