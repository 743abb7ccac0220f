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
from polycrm.query.tree import Compare, Op, Or, Sort
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
                                 "emailAddress": f"person{i}@example.com", "phoneNumber": f"+1555000{i}"}
                                for i in range(count)])
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
    _count_plan, page_plan = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
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


def test_quick_search_reads_the_text_search_index_alone(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    query = SearchQuery(text_filter(service.entity, "surn"), [Sort("createdAt", True)], limit=5)
    count_plan, page_plan = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    # Name, last name and email address: one MATCH of the text search index, counted without the table.
    assert count_plan.startswith("SCAN contact_text VIRTUAL TABLE INDEX") and " / " not in count_plan
    assert "SCAN contact_text VIRTUAL TABLE" in page_plan and "SCAN contact " not in page_plan
    result = service.search(ADMIN, query)
    assert result.total == 30 and len(result.records) == 5


def test_a_quick_search_too_short_for_trigrams_uses_the_search_indexes(sqlite_store: Store) -> None:
    service = contacts(sqlite_store)
    query = SearchQuery(text_filter(service.entity, "su"), [Sort("createdAt", True)], limit=5)
    plans = plans_of(sqlite_store, lambda: service.search(ADMIN, query))
    assert plans and all("ix_contact_last_name_search" in p and "ix_contact_name_search" in p for p in plans)
    assert service.search(ADMIN, query).total == 30


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


# --- the list shapes integrations send most, on every protocol ------------------------------------------------

LISTS_BY_NEWEST = [Sort("createdAt", True), Sort("id", True)]  # EspoCRM's and InflowCRM's default order
CONCORD_ORDER = [Sort("firstName"), Sort("id")]  # App CRM's contacts: by first name

# (request it stands for, filter, sorts, the index SQLite reads, the index PostgreSQL reads, ordered by it)
LIST_SHAPES = [
    ("EspoCRM where lastName equals; InflowCRM filters {lastName}", Compare("lastName", Op.EQ, "Surname3"),
     LISTS_BY_NEWEST, "ix_contact_last_name_deleted_created_at_id", "ix_contact_last_name_deleted_created_at_id", True),
    ("EspoCRM where name equals", Compare("name", Op.EQ, "Ada Surname3"), LISTS_BY_NEWEST,
     "ix_contact_name_deleted_created_at_id", "ix_contact_name_deleted_created_at_id", True),
    ("EspoCRM where name in", Compare("name", Op.IN, ("Ada Surname3", "Alan Surname4")), LISTS_BY_NEWEST,
     "ix_contact_name_deleted_created_at_id", "ix_contact_name_deleted_created_at_id", False),
    ("EspoCRM where accountId equals; ITFlow contacts/read client_id", Compare("accountId", Op.EQ, 1),
     LISTS_BY_NEWEST, "ix_contact_account_id_deleted_created_at_id", "ix_contact_account_id_deleted_created_at_id",
     True),
    ("EspoCRM where emailAddress equals; ITFlow contacts/read contact_email",
     Compare("emailAddress", Op.EQ, "person3@example.com"), LISTS_BY_NEWEST, "ix_email_address_link_lower",
     "ix_email_address_link_lower", False),
    ("EspoCRM where phoneNumber equals; ITFlow contact_phone_or_mobile", Compare("phoneNumber", Op.EQ, "+15550003"),
     LISTS_BY_NEWEST, "ix_phone_number_link_number", "ix_phone_number_link_number", False),
    ("EspoCRM where name startsWith", Compare("name", Op.STARTS_WITH, "Ad"), LISTS_BY_NEWEST,
     "ix_contact_name_search", "ix_contact_name_search", False),
    ("EspoCRM where name contains; InflowCRM advancedFilters contains", Compare("name", Op.CONTAINS, "name17"),
     LISTS_BY_NEWEST, "contact_text", "trgm_contact_", False),
    ("App CRM filters last_name equal", Compare("lastName", Op.EQUALS_TEXT, "surname3"), CONCORD_ORDER,
     "ix_contact_last_name_search_first_name", "ix_contact_last_name_search_first_name", True),
    ("App CRM q (first name, last name, email contain it)",
     Or((Compare("firstName", Op.CONTAINS, "name17"), Compare("lastName", Op.CONTAINS, "name17"),
         Compare("emailAddress", Op.CONTAINS, "name17"))), CONCORD_ORDER, "contact_text", "trgm_contact_", False),
]


def explained(store: Store, backend: str, run: Any, ordered: bool) -> list[str]:
    """The plan of every SELECT `run()` executes: SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN with
    sequential scans (and with `ordered`, sorts) priced out: its test tables are too small for statistics to
    favour an index; what is asked is whether one can serve the statement (and its order)."""
    if backend == "sqlite":
        return plans_of(store, run)
    with store.database.transaction() as conn:
        # Other contacts, so that the statistics tell a few matches from all of them: the planner then
        # prefers the indexes a database of real size needs.
        conn.execute(text(
            "INSERT INTO contact (name, first_name, last_name, email_address, created_at, modified_at, deleted) "
            "SELECT 'Filler ' || g, 'Filler', 'Filler' || g, 'filler' || g || '@example.org', now(), now(), false "
            "FROM generate_series(1, 3000) g"))
    with store.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # VACUUM too: a GIN index's own statistics (what the planner prices it by) are its build's until then.
        conn.execute(text("VACUUM ANALYZE contact, email_address_link, phone_number_link"))
    statements = selects_of(store, run)
    with store.database.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"SET enable_sort = {'off' if ordered else 'on'}")
        try:
            return ["\n".join(row[0] for row in cursor.execute("EXPLAIN (COSTS OFF) " + sql, params))
                    for sql, params in statements]
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_sort")


@pytest.mark.parametrize("request_name, where, sorts, sqlite_index, postgresql_index, ordered",
                         LIST_SHAPES, ids=[shape[0] for shape in LIST_SHAPES])
def test_each_protocols_common_lists_read_an_index(store: Store, backend: str, request_name: str, where: Any,
                                                    sorts: list[Sort], sqlite_index: str, postgresql_index: str,
                                                    ordered: bool) -> None:
    service = contacts(store)
    query = SearchQuery(where, sorts, limit=20, offset=20)  # a second page: the count runs too
    plans = explained(store, backend, lambda: service.search(ADMIN, query), ordered)
    page = next(p for p in plans if ("LIST SUBQUERY" in p if backend == "sqlite" else "Limit" in p))
    assert (sqlite_index if backend == "sqlite" else postgresql_index) in page, page
    assert all(" SCAN contact " not in f" {p} " and "Seq Scan on contact " not in p for p in plans), plans
    if ordered:
        # The filter's index gives the rows in the page's order: the database stops at the page's last row
        # (SQLite sorts the page's own twenty rows once more, outside the subquery that picks them).
        assert (page.count("TEMP B-TREE") == 1 and page.endswith("USE TEMP B-TREE FOR ORDER BY")) \
            if backend == "sqlite" else "Sort" not in page.split("Limit", 1)[1], page


@pytest.mark.parametrize("resource", ["contacts", "companies"])
def test_app_crm_q_searches_every_column_through_an_index(store: Store, backend: str, resource: str) -> None:
    """App CRM's `q` matches ten columns of a contact (a phone number and the job title, its role at its company,
    among them): every one is looked up in an index, so no table is read whole."""
    import json
    from pathlib import Path

    import polycrm.dialects.concord
    from polycrm.dialects.concord.listing import SearchColumn, parse_search

    spec = json.loads((Path(polycrm.dialects.concord.__file__).parent / "resources" / f"{resource}.json").read_text())
    service = contacts(store) if resource == "contacts" else Core(store.database).records(spec["entity"])
    columns = {key: SearchColumn(key, field, condition) for key, (field, condition) in spec["search"].items()}
    where = parse_search("name17", None, None, columns, service.entity)
    query = SearchQuery(where, [Sort(spec["order"]), Sort("id")], limit=15, offset=15)
    plans = explained(store, backend, lambda: service.search(ADMIN, query), False)
    scanned = [p for p in plans if any(f"SCAN {t} " in f"{p} " or f"Seq Scan on {t} " in p for t in (
        service.entity.table, "phone_number_link", "account_contact"))]
    assert plans and not scanned, scanned
    if resource == "contacts":
        assert service.search(ADMIN, SearchQuery(where, limit=15)).total == 1
