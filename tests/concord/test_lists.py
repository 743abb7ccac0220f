"""Index, search and associated lists (specs/concord.md §3, §9 "§3 List parameters"): the paginator envelope,
page links that keep the caller's query, `per_page`, `order`, `select`, `q`, `search_fields` and `filters`."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.concord.conftest import Concord


@pytest.fixture
def people(concord: Concord) -> list[dict]:
    names = [("Alice", "Adams", "alice@a.test"), ("Bob", "Brown", "bob@b.test"), ("Carol", "Clark", "carol@c.test"),
             ("Dave", "Adams", "dave@d.test"), ("Eve", "Evans", None)]
    return [concord.create("contacts", {"first_name": f, "last_name": l, **({"email": e} if e else {})})
            for f, l, e in names]


def test_index_envelope_and_default_order(concord: Concord, people: list[dict]) -> None:
    body = concord.get("contacts").json()
    assert list(body) == ["data", "links", "meta"]
    assert [row["first_name"] for row in body["data"]] == ["Alice", "Bob", "Carol", "Dave", "Eve"]
    meta = body["meta"]
    assert meta["current_page"] == 1 and meta["from"] == 1 and meta["to"] == 5 and meta["total"] == 5
    assert meta["per_page"] == 15 and meta["last_page"] == 1
    assert meta["path"] == "http://testserver/api/contacts"
    assert [link["label"] for link in meta["links"]] == ["Previous", "1", "Next"]
    assert body["links"] == {"first": "http://testserver/api/contacts?page=1",
                             "last": "http://testserver/api/contacts?page=1", "prev": None, "next": None}
    row = body["data"][0]
    assert "companies" not in row and "actions" not in row and row["companies_count"] == 0  # index rows


def test_page_links_keep_the_callers_query(concord: Concord, people: list[dict]) -> None:
    body = concord.get("contacts", per_page="1", q="a", page="2").json()
    assert body["meta"]["current_page"] == 2 and body["meta"]["per_page"] == 1 and body["meta"]["total"] == 4
    next_query = parse_qs(urlsplit(body["links"]["next"]).query)
    assert next_query == {"per_page": ["1"], "q": ["a"], "page": ["3"]}
    followed = concord.http.get(body["links"]["next"]).json()
    assert followed["meta"]["current_page"] == 3 and followed["meta"]["per_page"] == 1
    assert followed["meta"]["total"] == 4  # the filter followed the link


@pytest.mark.parametrize("per_page, expected", [("0", 15), ("abc", 15), ("3", 3), ("1000", 1000)])
def test_per_page(concord: Concord, people: list[dict], per_page: str, expected: int) -> None:
    assert concord.get("contacts", per_page=per_page).json()["meta"]["per_page"] == expected


@pytest.mark.parametrize("per_page", ["1001", "-1", "99999999999"])
def test_per_page_beyond_the_maximum_is_422(concord: Concord, per_page: str) -> None:
    response = concord.get("contacts", per_page=per_page)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["per_page"]


def test_empty_page_has_null_from_and_to(concord: Concord, people: list[dict]) -> None:
    meta = concord.get("contacts", page="9").json()["meta"]
    assert meta["from"] is None and meta["to"] is None and meta["current_page"] == 9
    assert concord.get("contacts", page="0").json()["meta"]["current_page"] == 1


def test_many_pages_get_laravels_link_window(concord: Concord) -> None:
    for n in range(20):
        concord.create("contacts", {"first_name": f"P{n:02d}"})
    labels = [link["label"] for link in concord.get("contacts", per_page="1", page="10").json()["meta"]["links"]]
    assert labels == ["Previous", "1", "2", "...", "7", "8", "9", "10", "11", "12", "13", "...", "19", "20", "Next"]


def test_order_in_both_forms(concord: Concord, people: list[dict]) -> None:
    firsts = lambda body: [row["first_name"] for row in body["data"]]  # noqa: E731
    assert firsts(concord.get("contacts", order="first_name|desc").json())[0] == "Eve"
    response = concord.http.get("/api/contacts?order[0][field]=last_name&order[0][direction]=desc"
                                "&order[1][field]=first_name&order[1][direction]=asc")
    assert firsts(response.json())[:3] == ["Eve", "Carol", "Bob"]
    response = concord.get("contacts", order="no_such_column")
    assert response.status_code == 422 and "order" in response.json()["errors"]


def test_select_keeps_every_key_and_nulls_the_rest(concord: Concord, people: list[dict]) -> None:
    row = concord.get("contacts", select="first_name").json()["data"][0]
    assert row["first_name"] == "Alice" and row["last_name"] is None and row["email"] is None
    assert row["id"] == people[0]["id"]  # Concord would null the id too unless selected: not copied
    assert concord.get("contacts", select="nope").status_code == 422


def test_q_and_search_fields(concord: Concord, people: list[dict]) -> None:
    names = lambda response: sorted(row["first_name"] for row in response.json()["data"])  # noqa: E731
    assert names(concord.get("contacts", q="adams")) == ["Alice", "Dave"]
    assert names(concord.get("contacts", q="Alice Ad")) == ["Alice"]  # the full name
    assert names(concord.get("contacts", q="bob@b.test", search_fields="email:=")) == ["Bob"]
    assert names(concord.get("contacts", q="email:carol@c.test")) == ["Carol"]
    assert names(concord.get("contacts", q="first_name:Dave;last_name:Adams", search_match="and")) == ["Dave"]
    response = concord.get("contacts", q="x", search_fields="password:=")
    assert response.status_code == 403
    assert response.json()["message"].startswith("None of the search fields were accepted. Acceptable search "
                                                 "fields are: id,first_name,last_name,email")


def test_filters_as_php_nested_parameters(concord: Concord, people: list[dict]) -> None:
    query = ("filters[condition]=and&filters[children][0][type]=rule&filters[children][0][query][type]=text"
             "&filters[children][0][query][rule]=last_name&filters[children][0][query][operator]=equal"
             "&filters[children][0][query][value]=Adams")
    rows = concord.http.get(f"/api/contacts?{query}").json()["data"]
    assert sorted(row["first_name"] for row in rows) == ["Alice", "Dave"]


def test_filters_as_a_json_string_work_too(concord: Concord, people: list[dict]) -> None:
    rule = '{"condition":"or","children":[{"type":"rule","query":{"rule":"first_name","operator":"begins_with","value":"Ca"}},' \
           '{"type":"rule","query":{"rule":"email","operator":"is_null"}}]}'
    rows = concord.get("contacts", filters=rule).json()["data"]
    assert sorted(row["first_name"] for row in rows) == ["Carol", "Eve"]


@pytest.mark.parametrize("rule", [
    '{"condition":"and","children":[{"type":"rule","query":{"rule":"no_such_rule","operator":"equal","value":"x"}}]}',
    '{"condition":"xor","children":[{"type":"rule","query":{"rule":"first_name","operator":"equal","value":"x"}}]}',
    '{"condition":"and","children":[{"type":"rule","query":{"rule":"first_name","operator":"between","value":["x"]}}]}',
    '{"condition":"and","children":[{"type":"rule","query":{"rule":"first_name","operator":"explode","value":"x"}}]}',
    '{not json',
])
def test_bad_filters_are_422_not_every_record(concord: Concord, people: list[dict], rule: str) -> None:
    response = concord.get("contacts", filters=rule)
    assert response.status_code == 422
    assert response.json()["message"]


@pytest.mark.parametrize("value", ["' OR '1'='1", "%", "_", "\\", "a%' --"])
def test_injection_in_q_and_filters_is_plain_text(concord: Concord, people: list[dict], value: str) -> None:
    assert concord.get("contacts", q=value).json()["meta"]["total"] == 0
    rule = ('{"condition":"and","children":[{"type":"rule","query":{"rule":"first_name","operator":"contains",'
            '"value":' + __import__("json").dumps(value) + '}}]}')
    assert concord.get("contacts", filters=rule).json()["meta"]["total"] == 0
    assert concord.get("contacts", order=value).status_code == 422


def test_resource_search_is_a_bare_array(concord: Concord, people: list[dict]) -> None:
    rows = concord.get("contacts/search", q="Adams").json()
    assert isinstance(rows, list) and sorted(r["first_name"] for r in rows) == ["Alice", "Dave"]
    assert concord.get("contacts/search", q="Adams", take="1").json()[0]["first_name"] == "Alice"


@pytest.mark.parametrize("take, expected", [("²", 2), ("1abc", 1), ("0", 2), ("-3", 2), ("99999999999999999999", 2)])
def test_take_is_read_as_php_reads_a_number(concord: Concord, people: list[dict], take: str, expected: int) -> None:
    """A superscript digit was a 500 (found reading the code after Schemathesis's finds)."""
    assert len(concord.get("contacts/search", q="Adams", take=take).json()) == expected
    groups = concord.get("search", q="Adams", take=take).json()
    assert len(next(g for g in groups if g["resource_name"] == "contacts")["data"]) == expected


def test_global_search_groups(concord: Concord, people: list[dict]) -> None:
    concord.create("companies", {"name": "Adams Family Ltd"})
    groups = concord.get("search", q="Adams").json()
    assert [g["resource_name"] for g in groups][:3] == ["activities", "companies", "contacts"]
    contacts = next(g for g in groups if g["resource_name"] == "contacts")
    assert [item["display_name"] for item in contacts["data"]] == ["Alice Adams", "Dave Adams"]
    assert set(contacts["data"][0]) == {"id", "path", "display_name", "created_at", "resourceName"}


def test_rules_lists_the_filter_rule_ids(concord: Concord) -> None:
    ids = [rule["id"] for rule in concord.get("contacts/rules").json()]
    assert {"first_name", "email", "user_id", "created_at"} <= set(ids)
    assert "companies.name" in [rule["id"] for rule in concord.get("companies/rules").json()]
