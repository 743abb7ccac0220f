"""EspoCRM `where` items (specs/espocrm.md §2.3) -> the canonical filter tree (polycrm.query.tree).

Items arrive decoded: from JSON (`searchParams`, bodies) with real types, from the query string with every
scalar a string. Values are coerced to the attribute's kind here, so `"12"` filters an int column and a
value that cannot be one is a 400, never a database error. Datetime values become naive UTC datetimes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Callable

from polycrm.core.errors import BadRequest, Forbidden
from polycrm.core.values import INT_RANGE, parse_date, parse_id
from polycrm.dialects.php_query import php_intval
from polycrm.meta import Attribute, Entity, Link, LinkStorage, Registry, ValueKind
from polycrm.query import dates
from polycrm.query.tree import (FALSE, TRUE, Compare, Const, Foreign, LinkColumn, Linked, LinkMode, Node, Not, Op,
                                conjunction, disjunction)

MAX_DEPTH = 32  # nesting of and/or/not groups
ITEM_KEYS = frozenset({"type", "attribute", "field", "value", "dateTime", "date", "timeZone"})
SPECIAL_TYPES = frozenset({"primary", "bool", "textFilter"})  # hoisted out of `where` by split_special_items
UNSUPPORTED_TYPES = frozenset({"expression", "inCategory"})

_COMPARISONS = {"equals": Op.EQ, "on": Op.EQ, "notEquals": Op.NE, "notOn": Op.NE, "greaterThan": Op.GT,
                "after": Op.GT, "lessThan": Op.LT, "before": Op.LT, "greaterThanOrEquals": Op.GE,
                "lessThanOrEquals": Op.LE}
_LIST_OPS = {Op.EQ: Op.IN, Op.NE: Op.NOT_IN}  # the ORM turns `attr = [..]` into IN
_NULL_OPS = {Op.EQ: Op.IS_NULL, Op.NE: Op.IS_NOT_NULL}
_FLAGS = {"isNull": (Op.IS_NULL, None), "isNotNull": (Op.IS_NOT_NULL, None), "ever": (Op.IS_NOT_NULL, None),
          "isTrue": (Op.EQ, True), "isFalse": (Op.EQ, False)}
_TEXT_OPS = {"contains": Op.CONTAINS, "notContains": Op.NOT_CONTAINS, "startsWith": Op.STARTS_WITH,
             "endsWith": Op.ENDS_WITH, "like": Op.LIKE, "notLike": Op.NOT_LIKE}
_ARRAY_OPS = {"arrayAnyOf": Op.ARRAY_ANY_OF, "arrayNoneOf": Op.ARRAY_NONE_OF, "arrayAllOf": Op.ARRAY_ALL_OF,
              "arrayIsEmpty": Op.ARRAY_IS_EMPTY, "arrayIsNotEmpty": Op.ARRAY_IS_NOT_EMPTY}
_LINK_MODES = {"linkedWith": LinkMode.ANY, "notLinkedWith": LinkMode.NONE, "linkedWithAll": LinkMode.ALL,
               "isLinked": LinkMode.EXISTS, "isNotLinked": LinkMode.NOT_EXISTS}
# Junction column items, compared as EspoCRM's ORM compares (`=` / `!=` with a list are IN / NOT IN).
_COLUMN_OPS = {"columnEquals": Op.EQ, "columnIn": Op.EQ, "columnNotEquals": Op.NE, "columnNotIn": Op.NE,
               "columnIsNull": Op.IS_NULL, "columnIsNotNull": Op.IS_NOT_NULL, "columnLike": Op.LIKE}


def _negate(node: Node) -> Node:
    return Const(not node.value) if isinstance(node, Const) else Not(node)


def _not_all(nodes: list[Node]) -> Node:
    """EspoCRM's `not`: `id NOT IN (SELECT id ... WHERE <and of items>)`."""
    return _negate(conjunction(nodes))


_GROUPS: dict[str, Callable[[list[Node]], Node]] = {
    "and": conjunction, "or": disjunction, "subQueryIn": conjunction, "not": _not_all, "subQueryNotIn": _not_all,
}
_CONSTANTS = {"any": TRUE, "none": FALSE}
_DATE_VALUE_TYPES = frozenset({"on", "notOn", "before", "after"})  # local days on datetimes, as `between`

_SCALAR_KINDS = frozenset({ValueKind.STRING, ValueKind.TEXT, ValueKind.INT, ValueKind.FLOAT, ValueKind.BOOL,
                           ValueKind.DATE, ValueKind.DATETIME, ValueKind.ID})
_TEXT_KINDS = frozenset({ValueKind.STRING, ValueKind.TEXT})
_DATE_KINDS = frozenset({ValueKind.DATE, ValueKind.DATETIME})
_BOOL_KINDS = frozenset({ValueKind.BOOL})
_ARRAY_KINDS = frozenset({ValueKind.ARRAY})

_INT_TEXT = re.compile(r"[ \t]*[+-]?[0-9]{1,19}[ \t]*")
_FLOAT_TEXT = re.compile(r"[ \t]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?[ \t]*")
_TRUE_TEXT = frozenset({"1", "true"})
_FALSE_TEXT = frozenset({"0", "false", ""})


class _NoRecord:
    """An id no record can have (canonical ids are positive integers): `= it` matches nothing."""


_NO_RECORD = _NoRecord()


def split_special_items(items: list[Any]) -> tuple[list[Any], str | None, list[str], str | None]:
    """Hoist top-level `primary`, `bool` and `textFilter` items out of `where` (spec §2.1).

    Returns (remaining items, primary filter, bool filter names, text filter). Empty values are ignored, as
    EspoCRM ignores them; a `bool` value may be one name or a list of names. Anything not a dict stays in
    the remaining items so that parsing reports it.
    """
    remaining: list[Any] = []
    primary: str | None = None
    bools: list[str] = []
    text: str | None = None
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if not isinstance(kind, str) or kind not in SPECIAL_TYPES:
            remaining.append(item)
            continue
        value = item.get("value")
        if value is None or value == "" or value == []:
            continue
        names = value if kind == "bool" and isinstance(value, list) else [value]
        if not all(isinstance(name, str) for name in names):
            raise BadRequest(f"Bad where item '{kind}'.")
        if kind == "bool":
            bools.extend(names)
        elif kind == "primary":
            primary = value
        else:
            text = value
    return remaining, primary, bools, text


@dataclass(frozen=True, slots=True)
class _Item:
    """One validated where item."""

    type: str
    attribute: Any
    value: Any
    zone: tzinfo  # for local days: the item's `timeZone`, else the parser's default
    value_zone: tzinfo  # for date-time values without an offset: `zone` if `dateTime: true`, else UTC
    depth: int


@dataclass(frozen=True, slots=True)
class _Target:
    """The attribute an item filters on; `link` is set for a `link.attribute` path."""

    path: str
    link: str | None
    attribute: Attribute

    def wrap(self, node: Node) -> Node:
        """Put a condition on the foreign record for link paths; a false one stays false."""
        return node if self.link is None or node == FALSE else Foreign(self.link, node)


@dataclass(frozen=True, slots=True)
class RelationScope:
    """The relation a relationship list goes through, seen from the listed records: their link back to the
    list's own record, and that record's id. `column*` items in the list may name the link's junction
    columns themselves (`role` in an account's contacts)."""

    link: str
    record_id: int

    @classmethod
    def through(cls, link: Link, listed: Entity, record_id: Any) -> "RelationScope | None":
        """The scope of a list of `listed` records related to `record_id` through `link`; None unless the
        link is a junction (whose columns there are to name) and the id can be a record's."""
        parsed = parse_id(record_id)
        if link.storage is not LinkStorage.JUNCTION or link.foreign not in listed.links or parsed is None:
            return None
        return cls(link.foreign, parsed)


@dataclass(frozen=True, slots=True)
class _Span:
    """What a date-time filter value covers: a whole local day [start, end), or one instant (end None)."""

    start: datetime
    end: datetime | None


class EspoWhereParser:
    """Parses EspoCRM where items over one entity into a filter tree.

    `now` (aware) anchors relative date items; `time_zone` is the zone of items without a `timeZone` key.
    For datetime attributes every date item (`today`, `on` a date, `currentMonth`, ...) is a window of local
    days converted to UTC, whether or not the client sent `dateTime: true`; that flag only decides whether
    a full date-time value without an offset is wall time in the item's zone (true) or UTC (the wire default).
    Windows are half-open (`>= start AND < end`), equal to EspoCRM's `<= 23:59:59` at second resolution.
    """

    def __init__(self, registry: Registry, entity: Entity, *, now: datetime, time_zone: str = "UTC",
                 relation: RelationScope | None = None):
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.registry = registry
        self.entity = entity
        self.now = now
        self.default_zone = _zone(time_zone)
        self.relation = relation

    def parse(self, items: Any) -> Node:
        """A list of where items (implicitly and-ed) -> one node."""
        if not isinstance(items, list):
            raise BadRequest("Bad where.")
        return conjunction([self._node(item, 0) for item in items])

    # --- items ------------------------------------------------------------------------------------

    def _node(self, raw: Any, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise BadRequest("Where is nested too deeply.")
        item = self._item(raw, depth)
        if item.type in UNSUPPORTED_TYPES:
            raise BadRequest(f"Where item type '{item.type}' is not supported.")
        handler = _HANDLERS.get(item.type)
        if handler is None:
            raise BadRequest(f"Unknown where item type '{item.type}'.")
        return getattr(self, handler)(item)

    def _item(self, raw: Any, depth: int) -> _Item:
        if not isinstance(raw, dict):
            raise BadRequest("Bad where item.")
        unknown = sorted(str(key) for key in raw if key not in ITEM_KEYS)
        if unknown:
            raise BadRequest(f"Bad where item. Unknown key '{unknown[0]}'.")
        kind = raw.get("type")
        if not isinstance(kind, str) or not kind:
            raise BadRequest("Bad where item. No 'type'.")
        zone_name = raw.get("timeZone")
        if zone_name not in (None, "") and not isinstance(zone_name, str):
            raise BadRequest("Bad where item. Bad 'timeZone'.")
        zone = _zone(zone_name) if zone_name else self.default_zone
        try:
            local_values = raw.get("dateTime") is not None and _to_bool(raw["dateTime"])
        except ValueError:
            raise BadRequest("Bad where item. Bad 'dateTime'.") from None
        return _Item(kind, raw["attribute"] if "attribute" in raw else raw.get("field"), raw.get("value"), zone,
                     zone if local_values else timezone.utc, depth)

    # --- handlers (one per group of types; see _HANDLERS) -----------------------------------------

    def _constant(self, item: _Item) -> Node:
        return _CONSTANTS[item.type]

    def _group(self, item: _Item) -> Node:
        if not isinstance(item.value, list):
            raise BadRequest(f"Bad where item '{item.type}'.")
        return _GROUPS[item.type]([self._node(raw, item.depth + 1) for raw in item.value])

    def _comparison(self, item: _Item) -> Node:
        target = self._target(item)
        attribute = target.attribute
        _require_kind(item, target, _SCALAR_KINDS)
        if attribute.kind is ValueKind.DATETIME and item.type in _DATE_VALUE_TYPES:
            return target.wrap(self._datetime_comparison(item, target))
        op = _COMPARISONS[item.type]
        if isinstance(item.value, list) and op in _LIST_OPS:
            return self._membership(item, target, _LIST_OPS[op])
        if item.value is None and op in _NULL_OPS:
            return target.wrap(Compare(attribute.name, _NULL_OPS[op]))
        if op not in _LIST_OPS:
            return target.wrap(Compare(attribute.name, op, self._ordered(item, target, item.value)))
        value = self._scalar(item, target, item.value)
        if isinstance(value, _NoRecord):
            return target.wrap(FALSE if op is Op.EQ else TRUE)  # the compiler's `!= x` also matches NULL
        return target.wrap(Compare(attribute.name, op, value))

    def _in(self, item: _Item) -> Node:
        target = self._target(item)
        _require_kind(item, target, _SCALAR_KINDS)
        return self._membership(item, target, Op.IN if item.type == "in" else Op.NOT_IN)

    def _between(self, item: _Item) -> Node:
        target = self._target(item)
        name = target.attribute.name
        _require_kind(item, target, _SCALAR_KINDS)
        if not isinstance(item.value, list) or len(item.value) < 2:
            raise BadRequest("Bad where item 'between'.")
        low, high = item.value[:2]
        if target.attribute.kind is ValueKind.DATETIME:
            return target.wrap(conjunction([_from(name, self._span(item, target, low)),
                                            _until(name, self._span(item, target, high))]))
        return target.wrap(conjunction([Compare(name, Op.GE, self._ordered(item, target, low)),
                                        Compare(name, Op.LE, self._ordered(item, target, high))]))

    def _flag(self, item: _Item) -> Node:
        target = self._target(item)
        op, value = _FLAGS[item.type]
        if value is not None:
            _require_kind(item, target, _BOOL_KINDS)
        return target.wrap(Compare(target.attribute.name, op, value))

    def _text(self, item: _Item) -> Node:
        target = self._target(item)
        _require_kind(item, target, _TEXT_KINDS)
        try:
            text = _to_text(item.value)
        except ValueError:
            raise _bad_value(item, target) from None
        # The value stays a literal: the compiler binds it as a parameter.
        return target.wrap(Compare(target.attribute.name, _TEXT_OPS[item.type], text))

    def _array(self, item: _Item) -> Node:
        target = self._target(item)
        _require_kind(item, target, _ARRAY_KINDS)
        op = _ARRAY_OPS[item.type]
        if op in (Op.ARRAY_IS_EMPTY, Op.ARRAY_IS_NOT_EMPTY):
            return target.wrap(Compare(target.attribute.name, op))
        if item.value is None or item.value == "":
            raise BadRequest(f"Bad where item '{item.type}'. No value.")
        try:
            values = tuple(_to_text(v) for v in (item.value if isinstance(item.value, list) else [item.value]))
        except ValueError:
            raise _bad_value(item, target) from None
        return target.wrap(Compare(target.attribute.name, op, values))

    def _relative_date(self, item: _Item) -> Node:
        target = self._target(item)
        _require_kind(item, target, _DATE_KINDS)
        number = php_intval(item.value)
        try:
            if target.attribute.kind is ValueKind.DATE:
                window: dates.Window[Any] = dates.date_window(
                    item.type, dates.local_today(self.now, item.zone), number)
            else:
                window = dates.datetime_window(item.type, self.now, item.zone, number)
        except (ValueError, OverflowError):
            raise BadRequest(f"Bad where item '{item.type}'. Date is out of range.") from None
        return target.wrap(dates.within(target.attribute.name, window))

    def _linked(self, item: _Item) -> Node:
        name = _attribute_name(item)
        link = self.entity.links.get(name)
        if link is None:
            raise BadRequest(f"Not existing link '{name}' in where item.")
        mode = _LINK_MODES[item.type]
        ids, all_valid = self._link_ids(item, mode)
        foreign_key = f"{name}Id"
        if link.storage is LinkStorage.COLUMN and foreign_key in self.entity.attributes:
            return _belongs_to(foreign_key, mode, ids)
        if mode is LinkMode.ALL and not all_valid:
            return FALSE  # a record cannot be related to an id no record has
        return Linked(name, mode, ids)

    def _column(self, item: _Item) -> Node:
        """A junction column. `attribute` is a field standing for one (EspoCRM: Contact
        `acceptanceStatusMeetings` = the status of the contact's row of any meeting), or, in a relationship
        list, a column of that relation (`role`: the row relating the record to the list's own record).
        EspoCRM joins the link's rows left, so for its fields a record with no rows has a null column."""
        name = _attribute_name(item)
        related: tuple[int, ...] = ()
        if name in self.entity.column_filter_fields:
            link_name, column_name = self.entity.column_filter_fields[name]
        elif self.relation is not None and name in self.entity.links[self.relation.link].columns:
            link_name, column_name, related = self.relation.link, name, (self.relation.record_id,)
        else:
            raise BadRequest("Bad where item 'column'.")
        target = _Target(name, None, self.entity.links[link_name].columns[column_name])
        node = LinkColumn(link_name, self._column_condition(item, target), related)
        if node.condition.op is Op.IS_NULL and not related:
            return disjunction([node, Linked(link_name, LinkMode.NOT_EXISTS)])
        return node

    def _column_condition(self, item: _Item, target: _Target) -> Compare:
        """The comparison a `column*` item makes of its junction column (a list value is IN / NOT IN, null
        is IS NULL / IS NOT NULL), with values of the column's kind."""
        column, op = target.attribute.name, _COLUMN_OPS[item.type]
        if op is Op.LIKE:
            _require_kind(item, target, _TEXT_KINDS)
            try:
                return Compare(column, op, _to_text(item.value))
            except ValueError:
                raise _bad_value(item, target) from None
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            return Compare(column, op)
        if isinstance(item.value, list):
            return Compare(column, _LIST_OPS[op], tuple(self._scalar(item, target, v) for v in item.value))
        if item.value is None:
            return Compare(column, _NULL_OPS[op])
        return Compare(column, op, self._scalar(item, target, item.value))

    def _user_from_teams(self, item: _Item) -> Node:
        """Records whose user link (e.g. `assignedUser`) names a member of any of the teams."""
        name = _attribute_name(item).removesuffix("Id")
        link = self.entity.links.get(name)
        if link is None or link.storage is not LinkStorage.COLUMN or link.entity != "User":
            raise BadRequest(f"Bad where item 'isUserFromTeams'. '{name}' is not a user link.")
        ids, _ = self._link_ids(item, LinkMode.ANY)
        return Foreign(name, Linked("teams", LinkMode.ANY, ids))

    # --- attributes and values --------------------------------------------------------------------

    def _target(self, item: _Item) -> _Target:
        """The item's attribute, or a `link.attribute` path over a belongsTo link."""
        path = _attribute_name(item)
        link_name, dot, name = path.partition(".")
        if not dot:
            return _Target(path, None, _filterable(self.entity, path, path))
        link = self.entity.links.get(link_name)
        if link is None:
            raise Forbidden(f"Not existing link '{link_name}' in where.")
        if link.storage is not LinkStorage.COLUMN or link.entity is None:
            raise BadRequest(f"Where by '{path}' is not supported: '{link_name}' is not a belongsTo link.")
        return _Target(path, link_name, _filterable(self.registry.entity(link.entity), name, path))

    def _membership(self, item: _Item, target: _Target, op: Op) -> Node:
        """IN / NOT IN; ids no record can have are dropped (empty IN matches nothing, empty NOT IN all)."""
        if not isinstance(item.value, list):
            raise BadRequest(f"Bad where item '{item.type}'.")
        values = [self._scalar(item, target, value) for value in item.value]
        kept = tuple(value for value in values if not isinstance(value, _NoRecord))
        return target.wrap(Compare(target.attribute.name, op, kept))

    def _ordered(self, item: _Item, target: _Target, value: Any) -> Any:
        """A value for <, <=, >, >=: an id that no record can have is an error, not a match."""
        coerced = self._scalar(item, target, value)
        if isinstance(coerced, _NoRecord):
            raise _bad_value(item, target)
        return coerced

    def _scalar(self, item: _Item, target: _Target, value: Any) -> Any:
        """One value coerced to the attribute's kind, or _NO_RECORD for an id no record can have."""
        kind = target.attribute.kind
        if value is None or isinstance(value, (dict, list)):
            raise _bad_value(item, target)
        if kind is ValueKind.ID:
            return parse_id(value) or _NO_RECORD
        try:
            if kind is ValueKind.DATETIME:
                return dates.parse_instant(_require_text(value), item.value_zone)
            return _COERCERS.get(kind, _to_text)(value)
        except (ValueError, OverflowError):
            raise _bad_value(item, target) from None

    def _span(self, item: _Item, target: _Target, value: Any) -> _Span:
        """A date value covers its whole local day in the item's zone; a date-time value is one instant."""
        day = parse_date(value)
        if day is None:
            return _Span(self._ordered(item, target, value), None)
        try:
            return _Span(dates.local_midnight(day, item.zone), dates.local_midnight(day + dates.DAY, item.zone))
        except (ValueError, OverflowError):
            raise _bad_value(item, target) from None

    def _datetime_comparison(self, item: _Item, target: _Target) -> Node:
        """on / notOn / before / after on a datetime attribute, in local days (spec "Date semantics")."""
        name = target.attribute.name
        if item.value is None or item.value == "":
            raise BadRequest("Bad where item. Empty value.")
        span = self._span(item, target, item.value)
        on = conjunction([_from(name, span), _until(name, span)])
        return {"on": lambda: on, "notOn": lambda: _negate(on), "before": lambda: Compare(name, Op.LT, span.start),
                "after": lambda: _after(name, span)}[item.type]()

    def _link_ids(self, item: _Item, mode: LinkMode) -> tuple[tuple[int, ...], bool]:
        """(canonical ids, whether every given id was canonical); no ids for isLinked / isNotLinked."""
        if mode in (LinkMode.EXISTS, LinkMode.NOT_EXISTS):
            return (), True
        if item.value is None or item.value == "":
            raise BadRequest("Bad where item. Empty value.")
        raw = item.value if isinstance(item.value, list) else [item.value]
        if not all(isinstance(value, (str, int)) for value in raw):
            raise BadRequest(f"Bad where item '{item.type}'.")
        parsed = [parse_id(value) for value in raw]
        return tuple(i for i in parsed if i is not None), None not in parsed


_HANDLERS: dict[str, str] = {
    **dict.fromkeys(_CONSTANTS, "_constant"),
    **dict.fromkeys(_GROUPS, "_group"),
    **dict.fromkeys(_COMPARISONS, "_comparison"),
    "in": "_in", "notIn": "_in", "between": "_between",
    **dict.fromkeys(_FLAGS, "_flag"),
    **dict.fromkeys(_TEXT_OPS, "_text"),
    **dict.fromkeys(_ARRAY_OPS, "_array"),
    **dict.fromkeys(dates.RELATIVE_KINDS, "_relative_date"),
    **dict.fromkeys(_LINK_MODES, "_linked"),
    **dict.fromkeys(_COLUMN_OPS, "_column"),
    "isUserFromTeams": "_user_from_teams",
}


def _zone(name: str) -> tzinfo:
    try:
        return dates.time_zone(name)
    except ValueError:
        raise BadRequest(f"Bad timezone '{name[:64]}'.") from None


def _attribute_name(item: _Item) -> str:
    name = item.attribute
    if not isinstance(name, str) or not name:
        raise BadRequest(f"Bad where item '{item.type}'. No 'attribute'.")
    if "#" in name:
        raise Forbidden(f"Forbidden attribute '{name}' in where.")
    return name


def _filterable(entity: Entity, name: str, path: str) -> Attribute:
    """The attribute `name` of `entity` if the store can filter on it: a column, a belongsTo `<link>Name`, or
    one read from a junction row."""
    attribute = entity.attributes.get(name)
    if attribute is None:
        raise BadRequest(f"Not existing attribute '{path}' in where.")
    link = entity.links.get(attribute.field)
    if attribute.column is None and name not in entity.primary_row_columns and not (
            name == f"{attribute.field}Name" and link is not None and link.storage is LinkStorage.COLUMN):
        raise BadRequest(f"Attribute '{path}' cannot be used in where.")
    return attribute


def _require_kind(item: _Item, target: _Target, kinds: frozenset[ValueKind]) -> None:
    if target.attribute.kind not in kinds:
        raise BadRequest(f"Where item type '{item.type}' does not apply to attribute '{target.path}'.")


def _bad_value(item: _Item, target: _Target) -> BadRequest:
    return BadRequest(f"Bad where item '{item.type}'. Bad value for attribute '{target.path}'.")


def _belongs_to(foreign_key: str, mode: LinkMode, ids: tuple[int, ...]) -> Node:
    """Link items over a belongsTo link are conditions on its `<link>Id` column."""
    if mode is LinkMode.ALL:
        raise BadRequest("Bad where item. Not supported relation type.")
    return {
        LinkMode.ANY: lambda: Compare(foreign_key, Op.IN, ids),
        LinkMode.NONE: lambda: disjunction([Compare(foreign_key, Op.NOT_IN, ids), Compare(foreign_key, Op.IS_NULL)]),
        LinkMode.EXISTS: lambda: Compare(foreign_key, Op.IS_NOT_NULL),
        LinkMode.NOT_EXISTS: lambda: Compare(foreign_key, Op.IS_NULL),
    }[mode]()


# --- date and date-time bounds: an inclusive end of a day is "before the next midnight" ---------------

def _from(name: str, span: _Span) -> Node:
    return Compare(name, Op.GE, span.start)


def _until(name: str, span: _Span) -> Node:
    return Compare(name, Op.LE, span.start) if span.end is None else Compare(name, Op.LT, span.end)


def _after(name: str, span: _Span) -> Node:
    return Compare(name, Op.GT, span.start) if span.end is None else Compare(name, Op.GE, span.end)


# --- scalar coercion: ValueError on a value of the wrong shape ---------------------------------------

def _require_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(value)
    return value


def _to_text(value: Any) -> str:
    """Strings as they are, JSON numbers in their decimal form; anything else is not text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise ValueError(value)


def _to_int(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INT_TEXT.fullmatch(value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not INT_RANGE[0] <= value <= INT_RANGE[1]:
        raise ValueError(value)
    return value


def _to_float(value: Any) -> float:
    if isinstance(value, str) and _FLOAT_TEXT.fullmatch(value):
        value = float(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _to_bool(value: Any) -> bool:
    """JSON booleans, 0/1, and the query-string spellings of PHP, Python and jQuery clients."""
    if isinstance(value, bool):
        return value
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    text = value.lower() if isinstance(value, str) else None
    if text in _TRUE_TEXT or text in _FALSE_TEXT:
        return text in _TRUE_TEXT
    raise ValueError(value)


def _to_date(value: Any) -> date:
    parsed = parse_date(value)
    if parsed is None:
        raise ValueError(value)
    return parsed


_COERCERS: dict[ValueKind, Callable[[Any], Any]] = {
    ValueKind.INT: _to_int, ValueKind.FLOAT: _to_float, ValueKind.BOOL: _to_bool, ValueKind.DATE: _to_date,
}
