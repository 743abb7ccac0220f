"""Tags on contacts, companies and deals (specs/concord.md §4): names in, Concord's TagResource objects out,
synced on update, filtered by the `tags` rule, the same Tag records through `/api/v1`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from polycrm.auth.acl import Actor
from polycrm.core.lookups import ensure_default_lookups
from polycrm.core.search import SearchQuery
from polycrm.core.service import Core
from tests.concord.conftest import Concord
from tests.support.stores import Store


def names(record: dict[str, Any]) -> list[str]:
    return [tag["name"] for tag in record["tags"]]


def tags_filter(operator: str, ids: list[int]) -> str:
    return json.dumps({"condition": "and", "children": [{"type": "rule", "query": {
        "type": "multi-select", "rule": "tags", "operator": operator, "value": ids}}]})


def test_tags_are_made_matched_and_shown_as_concord_shows_them(concord: Concord):
    contact = concord.create("contacts", {"first_name": "Ann", "tags": ["customer", "VIP"]})
    assert names(contact) == ["Customer", "VIP"]  # Concord's seeded tag, matched ignoring case
    seeded, tag = contact["tags"]
    assert set(tag) == {"id", "name", "swatch_color", "display_order", "type"}
    assert (tag["display_order"], tag["type"], tag["swatch_color"]) == (1000, "contacts", None)
    assert (seeded["id"], seeded["swatch_color"]) == (1, "#10b981")
    # a name matches its tag ignoring case; a comma string works; contacts and companies share tags
    company = concord.create("companies", {"name": "Acme", "tags": "vip, Partner ,"})
    assert sorted(names(company)) == ["Partner", "VIP"]
    assert {t["id"] for t in company["tags"]} & {t["id"] for t in contact["tags"]} == {
        next(t["id"] for t in contact["tags"] if t["name"] == "VIP")}
    # deals have their own tags
    deal = concord.create("deals", {"name": "Big one", "stage_id": 1, "tags": ["VIP"]})
    assert deal["tags"][0]["type"] == "deals" and deal["tags"][0]["id"] not in {t["id"] for t in contact["tags"]}
    # index rows show them too; the tags of a record come in display order
    row = next(r for r in concord.get("contacts").json()["data"] if r["id"] == contact["id"])
    assert names(row) == ["Customer", "VIP"]
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    vip = contact["tags"][1]["id"]
    assert espo.put(f"/api/v1/Tag/{vip}", json={"displayOrder": 1, "swatchColor": "#DC2626"}).status_code == 200
    shown = concord.get(f"contacts/{contact['id']}").json()["tags"]
    assert [t["name"] for t in shown] == ["VIP", "Customer"] and shown[0]["swatch_color"] == "#DC2626"


def test_tags_sync_on_update_and_keys_not_sent_are_left_alone(concord: Concord):
    contact = concord.create("contacts", {"first_name": "Ann", "tags": ["A", "B"]})
    path = f"contacts/{contact['id']}"
    assert names(concord.put(path, {"job_title": "CTO"}).json()) == ["A", "B"]
    assert names(concord.put(path, {"tags": ["B", "C"]}).json()) == ["B", "C"]
    assert concord.put(path, {"tags": []}).json()["tags"] == []
    assert names(concord.put(path, {"tags": "C"}).json()) == ["C"]
    # null and a blank string change nothing, as Concord's Tags field (Laravel reads "" as null)
    for nothing in (None, "", "  "):
        assert names(concord.put(path, {"tags": nothing}).json()) == ["C"]


def test_the_tags_rule_filters_by_tag_id(concord: Concord):
    hot = concord.create("contacts", {"first_name": "Hot", "tags": ["Hot Lead"]})
    cold = concord.create("contacts", {"first_name": "Cold", "tags": ["Cold Lead"]})
    concord.create("contacts", {"first_name": "None"})
    hot_id = hot["tags"][0]["id"]
    found = concord.get("contacts", filters=tags_filter("in", [hot_id])).json()["data"]
    assert [r["id"] for r in found] == [hot["id"]]
    others = concord.get("contacts", filters=tags_filter("not_in", [hot_id])).json()["data"]
    assert [r["id"] for r in others] == [cold["id"]]
    rules = {rule["id"]: rule for rule in concord.get("contacts/rules").json()}
    assert rules["tags"]["type"] == "multi-select" and rules["tags"]["label"] == "Tags"
    assert rules["tags"]["valueKey"] == "value" and rules["tags"]["labelKey"] == "label"
    assert [(o["value"], o["label"]) for o in rules["tags"]["options"]] == [
        (1, "Customer"), (hot_id, "Hot Lead"), (cold["tags"][0]["id"], "Cold Lead"), (4, "Warm Lead")]
    assert {r["id"]: r for r in concord.get("deals/rules").json()}["tags"]["options"] == []  # deals' own tags
    bad = concord.get("contacts", filters=tags_filter("in", ["1 OR 1=1"]))
    assert bad.status_code == 422
    assert concord.get("contacts", filters=tags_filter("equal", [hot_id])).status_code == 422


def test_tags_are_tag_records_through_the_other_protocols(concord: Concord):
    deal = concord.create("deals", {"name": "Tagged", "stage_id": 1, "tags": ["Q3"]})
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    tag_id = deal["tags"][0]["id"]
    tag = espo.get(f"/api/v1/Tag/{tag_id}").json()
    assert (tag["name"], tag["type"], tag["displayOrder"]) == ("Q3", "deals", 1000)
    opportunity = espo.get(f"/api/v1/Opportunity/{deal['id']}").json()
    assert opportunity["tagsIds"] in ([str(tag_id)], [tag_id])
    # a tag linked through EspoCRM shows through Concord
    contact = concord.create("contacts", {"first_name": "Espo"})
    made = espo.post("/api/v1/Tag", json={"name": "From Espo", "type": "contacts"}).json()
    assert espo.post(f"/api/v1/Contact/{contact['id']}/tags", json={"id": made["id"]}).status_code == 200
    assert names(concord.get(f"contacts/{contact['id']}").json()) == ["From Espo"]
    # a deleted tag is no longer shown
    assert espo.delete(f"/api/v1/Tag/{made['id']}").status_code == 200
    assert concord.get(f"contacts/{contact['id']}").json()["tags"] == []


def test_a_user_who_may_not_make_tags_gets_the_known_ones(concord: Concord):
    concord.create("contacts", {"first_name": "Seed", "tags": ["Known"]})
    bob = concord.as_user("bob", {"Contact": {"create": "yes", "read": "all", "edit": "all"},
                                  "Tag": {"read": "all"}})
    response = bob.post("contacts", {"first_name": "Bob's", "tags": ["known", "Unknown"]})
    assert response.status_code == 201, response.content
    assert names(response.json()) == ["Known"]
    assert "Unknown" in response.headers["X-PolyCRM-Warning"]
    plain = concord.as_user("carol", {"Contact": {"create": "yes", "read": "all"}})
    assert names(plain.get(f"contacts/{response.json()['id']}").json()) == ["Known"]  # every user reads tags


@pytest.mark.parametrize("tags, key, message", [
    ([1, "ok"], "tags.0", "The tags.0 field must be a string."),
    (["ok", {"name": "x"}], "tags.1", "The tags.1 field must be a string."),
    (["x" * 192], "tags.0", "The tags.0 field must not be greater than 191 characters."),
    ({"name": "x"}, "tags", "The Tags field must be an array."),
    (7, "tags", "The Tags field must be an array."),
    ([f"t{i}" for i in range(101)], "tags", "The Tags field must be an array of at most 100 tag names."),
])
def test_bad_tags_are_a_422_and_nothing_is_written(concord: Concord, tags: Any, key: str, message: str):
    response = concord.post("contacts", {"first_name": "Bad", "tags": tags})
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == {key: [message]}
    assert concord.get("contacts", q="Bad").json()["meta"]["total"] == 0
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.get("/api/v1/Tag").json()["total"] == 4  # Concord's seeded contacts tags only


def test_a_refused_record_makes_no_tag(concord: Concord):
    response = concord.post("deals", {"name": "No stage", "tags": ["Orphan"]})
    assert response.status_code == 422
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.get("/api/v1/Tag").json()["total"] == 4  # Concord's seeded contacts tags only
    injected = concord.create("contacts", {"first_name": "Q", "tags": ["'); DROP TABLE tag; --"]})
    assert names(injected) == ["'); DROP TABLE tag; --"]


def test_concords_contacts_tags_are_seeded_only_into_a_store_without_any(store: Store):
    """Concord's EnsureDefaultContactTagsArePresent: the four tags go only where no contacts tag is yet."""
    admin = Actor(user_id=0, user_name="system", is_admin=True, user_type="admin")
    core = Core(store.database)
    core.records("Tag").create(admin, {"name": "Mine", "type": "contacts"})
    assert "Tag" in ensure_default_lookups(store.database)  # done once: not again when the tag is gone
    assert [tag["name"] for tag in core.records("Tag").search(admin, SearchQuery()).records] == ["Mine"]
