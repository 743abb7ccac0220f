"""Associations inline on create/update and through `/api/associations/{resource}/{id}` (specs/concord.md §5,
§9 "§5 Associations")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import Concord


@pytest.fixture
def companies(concord: Concord) -> list[dict]:
    return [concord.create("companies", {"name": name}) for name in ("Acme", "Globex", "Initech")]


def ids(rows: list[dict]) -> list[int]:
    return sorted(row["id"] for row in rows)


def test_inline_ids_comma_strings_and_names(concord: Concord, companies: list[dict]) -> None:
    acme, globex, initech = companies
    contact = concord.create("contacts", {"first_name": "A", "companies": [acme["id"]]})
    assert ids(contact["companies"]) == [acme["id"]] and contact["companies_count"] == 1
    assert contact["associations_count"] == 1
    nested = contact["companies"][0]
    assert nested["display_name"] == "Acme" and nested["path"] == f"/companies/{acme['id']}"
    contact = concord.create("contacts", {"first_name": "B", "companies": f"{acme['id']},{globex['id']}"})
    assert ids(contact["companies"]) == [acme["id"], globex["id"]]
    response = concord.post("contacts", {"first_name": "C", "companies": ["initech", 999999]})
    assert response.status_code == 201
    assert ids(response.json()["companies"]) == [initech["id"]]
    assert "999999" in response.headers["x-polycrm-warning"]


def test_update_syncs_only_the_keys_sent(concord: Concord, companies: list[dict]) -> None:
    acme, globex, _ = companies
    contact = concord.create("contacts", {"first_name": "A", "companies": [acme["id"]]})
    deal_less = concord.put(f"contacts/{contact['id']}", {"last_name": "B"}).json()
    assert ids(deal_less["companies"]) == [acme["id"]]
    replaced = concord.put(f"contacts/{contact['id']}", {"companies": [globex["id"]]}).json()
    assert ids(replaced["companies"]) == [globex["id"]]
    emptied = concord.put(f"contacts/{contact['id']}", {"companies": []}).json()
    assert emptied["companies"] == [] and emptied["companies_count"] == 0


def test_associated_list_is_paginated(concord: Concord, companies: list[dict]) -> None:
    contact = concord.create("contacts", {"first_name": "A", "companies": [c["id"] for c in companies]})
    body = concord.get(f"contacts/{contact['id']}/companies", per_page="2").json()
    assert body["meta"]["total"] == 3 and len(body["data"]) == 2
    assert [row["display_name"] for row in body["data"]] == ["Acme", "Globex"]
    assert concord.get(f"companies/{companies[0]['id']}/contacts").json()["data"][0]["id"] == contact["id"]


def test_attach_sync_detach_and_list(concord: Concord, companies: list[dict]) -> None:
    acme, globex, initech = companies
    contact = concord.create("contacts", {"first_name": "A"})
    path = f"associations/contacts/{contact['id']}"
    attached = concord.put(path, {"companies": [acme["id"], globex["id"]]})
    assert attached.status_code == 200 and ids(attached.json()["companies"]) == [acme["id"], globex["id"]]
    again = concord.put(path, {"companies": [acme["id"]]})
    assert again.status_code == 409 and again.json() == {"message": "This record is already associated"}
    synced = concord.post(path, {"companies": [initech["id"]]})
    assert ids(synced.json()["companies"]) == [initech["id"]]
    detached = concord.delete_json(path, {"companies": [initech["id"]]})
    assert detached.status_code == 200 and detached.json()["companies"] == []
    listed = concord.get(path).json()
    # Every association key the contact has, each empty (Concord lists its activities, calls, ... too).
    assert {"activities", "companies", "deals", "calls", "notes"} <= set(listed) and not any(listed.values())


@pytest.mark.parametrize("body, status", [({}, 403), ({"companies": [999999]}, 403), ({"bogus": [1]}, 409)])
def test_association_refusals(concord: Concord, body: dict, status: int) -> None:
    contact = concord.create("contacts", {"first_name": "A"})
    response = concord.put(f"associations/contacts/{contact['id']}", body)
    assert response.status_code == status
    if status == 409:
        assert response.json() == {"message": 'The provided resource name "bogus" cannot be associated to contact.'}
    assert concord.get(f"contacts/{contact['id']}").json()["companies"] == []


def test_a_user_cannot_attach_what_they_cannot_read(concord: Concord, companies: list[dict]) -> None:
    limited = concord.as_user("limited", {"Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "own"},
                                          "Account": {"read": "own", "edit": "own"}})
    contact = limited.create("contacts", {"first_name": "Mine", "user_id": limited.user_id,
                                          "companies": [companies[0]["id"]]})
    assert contact["companies"] == []  # an unreadable id is dropped, as Concord drops it
    response = limited.put(f"associations/contacts/{contact['id']}", {"companies": [companies[0]["id"]]})
    assert response.status_code == 403


def test_a_record_reads_its_associated_ids_with_itself_for_the_arrays_and_the_counts(
        concord: Concord, companies: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    from polycrm.core.relations import RelationService

    acme, globex, _ = companies
    contact = concord.create("contacts", {"first_name": "A", "companies": [acme["id"], globex["id"]]})
    calls: list[list[int]] = []
    related_ids = RelationService.related_ids

    def counted(self: RelationService, record_ids: list[int], link_names: Any) -> Any:
        calls.append(list(record_ids))
        return related_ids(self, record_ids, link_names)

    monkeypatch.setattr(RelationService, "related_ids", counted)
    shown = concord.get(f"contacts/{contact['id']}").json()
    assert ids(shown["companies"]) == [acme["id"], globex["id"]] and shown["companies_count"] == 2
    assert shown["associations_count"] == 2
    assert calls == []  # the ids came in the record's own statement
    listed = concord.get("contacts", params={"per_page": 100}).json()["data"]
    assert [row["companies_count"] for row in listed if row["id"] == contact["id"]] == [2]
    assert calls == []  # a page reads its rows' ids with the rows (SearchQuery.related)


def test_with_reads_each_association_once_for_a_whole_page(concord: Concord, companies: list[dict],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from polycrm.dialects.concord.view import ResourceView

    for name, owned in (("A", companies[:2]), ("B", companies[1:]), ("C", [])):
        concord.create("contacts", {"first_name": name, "companies": [c["id"] for c in owned]})
    reads: list[str] = []
    associated_rows = ResourceView.associated_rows

    def counted(self: ResourceView, actor: Any, key: str, related_ids: Any) -> Any:
        reads.append(key)
        return associated_rows(self, actor, key, related_ids)

    monkeypatch.setattr(ResourceView, "associated_rows", counted)
    rows = concord.get("contacts", **{"with": "companies"}).json()["data"]
    assert [ids(row["companies"]) for row in rows] == [ids(companies[:2]), ids(companies[1:]), []]
    assert reads == ["companies"]
