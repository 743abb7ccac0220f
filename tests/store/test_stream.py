"""The note table (store/notes.py): bulk writes, a record's stream newest first, its filters and counts, and
(on SQLite) the plan of a stream page."""

from __future__ import annotations

from datetime import datetime

import pytest

from polycrm.store.notes import NoteRepository
from tests.store.test_query_plans import plans_of

T0 = datetime(2030, 1, 1, 10, 0, 0)


def note(kind: str, parent_id: int, minute: int, **extra) -> dict:
    return {"type": kind, "data": {"n": minute}, "parentType": "Account", "parentId": parent_id,
            "createdAt": T0.replace(minute=minute), "createdById": 1, **extra}


def test_stream_pages_newest_first_with_type_and_time_filters(store):
    notes = NoteRepository(store.database)
    with store.database.transaction() as conn:
        notes.insert_many(conn, [note("Create", 1, 0), note("Update", 1, 1), note("Create", 2, 2)])
        post_id = notes.insert(conn, note("Post", 1, 3, post="Hi"))
    with store.database.connect() as conn:
        page = notes.page(conn, "Account", 1)
        assert [n["type"] for n in page] == ["Post", "Update", "Create"] and page[0]["id"] == post_id
        assert page[0]["post"] == "Hi" and page[1]["data"] == {"n": 1} and page[1]["isInternal"] is False
        assert [n["type"] for n in notes.page(conn, "Account", 1, offset=1, limit=1)] == ["Update"]
        assert notes.count(conn, "Account", 1) == 3 and notes.count(conn, "Contact", 1) == 0
        assert notes.count(conn, "Account", 1, types=["Post"]) == 1
        assert [n["data"]["n"] for n in notes.page(conn, "Account", 1, after=T0.replace(minute=1))] == [3]
    with store.database.transaction() as conn:
        notes.update(conn, post_id, {"post": "Bye", "modifiedById": 2})
        notes.soft_delete(conn, page[1]["id"], {"modifiedById": 2})
    with store.database.connect() as conn:
        assert notes.fetch(conn, post_id)["post"] == "Bye" and notes.fetch(conn, page[1]["id"]) is None
        assert notes.count(conn, "Account", 1) == 2


def test_a_stream_page_reads_the_parent_index_in_order(store, backend):
    if backend != "sqlite":
        pytest.skip("these are SQLite's plans; PostgreSQL plans by its statistics")
    notes = NoteRepository(store.database)
    with store.database.transaction() as conn:
        notes.insert_many(conn, [note("Create", i % 7, i % 60) for i in range(200)])

    def run() -> None:
        with store.database.connect() as conn:
            notes.page(conn, "Account", 3, offset=0, limit=20)
            notes.count(conn, "Account", 3, types=["Post"])
    plans = plans_of(store, run)
    assert all("ix_note_parent" in plan and "TEMP B-TREE" not in plan for plan in plans), plans
