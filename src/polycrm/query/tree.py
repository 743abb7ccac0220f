"""Filter tree nodes.

Dialects build these from their own syntax (EspoCRM `where[]`, InflowCRM `filters`, ...); `store.compiler`
turns them into SQL once. Values are already converted to the attribute's Python type (int, float, bool,
`datetime.date`, `datetime.datetime` in UTC, str) by the parser, so the compiler never guesses.
Attribute names are canonical (EspoCRM) attribute names of the entity being queried.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Union


class Op(str, enum.Enum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    IN = "in"  # value: tuple; empty tuple matches nothing
    NOT_IN = "notIn"  # value: tuple; empty tuple matches everything
    IS_NULL = "isNull"
    IS_NOT_NULL = "isNotNull"
    CONTAINS = "contains"  # value is literal text; wildcards are escaped
    NOT_CONTAINS = "notContains"
    STARTS_WITH = "startsWith"
    ENDS_WITH = "endsWith"
    EQUALS_TEXT = "equalsText"  # equal ignoring case (MySQL's *_ci collations, which ITFlow filters rely on)
    LIKE = "like"  # value is a SQL LIKE pattern supplied by the caller (% and _ are wildcards)
    NOT_LIKE = "notLike"
    ARRAY_ANY_OF = "arrayAnyOf"  # array attributes: value tuple
    ARRAY_NONE_OF = "arrayNoneOf"
    ARRAY_ALL_OF = "arrayAllOf"
    ARRAY_IS_EMPTY = "arrayIsEmpty"
    ARRAY_IS_NOT_EMPTY = "arrayIsNotEmpty"


@dataclass(frozen=True, slots=True)
class Compare:
    """`attribute <op> value`. For `emailAddress`/`phoneNumber` EQ/IN match any of the record's values."""

    attribute: str
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple["Node", ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: "Node"


@dataclass(frozen=True, slots=True)
class Const:
    """Always true (`any`) or always false (`none`)."""

    value: bool


class LinkMode(str, enum.Enum):
    ANY = "any"  # related to any of ids
    NONE = "none"  # related to none of ids
    ALL = "all"  # related to all ids
    EXISTS = "exists"  # has at least one related record (ids ignored)
    NOT_EXISTS = "notExists"


@dataclass(frozen=True, slots=True)
class Linked:
    """Relation filter over a link of the queried entity (`linkedWith`, `isLinked`, team ACL, ...); `within`
    limits the related records that count (access control: those the actor may read)."""

    link: str
    mode: LinkMode
    ids: tuple[int, ...] = ()
    within: "Node | None" = None


@dataclass(frozen=True, slots=True)
class Foreign:
    """A condition on a belongsTo-related record: `account.name = x` is Foreign("account", Compare("name", ...))."""

    link: str
    condition: "Node"


@dataclass(frozen=True, slots=True)
class LinkColumn:
    """A condition on a junction column of a many-to-many link (EspoCRM's `column*` items): the record has a
    row through `link` whose column (named by the Compare's attribute) matches `condition`; only the rows that
    relate it to one of `related_ids` when they are given (a relationship list's own record)."""

    link: str
    condition: Compare
    related_ids: tuple[int, ...] = ()
    within: "Node | None" = None  # as Linked's


@dataclass(frozen=True, slots=True)
class LinkCount:
    """How many live records relate to the queried one through `link` (those matching `within`), compared
    with `value` by `op` (EQ, NE, GT, GE, LT, LE): Concord's "has N products" rule."""

    link: str
    op: Op
    value: Any
    within: "Node | None" = None


Node = Union[Compare, And, Or, Not, Const, Linked, Foreign, LinkColumn, LinkCount]

TRUE = Const(True)
FALSE = Const(False)


def conjunction(items: list[Node]) -> Node:
    """And of items, flattening trivial cases."""
    kept = [i for i in items if i != TRUE]
    if any(i == FALSE for i in kept):
        return FALSE
    if not kept:
        return TRUE
    return kept[0] if len(kept) == 1 else And(tuple(kept))


def disjunction(items: list[Node]) -> Node:
    """Or of items, flattening trivial cases."""
    kept = [i for i in items if i != FALSE]
    if any(i == TRUE for i in kept):
        return TRUE
    if not kept:
        return FALSE
    return kept[0] if len(kept) == 1 else Or(tuple(kept))


@dataclass(frozen=True, slots=True)
class Sort:
    """Order by an attribute or field; for a link sorted by its record's name, `within` limits the records
    whose names count (access control: a name the actor may not read sorts as none)."""

    attribute: str
    descending: bool = False
    within: Node | None = None
