"""Concord `filters` -> the canonical filter tree (specs/concord.md §3, §9): both encodings, every rule type
and operator, the rules listing, and every way input can be bad (always FilterError, never anything else)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polycrm.core.errors import BadRequest
from polycrm.dialects.concord.filters import (MAX_CHILDREN, MAX_DEPTH, MAX_JSON, MAX_RULES, MAX_TEXT, MAX_VALUES,
                                              FilterError, FilterRule, check_rules, parse_filters, rules_listing)
from polycrm.dialects.php_query import parse_php_query
from polycrm.meta import load_builtin_registry
from polycrm.query.tree import (FALSE, TRUE, And, Compare, Foreign, LinkCount, Linked, LinkMode, Node, Not, Op, Or,
                                conjunction, disjunction)
from tests.support.concord import CONTACT_RULES, DEAL_RULES, STAGES, group, rule

REGISTRY = load_builtin_registry()
CONTACT = REGISTRY.entity("Contact")
DEAL = REGISTRY.entity("Opportunity")
ACCOUNT = REGISTRY.entity("Account")
NOW = datetime(2022, 1, 1, 12, 0, tzinfo=timezone.utc)  # a Saturday: Concord's own date-range tests' day
ME = 7
def nested(*children: Any, condition: str = "and") -> dict[str, Any]:
    return {"type": "group", "query": group(*children, condition=condition)}


def parse(raw: Any, rules: dict[str, FilterRule] = CONTACT_RULES, entity: Any = CONTACT, **options: Any) -> Node:
    return parse_filters(raw, rules, entity, user_id=ME, now=options.pop("now", NOW), registry=REGISTRY, **options)


def one(rule_id: str, operator: str, value: Any = None, rules: dict[str, FilterRule] = CONTACT_RULES,
        entity: Any = CONTACT, operand: str | None = None, **options: Any) -> Node:
    extra = {} if operand is None else {"operand": operand}
    return parse(group(rule(rule_id, operator, value, **extra)), rules, entity, **options)


def deal(rule_id: str, operator: str, value: Any = None, **options: Any) -> Node:
    return one(rule_id, operator, value, DEAL_RULES, DEAL, **options)


def php_query(name: str, value: Any) -> str:
    """`value` as a client's PHP-style query string: nested keys in brackets, every leaf a string."""
    parts: list[str] = []

    def walk(prefix: str, item: Any) -> None:
        if isinstance(item, dict):
            for key, child in item.items():
                walk(f"{prefix}[{key}]", child)
        elif isinstance(item, list):
            for index, child in enumerate(item):
                walk(f"{prefix}[{index}]", child)
        else:
            text = "1" if item is True else "" if item is None or item is False else str(item)
            parts.append(f"{quote(prefix, safe='[]')}={quote(text, safe='')}")

    walk(name, value)
    return "&".join(parts)


def via_php(raw: Any) -> Any:
    return parse_php_query(php_query("filters", raw)).get("filters")


def error(raw: Any, rules: dict[str, FilterRule] = CONTACT_RULES, entity: Any = CONTACT) -> FilterError:
    with pytest.raises(FilterError) as caught:
        parse(raw, rules, entity)
    return caught.value


def present(name: str, node: Node) -> Node:
    return And((node, Compare(name, Op.IS_NOT_NULL)))


# --- encodings ----------------------------------------------------------------------------------------

def test_the_issue_query_string_filters_by_first_name() -> None:
    query = ("filters[condition]=and&filters[children][0][type]=rule&filters[children][0][query][type]=text"
             "&filters[children][0][query][rule]=first_name&filters[children][0][query][operator]=equal"
             "&filters[children][0][query][value]=Alice")
    raw = parse_php_query(query)["filters"]
    assert parse(raw) == Compare("firstName", Op.EQUALS_TEXT, "Alice")


@pytest.mark.parametrize("raw", [None, "", "   ", [], {}, group(), group(condition=None), {"condition": "or"},
                                 group(nested(), nested(nested()), condition="or"), [group(), group()]])
def test_no_rules_is_no_condition(raw: Any) -> None:
    assert parse(raw) == TRUE


def test_json_string_php_form_and_dict_agree() -> None:
    raw = group(rule("first_name", "contains", "Al"), nested(rule("amount", "greater", "5"), condition="or"),
                condition="and")
    expected = conjunction([Compare("name", Op.CONTAINS, "Al"), Compare("amount", Op.GT, 5)])
    rules = {**DEAL_RULES, "first_name": FilterRule("first_name", "name", "text")}
    assert parse(raw, rules, DEAL) == expected
    assert parse(orjson.dumps(raw).decode(), rules, DEAL) == expected
    assert parse(via_php(raw), rules, DEAL) == expected


def test_a_list_of_groups_is_and_ed_in_every_encoding() -> None:
    groups = [group(rule("first_name", "equal", "A"), rule("last_name", "equal", "B"), condition="or"),
              group(rule("job_title", "contains", "CTO"))]
    expected = And((Or((Compare("firstName", Op.EQUALS_TEXT, "A"), Compare("lastName", Op.EQUALS_TEXT, "B"))),
                    Compare("title", Op.CONTAINS, "CTO")))
    assert parse(groups) == expected
    assert parse(orjson.dumps(groups).decode()) == expected
    assert parse(via_php(groups)) == expected


def test_php_arrays_with_gaps_in_their_keys_are_lists_in_key_order() -> None:
    query = ("filters[condition]=or&filters[children][5][type]=rule&filters[children][5][query][rule]=first_name"
             "&filters[children][5][query][operator]=equal&filters[children][5][query][value]=A"
             "&filters[children][2][type]=rule&filters[children][2][query][rule]=last_name"
             "&filters[children][2][query][operator]=equal&filters[children][2][query][value]=B")
    assert parse(parse_php_query(query)["filters"]) == Or((Compare("firstName", Op.EQUALS_TEXT, "A"),
                                                           Compare("lastName", Op.EQUALS_TEXT, "B")))
    groups = parse_php_query("filters[3][children][0][type]=rule&filters[3][children][0][query][rule]=last_name"
                             "&filters[3][children][0][query][operator]=is_null")["filters"]
    assert parse(groups) == Compare("lastName", Op.IS_NULL)


def test_nesting_and_conditions() -> None:
    raw = group(rule("first_name", "equal", "A"),
                nested(rule("last_name", "equal", "B"),
                       nested(rule("job_title", "equal", "C"), rule("email", "is_null"), condition="AND"),
                       condition=" Or "),
                condition="or")
    assert parse(raw) == Or((
        Compare("firstName", Op.EQUALS_TEXT, "A"),
        Or((Compare("lastName", Op.EQUALS_TEXT, "B"),
            And((Compare("title", Op.EQUALS_TEXT, "C"), Compare("emailAddress", Op.IS_NULL)))))))


def test_query_type_is_accepted_and_ignored() -> None:
    for kind in ("text", "numeric", "nonsense", None):
        assert parse(group(rule("first_name", "equal", "A", type=kind))) == Compare("firstName", Op.EQUALS_TEXT, "A")


def test_a_rule_that_applies_no_condition_leaves_an_or_group_alone() -> None:
    # Concord skips `in []` and empty groups instead of adding "true", which would match every record.
    raw = group(rule("stages", "in", []), nested(), rule("name", "equal", "X"), condition="or")
    assert parse(raw, DEAL_RULES, DEAL) == Compare("name", Op.EQUALS_TEXT, "X")


# --- text rules ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("operator, expected", [
    ("equal", Compare("lastName", Op.EQUALS_TEXT, "Ann")),
    ("not_equal", present("lastName", Not(Compare("lastName", Op.EQUALS_TEXT, "Ann")))),
    ("begins_with", Compare("lastName", Op.STARTS_WITH, "Ann")),
    ("not_begins_with", present("lastName", Not(Compare("lastName", Op.STARTS_WITH, "Ann")))),
    ("contains", Compare("lastName", Op.CONTAINS, "Ann")),
    ("not_contains", present("lastName", Not(Compare("lastName", Op.CONTAINS, "Ann")))),
    ("ends_with", Compare("lastName", Op.ENDS_WITH, "Ann")),
    ("not_ends_with", present("lastName", Not(Compare("lastName", Op.ENDS_WITH, "Ann")))),
    ("is_null", Compare("lastName", Op.IS_NULL)),
    ("is_not_null", Compare("lastName", Op.IS_NOT_NULL)),
])
def test_text_operators(operator: str, expected: Node) -> None:
    assert one("last_name", operator, " Ann ") == expected  # Laravel trims input


@pytest.mark.parametrize("operator, expected", [
    ("equal", Compare("lastName", Op.IS_NULL)), ("not_equal", Compare("lastName", Op.IS_NOT_NULL)),
    ("contains", Compare("lastName", Op.IS_NOT_NULL)), ("begins_with", Compare("lastName", Op.IS_NOT_NULL)),
    ("not_contains", FALSE), ("not_ends_with", FALSE),
])
def test_an_empty_text_value_means_null_as_laravel_reads_it(operator: str, expected: Node) -> None:
    for empty in (None, "", "   ", False):
        assert parse(group({"type": "rule", "query": {"rule": "last_name", "operator": operator,
                                                      "value": empty}})) == expected


def test_values_of_other_json_types_are_text() -> None:
    assert one("last_name", "equal", 12) == Compare("lastName", Op.EQUALS_TEXT, "12")
    assert one("last_name", "equal", True) == Compare("lastName", Op.EQUALS_TEXT, "1")
    assert one("last_name", "contains", 1.5) == Compare("lastName", Op.CONTAINS, "1.5")


def test_email_and_phone_equality_matches_any_of_the_records_values() -> None:
    assert one("email", "equal", "A@x.com") == Compare("emailAddress", Op.EQ, "A@x.com")
    assert one("email", "not_equal", "a@x.com") == present("emailAddress", Not(Compare("emailAddress", Op.EQ,
                                                                                       "a@x.com")))
    assert one("phones", "equal", "+1 555", operand="number") == Compare("phoneNumber", Op.EQ, "+1 555")
    assert one("phones", "contains", "555") == Compare("phoneNumber", Op.CONTAINS, "555")  # operand optional


@pytest.mark.parametrize("value", ["' OR 1=1 --", "%", "_", "\\", "100%_\\x", "a'; DROP TABLE contact; --",
                                   "%' OR '1'='1", "\u00e9\u00c9", "\"quoted\""])
def test_injection_looking_values_stay_plain_values(value: str) -> None:
    for operator, op in (("equal", Op.EQUALS_TEXT), ("contains", Op.CONTAINS), ("begins_with", Op.STARTS_WITH),
                         ("ends_with", Op.ENDS_WITH)):
        assert one("last_name", operator, value) == Compare("lastName", op, value)
        assert parse(via_php(group(rule("last_name", operator, value)))) == Compare("lastName", op, value)


def test_operand_rules() -> None:
    assert one("address", "contains", "Kyiv", operand="city") == Compare("addressCity", Op.CONTAINS, "Kyiv")
    assert one("address", "equal", "Main", operand="street") == Compare("addressStreet", Op.EQUALS_TEXT, "Main")
    assert error(group(rule("address", "equal", "x"))).message == \
        'The rule "address" needs one of the operands: street, city.'
    assert error(group(rule("address", "equal", "x", operand="zip"))).key == "filters.children.0.query.operand"
    assert error(group(rule("first_name", "equal", "x", operand="x"))).message == \
        'The rule "first_name" takes no operand.'
    assert error(group(rule("phones", "equal", "x", operand=["number"]))).message == "The operand must be a string."


def test_company_rules() -> None:
    rules = {"companies.name": FilterRule("companies.name", "name", "text"),
             "domain": FilterRule("domain", "website", "text"),
             "phones": FilterRule("phones", "phoneNumber", "text", operand="number")}
    assert one("companies.name", "equal", "Acme", rules, ACCOUNT) == Compare("name", Op.EQUALS_TEXT, "Acme")
    assert one("domain", "ends_with", ".io", rules, ACCOUNT) == Compare("website", Op.ENDS_WITH, ".io")
    assert one("phones", "equal", "555", rules, ACCOUNT, operand="number") == Compare("phoneNumber", Op.EQ, "555")
    assert error(group(rule("name", "equal", "Acme")), rules, ACCOUNT).message.startswith(
        'Unknown filter rule "name". Accepted rules: companies.name, domain, phones.')


def test_rules_on_linked_records() -> None:
    acme = Compare("name", Op.CONTAINS, "Acme")
    assert one("companies", "contains", "Acme", operand="companies.name") == Linked("accounts", LinkMode.EXISTS,
                                                                                    within=acme)
    assert one("companies", "equal", "me", operand="user_id") == Linked(
        "accounts", LinkMode.EXISTS, within=Compare("assignedUserId", Op.EQ, ME))
    assert one("companies", "not_contains", "Acme", operand="companies.name") == Linked(
        "accounts", LinkMode.EXISTS, within=present("name", Not(acme)))
    assert one("companies", "not_contains", "", operand="companies.name") == FALSE
    assert deal("account", "contains", "Acme") == Foreign("account", acme)  # its only operand
    assert error(group(rule("companies", "contains", "x"))).message == \
        'The rule "companies" needs one of the operands: companies.name, user_id.'
    with pytest.raises(LookupError):
        parse_filters(group(rule("account", "contains", "x")), DEAL_RULES, DEAL, user_id=ME)  # no registry


# --- numeric rules ------------------------------------------------------------------------------------

@pytest.mark.parametrize("operator, value, expected", [
    ("equal", "10", Compare("amount", Op.EQ, 10)),
    ("equal", "99999999999999999999", Compare("amount", Op.EQ, 1e20)),
    ("not_equal", "10.5", present("amount", Compare("amount", Op.NE, 10.5))),
    ("less", "-3", Compare("amount", Op.LT, -3)),
    ("less_or_equal", " 1e3 ", Compare("amount", Op.LE, 1000.0)),
    ("greater", 7, Compare("amount", Op.GT, 7)),
    ("greater_or_equal", 2.5, Compare("amount", Op.GE, 2.5)),
    ("between", ["0", "100"], And((Compare("amount", Op.GE, 0), Compare("amount", Op.LE, 100)))),
    ("not_between", {"0": "1", "1": "2"}, Or((Compare("amount", Op.LT, 1), Compare("amount", Op.GT, 2)))),
    ("is_null", None, Compare("amount", Op.IS_NULL)),
    ("is_not_null", "ignored", Compare("amount", Op.IS_NOT_NULL)),
    ("equal", "", Compare("amount", Op.IS_NULL)),
    ("not_equal", None, Compare("amount", Op.IS_NOT_NULL)),
])
def test_numeric_operators(operator: str, value: Any, expected: Node) -> None:
    assert deal("amount", operator, value) == expected


def test_number_rules_on_int_fields() -> None:
    assert deal("probability", "between", ["10", "20.5"]) == And((Compare("probability", Op.GE, 10),
                                                                 Compare("probability", Op.LE, 20.5)))


@pytest.mark.parametrize("operator, value, key, message", [
    ("equal", "ten", "value", 'The value of "amount" must be a number.'),
    ("less", "nan", "value", 'The value of "amount" must be a number.'),
    ("less", "1e999", "value", 'The value of "amount" must be a number.'),
    ("less", True, "value", 'The value of "amount" must be a number.'),
    ("greater", "1" * 400, "value", 'The value of "amount" must be a number.'),
    ("less", "", "value", 'The "less" operator needs a value.'),
    ("equal", ["1"], "value", "The value must be a single value, not a list or an object."),
    ("between", ["1"], "value", "The between value must contain exactly 2 non-empty items."),
    ("between", "1", "value", "The between value must contain exactly 2 non-empty items."),
    ("between", ["1", "2", "3"], "value", "The between value must contain exactly 2 non-empty items."),
    ("between", ["1", " "], "value", "The between value must contain exactly 2 non-empty items."),
    ("not_between", None, "value", "The between value must contain exactly 2 non-empty items."),
    ("between", ["1", "x"], "value.1", 'The value of "amount" must be a number.'),
    ("between", [["1"], "2"], "value", "The value must be a single value, not a list or an object."),
    ("contains", "1", "operator", 'The operator is "contains"; the numeric rule "amount" accepts: equal, '
                                  "not_equal, less, less_or_equal, greater, greater_or_equal, between, "
                                  "not_between, is_null, is_not_null."),
])
def test_bad_numeric_input(operator: str, value: Any, key: str, message: str) -> None:
    caught = error(group(rule("amount", operator, value)), DEAL_RULES, DEAL)
    assert (caught.key, caught.message) == (f"filters.children.0.query.{key}", message)


# --- date rules ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("operator, value, expected", [
    ("equal", "2024-03-05", Compare("closeDate", Op.EQ, date(2024, 3, 5))),
    ("equal", "2024-03-05 23:30:00", Compare("closeDate", Op.EQ, date(2024, 3, 5))),  # the day as written
    ("equal", "2024-03-05T23:30:00-05:00", Compare("closeDate", Op.EQ, date(2024, 3, 5))),
    ("not_equal", "2024-03-05", present("closeDate", Compare("closeDate", Op.NE, date(2024, 3, 5)))),
    ("less", "2024-03-05", Compare("closeDate", Op.LT, date(2024, 3, 5))),
    ("less_or_equal", "2024-03-05", Compare("closeDate", Op.LE, date(2024, 3, 5))),
    ("greater", "2024-03-05", Compare("closeDate", Op.GT, date(2024, 3, 5))),
    ("greater_or_equal", "2024-03-05", Compare("closeDate", Op.GE, date(2024, 3, 5))),
    ("between", ["2024-01-01", "2024-01-31"], And((Compare("closeDate", Op.GE, date(2024, 1, 1)),
                                                   Compare("closeDate", Op.LE, date(2024, 1, 31))))),
    ("not_between", ["2024-01-01", "2024-01-31"], Or((Compare("closeDate", Op.LT, date(2024, 1, 1)),
                                                      Compare("closeDate", Op.GT, date(2024, 1, 31))))),
    ("is_null", None, Compare("closeDate", Op.IS_NULL)),
    ("equal", "", Compare("closeDate", Op.IS_NULL)),
    ("is", "past", Compare("closeDate", Op.LT, date(2022, 1, 2))),  # today's midnight is before now
    ("is", "future", Compare("closeDate", Op.GE, date(2022, 1, 2))),
])
def test_date_operators_on_a_date_field(operator: str, value: Any, expected: Node) -> None:
    assert deal("expected_close_date", operator, value) == expected


def utc(*parts: int) -> datetime:
    return datetime(*parts)


@pytest.mark.parametrize("operator, value, expected", [
    ("equal", "2024-03-05", And((Compare("createdAt", Op.GE, utc(2024, 3, 5)),
                                 Compare("createdAt", Op.LT, utc(2024, 3, 6))))),
    ("not_equal", "2024-03-05", Or((Compare("createdAt", Op.LT, utc(2024, 3, 5)),
                                    Compare("createdAt", Op.GE, utc(2024, 3, 6))))),
    ("less", "2024-03-05", Compare("createdAt", Op.LT, utc(2024, 3, 5))),
    ("less_or_equal", "2024-03-05", Compare("createdAt", Op.LT, utc(2024, 3, 6))),
    ("greater", "2024-03-05", Compare("createdAt", Op.GE, utc(2024, 3, 6))),
    ("greater_or_equal", "2024-03-05", Compare("createdAt", Op.GE, utc(2024, 3, 5))),
    ("greater_or_equal", "2024-03-05 10:30:00", Compare("createdAt", Op.GE, utc(2024, 3, 5, 10, 30))),
    ("less", "2024-03-05T10:30:00+02:00", Compare("createdAt", Op.LT, utc(2024, 3, 5, 8, 30))),
    ("between", ["2024-01-01", "2024-02-01"], And((Compare("createdAt", Op.GE, utc(2024, 1, 1)),
                                                   Compare("createdAt", Op.LE, utc(2024, 2, 1))))),
    ("is", "past", Compare("createdAt", Op.LT, utc(2022, 1, 1, 12))),
    ("is", "future", Compare("createdAt", Op.GT, utc(2022, 1, 1, 12))),
])
def test_date_operators_on_a_datetime_field(operator: str, value: Any, expected: Node) -> None:
    assert deal("created_at", operator, value) == expected


def test_dates_count_the_days_of_the_given_zone() -> None:
    kyiv = ZoneInfo("Europe/Kyiv")  # UTC+2 in winter
    assert deal("created_at", "equal", "2024-01-10", time_zone=kyiv) == And((
        Compare("createdAt", Op.GE, utc(2024, 1, 9, 22)), Compare("createdAt", Op.LT, utc(2024, 1, 10, 22))))
    late = datetime(2022, 1, 31, 23, 30, tzinfo=timezone.utc)  # already February in Kyiv
    assert deal("created_at", "is", "this_month", time_zone=kyiv, now=late) == And((
        Compare("createdAt", Op.GE, utc(2022, 1, 31, 22)), Compare("createdAt", Op.LT, utc(2022, 2, 28, 22))))
    assert deal("expected_close_date", "is", "today", time_zone=kyiv, now=late) == And((
        Compare("closeDate", Op.GE, date(2022, 2, 1)), Compare("closeDate", Op.LT, date(2022, 2, 2))))


# Concord's own expectations on 2022-01-01 (its QueryDateRange tests), as [first day, last day].
PRESETS = {
    "today": ("2022-01-01", "2022-01-01"), "yesterday": ("2021-12-31", "2021-12-31"),
    "next_day": ("2022-01-02", "2022-01-02"), "this_week": ("2021-12-27", "2022-01-02"),
    "last_week": ("2021-12-20", "2021-12-26"), "next_week": ("2022-01-03", "2022-01-09"),
    "this_month": ("2022-01-01", "2022-01-31"), "last_month": ("2021-12-01", "2021-12-31"),
    "next_month": ("2022-02-01", "2022-02-28"), "this_quarter": ("2022-01-01", "2022-03-31"),
    "last_quarter": ("2021-10-01", "2021-12-31"), "next_quarter": ("2022-04-01", "2022-06-30"),
    "this_year": ("2022-01-01", "2022-12-31"), "last_year": ("2021-01-01", "2021-12-31"),
    "next_year": ("2023-01-01", "2023-12-31"), "last_7_days": ("2021-12-25", "2022-01-01"),
    "last_14_days": ("2021-12-18", "2022-01-01"), "last_30_days": ("2021-12-02", "2022-01-01"),
    "last_60_days": ("2021-11-02", "2022-01-01"), "last_90_days": ("2021-10-03", "2022-01-01"),
    "last_365_days": ("2021-01-01", "2022-01-01"),
}


@pytest.mark.parametrize("preset", PRESETS)
def test_is_presets_as_concord_computes_them(preset: str) -> None:
    first, last = (date.fromisoformat(day) for day in PRESETS[preset])
    after = date.fromordinal(last.toordinal() + 1)
    assert deal("expected_close_date", "is", preset) == And((Compare("closeDate", Op.GE, first),
                                                            Compare("closeDate", Op.LT, after)))
    assert deal("created_at", "is", preset) == And((
        Compare("createdAt", Op.GE, datetime.combine(first, datetime.min.time())),
        Compare("createdAt", Op.LT, datetime.combine(after, datetime.min.time()))))


@pytest.mark.parametrize("operator, value, message", [
    ("equal", "yesterday-ish", "The value must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS)."),
    ("equal", "2024-02-30", "The value must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS)."),
    ("less", 20240101, "The value must be a date (YYYY-MM-DD) or a date-time (YYYY-MM-DD HH:MM:SS)."),
    ("greater", "9999-12-31", "The date is out of range."),
    ("less", None, 'The "less" operator needs a value.'),
    ("between", ["2024-01-01"], "The between value must contain exactly 2 non-empty items."),
    ("is", "someday", "The value of \"is\" must be one of: "),
    ("is", ["today"], "The value must be a single value, not a list or an object."),
])
def test_bad_date_input(operator: str, value: Any, message: str) -> None:
    caught = error(group(rule("created_at", operator, value)), DEAL_RULES, DEAL)
    assert caught.message.startswith(message)
    assert caught.key.startswith("filters.children.0.query.value")


def test_left_out_presets_and_operators_are_refused() -> None:
    assert "future" not in error(group(rule("created_at", "is", "future"))).message
    assert error(group(rule("created_at", "is", "next_week"))).key == "filters.children.0.query.value"
    assert one("created_at", "is", "next_month") is not None
    assert error(group(rule("created_at", "is_null"))).key == "filters.children.0.query.operator"
    assert error(group(rule("first_name", "is_not_null"))).key == "filters.children.0.query.operator"


# --- select-like rules --------------------------------------------------------------------------------

@pytest.mark.parametrize("operator, value, expected", [
    ("equal", "me", Compare("assignedUserId", Op.EQ, ME)),
    ("equal", "12", Compare("assignedUserId", Op.EQ, 12)),
    ("equal", 12, Compare("assignedUserId", Op.EQ, 12)),
    ("not_equal", "me", present("assignedUserId", Compare("assignedUserId", Op.NE, ME))),
    ("is_null", None, Compare("assignedUserId", Op.IS_NULL)),
    ("is_not_null", None, Compare("assignedUserId", Op.IS_NOT_NULL)),
    ("equal", "", Compare("assignedUserId", Op.IS_NULL)),
])
def test_owner_select(operator: str, value: Any, expected: Node) -> None:
    assert one("user_id", operator, value) == expected


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "99999999999999999999", True])
def test_an_owner_must_be_a_record_id_or_me(value: Any) -> None:
    assert error(group(rule("user_id", "equal", value))).message == \
        'The value of "user_id" must be a record id or "me".'


def test_select_values_map_onto_canonical_ones() -> None:
    assert deal("stage", "equal", "won") == Compare("stage", Op.EQ, "Closed Won")
    assert deal("stage", "equal", "PROPOSAL") == Compare("stage", Op.EQ, "Proposal")  # case-insensitive
    assert deal("stage", "not_equal", "won") == present("stage", Compare("stage", Op.NE, "Closed Won"))
    caught = error(group(rule("stage", "equal", "lost")), DEAL_RULES, DEAL)
    assert caught.message == 'The value of "stage" must be one of: prospecting, proposal, won.'
    assert deal("favourite", "equal", "yes") == Compare("stage", Op.EQ, "Closed Won")
    assert error(group(rule("favourite", "not_equal", "yes")), DEAL_RULES, DEAL).key.endswith("operator")


def test_multi_select_and_checkbox() -> None:
    assert deal("stages", "in", ["won", "proposal"]) == Compare("stage", Op.IN, ("Closed Won", "Proposal"))
    assert deal("stages", "not_in", {"0": "won"}) == present("stage", Compare("stage", Op.NOT_IN, ("Closed Won",)))
    assert deal("account_id", "in", ["3", 4, " 5 "]) == Compare("accountId", Op.IN, (3, 4, 5))
    assert deal("account_id", "in", "3") == Compare("accountId", Op.IN, (3,))  # one value: a list of one
    assert deal("account_id", "in", ["", "3", None]) == Compare("accountId", Op.IN, (3,))  # empty items dropped
    assert deal("contact_id", "in", ["8"]) == Compare("contactId", Op.IN, (8,))
    for empty in ([], "", None, {}):
        assert deal("account_id", "in", empty) == TRUE  # Concord applies no condition
    assert error(group(rule("account_id", "in", ["x"])), DEAL_RULES, DEAL).key == "filters.children.0.query.value.0"
    assert error(group(rule("account_id", "equal", "3")), DEAL_RULES, DEAL).key.endswith("operator")
    assert error(group(rule("contact_id", "not_in", ["3"])), DEAL_RULES, DEAL).key.endswith("operator")


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("on", True), (True, True), (1, True),
                                             ("0", False), ("FALSE", False), ("no", False), (False, False)])
def test_boolean_rules(value: Any, expected: bool) -> None:
    assert one("do_not_call", "equal", value) == Compare("doNotCall", Op.EQ, expected)


def test_a_boolean_rule_refuses_other_values() -> None:
    assert error(group(rule("do_not_call", "equal", "maybe"))).message == \
        'The value of "do_not_call" must be true or false.'


# --- malformed input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, key, message", [
    ("{nope", "filters", "The filters must be JSON or query parameters (filters[condition]=...)."),
    ("5", "filters", "The filters must be a group {condition, children} or a list of groups."),
    ('"text"', "filters", "The filters must be a group {condition, children} or a list of groups."),
    ({"rule": "first_name"}, "filters", "The filters must be a group {condition, children} or a list of groups."),
    (["x"], "filters.0", "A group must be an object with a condition and children."),
    (group(condition="xor"), "filters.condition", "Condition can only be one of: 'and', 'or'."),
    (group(condition=["and"]), "filters.condition", "Condition can only be one of: 'and', 'or'."),
    (group(nested(rule("first_name", "equal", "x"), condition="not")),
     "filters.children.0.query.condition", "Condition can only be one of: 'and', 'or'."),
    ({"condition": "and", "children": "x"}, "filters.children", "The children must be a list."),
    ({"condition": "and", "children": {"a": {}}}, "filters.children", "The children must be a list."),
    (group("x"), "filters.children.0", "A child must be an object with a type and a query."),
    (group({"type": "rule"}), "filters.children.0.query", "The query must be an object."),
    (group({"type": "rule", "query": "first_name"}), "filters.children.0.query", "The query must be an object."),
    (group({"type": "rules", "query": {}}), "filters.children.0.type", "The type must be 'rule' or 'group'."),
    (group({"query": {"rule": "first_name"}}), "filters.children.0.type", "The type must be 'rule' or 'group'."),
    (group({"type": "rule", "query": {"operator": "equal"}}), "filters.children.0.query.rule",
     "The rule is required."),
    (group(rule(["first_name"], "equal")), "filters.children.0.query.rule", "The rule is required."),
    (group({"type": "rule", "query": {"rule": "first_name"}}), "filters.children.0.query.operator",
     'The operator is missing; the text rule "first_name" accepts: equal, not_equal, begins_with, '
     "not_begins_with, contains, not_contains, ends_with, not_ends_with."),
    (group(rule("first_name", "like", "x")), "filters.children.0.query.operator",
     'The operator is "like"; the text rule "first_name" accepts: equal, not_equal, begins_with, '
     "not_begins_with, contains, not_contains, ends_with, not_ends_with."),
    (group(rule("first_name", "equal", {"a": "b"})), "filters.children.0.query.value",
     "The value must be a single value, not a list or an object."),
    (group(rule("first_name", "contains", "a\x00b")), "filters.children.0.query.value",
     "The value must not contain NUL characters."),
    (group(rule("user_id", "in", ["1", "\x00"])), "filters.children.0.query.operator",
     'The operator is "in"; the select rule "user_id" accepts: equal, not_equal, is_null, is_not_null.'),
    ([group(), group(rule("nope", "equal", "x"))], "filters.1.children.0.query.rule",
     'Unknown filter rule "nope". Accepted rules: first_name, last_name, email, phones, user_id, job_title, '
     "address, do_not_call, created_at, updated_at, companies."),
])
def test_malformed_filters(raw: Any, key: str, message: str) -> None:
    caught = error(raw)
    assert (caught.key, caught.message) == (key, message)
    assert str(caught) == f"{key}: {message}"


def deep(levels: int) -> dict[str, Any]:
    raw = group(rule("first_name", "equal", "x"))
    for _ in range(levels - 1):
        raw = group({"type": "group", "query": raw})
    return raw


def test_limits() -> None:
    assert parse(deep(MAX_DEPTH)) == Compare("firstName", Op.EQUALS_TEXT, "x")
    too_deep = error(deep(MAX_DEPTH + 1))
    assert too_deep.message == f"The filters are nested too deeply (at most {MAX_DEPTH} levels)."
    assert too_deep.key.count("children") == MAX_DEPTH
    assert error(deep(500)).message == too_deep.message  # no RecursionError, however deep
    assert error(json.dumps(deep(200))).message == too_deep.message
    assert error("[" * 2000 + "]" * 2000).key == "filters"  # past the JSON decoder's own depth limit
    many = [rule("first_name", "equal", str(i)) for i in range(MAX_CHILDREN + 1)]
    assert error(group(*many)).message == f"Too many items (at most {MAX_CHILDREN})."
    assert error([group()] * (MAX_CHILDREN + 1)).key == "filters"
    wide = group(*[nested(*many[:MAX_CHILDREN]) for _ in range(MAX_RULES // MAX_CHILDREN)])
    assert error(wide).message == f"The filters hold too many rules (at most {MAX_RULES})."
    assert error(group(rule("last_name", "equal", "x" * (MAX_TEXT + 1)))).message == \
        f"The value is too long (at most {MAX_TEXT} characters)."
    assert one("last_name", "equal", "x" * MAX_TEXT) == Compare("lastName", Op.EQUALS_TEXT, "x" * MAX_TEXT)
    assert error(group(rule("account_id", "in", ["1"] * (MAX_VALUES + 1))), DEAL_RULES, DEAL).message == \
        f"Too many items (at most {MAX_VALUES})."
    assert error(" " * (MAX_JSON + 1) + "{}").message == f"The filters are too long (at most {MAX_JSON} characters)."


def test_a_rule_on_a_field_the_entity_lacks_is_the_servers_mistake() -> None:
    rules = {"board_id": FilterRule("board_id", "board", "multi-select")}
    with pytest.raises(LookupError):
        parse(group(rule("board_id", "in", ["1"])), rules, DEAL)
    assert check_rules(rules, DEAL, REGISTRY) == ["rule board_id: Opportunity has no field 'board'"]
    slider = FilterRule("x", "name", "slider", without_operators=frozenset({"near"}))
    assert check_rules({"x": slider}, DEAL, REGISTRY) == [
        "rule x: unknown type 'slider'", "rule x: unknown operators or presets left out: near"]
    assert check_rules({"c": FilterRule("c", "name", "text", link="nope"), "d": FilterRule(
        "d", "nope", "text", link="accounts")}, CONTACT, REGISTRY) == [
        "rule c: Contact has no link 'nope' to one entity", "rule d: Account has no field 'nope'"]
    assert check_rules(CONTACT_RULES, CONTACT, REGISTRY) == [] and check_rules(DEAL_RULES, DEAL, REGISTRY) == []


def test_naive_now_is_utc() -> None:
    assert deal("created_at", "is", "past", now=NOW.replace(tzinfo=None)) == deal("created_at", "is", "past")


# --- the rules listing --------------------------------------------------------------------------------

def test_rules_listing_has_concords_shape() -> None:
    listing = {entry["id"]: entry for entry in rules_listing(CONTACT_RULES, {"first_name": "First Name",
                                                                             "address": "Address"})}
    assert list(listing) == ["first_name", "last_name", "email", "phones", "user_id", "job_title", "address",
                             "do_not_call", "created_at", "updated_at", "companies"]
    companies = listing["companies"]["operands"]
    assert [(o["value"], o["rule"]["id"], o["rule"]["type"]) for o in companies] == [
        ("companies.name", "companies.name", "text"), ("user_id", "user_id", "select")]
    assert listing["first_name"] == {
        "id": "first_name", "label": "First Name", "type": "text",
        "operators": ["equal", "not_equal", "begins_with", "not_begins_with", "contains", "not_contains",
                      "ends_with", "not_ends_with"],
        "operatorsOptions": [], "component": "text-rule", "isStatic": False, "operands": [],
        "hasAuthorization": False, "helpText": None, "displayAs": None, "quickFilter": None,
        "onlyOncePerGroup": False}
    assert listing["last_name"]["label"] == "last_name"
    assert listing["updated_at"]["operators"] == ["is", "equal", "not_equal", "less", "less_or_equal", "greater",
                                                  "greater_or_equal", "between", "not_between", "is_null",
                                                  "is_not_null"]
    assert list(listing["updated_at"]["operatorsOptions"]["is"])[:3] == ["past", "future", "today"]
    assert listing["updated_at"]["operatorsOptions"]["is"]["last_7_days"] == "Within last 7 days"
    assert "future" not in listing["created_at"]["operatorsOptions"]["is"]
    assert "is_null" not in listing["created_at"]["operators"]
    phones = listing["phones"]
    assert (phones["type"], phones["component"], phones["operators"], phones["hideOperands"]) == \
        ("nullable", "nullable-rule", [], True)
    assert [(o["value"], o["rule"]["id"], o["rule"]["type"]) for o in phones["operands"]] == [("number", "number",
                                                                                              "text")]
    address = listing["address"]
    assert address["label"] == "Address" and "hideOperands" not in address
    assert [o["value"] for o in address["operands"]] == ["street", "city"]
    owner = listing["user_id"]
    assert (owner["type"], owner["valueKey"], owner["labelKey"], owner["options"]) == ("select", "id", "name", [])
    assert listing["do_not_call"]["type"] == "radio" and listing["do_not_call"]["operators"] == ["equal"]
    assert listing["do_not_call"]["options"] == [{"label": "Yes", "value": 1}, {"label": "No", "value": 0}]
    assert orjson.loads(orjson.dumps(list(listing.values()))) == list(listing.values())


def test_rules_listing_options() -> None:
    listing = {e["id"]: e for e in rules_listing(DEAL_RULES, {}, options={"user_id": [{"id": "me", "name": "Me"}]})}
    assert listing["user_id"]["options"] == [{"id": "me", "name": "Me"}]
    assert (listing["stages"]["type"], listing["stages"]["operators"]) == ("multi-select", ["in", "not_in"])
    assert listing["stages"]["options"] == [{"label": value.capitalize(), "value": value} for value in STAGES]
    assert (listing["stages"]["valueKey"], listing["stages"]["labelKey"]) == ("value", "label")
    assert listing["contact_id"]["operators"] == ["in"]
    assert listing["amount"]["operators"] == listing["probability"]["operators"]
    assert listing["probability"]["type"] == "number"


# --- properties -----------------------------------------------------------------------------------------

WORDS = ["condition", "children", "type", "query", "rule", "operator", "value", "operand", "and", "or", "group",
         "0", "1", *CONTACT_RULES, "address", "number", "city", "equal", "in", "between", "is", "today",
         "contains", "is_null", "me", "2024-01-01", "2024-01-01 10:00:00", "12", "-1", "", " ", "\x00", "%"]
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.sampled_from(WORDS) | st.text(max_size=8)
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=4), inner, max_size=5),
                       max_leaves=40)


def parses_or_refuses(raw: Any) -> None:
    try:
        result = parse(raw)
    except FilterError as caught:
        assert caught.key.startswith("filters") and caught.message
    else:
        assert isinstance(result, (Compare, And, Or, Not)) or result in (TRUE, FALSE)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSONISH)
def test_any_structure_parses_or_is_a_filter_error(raw: Any) -> None:
    parses_or_refuses(raw)
    parses_or_refuses({"condition": "and", "children": raw})
    parses_or_refuses(group({"type": "rule", "query": raw}))
    parses_or_refuses(json.dumps(raw))


ALL_OPERATORS = ["is", "equal", "not_equal", "in", "not_in", "less", "less_or_equal", "greater", "greater_or_equal",
                 "between", "not_between", "begins_with", "not_begins_with", "contains", "not_contains", "ends_with",
                 "not_ends_with", "is_null", "is_not_null"]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted({*CONTACT_RULES, *DEAL_RULES})), st.sampled_from(ALL_OPERATORS), JSONISH)
def test_any_value_of_any_rule_parses_or_is_a_filter_error(rule_id: str, operator: str, value: Any) -> None:
    for rules, entity in ((CONTACT_RULES, CONTACT), (DEAL_RULES, DEAL)):
        try:
            parse(group(rule(rule_id, operator, value)), rules, entity)
        except FilterError as caught:
            assert caught.key.startswith("filters.children.0.query")


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_any_php_query_parses_or_is_a_filter_error(raw: Any) -> None:
    try:
        parsed = parse_php_query(php_query("filters", {"condition": "or", "children": raw}))
    except BadRequest:
        return
    parses_or_refuses(parsed.get("filters"))


TEXT_RULES = {"last_name": "lastName", "job_title": "title"}
TEXT_OPERATORS = ["equal", "not_equal", "begins_with", "not_begins_with", "contains", "not_contains",
                  "ends_with", "not_ends_with", "is_null", "is_not_null"]
VALUES = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1,
                 max_size=12).filter(lambda v: v.strip() == v and v)


def expected_text(rule_id: str, operator: str, value: str) -> Node:
    name = TEXT_RULES[rule_id]
    if operator in ("is_null", "is_not_null"):
        return Compare(name, Op.IS_NULL if operator == "is_null" else Op.IS_NOT_NULL)
    op = {"equal": Op.EQUALS_TEXT, "begins_with": Op.STARTS_WITH, "contains": Op.CONTAINS,
          "ends_with": Op.ENDS_WITH}[operator.removeprefix("not_")]
    positive = Compare(name, op, value)
    return present(name, Not(positive)) if operator.startswith("not_") else positive


RULES_AND_EXPECTED = st.tuples(st.sampled_from(sorted(TEXT_RULES)), st.sampled_from(TEXT_OPERATORS), VALUES).map(
    lambda t: (rule(*t), expected_text(*t)))


def trees(depth: int) -> st.SearchStrategy[tuple[dict[str, Any], Node | None]]:
    children = RULES_AND_EXPECTED if depth == 0 else RULES_AND_EXPECTED | trees(depth - 1).map(
        lambda g: ({"type": "group", "query": g[0]}, g[1]))

    def build(condition: str, items: list[tuple[dict[str, Any], Node | None]]) -> tuple[dict[str, Any], Node | None]:
        kept = [node for _, node in items if node is not None]
        combined = None if not kept else conjunction(kept) if condition == "and" else disjunction(kept)
        return group(*(raw for raw, _ in items), condition=condition), combined

    return st.builds(build, st.sampled_from(["and", "or"]), st.lists(children, max_size=4))


@settings(max_examples=300, deadline=None)
@given(trees(3))
def test_well_formed_trees_round_trip_in_every_encoding(tree: tuple[dict[str, Any], Node | None]) -> None:
    raw, expected = tree
    expected = TRUE if expected is None else expected
    assert parse(raw) == expected
    assert parse(orjson.dumps(raw).decode()) == expected
    assert parse(via_php(raw)) == expected


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["equal", "not_equal", "less", "less_or_equal", "greater", "greater_or_equal"]),
       st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1) | st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_through_the_query_string(operator: str, number: int | float) -> None:
    node = parse(via_php(group(rule("amount", operator, number))), DEAL_RULES, DEAL)
    compared = node.items[0] if isinstance(node, And) else node
    assert isinstance(compared, Compare) and compared.value == number


PRODUCT_RULES = {
    "products.total_count": FilterRule("products", "id", "number", operand="total_count", link="billableProducts",
                                       count=True, without_operators=frozenset({"between", "not_between"})),
    "products.sku": FilterRule("products", "code", "text", operand="sku", link="billableProducts.product"),
}


def test_count_rules_compare_how_many_linked_records_there_are() -> None:
    count = lambda operator, value: one("products", operator, value, PRODUCT_RULES, DEAL,  # noqa: E731
                                        operand="total_count")
    assert count("greater", "0") == LinkCount("billableProducts", Op.GT, 0)
    assert count("equal", 2.0) == LinkCount("billableProducts", Op.EQ, 2)
    assert count("not_equal", 1) == LinkCount("billableProducts", Op.NE, 1)
    for bad in (1.5, "x", None, 1e300, True):
        with pytest.raises(FilterError):
            count("equal", bad)
    with pytest.raises(FilterError):
        count("between", [1, 2])


def test_a_path_of_links_nests_the_condition() -> None:
    assert one("products", "begins_with", "GAD", PRODUCT_RULES, DEAL, operand="sku") == Linked(
        "billableProducts", LinkMode.EXISTS, within=Foreign("product", Compare("code", Op.STARTS_WITH, "GAD")))
    assert check_rules(PRODUCT_RULES, DEAL, REGISTRY) == []
    assert check_rules({"a": FilterRule("a", "code", "text", link="billableProducts.nope"),
                        "b": FilterRule("b", "id", "text", link="billableProducts", count=True)}, DEAL, REGISTRY) == [
        "rule a: Opportunity has no link 'billableProducts.nope' to one entity",
        "rule b: a count rule is a number rule over one link"]
