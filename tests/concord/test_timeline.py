"""A record's timeline (`GET /api/{resource}/{id}/timeline`, specs/concord.md §2 "misc") of contacts, companies
and deals, as Concord CRM 1.4.1 answers it: `{"data": [...], "resources": [...]}`, the record's changelog (its
stream notes) and its activities, calls, notes and documents, a page of each, newest first."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import Concord

CHANGELOG_KEYS = ["id", "description", "causer_name", "properties", "module", "created_at", "updated_at",
                  "timeline_component", "timeline_relation", "timeline_key", "timeline_sort_column", "is_pinned",
                  "pinned_date", "was_recently_created"]
RESOURCES = [{"name": "activities", "label": "Activities", "timeline_relation": "activities"},
             {"name": "calls", "label": "Calls", "timeline_relation": "calls"},
             {"name": "documents", "label": "Documents", "timeline_relation": "documents"},
             {"name": "notes", "label": "Notes", "timeline_relation": "notes"}]


def kinds(timeline: dict[str, Any]) -> list[tuple[str, str]]:
    return [(entry["timeline_key"], entry["timeline_component"]) for entry in timeline["data"]]


def contact_with_history(concord: Concord) -> dict[str, Any]:
    contact = concord.create("contacts", {"first_name": "Ann", "user_id": concord.user_id})
    assert concord.put(f"contacts/{contact['id']}", {"user_id": None}).status_code == 200
    return contact


def test_a_contacts_changes_and_records(concord: Concord) -> None:
    contact = contact_with_history(concord)
    via = {"via_resource": "contacts", "via_resource_id": contact["id"], "contacts": [contact["id"]]}
    note = concord.create("notes", {"body": "A note", **via})
    call = concord.create("calls", {"body": "Called", "date": "2030-03-04 10:15:00", "call_outcome_id": 1, **via})
    task = concord.create("activities", {"title": "Meet", "due_date": "2030-01-15", "user_id": concord.user_id,
                                         "contacts": [contact["id"]]})
    concord.create("contacts", {"first_name": "Other"})  # its history is not Ann's
    response = concord.get(f"contacts/{contact['id']}/timeline")
    assert response.status_code == 200, response.content
    timeline = response.json()
    assert list(timeline) == ["data", "resources"] and timeline["resources"] == RESOURCES
    changes = [entry for entry in timeline["data"] if entry["timeline_relation"] == "changelog"]
    assert [entry["description"] for entry in changes] == ["updated", "created"]  # newest first
    updated, created = changes
    assert list(created) == CHANGELOG_KEYS
    assert created["properties"] == {"attributes": {"user_id": concord.user_id, "user.name": "admin"}}
    assert created["module"] == "contacts" and created["causer_name"] == "admin"
    assert (created["timeline_component"], created["timeline_key"], created["timeline_sort_column"],
            created["is_pinned"], created["pinned_date"], created["was_recently_created"]) == \
           ("created", "changelog", "created_at", False, None, False)
    assert updated["properties"] == {"attributes": {"user_id": None, "user.name": None}, "old": {}}
    assert updated["timeline_component"] == "updated"
    related = {(entry["timeline_key"], entry["id"]): entry for entry in timeline["data"]
               if entry["timeline_relation"] != "changelog"}
    assert set(related) == {("note", note["id"]), ("call", call["id"]), ("activity", task["id"])}
    shown_note = related[("note", note["id"])]
    assert shown_note["body"] == "A note" and shown_note["timeline_component"] == "record-tab-timeline-note"
    # the index row, the timeline keys after its timestamps (Concord's JsonResource)
    keys = list(shown_note)
    assert keys[keys.index("updated_at") + 1:keys.index("updated_at") + 7] == [
        "timeline_component", "timeline_relation", "timeline_key", "timeline_sort_column", "is_pinned",
        "pinned_date"]
    assert related[("call", call["id"])]["timeline_component"] == "record-tab-timeline-call"
    assert related[("activity", task["id"])]["timeline_relation"] == "activities"
    stamps = [entry["created_at"] for entry in timeline["data"]]
    assert stamps == sorted(stamps, reverse=True)


def test_each_part_is_paged_alone(concord: Concord) -> None:
    contact = contact_with_history(concord)
    for body in ("one", "two", "three"):
        concord.create("notes", {"body": body, "via_resource": "contacts", "via_resource_id": contact["id"],
                                 "contacts": [contact["id"]]})
    path = f"contacts/{contact['id']}/timeline"
    first = concord.get(path, per_page="1").json()
    assert sorted(kinds(first)) == [("changelog", "updated"), ("note", "record-tab-timeline-note")]
    assert [e["body"] for e in first["data"] if e["timeline_key"] == "note"] == ["three"]
    second = concord.get(path, per_page="1", page="2").json()
    assert sorted(kinds(second)) == [("changelog", "created"), ("note", "record-tab-timeline-note")]
    assert [e["body"] for e in second["data"] if e["timeline_key"] == "note"] == ["two"]
    assert kinds(concord.get(path, per_page="2", page="2").json()) == [("note", "record-tab-timeline-note")]
    assert concord.get(path, per_page="2", page="9").json()["data"] == []
    everything = concord.get(path).json()["data"]
    assert len(everything) == 5
    # as Concord's lists read them: 0, a word, a page below 1 are the defaults
    for query in ({"per_page": "0"}, {"per_page": "abc"}, {"page": "abc"}, {"page": "-1"}, {"page": "0"}):
        assert concord.get(path, **query).json()["data"] == everything, query


@pytest.mark.parametrize("query, key", [({"per_page": "-1"}, "per_page"), ({"per_page": "1001"}, "per_page"),
                                        ({"page": "1000001"}, "page")])
def test_bad_page_parameters_are_422_as_on_lists(concord: Concord, query: dict[str, str], key: str) -> None:
    contact = concord.create("contacts", {"first_name": "Ann"})
    response = concord.get(f"contacts/{contact['id']}/timeline", **query)
    assert response.status_code == 422 and list(response.json()["errors"]) == [key]


def test_q_searches_the_records_not_the_changelog(concord: Concord) -> None:
    contact = contact_with_history(concord)
    via = {"via_resource": "contacts", "via_resource_id": contact["id"], "contacts": [contact["id"]]}
    concord.create("notes", {"body": "About pricing", **via})
    concord.create("notes", {"body": "Lunch", **via})
    found = concord.get(f"contacts/{contact['id']}/timeline", q="pricing").json()["data"]
    assert [e.get("body") for e in found if e["timeline_key"] == "note"] == ["About pricing"]
    assert len([e for e in found if e["timeline_key"] == "changelog"]) == 2
    assert concord.get(f"contacts/{contact['id']}/timeline", q="x\x00").status_code == 422


def test_companies_and_deals_and_changes_made_through_espocrm(concord: Concord) -> None:
    company = concord.create("companies", {"name": "Acme"})
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.put(f"/api/v1/Account/{company['id']}", json={"name": "Acme Ltd"}).status_code == 200
    espo.post("/api/v1/Note", json={"type": "Post", "post": "An EspoCRM post", "parentType": "Account",
                                    "parentId": str(company["id"])})
    timeline = concord.get(f"companies/{company['id']}/timeline").json()
    changes = [e for e in timeline["data"] if e["timeline_key"] == "changelog"]
    assert [e["description"] for e in changes] == ["updated", "created"]  # no entry for the post
    assert changes[0]["properties"] == {"attributes": {"name": "Acme Ltd"}, "old": {"name": "Acme"}}
    assert changes[0]["module"] == "contacts"  # Concord's Contacts module has the companies
    activity = concord.create("activities", {"title": "Visit", "due_date": "2030-01-15",
                                             "user_id": concord.user_id, "companies": [company["id"]]})
    assert [(e["timeline_key"], e["id"]) for e in concord.get(f"companies/{company['id']}/timeline").json()["data"]
            if e["timeline_key"] != "changelog"] == [("activity", activity["id"])]
    [pipeline] = concord.get("pipelines").json()["data"]
    deal = concord.create("deals", {"name": "Big", "amount": 100, "stage_id": pipeline["stages"][0]["id"]})
    assert espo.put(f"/api/v1/Opportunity/{deal['id']}", json={"amount": 250}).status_code == 200
    changes = [e for e in concord.get(f"deals/{deal['id']}/timeline").json()["data"]
               if e["timeline_key"] == "changelog"]
    assert changes[0]["module"] == "deals" and changes[0]["properties"]["attributes"]["amount"] == 250
    assert changes[0]["properties"]["old"]["amount"] == 100


@pytest.mark.parametrize("path", ["calls/1/timeline", "products/1/timeline", "pipelines/1/timeline",
                                  "nosuch/1/timeline"])
def test_resources_without_a_timeline_are_404(concord: Concord, path: str) -> None:
    response = concord.get(path)
    assert response.status_code == 404 and "message" in response.json()


@pytest.mark.parametrize("raw", ["999999", "abc", "0"])
def test_unknown_records_are_404_naming_the_model(concord: Concord, raw: str) -> None:
    response = concord.get(f"contacts/{raw}/timeline")
    assert response.status_code == 404
    assert response.json() == {"message": f"No query results for model [Modules\\Contacts\\App\\Models\\Contact] {raw}"}


def test_a_deleted_record_has_no_timeline(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Gone"})
    assert concord.delete(f"contacts/{contact['id']}").status_code == 204
    assert concord.get(f"contacts/{contact['id']}/timeline").status_code == 404


def test_the_timeline_needs_a_token(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Ann"})
    anonymous = concord.harness.client(validate=False)
    response = anonymous.get(f"/api/contacts/{contact['id']}/timeline", headers={"Accept": "application/json"})
    assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}
    assert concord.post(f"contacts/{contact['id']}/timeline", {}).status_code == 405


def test_a_limited_user(concord: Concord) -> None:
    """A user who reads contacts but not calls nor users: the contact's calls and the names of users are left
    out; a contact they may not read is 403."""
    seller = concord.as_user("seller", {"Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "no"},
                                        "RecordNote": {"create": "yes", "read": "own", "edit": "own",
                                                       "delete": "no"}, "User": {"read": "no"}})
    theirs = concord.create("contacts", {"first_name": "Theirs", "user_id": seller.user_id})
    via = {"via_resource": "contacts", "via_resource_id": theirs["id"], "contacts": [theirs["id"]]}
    concord.create("calls", {"body": "Admin's call", "date": "2030-03-04 10:15:00", "call_outcome_id": 1, **via})
    concord.create("notes", {"body": "Admin's note", **via})
    own_note = seller.create("notes", {"body": "Seller's note", **via})
    response = seller.get(f"contacts/{theirs['id']}/timeline")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert [(e["timeline_key"], e["id"]) for e in data if e["timeline_key"] != "changelog"] == [
        ("note", own_note["id"])]
    created = next(e for e in data if e["timeline_key"] == "changelog" and e["description"] == "created")
    assert created["properties"]["attributes"]["user_id"] == seller.user_id
    assert created["properties"]["attributes"]["user.name"] == "seller"  # their own user they may read
    admins = concord.create("contacts", {"first_name": "Admin's"})
    forbidden = seller.get(f"contacts/{admins['id']}/timeline")
    assert forbidden.status_code == 403 and "message" in forbidden.json()
    assert concord.as_user("nobody", {"Account": True}).get(f"contacts/{theirs['id']}/timeline").status_code == 403
