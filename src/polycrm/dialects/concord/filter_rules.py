"""Concord `filters` rules as data: what a rule is, which operators each rule type offers, the date presets of
the `is` operator, and the body of `GET /api/{resource}/rules` (specs/concord.md §3, §9).

The operator table and the presets are Concord 1.5.1's (its query builder's operator list and its date
filter's `is` options); the listing has the keys of its filter JSON so its UI-minded clients can read ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable, Iterable, Mapping, Sequence

from polycrm.meta import Entity, Registry
from polycrm.query.dates import DAY, Window, calendar_period, calendar_week


@dataclass(frozen=True, slots=True)
class FilterRule:
    """One rule a resource's `filters` may name.

    `id` is Concord's rule id ("first_name", "companies.name"), `field` the canonical field it filters
    (a link field filters its `<field>Id`), `type` the rule type (text, numeric, number, date, select,
    multi-select, checkbox, radio, boolean, filled). `values` maps Concord values onto canonical ones (select
    options), `me` lets the value "me" stand for the calling user. `operand` makes the rule one operand of
    rule `id` (Concord's operand rules: `{"rule": "phones", "operand": "number"}`), so several rules of a
    mapping may share an id when their operands differ. `link` makes the rule a condition on the records
    of that link of the entity, `field` being theirs (Concord's "has" rules: a contact's `companies` rule,
    operand `companies.name`, is `link` "accounts", field "name"): a record matches when a linked one
    does; a dotted `link` follows links in turn (a line's catalogue product: `billableProducts.product`).
    `count` makes a number rule compare how many records the link has (Concord's countable relations: a
    deal's `products` / `total_count`). `without_operators` and `without_presets` leave operators and `is`
    presets out of what the rule offers (Concord's `withoutNullOperators()` on required fields, no future
    presets on `created_at`).
    """

    id: str
    field: str
    type: str
    values: Mapping[str, Any] | None = None
    me: bool = False
    operand: str | None = None
    without_operators: frozenset[str] = frozenset()
    without_presets: frozenset[str] = frozenset()
    link: str | None = None
    count: bool = False

    @property
    def wire_type(self) -> str:
        """The type Concord reports (a boolean custom field filters as a radio rule)."""
        return "radio" if self.type in RADIO_TYPES else self.type

    @property
    def operators(self) -> tuple[str, ...]:
        """The operators the rule offers, in Concord's order."""
        return tuple(op for op in TYPE_OPERATORS.get(self.wire_type, ()) if op not in self.without_operators)

    @property
    def presets(self) -> tuple[str, ...]:
        """The `is` presets the rule offers (date rules only), in Concord's order."""
        return tuple(name for name in PRESET_LABELS if name not in self.without_presets) if "is" in self.operators \
            else ()


class FilterError(ValueError):
    """Bad `filters` (or list parameter) input. `key` names the place Concord-style, the way Laravel keys
    validation errors ("filters", "filters.children.0.query.operator"); `message` is a sentence to show."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


# Concord's query-builder operators, in its order, with the rule types each applies to.
_OPERATOR_TYPES: dict[str, tuple[str, ...]] = {
    "is": ("date",),
    "equal": ("text", "number", "numeric", "date", "radio", "select"),
    "not_equal": ("text", "number", "numeric", "date", "select"),
    "in": ("multi-select", "checkbox"),
    "not_in": ("multi-select",),
    "less": ("number", "numeric", "date"),
    "less_or_equal": ("number", "numeric", "date"),
    "greater": ("number", "numeric", "date"),
    "greater_or_equal": ("number", "numeric", "date"),
    "between": ("number", "numeric", "date"),
    "not_between": ("number", "numeric", "date"),
    "begins_with": ("text",),
    "not_begins_with": ("text",),
    "contains": ("text",),
    "not_contains": ("text",),
    "ends_with": ("text",),
    "not_ends_with": ("text",),
    "is_null": ("text", "number", "numeric", "date", "select"),
    "is_not_null": ("text", "number", "numeric", "date", "select"),
}
TYPE_OPERATORS: dict[str, tuple[str, ...]] = {
    rule_type: tuple(op for op, types in _OPERATOR_TYPES.items() if rule_type in types)
    for rule_type in sorted({t for types in _OPERATOR_TYPES.values() for t in types})
}
# Radio rules over a canonical field that is no option: a bool field (boolean), or whether a field has a value
# (filled: Concord's `is_completed` is whether `completed_at` is set).
RADIO_TYPES = frozenset({"boolean", "filled"})
RULE_TYPES = frozenset(TYPE_OPERATORS) | RADIO_TYPES
OPTION_TYPES = frozenset({"select", "multi-select", "checkbox", "radio"})  # Concord's "Optionable" filters

# The `is` presets of a date rule, with their English labels, in Concord's order. `past` and `future` are
# instants (before / after now); every other one is a window of local calendar days.
PRESET_LABELS: dict[str, str] = {
    "past": "In the past", "future": "In the future", "today": "Today", "yesterday": "Yesterday",
    "this_week": "This Week", "this_month": "This Month", "this_quarter": "This Quarter", "this_year": "This Year",
    "next_day": "Next Day", "next_week": "Next Week", "next_month": "Next Month", "next_quarter": "Next Quarter",
    "next_year": "Next Year", "last_week": "Last Week", "last_month": "Last Month", "last_year": "Last Year",
    "last_quarter": "Last Quarter",
    **{f"last_{n}_days": f"Within last {n} days" for n in (7, 14, 30, 60, 90, 365)},
}
_PERIODS = {"month": 1, "quarter": 3, "year": 12}
_OFFSETS = {"last": -1, "this": 0, "next": 1}


def _day_window(name: str) -> Callable[[date], Window[date]]:
    """The function giving preset `name`'s local days on a given day (`name` is one of PRESET_LABELS but past
    and future)."""
    if name == "today":
        return lambda today: Window(today, today + DAY)
    if name == "yesterday":
        return lambda today: Window(today - DAY, today)
    if name == "next_day":
        return lambda today: Window(today + DAY, today + 2 * DAY)
    when, _, unit = name.partition("_")
    if when == "last" and unit.endswith("_days"):
        # Concord: from the midnight N days ago to the end of today, N+1 days in all.
        days = int(unit.removesuffix("_days"))
        return lambda today: Window(today - days * DAY, today + DAY)
    offset = _OFFSETS[when]
    if unit == "week":
        return lambda today: calendar_week(today, offset)
    months = _PERIODS[unit]
    return lambda today: calendar_period(today, months, offset)


DAY_PRESETS: dict[str, Callable[[date], Window[date]]] = {
    name: _day_window(name) for name in PRESET_LABELS if name not in ("past", "future")
}

_NO_OPTIONS: list[Any] = []  # PHP's empty array: JSON `[]` where Concord has no operator options


def rules_listing(rules: Mapping[str, FilterRule], labels: Mapping[str, str], *,
                  options: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """The body of `GET /api/{resource}/rules`: one object per rule id, in the mapping's order, with
    Concord's keys (id, label, type, operators, operatorsOptions, component, isStatic, operands, ...).

    `labels` gives a rule's label by its mapping key (else by its id); `options` the choices of a select-like
    rule by mapping key (records as {id, name}, e.g. users, stages), else they come from the rule's
    `values`. Rules that are operands of one id are listed once, as Concord's operand rule of type
    "nullable" whose `operands` carry each operand's own rule.
    """
    listing: list[dict[str, Any]] = []
    operand_rules: dict[str, dict[str, Any]] = {}
    for key, rule in rules.items():
        label = labels.get(key) or labels.get(rule.id) or rule.id
        if rule.operand is None:
            listing.append(_rule_json(rule.id, rule, label, (options or {}).get(key)))
            continue
        entry = operand_rules.get(rule.id)
        if entry is None:
            entry = _entry(rule.id, labels.get(rule.id) or label, "nullable", ())
            operand_rules[rule.id] = entry
            listing.append(entry)
        entry["operands"].append({"value": rule.operand, "label": label, "valueKey": "value", "labelKey": "label",
                                  "rule": _rule_json(rule.operand, rule, label, (options or {}).get(key))})
    for entry in operand_rules.values():
        if len(entry["operands"]) == 1:
            entry["hideOperands"] = True  # Concord hides the operand picker of a one-operand rule (phones)
    return listing


def _rule_json(rule_id: str, rule: FilterRule, label: str,
               choices: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    entry = _entry(rule_id, label, rule.wire_type, rule.operators)
    if rule.presets:
        entry["operatorsOptions"] = {"is": {name: PRESET_LABELS[name] for name in rule.presets}}
    if rule.wire_type in OPTION_TYPES:
        entry.update(_options(rule, choices))
    return entry


def _entry(rule_id: str, label: str, wire_type: str, operators: Iterable[str]) -> dict[str, Any]:
    return {
        "id": rule_id, "label": label, "type": wire_type, "operators": list(operators),
        "operatorsOptions": _NO_OPTIONS, "component": f"{wire_type}-rule", "isStatic": False, "operands": [],
        "hasAuthorization": False, "helpText": None, "displayAs": None, "quickFilter": None,
        "onlyOncePerGroup": False,
    }


def _options(rule: FilterRule, choices: Sequence[Mapping[str, Any]] | None) -> dict[str, Any]:
    """valueKey, labelKey and options of a select-like rule: records ({id, name}, or {value, label} as Concord's
    tags rule lists them) when given or when the rule picks records (no `values`), else {value, label} pairs
    from `values`, labelled capitalised (a boolean's are 1 and 0, as PHP turns Concord's true/false option keys
    into integers)."""
    if choices is not None or rule.values is None and rule.type not in RADIO_TYPES:
        keys = ("value", "label") if choices and "value" in choices[0] else ("id", "name")
        return {"valueKey": keys[0], "labelKey": keys[1], "options": [dict(choice) for choice in choices or ()]}
    if rule.type in RADIO_TYPES:
        pairs = [{"label": "Yes", "value": 1}, {"label": "No", "value": 0}]
    else:
        # Concord labels an enum's values capitalised ("Open", "Draft")
        pairs = [{"label": str(value)[:1].upper() + str(value)[1:], "value": value} for value in (rule.values or {})]
    return {"valueKey": "value", "labelKey": "label", "options": pairs}


def check_rules(rules: Mapping[str, FilterRule], entity: Entity, registry: Registry) -> list[str]:
    """Problems with a resource's rules over `entity` (unknown type, link, field, or operators to leave out),
    one sentence each: for a start-up check, since a bad rule is the server's fault, not the client's."""
    problems = []
    for key, rule in rules.items():
        if rule.type not in RULE_TYPES:
            problems.append(f"rule {key}: unknown type {rule.type!r}")
        target: Entity | None = entity
        for hop in (rule.link or "").split(".") if rule.link else ():
            link = target.links.get(hop) if target is not None else None
            if link is None or link.entity is None:
                problems.append(f"rule {key}: {entity.name} has no link {rule.link!r} to one entity")
                target = None
                break
            target = registry.entity(link.entity)
        if target is None:
            continue
        if rule.count and (rule.link is None or "." in rule.link or rule.type != "number"):
            problems.append(f"rule {key}: a count rule is a number rule over one link")
        if rule.field not in target.fields and rule.field not in target.attributes:
            problems.append(f"rule {key}: {target.name} has no field {rule.field!r}")
        unknown = sorted(rule.without_operators - set(_OPERATOR_TYPES) | rule.without_presets - set(PRESET_LABELS))
        if unknown:
            problems.append(f"rule {key}: unknown operators or presets left out: {', '.join(unknown)}")
    return problems
