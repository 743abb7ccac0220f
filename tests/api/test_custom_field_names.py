"""Custom field names that would share a column, or an attribute name up to letter case, with a field the
entity has: refused with a clear error over HTTP (409, 400 for a name too long for a column) and from the
command line (one line on stderr, exit status 1), checked in the transaction that adds the column so that
concurrent adds cannot both pass. SQL reserved words make ordinary fields (their columns are `c_`-prefixed)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from polycrm.core.errors import Conflict
from polycrm.core.service import Core
from polycrm.store.database import open_database
from tests.api.conftest import ApiHarness
from tests.conftest import SECRET, Store
from tests.support.cli import Cli

FIELD_MANAGER = "/api/v1/Admin/fieldManager/Account"
RESERVED = ["select", "order", "from", "where", "group", "user", "table", "limit", "offset", "default", "check",
            "primary", "references", "and", "or", "not", "null", "true", "desc", "column", "index", "key", "all"]


def custom_fields(store: Store) -> list[tuple[str, str]]:
    table = store.database.table("custom_field")
    with store.database.connect() as conn:
        return sorted((row.entity, row.name) for row in conn.execute(select(table.c.entity, table.c.name)))


def account_columns(store: Store) -> list[str]:
    with store.database.engine.connect() as conn:
        return sorted(c["name"] for c in inspect(conn).get_columns("account"))


@pytest.fixture
def espo(harness: ApiHarness):
    return harness.key_client(harness.admin_key)


def add(espo, name: str, field_type: str = "varchar", **params: Any):
    return espo.post(FIELD_MANAGER, json={"name": name, "type": field_type, **params})


def test_names_that_share_a_column_or_differ_only_in_case_are_refused_over_http(espo, store):
    assert add(espo, "fooBar").status_code == 200
    assert add(espo, "select", "enum", options=["a", "b"]).status_code == 200
    assert add(espo, "amount", "currency").status_code == 200
    before = (custom_fields(store), account_columns(store))
    for name, field_type, final, existing in [
            ("fooBAR", "varchar", "cFooBAR", "cFooBar"), ("foobar", "int", "cFoobar", "cFooBar"),
            ("cFOOBAR", "varchar", "cFOOBAR", "cFooBar"), ("SELECT", "enum", "cSELECT", "cSelect"),
            ("amountCurrency", "varchar", "cAmountCurrency", "cAmountCurrency"),
            ("amountcurrency", "float", "cAmountcurrency", "cAmountCurrency")]:
        params = {"options": ["x"]} if field_type == "enum" else {}
        response = add(espo, name, field_type, **params)
        assert response.status_code == 409, (name, response.text)
        detail = "" if final == existing else ": names must differ in more than letter case"
        assert response.headers["x-status-reason"] == f"Field '{final}' collides with '{existing}' on Account{detail}."
    again = add(espo, "fooBar")
    assert again.status_code == 409 and again.headers["x-status-reason"] == "Field 'cFooBar' already exists on Account."
    long_name = "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkLmN"  # 40 letters: c_a_bc_de_..._lm_n_currency is 70
    too_long = add(espo, long_name, "currency")
    assert too_long.status_code == 400 and "would exceed 63 characters" in too_long.headers["x-status-reason"]
    assert (custom_fields(store), account_columns(store)) == before
    account = espo.post("/api/v1/Account", json={"name": "Acme", "cFooBar": "x", "cSelect": "b"})
    assert account.status_code == 200 and account.json()["cFooBar"] == "x"
    assert espo.get("/api/v1/OpenApi").status_code == 200


def test_sql_reserved_words_make_working_fields(espo, store):
    for word in RESERVED:
        response = add(espo, word)
        assert response.status_code == 200, (word, response.text)
    values = {f"c{word[0].upper()}{word[1:]}": f"{word}-value" for word in RESERVED}
    created = espo.post("/api/v1/Account", json={"name": "Acme", **values})
    assert created.status_code == 200 and {k: created.json()[k] for k in values} == values
    espo.post("/api/v1/Account", json={"name": "Other", "cSelect": "zzz"})
    found = espo.get("/api/v1/Account", params={"where[0][type]": "equals", "where[0][attribute]": "cOrder",
                                                "where[0][value]": "order-value", "orderBy": "cSelect",
                                                "order": "desc", "select": "cWhere,cFrom"})
    assert found.status_code == 200 and [a["cWhere"] for a in found.json()["list"]] == ["where-value"]
    ordered = espo.get("/api/v1/Account", params={"orderBy": "cSelect", "order": "desc"}).json()["list"]
    assert [a["name"] for a in ordered] == ["Other", "Acme"]


def test_the_command_line_refuses_colliding_names_in_one_line(store, tmp_path):
    cli = Cli(store, tmp_path)
    assert cli("field", "add", "Account", "fooBar", "--type", "varchar").stdout == "Added Account.cFooBar (varchar)\n"
    assert cli("field", "add", "Account", "select", "--type", "enum", "--options", "a,b").exit_code == 0
    for args, message in [
        (["fooBAR", "--type", "varchar"], "Field 'cFooBAR' collides with 'cFooBar' on Account"),
        (["SELECT", "--type", "enum", "--options", "a"], "Field 'cSELECT' collides with 'cSelect' on Account"),
        (["fooBar", "--type", "int"], "Field 'cFooBar' already exists on Account."),
        (["aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgHiJkLmN", "--type", "currency"], "would exceed 63 characters"),
    ]:
        cli.fails("field", "add", "Account", *args, message=message)
    store.database.load_custom_fields()
    assert custom_fields(store) == [("Account", "cFooBar"), ("Account", "cSelect")]


def test_concurrent_adds_of_colliding_names_let_exactly_one_through(store: Store):
    """Two servers (two databases, each with its own registry and locks) add names that collide at the same
    moment: the check runs after the schema lock is taken, so one of them is refused, whichever it is."""
    databases = [open_database(store.url, schema=store.schema) for _ in range(2)]
    try:
        cores = [Core(database) for database in databases]
        for round_number in range(3):
            names = [f"cRace{round_number}Name", f"cRace{round_number}NAME"]
            barrier = threading.Barrier(2)
            outcomes: list[Any] = [None, None]

            def run(i: int) -> None:
                barrier.wait()
                try:
                    outcomes[i] = cores[i].add_field("Account", names[i], "varchar").name
                except Conflict as exc:
                    outcomes[i] = exc

            threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            added = [o for o in outcomes if isinstance(o, str)]
            refused = [o for o in outcomes if isinstance(o, Conflict)]
            assert len(added) == 1 and len(refused) == 1, outcomes
            assert f"collides with '{added[0]}'" in refused[0].reason
        fresh = open_database(store.url, schema=store.schema)  # the stored definitions still build a schema
        try:
            race_fields = sorted(f for f in fresh.registry.entity("Account").fields if f.startswith("cRace"))
            assert len(race_fields) == 3 and len({f.lower() for f in race_fields}) == 3
            with fresh.connect() as conn:
                assert conn.execute(select(func.count()).select_from(fresh.table("account"))).scalar_one() == 0
        finally:
            fresh.dispose()
    finally:
        for database in databases:
            database.dispose()
