"""Concord `filters` (query-builder groups, specs/concord.md §3 and §9) -> the canonical filter tree.

Input arrives as PHP's `parse_str` builds it (every leaf a string; lists as lists or as dicts keyed "0",
"1", ...), as a JSON string, as one group or as a list of groups (and-ed). Concord 1.4.1 ignores the last
two and 1.5.1 fails on a JSON string; we read them, since no client can rely on either. Where Concord
drops a bad rule silently or answers 500 (unknown rule id, operator or condition, malformed rule, bad
value), we raise FilterError naming the place and what is accepted.

Semantics follow Concord on MySQL: text equality ignores case, the negated operators (`not_equal`,
`not_contains`, ...) never match an empty field (SQL's `!=` and `NOT LIKE` are unknown on NULL), an empty
value turns `equal` / `not_equal` into a null check (Laravel reads "" as null), `in []` applies no
condition at all, and dates compare by local calendar day (a datetime field's `equal` is its whole day).
A rule with a `link` (Concord's "has" rules) matches records having a linked record that matches it.
Values stay literal: LIKE wildcards and quotes in them are escaped or bound by the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone, tzinfo
from typing import Any, Mapping

from polycrm.core.values import parse_id
from polycrm.dialects.concord.filter_rules import (DAY_PRESETS, OPTION_TYPES, FilterError, FilterRule, check_rules,
                                                   rules_listing)
from polycrm.dialects.concord.filter_values import (MAX_JSON, MAX_TEXT, MAX_VALUES, as_boolean, as_number, as_option,
                                                    as_text, bounds, decode_json, entries, single, value_list)
from polycrm.meta import Entity, LinkStorage, Registry, ValueKind
from polycrm.query import dates
from polycrm.query.tree import (FALSE, TRUE, Compare, Foreign, LinkCount, Linked, LinkMode, Node, Not, Op,
                                conjunction, disjunction)

__all__ = ["MAX_CHILDREN", "MAX_DEPTH", "MAX_JSON", "MAX_RULES", "MAX_TEXT", "MAX_VALUES", "FilterError", "FilterRule",
           "check_rules", "parse_filters", "rules_listing"]

MAX_DEPTH = 10  # group nesting, the top group counting 1
MAX_CHILDREN = 100  # children of one group, and groups in a list
MAX_RULES = 1000  # rules and groups in the whole tree

_PATTERN_OPS = {"begins_with": Op.STARTS_WITH, "contains": Op.CONTAINS, "ends_with": Op.ENDS_WITH}
_ORDER_OPS = {"less": Op.LT, "less_or_equal": Op.LE, "greater": Op.GT, "greater_or_equal": Op.GE}
_NULL_OPS = {"is_null": Op.IS_NULL, "is_not_null": Op.IS_NOT_NULL}
_CONTACT_POINTS = frozenset({"email", "phone"})  # fields whose equality matches any of a record's values


def parse_filters(raw: Any, rules: Mapping[str, FilterRule], entity: Entity, *, user_id: int,
                  now: datetime | None = None, time_zone: tzinfo = timezone.utc,
                  registry: Registry | None = None) -> Node:
    """The tree of a request's `filters` over `entity`; TRUE when there is none.

    `rules` are the resource's rules by key, `user_id` the caller (the value "me"), `now` (default: the
    current time; naive means UTC) anchors the `is` presets, and `time_zone` is the zone whose calendar days
    date values and presets count (Concord: the user's). `registry` gives the linked entities of rules with
    a `link`. Raises FilterError for bad input; LookupError when a rule names a field or link the entities
    lack, or a link without a registry (the server's mistake: see `check_rules`).
    """
    moment = now or datetime.now(timezone.utc)
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
    return _FilterParser(rules, entity, registry, user_id, moment, time_zone).parse(raw)


@dataclass(frozen=True, slots=True)
class _Target:
    """What a rule compares: the attribute, its kind, its field's type (None for a bare attribute), and the
    links whose records hold it (none: the entity's own), each with how it stores them, outermost first."""

    attribute: str
    kind: ValueKind
    field_type: str | None
    hops: tuple[tuple[str, LinkStorage], ...] = ()

    def wrap(self, node: Node | None) -> Node | None:
        """The condition on the queried records: theirs, or "a linked record matches it"."""
        if node is None or node == FALSE:
            return node
        for link, storage in reversed(self.hops):
            node = Foreign(link, node) if storage is LinkStorage.COLUMN else Linked(link, LinkMode.EXISTS,
                                                                                      within=node)
        return node


class _FilterParser:
    def __init__(self, rules: Mapping[str, FilterRule], entity: Entity, registry: Registry | None, user_id: int,
                 now: datetime, zone: tzinfo):
        self.entity = entity
        self.registry = registry
        self.user_id = user_id
        self.now = now
        self.zone = zone
        self.by_operand = {(rule.id, rule.operand): rule for rule in rules.values()}
        self.by_id: dict[str, list[FilterRule]] = {}
        for rule in rules.values():
            self.by_id.setdefault(rule.id, []).append(rule)
        self.count = 0

    def parse(self, raw: Any) -> Node:
        if isinstance(raw, str):
            raw = decode_json(raw)
        if raw is None or raw == "" or raw == [] or raw == {}:
            return TRUE
        if isinstance(raw, dict) and ("condition" in raw or "children" in raw):
            return self._group(raw, "filters", 1) or TRUE
        groups = entries(raw, "filters", MAX_CHILDREN)
        if groups is None:
            raise FilterError("filters", "The filters must be a group {condition, children} or a list of groups.")
        return conjunction([node for key, group in groups if (node := self._group(group, key, 1)) is not None])

    # --- structure: groups and children; None is a child that applies no condition -------------------

    def _group(self, raw: Any, key: str, depth: int) -> Node | None:
        if not isinstance(raw, dict):
            raise FilterError(key, "A group must be an object with a condition and children.")
        if depth > MAX_DEPTH:
            raise FilterError(key, f"The filters are nested too deeply (at most {MAX_DEPTH} levels).")
        condition = raw.get("condition")
        condition = "and" if condition is None else condition
        if not isinstance(condition, str) or condition.strip().lower() not in ("and", "or"):
            raise FilterError(f"{key}.condition", "Condition can only be one of: 'and', 'or'.")
        children = entries(raw.get("children"), f"{key}.children", MAX_CHILDREN)
        if children is None:
            raise FilterError(f"{key}.children", "The children must be a list.")
        nodes = [node for child_key, child in children if (node := self._child(child, child_key, depth)) is not None]
        if not nodes:
            return None  # Concord skips a group without rules, whatever its condition
        return conjunction(nodes) if condition.strip().lower() == "and" else disjunction(nodes)

    def _child(self, raw: Any, key: str, depth: int) -> Node | None:
        self.count += 1
        if self.count > MAX_RULES:
            raise FilterError(key, f"The filters hold too many rules (at most {MAX_RULES}).")
        if not isinstance(raw, dict):
            raise FilterError(key, "A child must be an object with a type and a query.")
        query = raw.get("query")
        if not isinstance(query, dict):
            raise FilterError(f"{key}.query", "The query must be an object.")
        kind = raw.get("type")
        if kind == "group":
            return self._group(query, f"{key}.query", depth + 1)
        if kind == "rule":
            return self._rule(query, f"{key}.query")
        raise FilterError(f"{key}.type", "The type must be 'rule' or 'group'.")

    def _rule(self, query: dict[str, Any], key: str) -> Node | None:
        rule = self._find(query.get("rule"), query.get("operand"), key)
        operator = query.get("operator")
        if not isinstance(operator, str) or operator not in rule.operators:
            shown = f'"{operator[:40]}"' if isinstance(operator, str) else "missing"
            raise FilterError(f"{key}.operator", f'The operator is {shown}; the {rule.wire_type} rule "{rule.id}" '
                                                 f"accepts: {', '.join(rule.operators)}.")
        target = self._target(rule)
        if rule.count:
            return self._count(rule, target, operator, query.get("value"), f"{key}.value")
        return target.wrap(self._condition(rule, target, operator, query.get("value"), f"{key}.value"))

    def _condition(self, rule: FilterRule, target: _Target, operator: str, value: Any, key: str) -> Node | None:
        if operator in _NULL_OPS:
            return Compare(target.attribute, _NULL_OPS[operator])
        if rule.type == "filled":
            filled = as_boolean(single(value, key), rule, key)
            return Compare(target.attribute, Op.IS_NOT_NULL if filled else Op.IS_NULL)
        if rule.wire_type == "text":
            return self._text(target, operator, as_text(single(value, key)))
        if rule.wire_type == "date":
            return self._date(rule, target, operator, value, key)
        if rule.wire_type in ("multi-select", "checkbox"):
            return self._membership(rule, target, operator, value, key)
        return self._comparison(rule, target, operator, value, key)

    def _find(self, rule_id: Any, operand: Any, key: str) -> FilterRule:
        """The rule a query names, by id and operand. Kinder than Concord (a 500): an operand rule named
        without its operand is found when it has only one (`phones` is `phones` / `number`)."""
        if not isinstance(rule_id, str) or not rule_id:
            raise FilterError(f"{key}.rule", "The rule is required.")
        if operand is not None and operand != "" and not isinstance(operand, str):
            raise FilterError(f"{key}.operand", "The operand must be a string.")
        found = self.by_operand.get((rule_id, operand or None))
        candidates = self.by_id.get(rule_id, [])
        if found is None and not operand and len(candidates) == 1:
            found = candidates[0]
        if found is not None:
            return found
        if not candidates:
            accepted = ", ".join(self.by_id)
            raise FilterError(f"{key}.rule", f'Unknown filter rule "{rule_id[:100]}". Accepted rules: {accepted}.')
        operands = [rule.operand for rule in candidates if rule.operand]
        if not operands:
            raise FilterError(f"{key}.operand", f'The rule "{rule_id}" takes no operand.')
        raise FilterError(f"{key}.operand", f'The rule "{rule_id}" needs one of the operands: {", ".join(operands)}.')

    def _target(self, rule: FilterRule) -> _Target:
        """A link field filters by its record's id (by its name for a text rule)."""
        entity, hops = self.entity, []
        for hop in rule.link.split(".") if rule.link else ():
            link = entity.links.get(hop)
            if link is None or link.entity is None or self.registry is None:
                raise LookupError(f"Concord rule {rule.id}: no link {rule.link} of {self.entity.name} to follow")
            entity = self.registry.entity(link.entity)
            hops.append((hop, link.storage))
        field = entity.fields.get(rule.field)
        name = rule.field
        if field is not None and field.type == "link":
            name = f"{rule.field}Name" if rule.wire_type == "text" else f"{rule.field}Id"
        attribute = entity.attributes.get(name)
        if attribute is None:
            raise LookupError(f"Concord rule {rule.id}: {entity.name} has no attribute {name}")
        field_type = field.type if field is not None and name == field.name else None
        return _Target(name, attribute.kind, field_type, tuple(hops))

    # --- conditions by rule type --------------------------------------------------------------------

    def _text(self, target: _Target, operator: str, text: str | None) -> Node:
        name = target.attribute
        negated = operator.startswith("not_")
        positive = operator.removeprefix("not_")
        if text is None:  # Laravel: `= null` is IS NULL; `LIKE '%%'` matches every value there is
            if positive == "equal":
                return Compare(name, Op.IS_NOT_NULL if negated else Op.IS_NULL)
            return FALSE if negated else Compare(name, Op.IS_NOT_NULL)
        if positive == "equal":
            # MySQL's collations ignore case; email and phone equality matches any of the record's values.
            node = Compare(name, Op.EQ if target.field_type in _CONTACT_POINTS else Op.EQUALS_TEXT, text)
        else:
            node = Compare(name, _PATTERN_OPS[positive], text)
        return _present(name, Not(node)) if negated else node

    def _count(self, rule: FilterRule, target: _Target, operator: str, value: Any, key: str) -> Node:
        """How many records the rule's link has, compared with a whole number (Concord's `has(relation,
        operator, count)`: a record without any has 0)."""
        scalar = single(value, key)
        number = as_number(scalar, rule, key) if scalar is not None else None
        if isinstance(number, float) and number.is_integer() and abs(number) < 2**31:
            number = int(number)  # "2.0"
        if not isinstance(number, int):
            raise FilterError(key, f'The value of "{rule.operand or rule.id}" must be a whole number.')
        op = {"equal": Op.EQ, "not_equal": Op.NE, **_ORDER_OPS}[operator]
        return LinkCount(target.hops[0][0], op, number)

    def _comparison(self, rule: FilterRule, target: _Target, operator: str, value: Any, key: str) -> Node:
        """numeric, number, select, radio and boolean rules."""
        name = target.attribute
        if operator in ("between", "not_between"):
            low, high = (self._typed(rule, target, item, f"{key}.{i}") for i, item in enumerate(bounds(value, key)))
            return _between(name, operator, low, high)
        scalar = single(value, key)
        if scalar is None:
            return _no_value(name, operator, key)
        typed = self._typed(rule, target, scalar, key)
        if operator == "equal":
            return Compare(name, Op.EQ, typed)
        if operator == "not_equal":
            return _present(name, Compare(name, Op.NE, typed))
        return Compare(name, _ORDER_OPS[operator], typed)

    def _membership(self, rule: FilterRule, target: _Target, operator: str, value: Any, key: str) -> Node | None:
        items = value_list(value, key)
        typed = tuple(self._typed(rule, target, item, f"{key}.{i}") for i, item in enumerate(items)
                      if single(item, f"{key}.{i}") is not None)
        if not typed:
            return None  # Concord applies no condition for an empty list
        if target.kind is ValueKind.ARRAY:
            # A MultiSelect / Checkbox column: `in` is any of its options; `not_in` has options, none of them
            # given (Concord 1.5.1 matches any other option, so a record with both matches either way).
            if operator == "in":
                return Compare(target.attribute, Op.ARRAY_ANY_OF, typed)
            return conjunction([Compare(target.attribute, Op.ARRAY_NONE_OF, typed),
                                Compare(target.attribute, Op.ARRAY_IS_NOT_EMPTY)])
        if operator == "in":
            return Compare(target.attribute, Op.IN, typed)
        return _present(target.attribute, Compare(target.attribute, Op.NOT_IN, typed))

    def _date(self, rule: FilterRule, target: _Target, operator: str, value: Any, key: str) -> Node:
        if target.field_type == "datetimeOptional":
            # An all-day value compares by its day (`<field>Date`; EspoCRM moves an all-day end to the next
            # midnight), a timed one by its moment.
            all_day = f"{target.attribute}Date"
            days = replace(target, attribute=all_day, kind=ValueKind.DATE, field_type=None)
            moments = replace(target, field_type=None)
            return disjunction([
                conjunction([Compare(all_day, Op.IS_NOT_NULL), self._date(rule, days, operator, value, key)]),
                conjunction([Compare(all_day, Op.IS_NULL), self._date(rule, moments, operator, value, key)])])
        name = target.attribute
        on_days = target.kind is ValueKind.DATE
        if operator == "is":
            return self._preset(rule, name, on_days, single(value, key), key)
        if operator in ("between", "not_between"):
            # Concord compares the two values as given: a date is its midnight, not its whole day.
            low, high = (self._moment(item, on_days, f"{key}.{i}") for i, item in enumerate(bounds(value, key)))
            return _between(name, operator, low, high)
        scalar = single(value, key)
        if scalar is None:
            return _no_value(name, operator, key)
        start = self._moment(scalar, on_days, key)
        if on_days:
            if operator == "not_equal":
                return _present(name, Compare(name, Op.NE, start))
            return Compare(name, Op.EQ if operator == "equal" else _ORDER_OPS[operator], start)
        try:
            end = start + dates.DAY
        except OverflowError:
            raise FilterError(key, "The date is out of range.") from None
        # A date-time field against a day: Concord widens the value to [its midnight, the next one).
        return {
            "equal": lambda: dates.within(name, dates.Window(start, end)),
            "not_equal": lambda: disjunction([Compare(name, Op.LT, start), Compare(name, Op.GE, end)]),
            "less": lambda: Compare(name, Op.LT, start),
            "less_or_equal": lambda: Compare(name, Op.LT, end),
            "greater": lambda: Compare(name, Op.GE, end),
            "greater_or_equal": lambda: Compare(name, Op.GE, start),
        }[operator]()

    def _preset(self, rule: FilterRule, name: str, on_days: bool, preset: Any, key: str) -> Node:
        if not isinstance(preset, str) or preset not in rule.presets:
            raise FilterError(key, f'The value of "is" must be one of: {", ".join(rule.presets)}.')
        today = dates.local_today(self.now, self.zone)
        if preset in ("past", "future"):
            # Before / after now: a date field's today is already past (its midnight is before now).
            if on_days:
                return Compare(name, Op.LT if preset == "past" else Op.GE, today + dates.DAY)
            return Compare(name, Op.LT if preset == "past" else Op.GT, dates.utc_naive(self.now))
        days = DAY_PRESETS[preset](today)
        if on_days:
            return dates.within(name, days)
        return dates.within(name, dates.Window(dates.local_midnight(days.start, self.zone),
                                               dates.local_midnight(days.end, self.zone)))

    # --- values ---------------------------------------------------------------------------------------

    def _typed(self, rule: FilterRule, target: _Target, value: Any, key: str) -> Any:
        """One value of a numeric or select-like rule, as the target's kind holds it."""
        value = single(value, key)
        if value is None:
            raise FilterError(key, f'The value of "{rule.id}" must not be empty.')
        if rule.wire_type in OPTION_TYPES:
            if rule.me and value == "me":
                return self.user_id
            if rule.values is not None:
                return as_option(rule, value, key)
        kind = target.kind
        if kind is ValueKind.ID:
            record = parse_id(value)
            if record is None:
                either = ' or "me"' if rule.me else ""
                raise FilterError(key, f'The value of "{rule.id}" must be a record id{either}.')
            return record
        if kind in (ValueKind.INT, ValueKind.FLOAT) or rule.wire_type in ("numeric", "number"):
            return as_number(value, rule, key)
        if kind is ValueKind.BOOL:
            return as_boolean(value, rule, key)
        return as_text(value)

    def _moment(self, value: Any, on_days: bool, key: str) -> date | datetime:
        """A date value: the day as written for a date field, else the naive UTC instant (a bare date is its
        local midnight)."""
        text = single(value, key)
        try:
            if not isinstance(text, str) or not 10 <= len(text) <= 40:
                raise ValueError(text)
            if len(text) == 10:
                day = date.fromisoformat(text)
                return day if on_days else dates.local_midnight(day, self.zone)
            # Concord keeps a date field's day as written, whatever time or offset follows it.
            return datetime.fromisoformat(text).date() if on_days else dates.parse_instant(text, self.zone)
        except (ValueError, OverflowError):
            raise FilterError(key, "The value must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS).") \
                from None


def _no_value(name: str, operator: str, key: str) -> Node:
    """A comparison without a value: Laravel's `= null` / `!= null` are null checks; others need one."""
    if operator in ("equal", "not_equal"):
        return Compare(name, Op.IS_NULL if operator == "equal" else Op.IS_NOT_NULL)
    raise FilterError(key, f'The "{operator}" operator needs a value.')


def _present(name: str, node: Node) -> Node:
    """`node` where the attribute has a value: SQL's `!=` / `NOT LIKE` / `NOT IN` are unknown on NULL, so
    Concord's negated operators never match an empty field."""
    return conjunction([node, Compare(name, Op.IS_NOT_NULL)])


def _between(name: str, operator: str, low: Any, high: Any) -> Node:
    if operator == "between":
        return conjunction([Compare(name, Op.GE, low), Compare(name, Op.LE, high)])
    return disjunction([Compare(name, Op.LT, low), Compare(name, Op.GT, high)])
