"""The trash (specs/concord.md §2, §9 "DELETE"): a deleted record is listed, read, restored with its id, or
deleted for good."""

from __future__ import annotations

from tests.concord.conftest import Concord


def test_deleted_records_go_to_the_trash_and_come_back(concord: Concord) -> None:
    kept = concord.create("contacts", {"first_name": "Kept"})
    gone = concord.create("contacts", {"first_name": "Gone", "last_name": "Away"})
    assert concord.delete(f"contacts/{gone['id']}").status_code == 204
    listed = concord.get("trashed/contacts").json()
    assert [row["id"] for row in listed["data"]] == [gone["id"]] and listed["meta"]["total"] == 1
    assert concord.get("trashed/contacts/search", q="Away").json()[0]["id"] == gone["id"]
    assert concord.get(f"trashed/contacts/{gone['id']}").json()["display_name"] == "Gone Away"
    assert concord.get(f"trashed/contacts/{kept['id']}").status_code == 404  # live records are not trash
    restored = concord.post(f"trashed/contacts/{gone['id']}")
    assert restored.status_code == 200 and restored.json()["id"] == gone["id"]
    assert concord.get(f"contacts/{gone['id']}").status_code == 200
    assert concord.get("trashed/contacts").json()["meta"]["total"] == 0


def test_delete_for_good(concord: Concord) -> None:
    gone = concord.create("contacts", {"first_name": "Gone"})
    concord.delete(f"contacts/{gone['id']}")
    assert concord.delete(f"trashed/contacts/{gone['id']}").status_code == 204
    assert concord.get(f"trashed/contacts/{gone['id']}").status_code == 404
    assert concord.post(f"trashed/contacts/{gone['id']}").status_code == 404
    live = concord.create("contacts", {"first_name": "Live"})
    assert concord.delete(f"trashed/contacts/{live['id']}").status_code == 404  # never a live record
    assert concord.get(f"contacts/{live['id']}").status_code == 200


def test_empty_the_trash(concord: Concord) -> None:
    for name in ("A", "B"):
        concord.delete(f"contacts/{concord.create('contacts', {'first_name': name})['id']}")
    assert concord.delete("trashed/contacts").status_code == 204
    assert concord.get("trashed/contacts").json()["meta"]["total"] == 0
