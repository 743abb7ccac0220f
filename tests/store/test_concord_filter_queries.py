"""Concord filters and searches run as SQL on both backends: what the parsed trees match in a real store
(case-insensitive equality, literal wildcards, negations that skip empty fields, any-of contact points)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

import pytest

from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from polycrm.dialects.concord.filters import FilterRule, parse_filters
from polycrm.dialects.concord.listing import SearchColumn, parse_search
from polycrm.dialects.php_query import parse_php_query
from tests.conftest import BACKENDS, Store, open_store
from tests.support.concord import CONTACT_RULES, DEAL_RULES, group, rule

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True)
CONTACT_COLUMNS = {key: SearchColumn(key, field, condition) for key, field, condition in [
    ("id", "id", "="), ("first_name", "firstName", "like"), ("email", "emailAddress", "like"),
    ("phones.number", "phoneNumber", "like"), ("full_name", "name", "like"),
]}
CONTACTS = [
    {"firstName": "Alice", "lastName": "Smith", "addressCity": "100% Town", "assignedUserId": "1",
     "emailAddressData": [{"emailAddress": "alice@example.com", "primary": True},
                          {"emailAddress": "A.Smith@Work.example", "primary": False}],
     "phoneNumberData": [{"phoneNumber": "+1 555 0100", "primary": True}, {"phoneNumber": "+1 555 0199"}]},
    {"firstName": "bob", "lastName": "O'Brien", "addressCity": "Under_score", "emailAddress": "bob@example.com"},
    {"firstName": "Carol", "lastName": "Back\\slash", "addressCity": None},
    {"firstName": "Dan", "lastName": "Smithers", "addressCity": "Kyiv"},
]


@pytest.fixture(scope="module", params=BACKENDS)
def contacts(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[Any, dict[str, int]]]:
    """The contacts, built once per backend: the tests only read them."""
    with open_store(request.param, tmp_path_factory.mktemp("concord")) as store:
        core = Core(store.database)
        acme, globex = core.records("Account").create_many(ADMIN, [{"name": "Acme Corp", "assignedUserId": "1"},
                                                                   {"name": "Globex"}])
        companies = {"alice": [acme, globex], "bob": [globex]}
        records = [{**record, "accountsIds": companies.get(record["firstName"].lower(), [])} for record in CONTACTS]
        service = core.records("Contact")
        ids = service.create_many(ADMIN, records)
        yield service, {record["firstName"].lower(): record_id for record, record_id in zip(CONTACTS, ids)}


def matching(service: Any, node: Any) -> set[int]:
    with service.repository.database.connect() as conn:
        return service.repository.matching_ids(conn, node)


def filtered(service: Any, raw: Any, rules: dict[str, FilterRule] = CONTACT_RULES) -> set[int]:
    repository = service.repository
    return matching(service, parse_filters(raw, rules, repository.entity, user_id=1, now=datetime.now(timezone.utc),
                                           registry=repository.database.registry))


def one_rule(rule_id: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return group(rule(rule_id, operator, value, **extra))


@pytest.mark.parametrize("raw, expected", [
    (one_rule("first_name", "equal", "ALICE"), {"alice"}),
    (one_rule("first_name", "equal", "BOB"), {"bob"}),
    (one_rule("last_name", "equal", "o'brien"), {"bob"}),
    (one_rule("last_name", "equal", "back\\slash"), {"carol"}),
    (one_rule("last_name", "not_equal", "smith"), {"bob", "carol", "dan"}),
    (one_rule("last_name", "begins_with", "smith"), {"alice", "dan"}),
    (one_rule("last_name", "not_begins_with", "SMITH"), {"bob", "carol"}),
    (one_rule("address", "contains", "%", operand="city"), {"alice"}),
    (one_rule("address", "contains", "_", operand="city"), {"bob"}),
    (one_rule("address", "ends_with", "own", operand="city"), {"alice"}),
    (one_rule("address", "not_contains", "%", operand="city"), {"bob", "dan"}),  # never a field without a value
    (one_rule("address", "not_ends_with", "x", operand="city"), {"alice", "bob", "dan"}),
    (one_rule("address", "is_null", operand="city"), {"carol"}),
    (one_rule("address", "is_not_null", operand="city"), {"alice", "bob", "dan"}),
    (one_rule("address", "equal", "", operand="city"), {"carol"}),
    (one_rule("address", "equal", "' OR 1=1 --", operand="city"), set()),
    (one_rule("email", "equal", "a.smith@work.EXAMPLE"), {"alice"}),  # any of the addresses, any case
    (one_rule("email", "not_equal", "bob@example.com"), {"alice"}),
    (one_rule("email", "is_null"), {"carol", "dan"}),
    (one_rule("phones", "equal", "+1 555 0199", operand="number"), {"alice"}),
    (one_rule("phones", "contains", "555"), {"alice"}),
    (one_rule("user_id", "equal", "me"), {"alice"}),
    (one_rule("user_id", "not_equal", "me"), set()),
    (one_rule("user_id", "is_null"), {"bob", "carol", "dan"}),
    (one_rule("companies", "contains", "acme", operand="companies.name"), {"alice"}),
    (one_rule("companies", "equal", "globex", operand="companies.name"), {"alice", "bob"}),
    (one_rule("companies", "not_contains", "acme", operand="companies.name"), {"alice", "bob"}),  # has another
    (one_rule("companies", "equal", "me", operand="user_id"), {"alice"}),
    (one_rule("companies", "is_null", operand="user_id"), {"alice", "bob"}),
    (one_rule("created_at", "is", "today"), {"alice", "bob", "carol", "dan"}),
    (one_rule("created_at", "is", "last_year"), set()),
    (one_rule("created_at", "less", "2000-01-01"), set()),
    ({"condition": "or", "children": [
        {"type": "rule", "query": {"rule": "first_name", "operator": "equal", "value": "dan"}},
        {"type": "group", "query": {"condition": "and", "children": [
            {"type": "rule", "query": {"rule": "last_name", "operator": "contains", "value": "smith"}},
            {"type": "rule", "query": {"rule": "address", "operand": "city", "operator": "is_not_null"}}]}}]},
     {"alice", "dan"}),
])
def test_contact_filters_match(contacts: tuple[Any, dict[str, int]], raw: Any, expected: set[str]) -> None:
    service, ids = contacts
    assert filtered(service, raw) == {ids[name] for name in expected}


def test_filters_from_a_query_string(contacts: tuple[Any, dict[str, int]]) -> None:
    service, ids = contacts
    query = ("filters[condition]=or&filters[children][0][type]=rule&filters[children][0][query][type]=text"
             "&filters[children][0][query][rule]=address&filters[children][0][query][operand]=city"
             "&filters[children][0][query][operator]=contains"
             "&filters[children][0][query][value]=%25&filters[children][1][type]=rule"
             "&filters[children][1][query][rule]=first_name&filters[children][1][query][operator]=begins_with"
             "&filters[children][1][query][value]=D")
    assert filtered(service, parse_php_query(query)["filters"]) == {ids["alice"], ids["dan"]}


def test_deal_filters_match(store: Store) -> None:
    service = Core(store.database).records("Opportunity")
    (acme,) = Core(store.database).records("Account").create_many(ADMIN, [{"name": "Acme Corp"}])
    won, new, empty = service.create_many(ADMIN, [
        {"name": "Won", "stage": "Closed Won", "amount": 1500.5, "amountCurrency": "USD", "closeDate": "2024-03-05",
         "accountId": str(acme)},
        {"name": "New", "stage": "Prospecting", "amount": 10, "amountCurrency": "USD", "closeDate": "2024-04-01"},
        {"name": "Zero", "stage": "Prospecting", "amount": 0, "amountCurrency": "USD", "closeDate": "2025-01-01"},
    ])
    assert filtered(service, one_rule("amount", "between", ["10", "1500.5"]), DEAL_RULES) == {won, new}
    assert filtered(service, one_rule("amount", "between", ["0", "10"]), DEAL_RULES) == {new, empty}
    assert filtered(service, one_rule("amount", "not_between", ["5", "2000"]), DEAL_RULES) == {empty}
    assert filtered(service, one_rule("amount", "greater", "10"), DEAL_RULES) == {won}
    assert filtered(service, one_rule("amount", "not_equal", "10"), DEAL_RULES) == {won, empty}
    assert filtered(service, one_rule("amount", "is_null"), DEAL_RULES) == set()
    assert filtered(service, one_rule("expected_close_date", "is", "past"), DEAL_RULES) == {won, new, empty}
    assert filtered(service, one_rule("stages", "in", ["won", "prospecting"]), DEAL_RULES) == {won, new, empty}
    assert filtered(service, one_rule("stages", "not_in", ["WON"]), DEAL_RULES) == {new, empty}
    assert filtered(service, one_rule("stages", "in", []), DEAL_RULES) == {won, new, empty}
    assert filtered(service, one_rule("expected_close_date", "equal", "2024-03-05"), DEAL_RULES) == {won}
    assert filtered(service, one_rule("account", "begins_with", "ACME", operand="name"), DEAL_RULES) == {won}
    assert filtered(service, one_rule("expected_close_date", "less_or_equal", "2024-03-31"), DEAL_RULES) == {won}
    assert filtered(service, one_rule("expected_close_date", "not_equal", "2024-03-05"), DEAL_RULES) == {new, empty}
    assert filtered(service, one_rule("expected_close_date", "between", ["2024-03-05", "2024-04-01"]),
                    DEAL_RULES) == {won, new}


@pytest.mark.parametrize("q, fields, match, expected", [
    ("ali", None, None, {"alice"}),
    ("SMITH", None, None, {"alice", "dan"}),  # the full name and a secondary address
    ("0199", None, None, {"alice"}),  # a secondary number: any of the numbers, as Concord searches phones
    ("0100", None, None, {"alice"}),
    ("%", None, None, set()),
    ("first_name:bob;email:example", None, "and", {"bob"}),
    ("first_name:bob;email:example", None, None, {"alice", "bob"}),
    ("bob@example.com", "email:=", None, {"bob"}),
])
def test_searches_match(contacts: tuple[Any, dict[str, int]], q: str, fields: str | None, match: str | None,
                        expected: set[str]) -> None:
    service, ids = contacts
    node = parse_search(q, fields, match, CONTACT_COLUMNS, service.repository.entity)
    assert matching(service, node) == {ids[name] for name in expected}


def test_an_id_search(contacts: tuple[Any, dict[str, int]]) -> None:
    service, ids = contacts
    node = parse_search(str(ids["carol"]), "id", None, CONTACT_COLUMNS, service.repository.entity)
    assert matching(service, node) == {ids["carol"]}
