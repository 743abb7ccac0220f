"""Concord list parameters -> filter nodes, sorts and columns (specs/concord.md §3, §9): `q` with
`search_fields` and `search_match`, `order`, `select`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polycrm.dialects.concord.filters import FilterError
from polycrm.dialects.concord.listing import (MAX_ITEMS, SearchColumn, SearchFieldsRejected, parse_order,
                                              parse_search, parse_select)
from polycrm.dialects.php_query import parse_php_query
from polycrm.meta import load_builtin_registry
from polycrm.query.tree import FALSE, TRUE, And, Compare, Node, Op, Or, Sort

REGISTRY = load_builtin_registry()
CONTACT = REGISTRY.entity("Contact")
DEAL = REGISTRY.entity("Opportunity")

# The contacts' search columns as the Concord dialect's resource data lists them.
CONTACT_COLUMNS = {key: SearchColumn(key, field, condition) for key, field, condition in [
    ("id", "id", "="), ("first_name", "firstName", "like"), ("last_name", "lastName", "like"),
    ("email", "emailAddress", "like"), ("phones.number", "phoneNumber", "like"), ("user_id", "assignedUser", "="),
    ("job_title", "title", "like"), ("city", "addressCity", "like"), ("full_name", "name", "like"),
]}
DEAL_COLUMNS = {key: SearchColumn(key, field, condition) for key, field, condition in [
    ("id", "id", "="), ("name", "name", "like"), ("amount", "amount", "="), ("probability", "probability", "like"),
    ("expected_close_date", "closeDate", "="), ("created_at", "createdAt", "="), ("stage", "stage", "in"),
]}
SORTABLE = {"id": "id", "first_name": "firstName", "last_name": "lastName", "created_at": "createdAt",
            "user|name": "assignedUser"}
DEFAULT = [Sort("firstName")]


def search(q: str, fields: str | None = None, match: str | None = None, columns: Any = CONTACT_COLUMNS,
           entity: Any = CONTACT) -> Node:
    return parse_search(q, fields, match, columns, entity)


def contains(*names: str, value: str) -> list[Node]:
    return [Compare(name, Op.CONTAINS, value) for name in names]


TEXT_COLUMNS = ("firstName", "lastName", "emailAddress", "phoneNumber", "title", "addressCity", "name")


# --- q --------------------------------------------------------------------------------------------------

def test_plain_q_searches_every_column_for_a_substring() -> None:
    assert search("  ann ") == Or(tuple(contains(*TEXT_COLUMNS, value="ann")))  # no id, no owner: not numbers


def test_an_integer_q_also_matches_ids() -> None:
    assert search("12") == Or((Compare("id", Op.EQ, 12), *contains(*TEXT_COLUMNS[:4], value="12"),
                               Compare("assignedUserId", Op.EQ, 12),
                               *contains("title", "addressCity", "name", value="12")))


@pytest.mark.parametrize("q", ["", "   ", None])
def test_no_q_is_no_condition(q: Any) -> None:
    assert search(q) == TRUE


def test_the_field_form_searches_each_named_field_with_its_value() -> None:
    assert search("email:john@x.com;first_name:John") == Or((Compare("firstName", Op.CONTAINS, "John"),
                                                             Compare("emailAddress", Op.CONTAINS, "john@x.com")))
    assert search("first_name:A;last_name:B", match=" AND ") == And((Compare("firstName", Op.CONTAINS, "A"),
                                                                     Compare("lastName", Op.CONTAINS, "B")))
    assert search("first_name:A;nope:B;plain") == Compare("firstName", Op.CONTAINS, "A")  # others ignored
    assert search("first_name:a:b") == Compare("firstName", Op.CONTAINS, "a")  # after a second colon: dropped
    assert search("id:abc;first_name:x") == Compare("firstName", Op.CONTAINS, "x")  # an id column skips text
    assert search("id:abc") == FALSE  # Concord: a 500 ("Invalid search fields."); nothing matches


def test_a_field_form_naming_no_search_column_is_an_error() -> None:
    with pytest.raises(FilterError) as caught:
        search("nope:x;other:y")
    assert caught.value.key == "q"
    assert caught.value.message == ("None of the fields in q can be searched. Acceptable search fields are: "
                                    "id,first_name,last_name,email,phones.number,user_id,job_title,city,full_name.")


@pytest.mark.parametrize("q", ["https://example.com/a:b", "see http://x", "mailto:ann@example.com", ":first",
                               "10;30"])
def test_urls_and_leading_colons_are_plain_text(q: str) -> None:
    node = search(q, "first_name")
    assert node == Compare("firstName", Op.CONTAINS, q)


def test_search_fields_restrict_and_override_conditions() -> None:
    assert search("a@b.c", "email:=;phones.number:like") == Or((Compare("emailAddress", Op.EQ, "a@b.c"),
                                                                 Compare("phoneNumber", Op.CONTAINS, "a@b.c")))
    assert search("Ann", "first_name:=") == Compare("firstName", Op.EQUALS_TEXT, "Ann")  # MySQL ignores case
    assert search("Ann", "first_name:regexp") == Compare("firstName", Op.CONTAINS, "Ann")  # unknown: its own
    assert search("Ann", "first_name;nope:like;;") == Compare("firstName", Op.CONTAINS, "Ann")
    assert search("Ann", "last_name;first_name", "and") == And((Compare("lastName", Op.CONTAINS, "Ann"),
                                                                Compare("firstName", Op.CONTAINS, "Ann")))
    assert search("Ann", "id") == FALSE


def test_search_fields_naming_no_column_are_refused() -> None:
    with pytest.raises(SearchFieldsRejected) as caught:
        search("x", "nope;email_address:like")
    assert caught.value.accepted == list(CONTACT_COLUMNS)
    assert str(caught.value) == ("None of the search fields were accepted. Acceptable search fields are: id,"
                                 "first_name,last_name,email,phones.number,user_id,job_title,city,full_name")


def test_in_takes_a_comma_list() -> None:
    assert search(" a@b.c , ,D@e.f", "email:in") == Compare("emailAddress", Op.IN, ("a@b.c", "D@e.f"))
    assert search("Ann,Bob", "first_name:in") == Or((Compare("firstName", Op.EQUALS_TEXT, "Ann"),
                                                     Compare("firstName", Op.EQUALS_TEXT, "Bob")))
    assert search("3, x, 4", "id:in") == Compare("id", Op.IN, (3, 4))
    assert search(" , ", "id:in;first_name:in") == FALSE
    assert search("Closed Won", columns=DEAL_COLUMNS, entity=DEAL, fields="stage") == Compare(
        "stage", Op.EQUALS_TEXT, "Closed Won")
    with pytest.raises(FilterError) as caught:
        search(",".join(["1"] * (MAX_ITEMS + 1)), "id:in")
    assert caught.value.key == "q"


def test_columns_of_other_kinds_take_only_values_they_can_hold() -> None:
    def deal(q: str, fields: str) -> Node:
        return search(q, fields, columns=DEAL_COLUMNS, entity=DEAL)

    assert deal("12.5", "amount") == Compare("amount", Op.EQ, 12.5)
    assert deal("12", "probability") == Compare("probability", Op.EQ, 12)  # `like` on a number: equal
    assert deal("1e999", "amount") == FALSE
    assert deal("abc", "amount;name") == Compare("name", Op.CONTAINS, "abc")
    assert deal("2024-01-05", "expected_close_date") == Compare("closeDate", Op.EQ, date(2024, 1, 5))
    assert deal("2024-01-05", "created_at") == And((Compare("createdAt", Op.GE, datetime(2024, 1, 5)),
                                                    Compare("createdAt", Op.LT, datetime(2024, 1, 6))))
    assert deal("2024-02-30", "created_at;expected_close_date") == FALSE


def test_boolean_columns() -> None:
    columns = {"do_not_call": SearchColumn("do_not_call", "doNotCall", "=")}
    assert search("true", columns=columns) == Compare("doNotCall", Op.EQ, True)
    assert search("OFF", columns=columns) == Compare("doNotCall", Op.EQ, False)
    assert search("maybe", columns=columns) == FALSE


@pytest.mark.parametrize("q", ["' OR 1=1 --", "%", "_", "\\", "50%_off\\", "a\"b"])
def test_search_values_stay_plain(q: str) -> None:
    assert search(q, "first_name;email:=") == Or((Compare("firstName", Op.CONTAINS, q),
                                                  Compare("emailAddress", Op.EQ, q)))


def test_a_nul_character_is_refused() -> None:
    with pytest.raises(FilterError) as caught:
        search("a\x00b")
    assert (caught.value.key, caught.value.message) == ("q", "The search must not contain NUL characters.")


def test_a_column_on_a_field_the_entity_lacks_is_the_servers_mistake() -> None:
    with pytest.raises(LookupError):
        search("x", columns={"board_id": SearchColumn("board_id", "board", "=")}, entity=DEAL)


# --- order --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    (None, DEFAULT), ("", DEFAULT), ([], DEFAULT), ({}, DEFAULT), ("|desc", DEFAULT), ([{"field": ""}], DEFAULT),
    ("first_name", [Sort("firstName")]),
    ("last_name|desc", [Sort("lastName", True)]),
    (" last_name|DESC ", [Sort("lastName", True)]),
    ("last_name|", [Sort("lastName")]),
    ("last_name|desc|whatever", [Sort("lastName", True)]),
    ("created_at|desc;first_name", [Sort("createdAt", True), Sort("firstName")]),
    ("user|name", [Sort("assignedUser")]),
    ("user|name|desc", [Sort("assignedUser", True)]),
    ({"field": "last_name", "direction": "desc"}, [Sort("lastName", True)]),
    ({"field": "last_name"}, [Sort("lastName")]),
    ([{"field": "last_name", "direction": ""}, {"field": "id", "direction": "desc"}],
     [Sort("lastName"), Sort("id", True)]),
    ({"0": {"field": "id"}, "3": {"field": None}}, [Sort("id")]),
])
def test_order(raw: Any, expected: list[Sort]) -> None:
    assert parse_order(raw, SORTABLE, DEFAULT) == expected


def test_order_in_the_query_string_array_form() -> None:
    raw = parse_php_query("order[0][field]=first_name&order[0][direction]=desc&order[1][field]=id")["order"]
    assert parse_order(raw, SORTABLE, DEFAULT) == [Sort("firstName", True), Sort("id")]


@pytest.mark.parametrize("raw, message", [
    ("nope", 'Cannot order by "nope". Sortable fields: id, first_name, last_name, created_at, user|name.'),
    ("first_name|sideways", 'Order direction must be "asc" or "desc".'),
    ({"field": "id", "direction": "up"}, 'Order direction must be "asc" or "desc".'),
    (["first_name"], "The order must be field|direction or a list of {field, direction}."),
    (5, "The order must be field|direction or a list of {field, direction}."),
    ({"field": ["id"]}, "An order field and direction must be strings."),
    ({"field": "id", "direction": ["desc"]}, "An order field and direction must be strings."),
    (";".join(["id"] * (MAX_ITEMS + 1)), f"Too many order fields (at most {MAX_ITEMS})."),
])
def test_bad_order(raw: Any, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_order(raw, SORTABLE, DEFAULT)
    assert (caught.value.key, caught.value.message) == ("order", message)


# --- select -------------------------------------------------------------------------------------------

KNOWN = ["id", "first_name", "last_name", "email"]


@pytest.mark.parametrize("raw, expected", [
    (None, None), ("", None), ([], None), (";", None), (" ; ", None),
    ("first_name;email", ["first_name", "email"]),
    (" id ; first_name;;id", ["id", "first_name"]),
    (["email", "id"], ["email", "id"]),
])
def test_select(raw: Any, expected: list[str] | None) -> None:
    assert parse_select(raw, KNOWN) == expected


@pytest.mark.parametrize("raw, message", [
    ("first_name;password", 'Unknown column "password". Known columns: id, first_name, last_name, email.'),
    ("id;first_name|desc", 'Unknown column "first_name|desc". Known columns: id, first_name, last_name, email.'),
    ([1, 2], "The select must be column names separated by semicolons."),
    ({"0": "id"}, "The select must be column names separated by semicolons."),
])
def test_bad_select(raw: Any, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_select(raw, KNOWN)
    assert (caught.value.key, caught.value.message) == ("select", message)


# --- properties ---------------------------------------------------------------------------------------

PIECES = st.sampled_from([*CONTACT_COLUMNS, *SORTABLE, ":", ";", ",", "|", "=", "like", "in", "desc", "asc", "and",
                          "http://", "12", "-1", " ", "%", "_", "\\", "'", "\x00"])
TEXT = st.lists(PIECES | st.text(max_size=6), max_size=8).map("".join)
NESTED = st.recursive(st.none() | TEXT | st.integers(), lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(["field", "direction", "0", "1"]) | TEXT, inner, max_size=3),
                      max_leaves=10)


@settings(max_examples=400, deadline=None)
@given(TEXT, st.none() | TEXT, st.none() | TEXT)
def test_any_search_parses_or_is_refused(q: str, fields: str | None, match: str | None) -> None:
    for columns, entity in ((CONTACT_COLUMNS, CONTACT), (DEAL_COLUMNS, DEAL)):
        try:
            node = search(q, fields, match, columns, entity)
        except FilterError as caught:
            assert caught.key == "q"
        except SearchFieldsRejected as caught:
            assert caught.accepted == list(columns)
        else:
            assert isinstance(node, (Compare, And, Or)) or node in (TRUE, FALSE)


@settings(max_examples=400, deadline=None)
@given(NESTED)
def test_any_order_or_select_parses_or_is_refused(raw: Any) -> None:
    try:
        sorts = parse_order(raw, SORTABLE, DEFAULT)
    except FilterError as caught:
        assert caught.key == "order"
    else:
        assert sorts and all(sort.attribute in SORTABLE.values() for sort in sorts)
    try:
        keys = parse_select(raw, KNOWN)
    except FilterError as caught:
        assert caught.key == "select"
    else:
        assert keys is None or keys and set(keys) <= set(KNOWN)
