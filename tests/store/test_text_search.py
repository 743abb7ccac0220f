"""Text search indexes (store.text_search): contains and starts-with searches find what a LIKE over the
table finds, and the index follows every write in the writing transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

import polycrm.store.records
from polycrm.auth.acl import Actor
from polycrm.core.search import SearchQuery, text_filter
from polycrm.core.service import Core
from polycrm.query.tree import Compare, Op, Or, Sort
from tests.conftest import Store

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True)

PEOPLE = [("Ada", "Lovelace", "ada@example.com"), ("Alan", "Turing", "alan.turing@bletchley.example"),
          ("Grace", "Hopper", "grace_hopper@navy.example"), ("Mary", "O'Brien", "mob@example.org"),
          ("Zoë", "Ünal", "zoe@example.com"), ("Ida", 'Quote"d', "q%d@example.com"), ("Linus", "Torvalds", None),
          ("Ken", "Thompson", "ken@bell.example"), ("Ada", "Adams", "AdA.ADAMS@EXAMPLE.COM"), (None, "Solo", None)]

ATTRIBUTES = {"firstName": 0, "lastName": 1, "emailAddress": 2}


def people(store: Store) -> Any:
    service = Core(store.database).records("Contact")
    service.create_many(ADMIN, [{"firstName": first, "lastName": last, "emailAddress": email}
                                for first, last, email in PEOPLE])
    return service


def found(service: Any, where: Any, **options: Any) -> list[str]:
    result = service.search(ADMIN, SearchQuery(where, [Sort("lastName"), Sort("id")], limit=100, **options))
    assert result.total == len(result.records)
    return [r["lastName"] for r in result.records]


def expected(attribute: str, op: Op, value: str) -> list[str]:
    """What a case-insensitive LIKE finds (ASCII case: SQLite's LIKE; the data's other letters are matched as
    written)."""
    matches = []
    for person in PEOPLE:
        name = {"firstName": person[0], "lastName": person[1], "emailAddress": person[2]}[attribute]
        if name is None:
            continue
        held, wanted = name.lower(), value.lower()
        if (held.startswith(wanted) if op is Op.STARTS_WITH else wanted in held):
            matches.append(person[1])
    return sorted(matches)


PROBES = [("lastName", "ove"), ("lastName", "LOVE"), ("firstName", "ada"), ("emailAddress", "example.com"),
          ("emailAddress", "ada.adams@"), ("lastName", "o'b"), ("lastName", 'te"d'), ("emailAddress", "q%d"),
          ("emailAddress", "r_h"), ("lastName", "ürt"), ("lastName", "nal"), ("firstName", "zoë"), ("lastName", "xyz"),
          ("lastName", "on"), ("lastName", "T"),
          # FTS5 query syntax in a text is text: no operator, column filter or prefix query comes of it
          ("lastName", 'on" OR "x'), ("lastName", "{first_name} : ada"), ("lastName", "lov*"), ("lastName", "NEAR(lo")]


@pytest.mark.parametrize("attribute, value", PROBES, ids=[f"{a}-{v}" for a, v in PROBES])
@pytest.mark.parametrize("op", [Op.CONTAINS, Op.STARTS_WITH], ids=["contains", "startsWith"])
def test_searches_find_what_like_finds(store: Store, attribute: str, value: str, op: Op) -> None:
    service = people(store)
    assert found(service, Compare(attribute, op, value)) == expected(attribute, op, value)


def test_alternatives_across_columns_find_each_record_once(store: Store) -> None:
    service = people(store)
    where = Or((Compare("firstName", Op.CONTAINS, "ada"), Compare("lastName", Op.CONTAINS, "ada"),
                Compare("emailAddress", Op.CONTAINS, "ada")))
    assert found(service, where) == ["Adams", "Lovelace"]
    assert found(service, text_filter(service.entity, "tur")) == ["Turing"]  # the email starts with "alan."
    assert found(service, text_filter(service.entity, "Ada Lov")) == ["Lovelace"]


def test_case_is_ignored_beyond_ascii_as_postgresql_does(store: Store) -> None:
    service = people(store)
    assert found(service, Compare("lastName", Op.STARTS_WITH, "üNA")) == ["Ünal"]
    assert found(service, Compare("firstName", Op.CONTAINS, "ZOË")) == ["Ünal"]


def test_the_index_follows_every_write(store: Store) -> None:
    service = people(store)
    ada = next(r for r in service.search(ADMIN, SearchQuery(Compare("lastName", Op.EQ, "Lovelace"))).records)
    service.update(ADMIN, ada["id"], {"lastName": "Byron"})
    assert found(service, Compare("lastName", Op.CONTAINS, "velace")) == []
    assert found(service, Compare("lastName", Op.CONTAINS, "yro")) == ["Byron"]
    service.delete(ADMIN, ada["id"])
    assert found(service, Compare("lastName", Op.CONTAINS, "yro")) == []
    trash = Core(store.database).trash("Contact")
    assert [r["lastName"] for r in trash.search(ADMIN, SearchQuery(Compare("lastName", Op.CONTAINS, "yro"))).records] \
        == ["Byron"]  # the trash matches its rows without the index, which holds live rows only
    trash.restore(ADMIN, ada["id"])
    assert found(service, Compare("lastName", Op.CONTAINS, "yro")) == ["Byron"]
    service.delete(ADMIN, ada["id"])
    trash.destroy(ADMIN, ada["id"])
    assert found(service, Compare("lastName", Op.CONTAINS, "yro")) == []
    assert found(service, Compare("lastName", Op.CONTAINS, "rin")) == ["Turing"]


@pytest.mark.parametrize("walk_from", [0, 10**9], ids=["walking-the-order", "sorting-the-matches"])
def test_both_page_plans_give_the_same_pages(store: Store, monkeypatch: pytest.MonkeyPatch, walk_from: int) -> None:
    monkeypatch.setattr(polycrm.store.records, "WALK_FROM_MATCHES", walk_from)
    service = Core(store.database).records("Contact")
    service.create_many(ADMIN, [{"firstName": f"Walker{i % 7}", "lastName": f"Page{i:03d}"} for i in range(60)])
    where = Compare("lastName", Op.STARTS_WITH, "page")
    pages = [service.search(ADMIN, SearchQuery(where, [Sort("firstName", True), Sort("lastName")], limit=25,
                                               offset=offset)) for offset in (0, 25, 50)]
    assert [p.total for p in pages] == [60, 60, 60]
    names = [r["lastName"] for p in pages for r in p.records]
    assert names == [f"Page{i:03d}" for i in sorted(range(60), key=lambda i: (-(i % 7), i))]


def test_an_upgraded_store_gets_its_text_search_index_filled_with_live_rows(sqlite_only: Store) -> None:
    store = sqlite_only
    service = people(store)
    service.delete(ADMIN, service.search(ADMIN, SearchQuery(Compare("lastName", Op.EQ, "Solo"))).records[0]["id"])
    with store.database.transaction() as conn:
        conn.execute(text("DROP TABLE contact_text"))  # as a store made before the index existed
    store.database.sync_schema()
    store.database.sync_schema()  # and again: nothing to do
    with store.database.connect() as conn:
        # The index holds the live rows: each of their emails' domains is found, once per row.
        matched = text("SELECT count(*) FROM contact_text WHERE contact_text MATCH '{email_address} : \"exa\"'")
        assert conn.execute(matched).scalar_one() == sum(1 for *_, email in PEOPLE if email and "exa" in email.lower())
    assert found(service, Compare("lastName", Op.CONTAINS, "ppe")) == ["Hopper"]
    assert found(service, Compare("lastName", Op.CONTAINS, "olo")) == []


@pytest.fixture
def sqlite_only(backend: str, request: pytest.FixtureRequest) -> Store:
    if backend != "sqlite":
        pytest.skip("PostgreSQL's text search indexes are ordinary indexes, made with the others")
    return request.getfixturevalue("store")
