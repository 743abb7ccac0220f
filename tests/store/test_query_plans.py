"""The SQL that lists, duplicate checks and quick search run is answered from indexes.

SQLite decides without statistics, so its plans guard the index design: a plan that scans the whole table is
fast on a test database and hopeless at a million rows. PostgreSQL plans by statistics; its test gathers them.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from polycrm.auth.acl import Actor
from polycrm.core.follows import followed_filter
from polycrm.core.search import SearchQuery, text_filter
from polycrm.core.service import Core
from polycrm.store.follows import FollowRepository
from polycrm.query.tree import Compare, Op, Sort
from tests.conftest import Store

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True)


@pytest.fixture
def sqlite_store(backend: str, request: pytest.FixtureRequest) -> Store:
    if backend != "sqlite":
        pytest.skip("these are SQLite's plans; PostgreSQL plans by its statistics")
    return request.getfixturevalue("store")


def selects_of(store: Store, run: Any) -> list[tuple[str, Any]]:
    """(SQL, parameters) of every SELECT `run()` executes."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, params))

    event.listen(store.database.engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(store.database.engine, "before_cursor_execute", capture)
    return statements


def plans_of(store: Store, run: Any) -> list[str]:
    """EXPLAIN QUERY PLAN of every SELECT `run()` executes."""
    statements = selects_of(store, run)
    with store.database.connect() as conn:
        raw = conn.connection.driver_connection
        return [" / ".join(row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params))
                for sql, params in statements]


def contacts(store: Store, count: int = 30) -> Any:
    service = Core(store.database).records("Contact")
    service.create_many(ADMIN, [{"firstName": "Ada" if i % 2 else "Alan", "lastName": f"Surname{i}",
                                 "emailAddress": f"person{i}@example.com"} for i in range(count)])
    return service


def test_filtered_list_and_its_count_read_the_filter_index(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    query = SearchQuery(Compare("name", Op.EQ, "Ada Surname3"), [Sort("createdAt", descending=True)], limit=1)
    list_plan, count_plan = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    # The page's ids in index order (the one sort step left orders the page's own rows), and the count from
    # the index alone.
    assert "COVERING INDEX ix_contact_name_deleted_created_at_id" in list_plan
    assert list_plan.count("TEMP B-TREE") == 1 and list_plan.endswith("USE TEMP B-TREE FOR ORDER BY")
    assert "COVERING INDEX ix_contact_name_deleted_created_at_id" in count_plan


def test_a_sorted_page_computes_link_names_for_its_own_rows_only(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    query = SearchQuery(text_filter(service.entity, "surn"), [Sort("createdAt", True)], limit=3)
    page_plan, _count_plan = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    # The page's ids are matched and sorted in a subquery that computes nothing else; only the rows it picks
    # are read in full, with their link-name subqueries.
    outer, _, inner = page_plan.partition(" / LIST SUBQUERY")
    assert outer == "SEARCH contact USING INTEGER PRIMARY KEY (rowid=?)"
    assert "USE TEMP B-TREE FOR ORDER BY" in inner and "CORRELATED SCALAR SUBQUERY" not in inner.split(
        "USE TEMP B-TREE FOR ORDER BY")[0]
    assert [r["lastName"] for r in service.search(ADMIN, query).records] == ["Surname29", "Surname28", "Surname27"]


def test_email_filter_looks_addresses_up_instead_of_scanning(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    query = SearchQuery(Compare("emailAddress", Op.EQ, "person3@example.com"), [Sort("createdAt", True)])
    (plan,) = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    assert "SEARCH contact USING INTEGER PRIMARY KEY" in plan and "ix_email_address_link_lower" in plan


def test_duplicate_check_uses_the_name_index(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    plans = plans_of(sqlite_store, lambda: service.create(ADMIN, {"firstName": "New", "lastName": "Person",
                                                                  "emailAddress": "new@example.com"}))
    # One statement checks the name and the email address, each through its index.
    duplicate_check = next(p for p in plans if "ix_contact_first_name_last_name" in p)
    assert "ix_email_address_link_lower" in duplicate_check, duplicate_check
    assert not any(p.startswith("SCAN contact") or " / SCAN contact" in p for p in plans), plans


def test_quick_search_uses_the_search_indexes(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    query = SearchQuery(text_filter(service.entity, "surn"), [Sort("createdAt", True)], limit=5)
    plans = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    assert plans and all("ix_contact_last_name_search" in p and "ix_contact_name_search" in p for p in plans)
    result = service.search(ADMIN, query)
    assert result.total == 30 and len(result.records) == 5


def test_the_followed_filter_reads_what_the_user_follows_from_its_index(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    ids = [r["id"] for r in service.search(ADMIN, SearchQuery(limit=100)).records]
    with sqlite_store.database.transaction() as conn:
        FollowRepository(sqlite_store.database, "Contact").add_new(conn, [(i, ADMIN.user_id) for i in ids])
    query = SearchQuery(followed_filter(service.entity, ADMIN.user_id), [Sort("createdAt", True)], limit=5)
    plans = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    assert plans and all("COVERING INDEX ix_stream_subscription_user_id_entity_type_entity_id" in p for p in plans)
    assert service.search(ADMIN, query).total == 30


@pytest.fixture
def postgresql_store(backend: str, request: pytest.FixtureRequest) -> Store:
    if backend != "postgresql":
        pytest.skip("count indexes are PostgreSQL's: SQLite has no B-tree deduplication")
    return request.getfixturevalue("store")


def test_few_valued_fields_get_count_indexes_on_postgresql_only(store: Store, backend: str) -> None:
    core = Core(store.database)
    core.add_field("Contact", "cTier", "enum", {"options": ["Gold", "Silver"]})
    column = store.database.registry.entity("Contact").attributes["cTier"].column
    with store.database.connect() as conn:
        indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("contact")}
    count_indexes = {name: cols for name, cols in indexes.items() if name.endswith("_count")}
    if backend == "sqlite":
        assert count_indexes == {}
    else:
        assert count_indexes == {"ix_contact_assigned_user_id_count": ["assigned_user_id"],
                                 f"ix_contact_{column}_count": [column]}


def test_filtered_count_reads_the_small_count_index(postgresql_store: Store) -> None:
    service = Core(postgresql_store.database).records("Contact")
    users = [1, 2, 3]
    service.create_many(ADMIN, [{"lastName": f"Surname{i}", "assignedUserId": None} for i in range(3000)])
    with postgresql_store.database.connect() as conn:
        conn.execute(text("UPDATE contact SET assigned_user_id = id % 3 + 1"))
        conn.execute(text("VACUUM ANALYZE contact"))
        plan = "\n".join(row[0] for row in conn.execute(text(
            "EXPLAIN SELECT count(*) FROM contact WHERE assigned_user_id = :user AND deleted = false"),
            {"user": users[0]}))
    # Index-only when VACUUM could mark the pages all-visible (a concurrent test's snapshot can stop it).
    assert "ix_contact_assigned_user_id_count" in plan, plan
    total = service.search(ADMIN, SearchQuery(Compare("assignedUserId", Op.EQ, 1), [], limit=1)).total
    assert total == 1000


def test_page_limits_are_written_into_the_sql(store: Store) -> None:
    # A limit sent as a parameter makes PostgreSQL plan every execution of the prepared statement again.
    service = contacts(store, count=12)
    query = SearchQuery(Compare("firstName", Op.EQ, "Ada"), [Sort("lastName", descending=True)], limit=3, offset=1)
    statements = selects_of(store, lambda: service.search(ADMIN, query))
    page = next(sql for sql, _ in statements if "ORDER BY" in sql)
    assert "LIMIT 3 OFFSET 1" in " ".join(page.split())
    assert [r["lastName"] for r in service.search(ADMIN, query).records] == ["Surname7", "Surname5", "Surname3"]
