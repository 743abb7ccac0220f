"""EspoCRM where items -> the canonical filter tree (specs/espocrm.md §2.1, §2.3, §2.4)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polycrm.core.errors import BadRequest, Forbidden
from polycrm.dialects.php_query import parse_php_query
from polycrm.dialects.espo.where import (MAX_DEPTH, UNSUPPORTED_TYPES, EspoWhereParser, RelationScope,
                                         split_special_items)
from polycrm.meta import load_builtin_registry
from polycrm.query import dates
from polycrm.query.tree import (FALSE, TRUE, And, Compare, Foreign, LinkColumn, Linked, LinkMode, Not, Op, Or)

REGISTRY = load_builtin_registry()
KYIV = ZoneInfo("Europe/Kyiv")
# 23:30 UTC on 31 January is already 01:30 on 1 February in Kyiv: another day, month and quarter start.
NOW = datetime(2024, 1, 31, 23, 30, tzinfo=timezone.utc)
NOW_NAIVE = NOW.replace(tzinfo=None)


def parse(items, entity="Account", *, zone="UTC", now=NOW):
    return EspoWhereParser(REGISTRY, REGISTRY.entity(entity), now=now, time_zone=zone).parse(items)


def one(type_, attribute=None, entity="Account", *, zone="UTC", now=NOW, **extra):
    item = {"type": type_, **extra}
    if attribute is not None:
        item["attribute"] = attribute
    return parse([item], entity, zone=zone, now=now)


def utc(*args):
    return datetime(*args)


def local(moment: datetime, zone=KYIV) -> datetime:
    """A naive UTC bound as naive wall time in `zone`."""
    return moment.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)


def bounds(node):
    """(start, end) of a `>= start AND < end` window node (None for an open side)."""
    items = node.items if isinstance(node, And) else (node,)
    start = next((c.value for c in items if c.op is Op.GE), None)
    end = next((c.value for c in items if c.op is Op.LT), None)
    assert all(c.op in (Op.GE, Op.LT) for c in items), node
    return start, end


# --- item shape -----------------------------------------------------------------------------------

@pytest.mark.parametrize("items, message", [
    (["equals"], "Bad where item."),
    ([None], "Bad where item."),
    ([["type", "equals"]], "Bad where item."),
    ([{"attribute": "name", "value": "x"}], "No 'type'"),
    ([{"type": "", "attribute": "name"}], "No 'type'"),
    ([{"type": ["equals"], "attribute": "name"}], "No 'type'"),
    ([{"type": "equals", "attribute": "name", "value": "x", "extra": 1}], "Unknown key 'extra'"),
    ([{"type": "fooBar", "attribute": "name"}], "Unknown where item type 'fooBar'."),
    ([{"type": "primary", "value": "customers"}], "Unknown where item type 'primary'."),  # hoist first
    ([{"type": "equals", "value": "x"}], "No 'attribute'"),
    ([{"type": "equals", "attribute": "", "value": "x"}], "No 'attribute'"),
    ([{"type": "equals", "attribute": ["name"], "value": "x"}], "No 'attribute'"),
    ([{"type": "equals", "attribute": "nope", "value": "x"}], "Not existing attribute 'nope' in where."),
    ([{"type": "equals", "attribute": "emailAddressData", "value": "x"}], "cannot be used in where"),
    ([{"type": "equals", "attribute": "teamsIds", "value": "1"}], "cannot be used in where"),
    ([{"type": "today", "attribute": "createdAt", "timeZone": "Mars/Olympus"}], "Bad timezone"),
    ([{"type": "today", "attribute": "createdAt", "timeZone": "../../etc/passwd"}], "Bad timezone"),
    ([{"type": "today", "attribute": "createdAt", "timeZone": 3}], "Bad 'timeZone'"),
    ([{"type": "today", "attribute": "createdAt", "dateTime": "maybe"}], "Bad 'dateTime'"),
])
def test_malformed_items_are_bad_requests(items, message):
    with pytest.raises(BadRequest) as caught:
        parse(items)
    assert message in caught.value.reason


@pytest.mark.parametrize("type_", sorted(UNSUPPORTED_TYPES))
def test_unsupported_types(type_):
    with pytest.raises(BadRequest, match=f"Where item type '{type_}' is not supported."):
        one(type_, "name", value="x")


@pytest.mark.parametrize("attribute", ["name#", "na#me", "account.#name", "#"])
def test_hash_in_attribute_is_forbidden(attribute):
    with pytest.raises(Forbidden):
        one("equals", attribute, "Opportunity", value="x")


def test_top_level_must_be_a_list():
    with pytest.raises(BadRequest):
        parse("value")  # callers ignore the broken espocrm-client form before parsing
    assert parse([]) == TRUE


def test_field_is_an_alias_of_attribute():
    assert parse([{"type": "equals", "field": "name", "value": "A"}]) == Compare("name", Op.EQ, "A")
    assert parse([{"type": "equals", "attribute": "name", "field": "website", "value": "A"}]) == \
        Compare("name", Op.EQ, "A")


def test_top_level_items_are_and_ed():
    assert parse([{"type": "equals", "attribute": "name", "value": "A"},
                  {"type": "isTrue", "attribute": "isLocked"}]) == \
        And((Compare("name", Op.EQ, "A"), Compare("isLocked", Op.EQ, True)))


# --- comparisons and coercion ---------------------------------------------------------------------

@pytest.mark.parametrize("type_, op", [
    ("equals", Op.EQ), ("notEquals", Op.NE), ("greaterThan", Op.GT), ("lessThan", Op.LT),
    ("greaterThanOrEquals", Op.GE), ("lessThanOrEquals", Op.LE),
    ("on", Op.EQ), ("notOn", Op.NE), ("after", Op.GT), ("before", Op.LT),
])
def test_comparison_types(type_, op):
    assert one(type_, "name", value="M") == Compare("name", op, "M")


@pytest.mark.parametrize("type_, value, expected", [
    ("equals", ["a", "b"], Compare("name", Op.IN, ("a", "b"))),
    ("notEquals", ["a"], Compare("name", Op.NOT_IN, ("a",))),
    ("equals", [], Compare("name", Op.IN, ())),
    ("equals", None, Compare("name", Op.IS_NULL)),
    ("notEquals", None, Compare("name", Op.IS_NOT_NULL)),
])
def test_equals_with_list_or_null(type_, value, expected):
    assert one(type_, "name", value=value) == expected


def test_equals_without_value_is_null():
    assert one("equals", "name") == Compare("name", Op.IS_NULL)


@pytest.mark.parametrize("type_, value", [
    ("greaterThan", None), ("lessThan", ["a"]), ("equals", {"a": 1}), ("notEquals", {"0": "x", "k": "y"}),
])
def test_comparison_needs_a_scalar(type_, value):
    with pytest.raises(BadRequest):
        one(type_, "name", value=value)


@pytest.mark.parametrize("entity, attribute, raw, expected", [
    ("Opportunity", "probability", "12", 12),
    ("Opportunity", "probability", 12, 12),
    ("Opportunity", "probability", 12.0, 12),
    ("Opportunity", "probability", " -7 ", -7),
    ("Opportunity", "amount", "1000", 1000.0),
    ("Opportunity", "amount", "1.5e3", 1500.0),
    ("Opportunity", "amount", ".5", 0.5),
    ("Opportunity", "amount", 3, 3.0),
    ("Account", "isLocked", "1", True),
    ("Account", "isLocked", "true", True),
    ("Account", "isLocked", "True", True),
    ("Account", "isLocked", True, True),
    ("Account", "isLocked", 1, True),
    ("Account", "isLocked", "0", False),
    ("Account", "isLocked", "false", False),
    ("Account", "isLocked", "False", False),
    ("Account", "isLocked", "", False),  # jQuery sends null as the empty string
    ("Account", "isLocked", False, False),
    ("Opportunity", "closeDate", "2024-02-29", date(2024, 2, 29)),
    ("Account", "createdAt", "2024-01-15 10:20:30", utc(2024, 1, 15, 10, 20, 30)),
    ("Account", "createdAt", "2024-01-15 10:20", utc(2024, 1, 15, 10, 20)),
    ("Account", "createdAt", "2024-01-15T10:20:30", utc(2024, 1, 15, 10, 20, 30)),
    ("Account", "createdAt", "2024-01-15T10:20:30Z", utc(2024, 1, 15, 10, 20, 30)),
    ("Account", "createdAt", "2024-01-15T12:20:30+02:00", utc(2024, 1, 15, 10, 20, 30)),
    ("Account", "createdAt", "2024-01-15", utc(2024, 1, 15)),
    ("Account", "id", "12", 12),
    ("Account", "id", 12, 12),
    ("Account", "assignedUserId", "3", 3),
    ("Account", "name", "12", "12"),
    ("Account", "name", 12, "12"),
    ("Account", "description", "text", "text"),
])
def test_values_are_coerced_to_the_attribute_kind(entity, attribute, raw, expected):
    node = one("equals", attribute, entity, value=raw)
    assert node == Compare(attribute, Op.EQ, expected)
    assert type(node.value) is type(expected)


@pytest.mark.parametrize("entity, attribute, raw", [
    ("Opportunity", "probability", "12.5"),
    ("Opportunity", "probability", "abc"),
    ("Opportunity", "probability", ""),
    ("Opportunity", "probability", True),
    ("Opportunity", "probability", 12.5),
    ("Opportunity", "probability", "99999999999999999999"),
    ("Opportunity", "probability", "١٢"),  # non-ASCII digits
    ("Opportunity", "amount", "nan"),
    ("Opportunity", "amount", "inf"),
    ("Opportunity", "amount", "1e999"),
    ("Opportunity", "amount", "1_000"),
    ("Opportunity", "amount", False),
    ("Account", "isLocked", "yes"),
    ("Account", "isLocked", 2),
    ("Account", "isLocked", 1.5),
    ("Opportunity", "closeDate", "2024-13-01"),
    ("Opportunity", "closeDate", "2024-01-15 10:00:00"),
    ("Opportunity", "closeDate", 20240115),
    ("Account", "createdAt", "yesterday"),
    ("Account", "createdAt", 1700000000),
    ("Account", "createdAt", "2024-01-15 25:00"),
    ("Account", "name", True),
])
def test_bad_values_are_bad_requests(entity, attribute, raw):
    with pytest.raises(BadRequest, match="Bad value"):
        one("equals", attribute, entity, value=raw)


@pytest.mark.parametrize("type_, value, expected", [
    ("equals", "abc", FALSE),  # canonical ids are integers: no record has this one
    ("equals", "0", FALSE),
    ("equals", "55643ca033f7ab4c5", FALSE),
    ("notEquals", "abc", TRUE),
    ("in", ["1", "abc", 2], Compare("id", Op.IN, (1, 2))),
    ("in", ["abc"], Compare("id", Op.IN, ())),
    ("notIn", ["abc"], Compare("id", Op.NOT_IN, ())),
    ("equals", ["abc", "7"], Compare("id", Op.IN, (7,))),
])
def test_ids_that_no_record_can_have(type_, value, expected):
    assert one(type_, "id", value=value) == expected


@pytest.mark.parametrize("type_, value", [("greaterThan", "abc"), ("between", ["1", "abc"])])
def test_ordering_by_a_non_canonical_id_is_an_error(type_, value):
    with pytest.raises(BadRequest):
        one(type_, "id", value=value)


@pytest.mark.parametrize("value", [
    "x' OR 1=1 --", "'; DROP TABLE account; --", "\" OR \"\"=\"", "%", "_", "a\\b", "Robert'); --", "\x00",
])
def test_injection_looking_strings_stay_literal_values(value):
    assert one("equals", "name", value=value) == Compare("name", Op.EQ, value)
    assert one("contains", "name", value=value) == Compare("name", Op.CONTAINS, value)
    assert one("in", "name", value=[value]) == Compare("name", Op.IN, (value,))


# --- in / notIn / between -------------------------------------------------------------------------

@pytest.mark.parametrize("type_, op", [("in", Op.IN), ("notIn", Op.NOT_IN)])
def test_in_and_not_in(type_, op):
    assert one(type_, "type", value=["Customer", "Partner"]) == Compare("type", op, ("Customer", "Partner"))
    assert one(type_, "type", value=[]) == Compare("type", op, ())
    assert one(type_, "versionNumber", value=["1", 2]) == Compare("versionNumber", op, (1, 2))


@pytest.mark.parametrize("type_", ["in", "notIn"])
@pytest.mark.parametrize("value", ["Customer", None, {"a": "b"}, 5])
def test_in_requires_a_list(type_, value):
    with pytest.raises(BadRequest, match=f"Bad where item '{type_}'."):
        one(type_, "type", value=value)


def test_in_without_value_is_a_bad_request():
    # PHP drops an empty list from the query string, so `in` arrives without a value (spec §2.4 quirk).
    with pytest.raises(BadRequest, match="Bad where item 'in'."):
        one("in", "type")


@pytest.mark.parametrize("value", [[None], [["x"]], [{"a": 1}]])
def test_in_elements_must_be_scalars(value):
    with pytest.raises(BadRequest):
        one("in", "type", value=value)


def test_between():
    assert one("between", "probability", "Opportunity", value=["10", "20"]) == \
        And((Compare("probability", Op.GE, 10), Compare("probability", Op.LE, 20)))
    assert one("between", "closeDate", "Opportunity", value=["2024-01-01", "2024-01-31", "ignored"]) == \
        And((Compare("closeDate", Op.GE, date(2024, 1, 1)), Compare("closeDate", Op.LE, date(2024, 1, 31))))


@pytest.mark.parametrize("value", [None, "10", ["10"], [], {"0": "1", "1": "2"}])
def test_between_needs_two_values(value):
    with pytest.raises(BadRequest, match="between"):
        one("between", "probability", "Opportunity", value=value)


# --- flags, text, constants -----------------------------------------------------------------------

@pytest.mark.parametrize("type_, expected", [
    ("isNull", Compare("website", Op.IS_NULL)),
    ("isNotNull", Compare("website", Op.IS_NOT_NULL)),
    ("ever", Compare("website", Op.IS_NOT_NULL)),
])
def test_null_checks(type_, expected):
    assert one(type_, "website") == expected


@pytest.mark.parametrize("type_, value", [("isTrue", True), ("isFalse", False)])
def test_is_true_and_is_false(type_, value):
    assert one(type_, "isLocked") == Compare("isLocked", Op.EQ, value)
    with pytest.raises(BadRequest, match="does not apply"):
        one(type_, "name")


@pytest.mark.parametrize("type_, op", [
    ("contains", Op.CONTAINS), ("notContains", Op.NOT_CONTAINS), ("startsWith", Op.STARTS_WITH),
    ("endsWith", Op.ENDS_WITH), ("like", Op.LIKE), ("notLike", Op.NOT_LIKE),
])
def test_text_types(type_, op):
    assert one(type_, "name", value="Ac%me") == Compare("name", op, "Ac%me")
    assert one(type_, "description", value=42) == Compare("description", op, "42")


@pytest.mark.parametrize("attribute, value", [("versionNumber", "1"), ("createdAt", "2024"), ("name", None),
                                              ("name", ["a"]), ("name", True)])
def test_text_types_need_text(attribute, value):
    with pytest.raises(BadRequest):
        one("contains", attribute, value=value)


def test_any_and_none():
    assert one("any") == TRUE
    assert one("none") == FALSE
    assert parse([{"type": "equals", "attribute": "name", "value": "A"}, {"type": "none"}]) == FALSE


# --- groups ---------------------------------------------------------------------------------------

A = {"type": "equals", "attribute": "name", "value": "A"}
B = {"type": "isNull", "attribute": "website"}
NODE_A = Compare("name", Op.EQ, "A")
NODE_B = Compare("website", Op.IS_NULL)


@pytest.mark.parametrize("type_, value, expected", [
    ("and", [A, B], And((NODE_A, NODE_B))),
    ("or", [A, B], Or((NODE_A, NODE_B))),
    ("or", [A], NODE_A),
    ("and", [], TRUE),
    ("or", [], FALSE),
    ("not", [A, B], Not(And((NODE_A, NODE_B)))),
    ("not", [], FALSE),
    ("subQueryIn", [A, B], And((NODE_A, NODE_B))),
    ("subQueryNotIn", [A], Not(NODE_A)),
    ("or", [{"type": "and", "value": [A, {"type": "not", "value": [B]}]}, {"type": "none"}],
     And((NODE_A, Not(NODE_B)))),
])
def test_groups(type_, value, expected):
    assert one(type_, value=value) == expected


@pytest.mark.parametrize("type_", ["and", "or", "not", "subQueryIn", "subQueryNotIn"])
@pytest.mark.parametrize("value", [None, "x", A, {"0": A, "x": B}])
def test_group_value_must_be_a_list(type_, value):
    with pytest.raises(BadRequest, match=f"Bad where item '{type_}'."):
        one(type_, value=value)


def test_group_nesting_is_bounded():
    item = A
    for _ in range(MAX_DEPTH):
        item = {"type": "or", "value": [item]}
    assert parse([item]) == NODE_A
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse([{"type": "and", "value": [item]}])


def test_deep_hostile_nesting_fails_fast():
    item: dict = A
    for _ in range(5000):
        item = {"type": "not", "value": [item]}
    with pytest.raises(BadRequest):
        parse([item])


# --- arrays ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("type_, value, expected", [
    ("arrayAnyOf", ["a", "b"], Compare("positionList", Op.ARRAY_ANY_OF, ("a", "b"))),
    ("arrayAnyOf", "a", Compare("positionList", Op.ARRAY_ANY_OF, ("a",))),
    ("arrayAnyOf", [], Compare("positionList", Op.ARRAY_ANY_OF, ())),
    ("arrayNoneOf", ["a"], Compare("positionList", Op.ARRAY_NONE_OF, ("a",))),
    ("arrayAllOf", ["a", 1], Compare("positionList", Op.ARRAY_ALL_OF, ("a", "1"))),
    ("arrayIsEmpty", None, Compare("positionList", Op.ARRAY_IS_EMPTY)),
    ("arrayIsNotEmpty", None, Compare("positionList", Op.ARRAY_IS_NOT_EMPTY)),
])
def test_array_types(type_, value, expected):
    assert one(type_, "positionList", "Team", value=value) == expected


@pytest.mark.parametrize("type_, attribute, value", [
    ("arrayAnyOf", "positionList", None),
    ("arrayAnyOf", "positionList", ""),
    ("arrayAllOf", "positionList", [{"a": 1}]),
    ("arrayAnyOf", "name", ["a"]),  # not an array attribute
    ("contains", "positionList", "a"),
    ("in", "positionList", ["a"]),
    ("greaterThan", "positionList", "a"),
])
def test_array_type_errors(type_, attribute, value):
    with pytest.raises(BadRequest):
        one(type_, attribute, "Team", value=value)


def test_array_null_checks():
    assert one("isNull", "positionList", "Team") == Compare("positionList", Op.IS_NULL)


# --- links ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("type_, value, expected", [
    ("linkedWith", ["1", "2"], Linked("contacts", LinkMode.ANY, (1, 2))),
    ("linkedWith", "3", Linked("contacts", LinkMode.ANY, (3,))),
    ("linkedWith", 3, Linked("contacts", LinkMode.ANY, (3,))),
    ("linkedWith", ["1", "abc"], Linked("contacts", LinkMode.ANY, (1,))),
    ("linkedWith", [], Linked("contacts", LinkMode.ANY, ())),
    ("notLinkedWith", ["4", "abc"], Linked("contacts", LinkMode.NONE, (4,))),
    ("linkedWithAll", ["1", "2"], Linked("contacts", LinkMode.ALL, (1, 2))),
    ("linkedWithAll", ["1", "abc"], FALSE),
    ("isLinked", None, Linked("contacts", LinkMode.EXISTS)),
    ("isNotLinked", "ignored", Linked("contacts", LinkMode.NOT_EXISTS)),
])
def test_link_types_on_many_links(type_, value, expected):
    assert one(type_, "contacts", value=value) == expected


@pytest.mark.parametrize("type_, value, expected", [
    ("linkedWith", ["1", "2"], Compare("accountId", Op.IN, (1, 2))),
    ("linkedWith", "5", Compare("accountId", Op.IN, (5,))),
    ("notLinkedWith", ["5"], Or((Compare("accountId", Op.NOT_IN, (5,)), Compare("accountId", Op.IS_NULL)))),
    ("isLinked", None, Compare("accountId", Op.IS_NOT_NULL)),
    ("isNotLinked", None, Compare("accountId", Op.IS_NULL)),
])
def test_link_types_on_a_belongs_to_link(type_, value, expected):
    assert one(type_, "account", "Opportunity", value=value) == expected


def test_link_types_on_other_links():
    assert one("linkedWith", "parent", "Meeting", value="1") == Linked("parent", LinkMode.ANY, (1,))
    assert one("linkedWith", "teams", value="1") == Linked("teams", LinkMode.ANY, (1,))


@pytest.mark.parametrize("type_, attribute, value, error", [
    ("linkedWith", "nope", "1", "Not existing link 'nope' in where item."),
    ("linkedWith", "accountId", "1", "Not existing link"),
    ("linkedWith", "contacts", None, "Empty value"),
    ("linkedWith", "contacts", "", "Empty value"),
    ("notLinkedWith", "contacts", None, "Empty value"),
    ("linkedWithAll", "contacts", None, "Empty value"),
    ("linkedWith", "contacts", [{"id": 1}], "Bad where item 'linkedWith'."),
    ("linkedWith", "contacts", [["1"]], "Bad where item 'linkedWith'."),
    ("linkedWith", None, "1", "No 'attribute'"),
])
def test_link_type_errors(type_, attribute, value, error):
    with pytest.raises(BadRequest) as caught:
        one(type_, attribute, "Account", value=value)
    assert error in caught.value.reason


def test_linked_with_all_on_a_belongs_to_link_is_unsupported():
    with pytest.raises(BadRequest, match="Not supported relation type"):
        one("linkedWithAll", "account", "Opportunity", value=["1"])


# --- link.attribute paths -------------------------------------------------------------------------

def test_link_paths_become_foreign_conditions():
    assert one("equals", "account.name", "Opportunity", value="Acme") == \
        Foreign("account", Compare("name", Op.EQ, "Acme"))
    assert one("in", "account.type", "Opportunity", value=["Customer"]) == \
        Foreign("account", Compare("type", Op.IN, ("Customer",)))
    assert one("between", "account.createdAt", "Opportunity", value=["2024-01-01", "2024-01-02"]) == \
        Foreign("account", And((Compare("createdAt", Op.GE, utc(2024, 1, 1)),
                                Compare("createdAt", Op.LT, utc(2024, 1, 3)))))
    assert one("isTrue", "assignedUser.isActive", "Opportunity") == \
        Foreign("assignedUser", Compare("isActive", Op.EQ, True))


def test_link_path_ids():
    assert one("equals", "account.id", "Opportunity", value="abc") == FALSE
    assert one("notEquals", "account.id", "Opportunity", value="abc") == Foreign("account", TRUE)
    assert one("equals", "account.id", "Opportunity", value="9") == Foreign("account", Compare("id", Op.EQ, 9))


def test_link_name_attribute_is_filterable():
    assert one("startsWith", "accountName", "Opportunity", value="Ac") == \
        Compare("accountName", Op.STARTS_WITH, "Ac")


@pytest.mark.parametrize("attribute, error", [
    ("nope.name", Forbidden),
    ("account.nope", BadRequest),
    ("account.assignedUser.name", BadRequest),
    ("contacts.name", BadRequest),  # not a belongsTo link
    ("parent.name", BadRequest),  # belongsToParent: no single foreign entity
    (".name", Forbidden),
])
def test_link_path_errors(attribute, error):
    with pytest.raises(error):
        one("equals", attribute, "Meeting" if attribute.startswith("parent") else "Opportunity", value="x")


# --- relationship columns (column* items) ---------------------------------------------------------

IN_NORTHS_CONTACTS = RelationScope("accounts", 7)  # GET Account/7/contacts


def column(type_, attribute=None, entity="Contact", relation=None, **extra):
    item = {"type": type_, **extra} | ({} if attribute is None else {"attribute": attribute})
    return EspoWhereParser(REGISTRY, REGISTRY.entity(entity), now=NOW, relation=relation).parse([item])


@pytest.mark.parametrize("type_,value,condition", [
    ("columnEquals", "CEO", Compare("role", Op.EQ, "CEO")),
    ("columnEquals", ["CEO", "CTO"], Compare("role", Op.IN, ("CEO", "CTO"))),
    ("columnEquals", None, Compare("role", Op.IS_NULL)),
    ("columnIn", ["CEO"], Compare("role", Op.IN, ("CEO",))),
    ("columnIn", "CEO", Compare("role", Op.EQ, "CEO")),
    ("columnIn", [], Compare("role", Op.IN, ())),
    ("columnNotEquals", "CEO", Compare("role", Op.NE, "CEO")),
    ("columnNotEquals", None, Compare("role", Op.IS_NOT_NULL)),
    ("columnNotIn", ["CEO", 7], Compare("role", Op.NOT_IN, ("CEO", "7"))),
    ("columnLike", "C%", Compare("role", Op.LIKE, "C%")),
    ("columnIsNull", "ignored", Compare("role", Op.IS_NULL)),
    ("columnIsNotNull", None, Compare("role", Op.IS_NOT_NULL)),
])
def test_column_items_in_a_relationship_list_name_its_columns(type_, value, condition):
    assert column(type_, "role", relation=IN_NORTHS_CONTACTS, value=value) == \
        LinkColumn("accounts", condition, (7,))


@pytest.mark.parametrize("value,expected", [(True, True), ("true", True), ("1", True), ("false", False),
                                            (0, False), ("", False)])
def test_boolean_columns_take_the_query_string_spellings(value, expected):
    assert column("columnEquals", "isInactive", relation=IN_NORTHS_CONTACTS, value=value) == \
        LinkColumn("accounts", Compare("isInactive", Op.EQ, expected), (7,))


def test_column_fields_filter_over_any_related_record():
    """EspoCRM's form: a field with `link` and `column` (its SQL left-joins the link's rows, so no rows at all
    reads as a null column)."""
    assert column("columnIn", "acceptanceStatusMeetings", value=["Accepted"]) == \
        LinkColumn("meetings", Compare("status", Op.IN, ("Accepted",)))
    assert column("columnEquals", "acceptanceStatusCalls", "Lead", value="Declined") == \
        LinkColumn("calls", Compare("status", Op.EQ, "Declined"))
    assert column("columnIsNull", "acceptanceStatusMeetings", "User") == Or((
        LinkColumn("meetings", Compare("status", Op.IS_NULL)), Linked("meetings", LinkMode.NOT_EXISTS)))
    assert column("columnIsNull", "acceptanceStatusMeetings", relation=IN_NORTHS_CONTACTS) == \
        column("columnIsNull", "acceptanceStatusMeetings")  # a field means any record, in any list
    assert column("columnIsNull", "role", relation=IN_NORTHS_CONTACTS) == \
        LinkColumn("accounts", Compare("role", Op.IS_NULL), (7,))  # the list's own rows exist


@pytest.mark.parametrize("type_,attribute,value,relation,message", [
    ("columnEquals", "role", "CEO", None, "Bad where item 'column'."),
    ("columnEquals", "lastName", "x", IN_NORTHS_CONTACTS, "Bad where item 'column'."),
    ("columnEquals", "status", "x", IN_NORTHS_CONTACTS, "Bad where item 'column'."),
    ("columnEquals", "accountRole", "x", IN_NORTHS_CONTACTS, "Bad where item 'column'."),
    ("columnEquals", "role'--", "x", IN_NORTHS_CONTACTS, "Bad where item 'column'."),
    ("columnEquals", None, "x", IN_NORTHS_CONTACTS, "No 'attribute'"),
    ("columnEquals", "ro#le", "x", IN_NORTHS_CONTACTS, "Forbidden attribute"),
    ("columnLike", "isInactive", "t%", IN_NORTHS_CONTACTS, "does not apply"),
    ("columnLike", "role", ["C%"], IN_NORTHS_CONTACTS, "Bad value"),
    ("columnLike", "role", None, IN_NORTHS_CONTACTS, "Bad value"),
    ("columnEquals", "isInactive", "maybe", IN_NORTHS_CONTACTS, "Bad value"),
    ("columnIn", "role", [["CEO"]], IN_NORTHS_CONTACTS, "Bad value"),
    ("columnEquals", "role", {"a": 1}, IN_NORTHS_CONTACTS, "Bad value"),
])
def test_column_item_errors(type_, attribute, value, relation, message):
    with pytest.raises((BadRequest, Forbidden), match=message):
        column(type_, attribute, relation=relation, value=value)


def test_attributes_read_from_a_junction_row_filter_like_columns():
    assert one("isTrue", "accountIsInactive", "Contact") == Compare("accountIsInactive", Op.EQ, True)
    assert one("equals", "accountIsInactive", "Contact", value="false") == Compare("accountIsInactive", Op.EQ, False)
    with pytest.raises(BadRequest, match="cannot be used in where"):
        one("equals", "accountsColumns", "Contact", value="x")


def test_relation_scope_of_a_list():
    contact, account = REGISTRY.entity("Contact"), REGISTRY.entity("Account")
    assert RelationScope.through(account.links["contacts"], contact, "7") == IN_NORTHS_CONTACTS
    assert RelationScope.through(account.links["contacts"], contact, "not-an-id") is None
    assert RelationScope.through(account.links["contactsPrimary"], contact, "7") is None  # no junction
    assert RelationScope.through(account.links["teams"], REGISTRY.entity("Team"), "7") is None


# --- dates on date attributes (local calendar days) ------------------------------------------------

D = date
DATE_WINDOWS_IN_KYIV = [  # "today" in Kyiv is 1 February 2024; N = 3
    ("today", (D(2024, 2, 1), D(2024, 2, 2))),
    ("past", (None, D(2024, 2, 1))),
    ("future", (D(2024, 2, 2), None)),
    ("lastSevenDays", (D(2024, 1, 25), D(2024, 2, 2))),
    ("lastXDays", (D(2024, 1, 29), D(2024, 2, 2))),
    ("nextXDays", (D(2024, 2, 1), D(2024, 2, 5))),
    ("olderThanXDays", (None, D(2024, 1, 29))),
    ("afterXDays", (D(2024, 2, 5), None)),
    ("currentMonth", (D(2024, 2, 1), D(2024, 3, 1))),
    ("lastMonth", (D(2024, 1, 1), D(2024, 2, 1))),
    ("nextMonth", (D(2024, 3, 1), D(2024, 4, 1))),
    ("currentQuarter", (D(2024, 1, 1), D(2024, 4, 1))),
    ("lastQuarter", (D(2023, 10, 1), D(2024, 1, 1))),
    ("currentYear", (D(2024, 1, 1), D(2025, 1, 1))),
    ("lastYear", (D(2023, 1, 1), D(2024, 1, 1))),
    ("currentFiscalYear", (D(2024, 1, 1), D(2025, 1, 1))),
    ("lastFiscalYear", (D(2023, 1, 1), D(2024, 1, 1))),
    ("currentFiscalQuarter", (D(2024, 1, 1), D(2024, 4, 1))),
    ("lastFiscalQuarter", (D(2023, 10, 1), D(2024, 1, 1))),
]


@pytest.mark.parametrize("type_, expected", DATE_WINDOWS_IN_KYIV)
def test_relative_windows_on_a_date_attribute_in_the_item_zone(type_, expected):
    node = one(type_, "closeDate", "Opportunity", value="3", timeZone="Europe/Kyiv")
    assert bounds(node) == expected


@pytest.mark.parametrize("type_, expected", DATE_WINDOWS_IN_KYIV)
def test_relative_windows_use_the_parser_zone_by_default(type_, expected):
    assert bounds(one(type_, "closeDate", "Opportunity", zone="Europe/Kyiv", value=3)) == expected


def test_relative_windows_in_utc_see_another_day():
    assert bounds(one("today", "closeDate", "Opportunity")) == (D(2024, 1, 31), D(2024, 2, 1))
    assert bounds(one("currentMonth", "closeDate", "Opportunity")) == (D(2024, 1, 1), D(2024, 2, 1))


@pytest.mark.parametrize("value, n", [(None, 0), ("", 0), ("5days", 5), ("-2", -2), (["1"], 1), ("x", 0)])
def test_x_days_number_is_php_intval(value, n):
    start, end = bounds(one("lastXDays", "closeDate", "Opportunity", value=value))
    assert (start, end) == (D(2024, 1, 31) - timedelta(days=n), D(2024, 2, 1))


@pytest.mark.parametrize("value", ["999999999", "-999999999", "9" * 30])
def test_x_days_out_of_the_calendar(value):
    with pytest.raises(BadRequest, match="out of range"):
        one("nextXDays", "closeDate", "Opportunity", value=value)


@pytest.mark.parametrize("attribute", ["name", "versionNumber", "positionList"])
def test_date_types_need_a_date_attribute(attribute):
    with pytest.raises(BadRequest, match="does not apply"):
        one("today", attribute, "Team" if attribute == "positionList" else "Account")


@pytest.mark.parametrize("type_, op", [("on", Op.EQ), ("notOn", Op.NE), ("before", Op.LT), ("after", Op.GT)])
def test_date_value_types_on_a_date_attribute_compare_dates(type_, op):
    assert one(type_, "closeDate", "Opportunity", value="2024-01-15", timeZone="Europe/Kyiv") == \
        Compare("closeDate", op, D(2024, 1, 15))


# --- dates on datetime attributes (local windows as UTC instants) ----------------------------------

@pytest.mark.parametrize("date_time", [True, "true", "1", None])
def test_today_on_a_datetime_attribute_is_the_local_day_in_utc(date_time):
    extra = {"timeZone": "Europe/Kyiv"} if date_time is None else {"timeZone": "Europe/Kyiv", "dateTime": date_time}
    start, end = bounds(one("today", "dateStart", "Meeting", **extra))
    assert (start, end) == (utc(2024, 1, 31, 22), utc(2024, 2, 1, 22))  # Kyiv is UTC+2 in winter
    assert local(start) == datetime(2024, 2, 1) and local(end) == datetime(2024, 2, 2)


# Instants around both Kyiv DST changes and in plain winter/summer: bounds must be local midnights.
DST_NOWS = [datetime(2024, 1, 31, 23, 30, tzinfo=timezone.utc), datetime(2024, 3, 31, 0, 30, tzinfo=timezone.utc),
            datetime(2024, 3, 31, 12, 0, tzinfo=timezone.utc), datetime(2024, 7, 15, 21, 30, tzinfo=timezone.utc),
            datetime(2024, 10, 27, 0, 30, tzinfo=timezone.utc), datetime(2024, 10, 27, 23, 0, tzinfo=timezone.utc)]
DAY_KINDS = [kind for kind, _ in DATE_WINDOWS_IN_KYIV]


@pytest.mark.parametrize("now", DST_NOWS, ids=lambda n: n.isoformat())
@pytest.mark.parametrize("type_", DAY_KINDS)
def test_datetime_windows_are_local_midnights_or_now(now, type_):
    start, end = bounds(one(type_, "dateStart", "Meeting", now=now, value="3", timeZone="Europe/Kyiv",
                            dateTime=True))
    today = now.astimezone(KYIV).date()
    naive_now = now.replace(tzinfo=None)
    day_window = dates.date_window(type_, today, 3)
    expected_start = {"future": naive_now, "nextXDays": naive_now}.get(type_)
    expected_end = {"past": naive_now, "lastSevenDays": naive_now, "lastXDays": naive_now}.get(type_)
    if type_ == "afterXDays":
        assert local(start) == datetime.combine(today + timedelta(days=3), datetime.min.time())
    elif expected_start is not None:
        assert start == expected_start
    elif day_window.start is None:
        assert start is None
    else:
        assert local(start) == datetime.combine(day_window.start, datetime.min.time())
    if expected_end is not None:
        assert end == expected_end
    elif day_window.end is None:
        assert end is None
    else:
        assert local(end) == datetime.combine(day_window.end, datetime.min.time())


def test_dst_days_are_23_and_25_hours_long():
    spring = bounds(one("today", "dateStart", "Meeting", now=datetime(2024, 3, 31, 12, tzinfo=timezone.utc),
                        zone="Europe/Kyiv"))
    autumn = bounds(one("today", "dateStart", "Meeting", now=datetime(2024, 10, 27, 12, tzinfo=timezone.utc),
                        zone="Europe/Kyiv"))
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_datetime_now_anchored_windows():
    assert bounds(one("past", "dateStart", "Meeting")) == (None, NOW_NAIVE)
    assert bounds(one("future", "dateStart", "Meeting")) == (NOW_NAIVE, None)
    assert bounds(one("lastSevenDays", "dateStart", "Meeting", zone="Europe/Kyiv")) == \
        (utc(2024, 1, 24, 22), NOW_NAIVE)
    assert bounds(one("nextXDays", "dateStart", "Meeting", value="2", zone="Europe/Kyiv")) == \
        (NOW_NAIVE, utc(2024, 2, 3, 22))
    assert bounds(one("olderThanXDays", "dateStart", "Meeting", value="2", zone="Europe/Kyiv")) == \
        (None, utc(2024, 1, 29, 22))
    assert bounds(one("afterXDays", "dateStart", "Meeting", value="2", zone="Europe/Kyiv")) == \
        (utc(2024, 2, 2, 22), None)


def test_on_a_date_covers_the_whole_local_day():
    node = one("on", "dateStart", "Meeting", value="2024-07-15", timeZone="Europe/Kyiv", dateTime=True)
    assert node == And((Compare("dateStart", Op.GE, utc(2024, 7, 14, 21)),
                        Compare("dateStart", Op.LT, utc(2024, 7, 15, 21))))  # UTC+3 in summer
    assert one("notOn", "dateStart", "Meeting", value="2024-07-15", timeZone="Europe/Kyiv") == Not(node)


@pytest.mark.parametrize("type_, expected", [
    ("before", Compare("dateStart", Op.LT, utc(2024, 1, 14, 22))),
    ("after", Compare("dateStart", Op.GE, utc(2024, 1, 15, 22))),  # after the end of that day
])
def test_before_and_after_a_date(type_, expected):
    assert one(type_, "dateStart", "Meeting", value="2024-01-15", timeZone="Europe/Kyiv") == expected


def test_between_dates_is_inclusive_of_the_last_local_day():
    assert one("between", "dateStart", "Meeting", value=["2024-01-01", "2024-01-31"], timeZone="Europe/Kyiv") == \
        And((Compare("dateStart", Op.GE, utc(2023, 12, 31, 22)), Compare("dateStart", Op.LT, utc(2024, 1, 31, 22))))


def test_full_datetime_values_are_utc_unless_the_item_says_date_time():
    value = "2024-01-15 10:00:00"
    assert one("on", "dateStart", "Meeting", value=value, timeZone="Europe/Kyiv") == \
        And((Compare("dateStart", Op.GE, utc(2024, 1, 15, 10)), Compare("dateStart", Op.LE, utc(2024, 1, 15, 10))))
    assert one("after", "dateStart", "Meeting", value=value, timeZone="Europe/Kyiv", dateTime=True) == \
        Compare("dateStart", Op.GT, utc(2024, 1, 15, 8))
    assert one("before", "dateStart", "Meeting", value="2024-01-15T10:00:00+05:00", timeZone="Europe/Kyiv",
               dateTime=True) == Compare("dateStart", Op.LT, utc(2024, 1, 15, 5))
    assert one("between", "dateStart", "Meeting", value=["2024-01-15 10:00", "2024-01-16"], dateTime=True,
               timeZone="Europe/Kyiv") == \
        And((Compare("dateStart", Op.GE, utc(2024, 1, 15, 8)), Compare("dateStart", Op.LT, utc(2024, 1, 16, 22))))
    assert one("greaterThan", "dateStart", "Meeting", value=value, timeZone="Europe/Kyiv", dateTime="1") == \
        Compare("dateStart", Op.GT, utc(2024, 1, 15, 8))


@pytest.mark.parametrize("type_, value", [
    ("on", None), ("on", ""), ("before", "not a date"), ("after", ["2024-01-01"]), ("between", ["2024-01-01"]),
    ("between", ["2024-01-01", None]), ("on", "2024-02-30"), ("on", 20240101),
])
def test_datetime_date_value_errors(type_, value):
    with pytest.raises(BadRequest):
        one(type_, "dateStart", "Meeting", value=value)


def test_fiscal_periods_with_a_shift():
    # Fiscal year starting in April (shift 3): on 1 February 2024 it began on 1 April 2023.
    today = D(2024, 2, 1)
    assert dates.date_window("currentFiscalYear", today, fiscal_shift=3) == dates.Window(D(2023, 4, 1), D(2024, 4, 1))
    assert dates.date_window("lastFiscalYear", today, fiscal_shift=3) == dates.Window(D(2022, 4, 1), D(2023, 4, 1))
    assert dates.date_window("currentFiscalQuarter", today, fiscal_shift=3) == \
        dates.Window(D(2024, 1, 1), D(2024, 4, 1))
    assert dates.date_window("lastFiscalQuarter", D(2024, 5, 2), fiscal_shift=1) == \
        dates.Window(D(2024, 2, 1), D(2024, 5, 1))
    assert dates.date_window("currentQuarter", today, fiscal_shift=3) == dates.Window(D(2024, 1, 1), D(2024, 4, 1))


def test_parser_rejects_a_naive_now_and_a_bad_default_zone():
    with pytest.raises(ValueError):
        EspoWhereParser(REGISTRY, REGISTRY.entity("Account"), now=datetime(2024, 1, 1))
    with pytest.raises(BadRequest):
        EspoWhereParser(REGISTRY, REGISTRY.entity("Account"), now=NOW, time_zone="Nowhere/Land")


# --- hoisting (spec §2.1) -------------------------------------------------------------------------

def test_split_special_items():
    items = [A, {"type": "primary", "value": "customers"}, {"type": "bool", "value": ["onlyMy", "followed"]},
             {"type": "textFilter", "value": "acme"}, B, {"type": "bool", "value": "shared"}, "junk"]
    assert split_special_items(items) == ([A, B, "junk"], "customers", ["onlyMy", "followed", "shared"], "acme")


@pytest.mark.parametrize("item", [{"type": "primary"}, {"type": "primary", "value": ""},
                                  {"type": "bool", "value": []}, {"type": "textFilter", "value": None}])
def test_split_special_items_ignores_empty_values(item):
    assert split_special_items([item]) == ([], None, [], None)


@pytest.mark.parametrize("item", [{"type": "primary", "value": ["a"]}, {"type": "bool", "value": [1]},
                                  {"type": "textFilter", "value": {"a": 1}}])
def test_split_special_items_rejects_non_strings(item):
    with pytest.raises(BadRequest):
        split_special_items([item])


@pytest.mark.parametrize("kind", [{}, [], ["bool"], 1.5])
def test_split_special_items_leaves_items_of_any_type_to_the_parser(kind):
    # An unhashable `type` (an object or array from JSON) once raised TypeError here: a 500.
    item = {"type": kind, "value": "x"}
    assert split_special_items([item]) == ([item], None, [], None)
    with pytest.raises(BadRequest):
        EspoWhereParser(REGISTRY, REGISTRY.entity("Account"), now=NOW).parse([item])


# --- from the query string: every scalar is a string ----------------------------------------------

@pytest.mark.parametrize("query, entity, expected", [
    ("where[0][type]=equals&where[0][attribute]=probability&where[0][value]=50", "Opportunity",
     Compare("probability", Op.EQ, 50)),
    ("where[0][type]=in&where[0][attribute]=type&where[0][value][]=Customer&where[0][value][]=Partner", "Account",
     Compare("type", Op.IN, ("Customer", "Partner"))),
    ("where%5B0%5D%5Btype%5D=isTrue&where%5B0%5D%5Battribute%5D=isLocked", "Account",
     Compare("isLocked", Op.EQ, True)),
    ("where[0][type]=or&where[0][value][0][type]=equals&where[0][value][0][attribute]=name"
     "&where[0][value][0][value]=x%27+OR+1%3D1+--&where[0][value][1][type]=lessThan"
     "&where[0][value][1][attribute]=amount&where[0][value][1][value]=10.5", "Opportunity",
     Or((Compare("name", Op.EQ, "x' OR 1=1 --"), Compare("amount", Op.LT, 10.5)))),
    ("where[0][type]=today&where[0][attribute]=dateStart&where[0][dateTime]=true"
     "&where[0][timeZone]=Europe%2FKyiv", "Meeting",
     And((Compare("dateStart", Op.GE, utc(2024, 1, 31, 22)), Compare("dateStart", Op.LT, utc(2024, 2, 1, 22))))),
    ("where[0][type]=linkedWith&where[0][attribute]=account&where[0][value][0]=7", "Opportunity",
     Compare("accountId", Op.IN, (7,))),
    ("where[0][type]=equals&where[0][field]=isLocked&where[0][value]=False", "Account",
     Compare("isLocked", Op.EQ, False)),  # docs' Python client sends str(False)
])
def test_query_string_items(query, entity, expected):
    assert parse(parse_php_query(query)["where"], entity) == expected


def test_broken_espocrm_client_form_is_a_string_callers_ignore():
    assert parse_php_query("where=type&where=attribute&where=value")["where"] == "value"


# --- robustness -----------------------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                    st.sampled_from(["name", "account.name", "contacts", "createdAt", "closeDate", "id", "1",
                                     "2024-01-15", "Europe/Kyiv", "true"]))
ITEM_TYPES = st.sampled_from(["equals", "in", "notIn", "between", "or", "and", "not", "today", "lastXDays",
                              "linkedWith", "contains", "isTrue", "arrayAnyOf", "on", "after", "fooBar"])
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["type", "attribute", "value", "timeZone", "dateTime", "x"]), inner, max_size=4), max_leaves=12)
ITEMS = st.fixed_dictionaries({"type": ITEM_TYPES}, optional={
    "attribute": st.sampled_from(["name", "account.name", "contacts", "account", "createdAt", "closeDate",
                                  "probability", "amount", "id", "nope", "a#b"]),
    "value": VALUES, "timeZone": SCALARS, "dateTime": SCALARS})


@settings(max_examples=300, deadline=None)
@given(st.lists(ITEMS | VALUES, max_size=3))
def test_parser_only_ever_raises_bad_request_or_forbidden(items):
    try:
        parse(items, "Opportunity")
    except (BadRequest, Forbidden):
        pass


@pytest.mark.parametrize("attribute", ["assignedUser", "assignedUserId"])
def test_is_user_from_teams_is_a_condition_on_the_users_teams(attribute):
    assert one("isUserFromTeams", attribute, value=["4", "x", 5]) == Foreign(
        "assignedUser", Linked("teams", LinkMode.ANY, (4, 5)))


@pytest.mark.parametrize("attribute,value,message", [
    ("account", "1", "'account' is not a user link"),
    ("teams", "1", "'teams' is not a user link"),
    ("nothing", "1", "'nothing' is not a user link"),
    ("assignedUser", None, "Empty value"),
    ("assignedUser", [{"id": 1}], "Bad where item 'isUserFromTeams'"),
])
def test_is_user_from_teams_needs_a_user_link_and_team_ids(attribute, value, message):
    with pytest.raises(BadRequest, match=message):
        one("isUserFromTeams", attribute, "Contact", value=value)
