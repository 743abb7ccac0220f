"""Saved filters (Concord's FilterController, dialects/concord/saved_filters.py): `GET /api/filters/{identifier}`,
`POST /api/filters`, `PUT/DELETE /api/filters/{id}`, the default marks and the `filter_id` /
`with_default_filter` list parameters, over the SavedFilter and SavedFilterDefault entities (real rows, also
`/api/v1/SavedFilter`), as Concord CRM 1.4.1 answers them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import JSON_HEADERS, Concord

FILTER_KEYS = ["id", "name", "identifier", "rules", "user_id", "is_shared", "is_shared_from_another_user",
               "is_system_default", "is_readonly", "defaults", "created_at", "updated_at", "authorizations",
               "was_recently_created"]
NAMED_ANN = {"condition": "and", "children": [{"type": "rule", "query": {
    "type": "text", "rule": "first_name", "operator": "equal", "value": "Ann"}}]}
MINE = {"condition": "and", "children": [{"type": "rule", "query": {
    "type": "select", "rule": "user_id", "operator": "equal", "value": "me"}}]}
CONTACTS = {"Contact": {"create": "yes", "read": "all", "edit": "own", "delete": "no"}}


def saved(client: Concord, **body: Any) -> dict[str, Any]:
    response = client.post("filters", {"name": "Ann", "identifier": "contacts", "is_shared": False,
                                       "rules": NAMED_ANN, **body})
    assert response.status_code == 201, response.content
    return response.json()


def names(client: Concord, **params: Any) -> list[str]:
    response = client.get("contacts", **params)
    assert response.status_code == 200, response.content
    return [row["first_name"] for row in response.json()["data"]]


def test_save_list_apply_change_and_delete(concord: Concord) -> None:
    concord.create("contacts", {"first_name": "Ann"})
    concord.create("contacts", {"first_name": "Bob"})
    made = saved(concord)
    assert list(made) == FILTER_KEYS
    assert {k: made[k] for k in FILTER_KEYS if k not in ("id", "created_at", "updated_at")} == {
        "name": "Ann", "identifier": "contacts", "rules": NAMED_ANN, "user_id": concord.user_id,
        "is_shared": False, "is_shared_from_another_user": False, "is_system_default": False,
        "is_readonly": False, "defaults": [], "authorizations": {"update": True, "delete": True},
        "was_recently_created": True}
    assert names(concord, filter_id=made["id"]) == ["Ann"]
    assert sorted(names(concord)) == ["Ann", "Bob"]
    # `filters` given wins over a saved filter, as in Concord
    bob = {"condition": "and", "children": [{"type": "rule", "query": {"type": "text", "rule": "first_name",
                                                                        "operator": "equal", "value": "Bob"}}]}
    assert concord.http.get("/api/contacts", params={"filter_id": made["id"], "filters": str(bob).replace(
        "'", '"')}).json()["data"][0]["first_name"] == "Bob"
    listed = concord.get("filters/contacts").json()
    assert [f["id"] for f in listed] == [made["id"]] and listed[0]["was_recently_created"] is False
    assert concord.get("filters/deals").json() == []
    changed = concord.put(f"filters/{made['id']}", {"name": "Bob", "is_shared": True, "rules": bob,
                                                     "identifier": "deals", "user_id": 99})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["identifier"], changed.json()["is_shared"]) == ("Bob", "contacts",
                                                                                                   True)
    assert names(concord, filter_id=made["id"]) == ["Bob"]
    assert concord.delete(f"filters/{made['id']}").status_code == 204
    assert concord.get("filters/contacts").json() == []
    gone = concord.get("contacts", filter_id=made["id"])
    assert gone.status_code == 422 and list(gone.json()["errors"]) == ["filter_id"]


def test_default_filter_per_view(concord: Concord) -> None:
    concord.create("contacts", {"first_name": "Ann"})
    concord.create("contacts", {"first_name": "Bob", "user_id": concord.user_id})
    first, second = saved(concord), saved(concord, name="Mine", rules=MINE)
    marked = concord.put(f"filters/{first['id']}/contacts/default")
    assert marked.status_code == 200 and marked.json()["defaults"] == [{"user_id": concord.user_id,
                                                                        "view": "contacts"}]
    assert names(concord, with_default_filter="1") == ["Ann"]
    concord.put(f"filters/{second['id']}/contacts/default")  # takes the mark from the first
    listed = {f["id"]: f["defaults"] for f in concord.get("filters/contacts").json()}
    assert listed == {first["id"]: [], second["id"]: [{"user_id": concord.user_id, "view": "contacts"}]}
    assert names(concord, with_default_filter="1") == ["Bob"]
    exported = concord.post("contacts/export", {"fields": [], "with_default_filter": True}).text.splitlines()
    assert exported[1:] == ['"Bob","admin"']  # an export takes saved filters too, as Concord's
    exported = concord.post("contacts/export", {"fields": [], "filter_id": first["id"]}).text.splitlines()
    assert exported[1:] == ['"Ann",""']
    assert concord.post("contacts/export", {"filter_id": 99999}).status_code == 422
    unmarked = concord.delete(f"filters/{second['id']}/contacts/default")
    assert unmarked.status_code == 200 and unmarked.json()["defaults"] == []
    assert sorted(names(concord, with_default_filter="1")) == ["Ann", "Bob"]


def test_private_and_shared_filters_between_users(concord: Concord) -> None:
    ann = concord.as_user("ann", CONTACTS)
    bob = concord.as_user("bob", CONTACTS)
    private, shared = saved(ann, name="Private"), saved(ann, name="Shared", is_shared=True, rules=MINE)
    seen = bob.get("filters/contacts").json()
    assert [f["name"] for f in seen] == ["Shared"]
    assert seen[0]["is_shared_from_another_user"] is True and seen[0]["authorizations"] == {"update": False,
                                                                                            "delete": False}
    concord.create("contacts", {"first_name": "Of Bob", "user_id": bob.user_id})
    concord.create("contacts", {"first_name": "Of Ann", "user_id": ann.user_id})
    assert names(bob, filter_id=shared["id"]) == ["Of Bob"]  # `me` is the caller
    assert bob.get("contacts", filter_id=private["id"]).status_code == 422
    for response in (bob.put(f"filters/{shared['id']}", {"name": "x", "is_shared": True}),
                     bob.delete(f"filters/{shared['id']}")):
        assert (response.status_code, response.json()) == (403, {"message": "This action is unauthorized."})
    assert bob.put(f"filters/{private['id']}", {"name": "x", "is_shared": True}).status_code == 404
    assert bob.put(f"filters/{shared['id']}/contacts/default").status_code == 200  # a default of one's own
    assert names(bob, with_default_filter="1") == ["Of Bob"]
    assert ann.get("filters/contacts").json()[1]["defaults"] == []  # Bob's mark is his
    admin_view = concord.put(f"filters/{shared['id']}", {"name": "Renamed", "is_shared": True})
    assert admin_view.status_code == 200  # a super admin passes every gate
    assert concord.delete(f"filters/{private['id']}").status_code == 404  # not shared: not seen


def test_filters_are_rows_every_protocol_sees(concord: Concord) -> None:
    made = saved(concord, is_shared=True)
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    row = espo.get(f"/api/v1/SavedFilter/{made['id']}").json()
    assert (row["name"], row["identifier"], row["isShared"], row["rules"]) == ("Ann", "contacts", True, NAMED_ANN)
    espo.delete(f"/api/v1/SavedFilter/{made['id']}")
    assert concord.get("filters/contacts").json() == []


@pytest.mark.parametrize("body, keys", [
    ({}, ["name", "identifier", "is_shared"]),
    ({"name": "x", "identifier": "nosuch", "is_shared": False}, ["identifier"]),
    ({"name": "x", "identifier": "contacts", "is_shared": "abc"}, ["is_shared"]),
    ({"name": "x", "identifier": "contacts", "is_shared": {}}, ["is_shared"]),
    ({"name": ["x"], "identifier": 5, "is_shared": 2}, ["name", "identifier", "is_shared"]),
    ({"name": "x" * 192, "identifier": "contacts", "is_shared": True}, ["name"]),
    ({"name": "x", "identifier": "contacts", "is_shared": True, "rules": "zzz"}, ["rules"]),
    ({"name": "x", "identifier": "contacts", "is_shared": True, "rules": {"condition": "xor", "children": []}},
     ["rules.condition"]),
    ({"name": "x", "identifier": "contacts", "is_shared": True, "rules": {"children": [
        {"type": "rule", "query": {"rule": "nosuch", "operator": "equal", "value": 1}}]}},
     ["rules.children.0.query.rule"]),
    ({"name": "x", "identifier": "deals", "is_shared": True, "rules": NAMED_ANN}, ["rules.children.0.query.rule"]),
])
def test_bad_bodies_are_422(concord: Concord, body: dict[str, Any], keys: list[str]) -> None:
    response = concord.post("filters", body)
    assert response.status_code == 422, response.content
    assert list(response.json()["errors"]) == keys
    assert concord.get("filters/contacts").json() == []  # nothing written


def test_malformed_oversized_odd_ids_and_tokens(concord: Concord) -> None:
    malformed = concord.http.post("/api/filters", content=b'{"name": ', headers=JSON_HEADERS)
    assert malformed.status_code == 422 and list(malformed.json()["errors"]) == ["body"]
    assert concord.post("filters", ["x"]).status_code == 422
    huge = concord.http.post("/api/filters", content=b'{"name": "' + b"x" * 30_000_000 + b'"}', headers=JSON_HEADERS)
    assert huge.status_code == 413
    made = saved(concord)
    assert concord.put(f"filters/{made['id']}", {"is_shared": True}).status_code == 422
    for path in ("filters/999999", "filters/abc", "filters/0", "filters/99999999999999999999999"):
        response = concord.delete(path)
        assert response.status_code == 404 and "Filter]" in response.json()["message"], path
    assert concord.put(f"filters/{made['id']}/{'v' * 101}/default").status_code == 422
    assert concord.get("contacts", filter_id="abc").status_code == 422
    anonymous = concord.harness.client(validate=False)
    for method, path in (("GET", "filters/contacts"), ("POST", "filters"), ("PUT", "filters/1"),
                         ("DELETE", "filters/1"), ("PUT", "filters/1/contacts/default")):
        for headers in ({"Accept": "application/json"}, {"Accept": "application/json", "Authorization": "Bearer 1|x"}):
            response = anonymous.request(method, f"/api/{path}", json={}, headers=headers)
            assert (response.status_code, response.json()) == (401, {"message": "Unauthenticated."}), (method, path)
