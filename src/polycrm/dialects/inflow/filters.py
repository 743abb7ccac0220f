"""InflowCRM `filters`, `advancedFilters` and `sort` (specs/inflowcrm.md §5, §7) -> the canonical filter tree.

Both advanced formats are accepted: the HEAD/2026 array of groups (conditions AND-ed within a group, groups
OR-ed) and the v0 object keyed by field (everything AND-ed). Simple `filters` are equalities, AND-ed with the
advanced ones. Field names are API field names plus `id`, `createdAt` and `modifiedAt`; conditions are checked
against the field compatibility matrix, and values are converted to the field's type here, so a bad filter is
a 400 naming the field, never a database error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

from polycrm.core.values import INT_RANGE, parse_datetime, parse_non_negative
from polycrm.dialects.inflow.envelope import InflowError, VALIDATION_ERROR, field_errors
from polycrm.dialects.inflow.ids import InvalidObjectId, decode_any, decode_id
from polycrm.dialects.inflow.mapping import ApiField, FieldType, Module
from polycrm.meta import ValueKind
from polycrm.query.tree import FALSE, TRUE, And, Compare, Node, Not, Op, Sort, conjunction, disjunction

MAX_CONDITIONS = 200
MAX_LIST_VALUES = 1000

EQUAL, NOT_EQUAL, IN, NOT_IN = "equal", "notEqual", "in", "notIn"
IS_EMPTY, IS_NOT_EMPTY = "isEmpty", "isNotEmpty"
COMPARISONS = {EQUAL: Op.EQ, NOT_EQUAL: Op.NE, "greater": Op.GT, "greaterOrEqual": Op.GE, "lower": Op.LT,
               "lowerOrEqual": Op.LE}
CONDITIONS = (*COMPARISONS, IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY)
_CONDITION_BY_LOWER = {c.lower(): c for c in CONDITIONS}
_ORDERING = {"greater", "greaterOrEqual", "lower", "lowerOrEqual"}
_EMPTINESS = {IS_EMPTY, IS_NOT_EMPTY}
_MEMBERSHIP = {IN, NOT_IN}
# The field compatibility matrix (HEAD docs); `in`/`notIn` on multi-pick and array fields mean "has any of"
# (the GraphQL docs' reading), an addition to the matrix.
COMPATIBLE: dict[FieldType, frozenset[str]] = {
    FieldType.STRING: frozenset({EQUAL, NOT_EQUAL, IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY}),
    FieldType.PICKLIST: frozenset({EQUAL, NOT_EQUAL, IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY}),
    FieldType.NUMBER: frozenset(CONDITIONS),
    FieldType.DATE: frozenset({*COMPARISONS, IS_EMPTY, IS_NOT_EMPTY}),
    FieldType.BOOLEAN: frozenset({EQUAL, NOT_EQUAL, IS_EMPTY, IS_NOT_EMPTY}),
    FieldType.RELATION: frozenset({EQUAL, NOT_EQUAL, IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY}),
    FieldType.MULTI_PICK: frozenset({IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY}),
    FieldType.ARRAY: frozenset({IN, NOT_IN, IS_EMPTY, IS_NOT_EMPTY}),
}
_ARRAY_TYPES = (FieldType.MULTI_PICK, FieldType.ARRAY)


class FilterError(ValueError):
    """One bad condition; `field` names the request field it is about."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Target:
    """A field that can be filtered and sorted: an API field or a system field."""

    name: str
    type: FieldType
    attribute: str  # the canonical attribute compared and sorted by
    kind: ValueKind
    related: tuple[str, ...] = ()  # relation targets
    polymorphic: bool = False


def _target(module: Module, api_field: ApiField) -> Target:
    field = api_field.field
    attribute = f"{field.name}Id" if field.type in ("link", "linkParent") else field.name
    kind = module.entity.attributes[attribute].kind
    return Target(api_field.name, api_field.type, attribute, kind, api_field.related_entities,
                  api_field.polymorphic)


class FilterParser:
    """Parses the filters, sort and the id lists of one module's requests."""

    def __init__(self, module: Module):
        self.module = module
        entity = module.entity
        self.targets = {"id": Target("id", FieldType.RELATION, "id", ValueKind.ID, (entity.name,))}
        for name in ("createdAt", "modifiedAt"):
            if name in entity.attributes:
                self.targets[name] = Target(name, FieldType.DATE, name, ValueKind.DATETIME)
        for api_field in module.fields.values():
            if api_field.type is not FieldType.FILE:
                self.targets[api_field.name] = _target(module, api_field)
        self._count = 0

    # --- filters ----------------------------------------------------------------------------------

    def parse(self, filters: Any, advanced: Any) -> Node:
        """The condition of `filters` AND `advancedFilters`; 400 VALIDATION_ERROR naming the first bad condition
        of each."""
        errors: dict[str, list[str]] = {}
        nodes = [self._collect(errors, lambda: self._simple(filters)),
                 self._collect(errors, lambda: self._advanced(advanced))]
        if errors:
            first = next(iter(errors.values()))[0]
            raise InflowError(400, VALIDATION_ERROR, first, field_errors(errors))
        return conjunction(nodes)

    @staticmethod
    def _collect(errors: dict[str, list[str]], build: Callable[[], Node]) -> Node:
        try:
            return build()
        except FilterError as exc:
            errors.setdefault(exc.field, []).append(str(exc))
            return TRUE

    def _simple(self, filters: Any) -> Node:
        if filters is None:
            return TRUE
        if not isinstance(filters, dict):
            raise FilterError("filters", "filters must be an object of field names and values")
        nodes = []
        for name, value in filters.items():
            if isinstance(value, dict):
                raise FilterError(name, f"Simple filter on '{name}' must be a value; use advancedFilters "
                                        f"for conditions")
            condition = IN if isinstance(value, list) else EQUAL
            if self.targets.get(name) is not None and self.targets[name].type in _ARRAY_TYPES and condition == EQUAL:
                value, condition = [value], IN
            nodes.append(self.condition(name, condition, value))
        return conjunction(nodes)

    def _advanced(self, advanced: Any) -> Node:
        if advanced is None:
            return TRUE
        if isinstance(advanced, list):  # HEAD / 2026: OR of AND groups
            groups = []
            for group in advanced:
                if isinstance(group, dict) and "conditions" not in group and "field" in group:
                    group = {"conditions": [group]}  # a bare condition is a group of one
                if not isinstance(group, dict) or not isinstance(group.get("conditions"), list):
                    raise FilterError("advancedFilters", "advancedFilters must be an array of "
                                                         "{\"conditions\": [...]} groups")
                conditions = [self._item(item) for item in group["conditions"]]
                if conditions:
                    groups.append(conjunction(conditions))
            return disjunction(groups) if groups else TRUE
        if isinstance(advanced, dict):  # v0: {field: condition | [conditions]}, all AND-ed
            nodes = []
            for name, spec in advanced.items():
                for item in spec if isinstance(spec, list) else [spec]:
                    if not isinstance(item, dict):
                        raise FilterError(name, f"Filter on '{name}' must be {{\"condition\", \"value\"}}")
                    nodes.append(self.condition(name, item.get("condition"), item.get("value"),
                                                has_value="value" in item))
            return conjunction(nodes)
        raise FilterError("advancedFilters", "advancedFilters must be an array of groups or an object")

    def _item(self, item: Any) -> Node:
        if not isinstance(item, dict) or not isinstance(item.get("field"), str):
            raise FilterError("advancedFilters", "Each condition needs 'field', 'condition' and 'value'")
        return self.condition(item["field"], item.get("condition"), item.get("value"), has_value="value" in item)

    def condition(self, name: str, condition: Any, value: Any, *, has_value: bool = True) -> Node:
        """One `{field, condition, value}` as a tree node."""
        self._count += 1
        if self._count > MAX_CONDITIONS:
            raise FilterError("advancedFilters", f"At most {MAX_CONDITIONS} conditions per request")
        target = self.targets.get(name)
        if target is None:
            if name in self.module.fields:
                raise FilterError(name, f"Field '{name}' does not support advanced filtering.")
            raise FilterError(name, f"Unknown field '{name}'")
        canonical = _CONDITION_BY_LOWER.get(condition.lower()) if isinstance(condition, str) else None
        if canonical is None:
            raise FilterError(name, f"Unsupported filter condition: '{condition}'")
        if canonical not in COMPATIBLE[target.type]:
            raise FilterError(name, f"Condition '{canonical}' is not supported for {target.type.value} "
                                    f"field '{name}'")
        if canonical in _EMPTINESS:
            wanted = True if not has_value or value is None else _flag(name, canonical, value)
            return self._emptiness(target, wanted == (canonical == IS_EMPTY))
        if canonical in _MEMBERSHIP:
            if not isinstance(value, list):
                raise FilterError(name, f"Condition '{canonical}' requires an array value.")
            if len(value) > MAX_LIST_VALUES:
                raise FilterError(name, f"Condition '{canonical}' takes at most {MAX_LIST_VALUES} values.")
            return self._membership(target, canonical == IN, [self._value(target, canonical, v) for v in value])
        if isinstance(value, (list, dict)):
            raise FilterError(name, f"Condition '{canonical}' requires a single value.")
        positive = canonical == EQUAL
        if value is None:
            if canonical in (EQUAL, NOT_EQUAL):
                return self._emptiness(target, positive) if target.type is FieldType.RELATION else Compare(
                    target.attribute, COMPARISONS[canonical], None)
            raise FilterError(name, f"Condition '{canonical}' requires a number or date value.")
        if target.type is FieldType.RELATION:
            return self._membership(target, positive, [self._relation(target, value)])
        return self._compare(target, canonical, self._value(target, canonical, value))

    # --- values -----------------------------------------------------------------------------------

    def _value(self, target: Target, condition: str, value: Any) -> Any:
        if value is None and condition in _MEMBERSHIP:
            raise FilterError(target.name, f"Condition '{condition}' takes no null values.")
        kind = target.type
        if kind is FieldType.RELATION:
            return self._relation(target, value)
        if kind is FieldType.NUMBER:
            number = _number(value)
            if target.kind is ValueKind.INT and number is not None and not INT_RANGE[0] <= number <= INT_RANGE[1]:
                number = None  # PostgreSQL refuses to compare an integer column with a value past int64
            return _converted(target, condition, number, "a number")
        if kind is FieldType.DATE:
            return _converted(target, condition, _date(value, target.kind), "a date (YYYY-MM-DD or ISO 8601)")
        if kind is FieldType.BOOLEAN:
            if isinstance(value, bool):
                return value
            if value in ("true", "false"):
                return value == "true"
            raise FilterError(target.name, f"Condition '{condition}' on '{target.name}' requires true or false.")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise FilterError(target.name, f"Condition '{condition}' on '{target.name}' requires a string value.")
        text = value if isinstance(value, str) else str(value)
        if "\x00" in text:
            raise FilterError(target.name, "Filter values must not contain NUL characters.")
        return text

    def _relation(self, target: Target, value: Any) -> tuple[str, int] | None:
        """(entity, canonical id) of a relation value; None for an id of a kind this field never holds."""
        if not isinstance(value, str):
            raise FilterError(target.name, f"'{target.name}' is compared with record ids (24 hexadecimal "
                                           f"characters).")
        try:
            if target.polymorphic:
                return decode_any(target.related, value)
            canonical = decode_id(target.related[0], value) if target.related else None
        except InvalidObjectId:
            raise FilterError(target.name, f"'{target.name}': Invalid ObjectId format") from None
        return None if canonical is None else (target.related[0], canonical)

    # --- nodes ------------------------------------------------------------------------------------

    def _compare(self, target: Target, condition: str, value: Any) -> Node:
        op = COMPARISONS[condition]
        if target.kind is ValueKind.DATETIME and isinstance(value, date) and not isinstance(value, datetime):
            return _day_condition(target.attribute, op, value)
        if isinstance(value, datetime) and target.kind is ValueKind.DATE:
            value = value.date()
        return Compare(target.attribute, op, value)

    def _membership(self, target: Target, positive: bool, values: list[Any]) -> Node:
        if target.type in _ARRAY_TYPES:
            return Compare(target.attribute, Op.ARRAY_ANY_OF if positive else Op.ARRAY_NONE_OF, tuple(values))
        if target.type is FieldType.RELATION:
            known = [v for v in values if v is not None]
            if target.polymorphic:
                type_attribute = target.attribute.removesuffix("Id") + "Type"
                matches = disjunction([conjunction([Compare(type_attribute, Op.EQ, kind),
                                                    Compare(target.attribute, Op.EQ, canonical)])
                                       for kind, canonical in known])
                return matches if positive else (TRUE if matches == FALSE else Not(matches))
            values = [canonical for _, canonical in known]
        if not values:
            return FALSE if positive else TRUE
        if len(values) == 1:
            return Compare(target.attribute, Op.EQ if positive else Op.NE, values[0])
        return Compare(target.attribute, Op.IN if positive else Op.NOT_IN, tuple(dict.fromkeys(values)))

    @staticmethod
    def _emptiness(target: Target, empty: bool) -> Node:
        if target.type in _ARRAY_TYPES:
            return Compare(target.attribute, Op.ARRAY_IS_EMPTY if empty else Op.ARRAY_IS_NOT_EMPTY)
        return Compare(target.attribute, Op.IS_NULL if empty else Op.IS_NOT_NULL)

    # --- sort -------------------------------------------------------------------------------------

    def sorts(self, sort: Any) -> list[Sort]:
        """`{"field": 1 | -1}`, one field only; newest first by default."""
        if sort is None or sort == {}:
            return [Sort("createdAt", True)] if "createdAt" in self.targets else [Sort("id", True)]
        if not isinstance(sort, dict):
            raise _sort_error("sort must be an object such as {\"createdAt\": -1}")
        if len(sort) != 1:
            raise _sort_error("Sorting can only be performed on a single field at a time")
        (name, direction), = sort.items()
        target = self.targets.get(name)
        if target is None or target.type in _ARRAY_TYPES:
            raise _sort_error(f"Cannot sort by '{name}'" if name in self.module.fields else f"Unknown field '{name}'")
        descending = {1: False, -1: True, "1": False, "-1": True, "asc": False, "desc": True}.get(
            direction.lower() if isinstance(direction, str) else direction) \
            if not isinstance(direction, bool) else None
        if descending is None:
            raise _sort_error("Sort direction must be 1 (ascending) or -1 (descending)")
        return [Sort(target.attribute, descending)]

    def ids(self, values: Any) -> list[int]:
        """Canonical ids of this module among wire ids (others are skipped); 400 for a malformed one."""
        if not isinstance(values, list) or not values:
            raise InflowError(400, VALIDATION_ERROR, "ids must be a non-empty array of record ids",
                              field_errors({"ids": ["ids must be a non-empty array of record ids"]}))
        if len(values) > MAX_LIST_VALUES:
            raise InflowError(400, VALIDATION_ERROR, f"At most {MAX_LIST_VALUES} ids per request",
                              field_errors({"ids": [f"At most {MAX_LIST_VALUES} ids per request"]}))
        found = []
        for value in values:
            try:
                canonical = decode_id(self.module.entity.name, value) if isinstance(value, str) else -1
            except InvalidObjectId:
                canonical = -1
            if canonical == -1:
                raise InflowError(400, VALIDATION_ERROR, "Invalid ObjectId format",
                                  field_errors({"ids": [f"Invalid ObjectId format: {str(value)[:40]!r}"]}))
            if canonical is not None:
                found.append(canonical)
        return list(dict.fromkeys(found))


def _converted(target: Target, condition: str, value: Any, expected: str) -> Any:
    """A converted filter value, or the error for one that could not be converted (v0 wording for orderings)."""
    if value is None:
        raise FilterError(target.name, f"Condition '{condition}' requires a number or date value."
                          if condition in _ORDERING else f"Condition '{condition}' on '{target.name}' requires "
                                                         f"{expected}.")
    return value


def _sort_error(message: str) -> InflowError:
    return InflowError(400, VALIDATION_ERROR, message, field_errors({"sort": [message]}))


def _flag(name: str, condition: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise FilterError(name, f"Condition '{condition}' takes true or false.")


def _number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -(2 ** 63) <= value < 2 ** 63 else None
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, str):
        text = value.strip()
        whole = parse_non_negative(text.removeprefix("-"))
        if whole is not None:
            return -whole if text.startswith("-") else whole
        try:
            number = float(text)  # past int64 too: no integer column holds it, a float comparison still works
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _date(value: Any, kind: ValueKind) -> date | datetime | None:
    """A date (`YYYY-MM-DD`) or a UTC datetime (ISO 8601) from a filter value."""
    if not isinstance(value, str):
        return None
    if len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    moment = parse_datetime(value)
    if moment is None:
        return None
    return moment.date() if kind is ValueKind.DATE else moment


def _day_condition(attribute: str, op: Op, day: date) -> Node:
    """A date compared with a datetime: `equal` means within that UTC day, the others compare with its
    start (the value is read as midnight UTC, as a date-only ISO string is)."""
    start = datetime.combine(day, time())
    end = start + timedelta(days=1)
    within = And((Compare(attribute, Op.GE, start), Compare(attribute, Op.LT, end)))
    if op is Op.EQ:
        return within
    if op is Op.NE:
        return Not(within)
    return Compare(attribute, op, start)

