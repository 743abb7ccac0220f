"""Calls, notes and call outcomes through Concord (specs/concord.md §2, §4 "Calls", "Notes", "Call outcomes",
§5): a call or note is written from a record (`via_resource`, `via_resource_id`) and attached to it; a call
has an outcome (a new store has Concord's six); both associate with contacts, companies and deals, which
count and list them; a call is EspoCRM's Call, a note a RecordNote (EspoCRM's Note is the stream)."""

from __future__ import annotations

from typing import Any

import pytest

from polycrm.core.call_outcomes import DEFAULT_OUTCOMES, ensure_default_call_outcomes
from polycrm.core.summaries import SUMMARY_LENGTH, summary
from tests.concord.conftest import Concord

WHEN = "2030-03-04 10:15:00"


@pytest.fixture
def outcomes(concord: Concord) -> dict[str, int]:
    """The seeded outcomes by name."""
    return {row["name"]: row["id"] for row in concord.get("call-outcomes", per_page="50").json()["data"]}


@pytest.fixture
def contact(concord: Concord) -> dict[str, Any]:
    return concord.create("contacts", {"first_name": "Callee", "last_name": "Person"})


def log_call(concord: Concord, outcome: int, via: tuple[str, int], **extra: Any) -> dict[str, Any]:
    return concord.create("calls", {"call_outcome_id": outcome, "date": WHEN, "body": "<p>Talked about pricing</p>",
                                    "via_resource": via[0], "via_resource_id": via[1], **extra})


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def test_a_new_store_has_concords_call_outcomes_once(concord: Concord) -> None:
    rows = concord.get("call-outcomes", per_page="50").json()["data"]
    assert sorted((row["name"], row["swatch_color"]) for row in rows) == sorted(DEFAULT_OUTCOMES)
    assert [row["name"] for row in rows] == sorted(name for name, _ in DEFAULT_OUTCOMES)  # ordered by name
    gone = rows[0]["id"]
    assert concord.delete(f"call-outcomes/{gone}").status_code == 204
    assert ensure_default_call_outcomes(concord.harness.app.state.core.database) is False  # never twice
    assert concord.get("call-outcomes").json()["meta"]["total"] == len(DEFAULT_OUTCOMES) - 1


def test_call_outcomes_crud_and_their_rules(concord: Concord) -> None:
    made = concord.create("call-outcomes", {"name": "Voicemail full", "swatch_color": "#123abc"})
    assert made["name"] == "Voicemail full" and "display_name" not in made  # the model's own JSON
    taken = concord.post("call-outcomes", {"name": "Busy"})
    assert taken.status_code == 422 and taken.json()["errors"] == {"name": ["The Name has already been taken."]}
    bad = concord.post("call-outcomes", {"name": "Odd", "swatch_color": "red"})
    assert bad.status_code == 422 and bad.json()["errors"] == {
        "swatch_color": ["The Color field must be a valid hexadecimal color."]}
    assert concord.post("call-outcomes", {}).json()["errors"] == {"name": ["The Name field is required."]}
    assert concord.put(f"call-outcomes/{made['id']}", {"swatch_color": "#fff"}).json()["swatch_color"] == "#fff"
    assert concord.get("call-outcomes/search", q="voicemail").json()[0]["id"] == made["id"]


def test_log_a_call_on_a_contact(concord: Concord, outcomes: dict[str, int], contact: dict[str, Any]) -> None:
    response = concord.post("calls", {"call_outcome_id": outcomes["Busy"], "date": WHEN, "body": "Line busy",
                                      "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert response.status_code == 201 and "x-polycrm-warning" not in response.headers
    call = response.json()
    assert call["call_outcome_id"] == outcomes["Busy"] and call["date"] == "2030-03-04T10:15:00.000000Z"
    assert call["body"] == "Line busy" and call["user_id"] == concord.user_id  # the author, as Concord's
    assert call["was_recently_created"] is True and call["path"] == f"/calls/{call['id']}"
    assert ids(call["contacts"]) == [contact["id"]] and call["companies"] == [] and call["deals"] == []
    assert call["contacts_count"] == 1 and call["associations_count"] == 1
    shown = concord.get(f"contacts/{contact['id']}").json()
    assert shown["calls_count"] == 1 and ids(shown["calls"]) == [call["id"]] and shown["notes_count"] == 0
    listed = concord.get(f"contacts/{contact['id']}/calls").json()
    assert ids(listed["data"]) == [call["id"]] and listed["meta"]["total"] == 1
    assert ids(concord.get(f"associations/contacts/{contact['id']}").json()["calls"]) == [call["id"]]


def test_update_delete_and_trash_a_call(concord: Concord, outcomes: dict[str, int], contact: dict[str, Any]) -> None:
    call = log_call(concord, outcomes["No Answer"], ("contacts", contact["id"]))
    path = f"calls/{call['id']}"
    updated = concord.put(path, {"body": "Called back, all good", "call_outcome_id": outcomes["Busy"]})
    assert updated.status_code == 200
    assert updated.json()["body"] == "Called back, all good" and updated.json()["was_recently_created"] is False
    assert updated.json()["display_name"] == "Called back, all good"  # the name follows the body it summed up
    assert ids(updated.json()["contacts"]) == [contact["id"]]  # no via on update: the associations stay
    assert concord.put(path, {"body": " "}).json()["errors"] == {"body": ["This field is required."]}
    assert concord.delete(path).status_code == 204
    assert concord.get(path).status_code == 404
    assert concord.get(f"contacts/{contact['id']}").json()["calls_count"] == 0
    assert ids(concord.get("trashed/calls").json()["data"]) == [call["id"]]
    assert concord.post(f"trashed/calls/{call['id']}").status_code == 200
    assert concord.get(f"contacts/{contact['id']}").json()["calls_count"] == 1


def test_via_attaches_companies_and_deals_and_keeps_sent_associations(concord: Concord,
                                                                      outcomes: dict[str, int]) -> None:
    company = concord.create("companies", {"name": "Acme"})
    stage = concord.get("pipeline-stages").json()["data"][0]["id"]
    deal = concord.create("deals", {"name": "Big", "stage_id": stage})
    other = concord.create("contacts", {"first_name": "Other"})
    call = log_call(concord, outcomes["Busy"], ("companies", company["id"]), contacts=[other["id"]],
                    companies=[])
    assert ids(call["companies"]) == [company["id"]] and ids(call["contacts"]) == [other["id"]]
    moved = concord.put(f"calls/{call['id']}", {"via_resource": "deals", "via_resource_id": deal["id"]}).json()
    assert ids(moved["deals"]) == [deal["id"]] and ids(moved["companies"]) == [company["id"]]
    assert concord.get(f"deals/{deal['id']}").json()["calls_count"] == 1
    assert ids(concord.get(f"companies/{company['id']}/calls").json()["data"]) == [call["id"]]
    attached = concord.put(f"associations/calls/{call['id']}", {"contacts": [concord.create(
        "contacts", {"first_name": "Third"})["id"]]})
    assert attached.status_code == 200 and len(attached.json()["contacts"]) == 2


def test_notes_crud(concord: Concord) -> None:
    company = concord.create("companies", {"name": "Noted"})
    response = concord.post("notes", {"body": "<p>Met at the <b>fair</b>; wants a demo &amp; a quote.</p>",
                                      "via_resource": "companies", "via_resource_id": str(company["id"])})
    assert response.status_code == 201
    note = response.json()
    assert note["user_id"] == concord.user_id and ids(note["companies"]) == [company["id"]]
    assert note["display_name"] == "Met at the fair; wants a demo & a quote."
    shown = concord.get(f"companies/{company['id']}").json()
    assert shown["notes_count"] == 1 and ids(shown["notes"]) == [note["id"]]
    path = f"notes/{note['id']}"
    assert concord.put(path, {"body": "Demo booked"}).json()["body"] == "Demo booked"
    assert ids(concord.get("notes", q="demo").json()["data"]) == [note["id"]]
    assert concord.delete(path).status_code == 204 and concord.get(path).status_code == 404
    assert concord.delete(f"trashed/notes/{note['id']}").status_code == 204
    assert concord.get(f"companies/{company['id']}").json()["notes_count"] == 0


def test_lists_filters_and_search(concord: Concord, outcomes: dict[str, int], contact: dict[str, Any]) -> None:
    busy = log_call(concord, outcomes["Busy"], ("contacts", contact["id"]), body="Busy line", date="2030-01-01")
    answered = log_call(concord, outcomes["Moved conversation forward"], ("contacts", contact["id"]),
                        body="Great talk")
    assert ids(concord.get("calls").json()["data"]) == [busy["id"], answered["id"]]  # Concord's order: id
    assert ids(concord.get("calls", order="date|desc").json()["data"]) == [answered["id"], busy["id"]]
    rule = {"filters[condition]": "and", "filters[children][0][type]": "rule",
            "filters[children][0][query][type]": "select", "filters[children][0][query][rule]": "call_outcome_id",
            "filters[children][0][query][operator]": "equal",
            "filters[children][0][query][value]": str(outcomes["Busy"])}
    assert ids(concord.get("calls", **rule).json()["data"]) == [busy["id"]]
    mine = {**rule, "filters[children][0][query][rule]": "user_id", "filters[children][0][query][value]": "me"}
    assert len(concord.get("calls", **mine).json()["data"]) == 2
    assert ids(concord.get("calls", q="great").json()["data"]) == [answered["id"]]
    assert ids(concord.get("calls/search", q="busy").json()) == [busy["id"]]
    rules = {rule["id"] for rule in concord.get("calls/rules").json()}
    assert {"call_outcome_id", "date", "user_id", "created_at"} <= rules
    unknown = concord.get("calls", **{**rule, "filters[children][0][query][rule]": "nosuch"})
    assert unknown.status_code == 422


def test_missing_and_wrong_input(concord: Concord, outcomes: dict[str, int], contact: dict[str, Any]) -> None:
    empty = concord.post("calls", {})
    assert empty.status_code == 422 and empty.json()["errors"] == {
        "call_outcome_id": ["The Outcome field is required."], "date": ["The Call Date field is required."],
        "body": ["This field is required."], "via_resource": ["The via resource field is required."],
        "via_resource_id": ["The via resource id field is required."]}
    assert concord.post("notes", {}).json()["errors"] == {
        "body": ["This field is required."], "via_resource": ["The via resource field is required."],
        "via_resource_id": ["The via resource id field is required."]}
    good = {"call_outcome_id": outcomes["Busy"], "date": WHEN, "body": "B", "via_resource": "contacts",
            "via_resource_id": contact["id"]}
    cases = [
        ({"call_outcome_id": 999999}, {"call_outcome_id": ["The selected Outcome is invalid."]}),
        ({"call_outcome_id": "busy"}, {"call_outcome_id": ["The Outcome field must be a number."]}),
        ({"date": "yesterday"}, {"date": ["The Call Date field must be a valid date."]}),
        ({"body": "   "}, {"body": ["This field is required."]}),
        ({"body": ["x"]}, {"body": ["The body field must be a string."]}),
        ({"via_resource": "users"}, {"via_resource": ["The selected via resource is invalid."]}),
        ({"via_resource_id": "abc"}, {"via_resource_id": ["The via resource id field must be a number."]}),
        ({"via_resource_id": 999999}, {"via_resource_id": ["The selected via resource id is invalid."]}),
        ({"via_resource": "deals"}, {"via_resource_id": ["The selected via resource id is invalid."]}),
    ]
    for change, errors in cases:
        response = concord.post("calls", {**good, **change})
        assert response.status_code == 422 and response.json()["errors"] == errors, (change, response.content)
    assert concord.get("calls").json()["meta"]["total"] == 0  # nothing half-written
    assert concord.get(f"contacts/{contact['id']}").json()["calls_count"] == 0
    ignored = concord.post("calls", {**good, "user_id": 999, "nonsense": 1})
    assert ignored.status_code == 201 and ignored.json()["user_id"] == concord.user_id
    assert "nonsense" in ignored.headers["x-polycrm-warning"] and "user_id" not in ignored.headers["x-polycrm-warning"]
    half = concord.put(f"calls/{ignored.json()['id']}", {"via_resource": "contacts"})
    assert half.json()["errors"] == {"via_resource_id": ["The via resource id field is required."]}


HOSTILE = [None, True, 1e308, -1, [], {}, [1, [2]], "", "x" * 70_000, "\u202e\u0000", "<script>alert(1)</script>",
           "' OR '1'='1", "%"]


@pytest.mark.parametrize("resource, key", [("calls", "call_outcome_id"), ("calls", "date"), ("calls", "body"),
                                           ("calls", "via_resource"), ("calls", "via_resource_id"),
                                           ("calls", "deals"), ("notes", "body"), ("notes", "via_resource_id"),
                                           ("notes", "companies"), ("call-outcomes", "swatch_color")])
def test_every_key_takes_any_json_value_without_a_500(concord: Concord, outcomes: dict[str, int],
                                                      contact: dict[str, Any], resource: str, key: str) -> None:
    base = {"calls": {"call_outcome_id": outcomes["Busy"], "date": WHEN, "body": "B", "via_resource": "contacts",
                      "via_resource_id": contact["id"]},
            "notes": {"body": "B", "via_resource": "contacts", "via_resource_id": contact["id"]},
            "call-outcomes": {"name": "Hostile"}}[resource]
    for position, value in enumerate(HOSTILE):
        body = {**base, key: value} if resource != "call-outcomes" else {"name": f"Hostile {position}", key: value}
        response = concord.post(resource, body)
        assert response.status_code in (201, 422), (key, str(value)[:80], response.status_code, response.content[:300])


def test_a_user_who_cannot_read_the_record_cannot_write_from_it(concord: Concord, outcomes: dict[str, int]) -> None:
    theirs = concord.create("contacts", {"first_name": "Not yours"})
    scopes = {"Call": {"create": "yes", "read": "own", "edit": "own", "delete": "own"},
              "RecordNote": {"create": "yes", "read": "own", "edit": "own", "delete": "own"},
              "Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}}
    limited = concord.as_user("caller", scopes)
    body = {"call_outcome_id": outcomes["Busy"], "date": WHEN, "body": "Sneaky", "via_resource": "contacts",
            "via_resource_id": theirs["id"]}
    refused = limited.post("calls", body)
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"via_resource_id": ["The selected via resource id is invalid."]}
    assert limited.post("notes", {"body": "Sneaky", "via_resource": "contacts",
                                  "via_resource_id": theirs["id"]}).status_code == 422
    assert concord.get(f"contacts/{theirs['id']}").json()["calls_count"] == 0
    mine = limited.create("contacts", {"first_name": "Mine", "user_id": limited.user_id})
    call = limited.create("calls", {**body, "via_resource_id": mine["id"]})
    assert ids(call["contacts"]) == [mine["id"]] and call["user_id"] == limited.user_id
    assert limited.get(f"calls/{call['id']}").status_code == 200
    assert ids(limited.get("calls").json()["data"]) == [call["id"]]
    assert limited.get("call-outcomes").json()["meta"]["total"] == len(DEFAULT_OUTCOMES)  # everyone reads them
    assert limited.post("call-outcomes", {"name": "Mine"}).status_code == 403


def test_a_concord_call_is_the_espocrm_call(concord: Concord, outcomes: dict[str, int],
                                            contact: dict[str, Any]) -> None:
    call = log_call(concord, outcomes["Left voice message"], ("contacts", contact["id"]))
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    shown = espo.get(f"/api/v1/Call/{call['id']}").json()
    assert shown["name"] == "Talked about pricing" and shown["description"] == "<p>Talked about pricing</p>"
    assert shown["dateStart"] == WHEN and shown["status"] == "Held"
    assert shown["callOutcomeId"] == str(outcomes["Left voice message"])
    assert shown["callOutcomeName"] == "Left voice message"
    assert shown["contactsIds"] == [str(contact["id"])]
    assert espo.get(f"/api/v1/CallOutcome/{outcomes['Busy']}").json()["swatchColor"] == "#f43f5e"
    made = espo.post("/api/v1/Call", json={"name": "From Espo", "dateStart": WHEN, "dateEnd": "2030-03-04 10:30:00",
                                           "callOutcomeId": str(outcomes["Busy"]), "description": "Espo body",
                                           "contactsIds": [str(contact["id"])]}).json()
    through = concord.get(f"calls/{made['id']}").json()
    assert through["display_name"] == "From Espo" and through["body"] == "Espo body"
    assert concord.put(f"calls/{made['id']}", {"body": "New body"}).json()["display_name"] == "From Espo"  # typed
    unnamed = espo.post("/api/v1/Call", json={"dateStart": WHEN, "dateEnd": WHEN, "description": "x " * 80})
    assert unnamed.json()["name"] == summary("x " * 80) and len(unnamed.json()["name"]) <= SUMMARY_LENGTH + 1
    assert espo.post("/api/v1/Call", json={"dateStart": WHEN, "dateEnd": WHEN}).status_code == 400  # no text
    assert through["call_outcome_id"] == outcomes["Busy"] and ids(through["contacts"]) == [contact["id"]]
    note = concord.create("notes", {"body": "A note", "via_resource": "contacts", "via_resource_id": contact["id"]})
    record_note = espo.get(f"/api/v1/RecordNote/{note['id']}").json()
    assert record_note["body"] == "A note" and record_note["contactsIds"] == [str(contact["id"])]
    assert espo.get(f"/api/v1/Contact/{contact['id']}/recordNotes").json()["total"] == 1


# What Concord CRM 1.4.1 answered (a call and a note logged on a contact, read through `/api/calls/{id}`,
# `?with=comments` and `/api/contacts/{id}/calls`): the keys of its nested objects, in order.
PEER_OUTCOME_KEYS = ["id", "name", "swatch_color", "created_at", "updated_at", "authorizations",
                     "was_recently_created"]
PEER_COMMENT_KEYS = ["id", "body", "created_by", "created_at", "updated_at", "authorizations", "was_recently_created"]


def after(row: dict[str, Any], key: str) -> str:
    """The key right after `key` in a record."""
    keys = list(row)
    return keys[keys.index(key) + 1]


def test_calls_and_notes_nest_their_user_outcome_and_comments(concord: Concord, outcomes: dict[str, int],
                                                              contact: dict[str, Any]) -> None:
    call = log_call(concord, outcomes["Busy"], ("contacts", contact["id"]))
    me = concord.get(f"users/{concord.user_id}").json()
    outcome = next(row for row in concord.get("call-outcomes").json()["data"] if row["id"] == outcomes["Busy"])
    assert call["user"] == me and after(call, "user_id") == "user"  # always loaded, as Concord's withCommon
    assert list(call["outcome"]) == PEER_OUTCOME_KEYS and call["outcome"] == outcome
    assert after(call, "call_outcome_id") == "outcome" and "comments" not in call
    comment = concord.create(f"calls/{call['id']}/comments", {"body": "Follow up", "via_resource": "contacts",
                                                             "via_resource_id": contact["id"]})
    shown = concord.http.get(f"/api/calls/{call['id']}", params={"with": "comments;media"}).json()
    assert list(shown)[list(shown).index("comments") + 1] == "comments_count"
    assert [list(row) for row in shown["comments"]] == [PEER_COMMENT_KEYS]
    assert shown["comments"][0] == {key: value for key, value in comment.items() if key != "creator"} | {
        "was_recently_created": False}
    assert shown["media"] == []  # the other `with` names still read
    for rows in (concord.get("calls").json()["data"], concord.get(f"contacts/{contact['id']}/calls").json()["data"],
                 concord.get("calls/search", q="pricing")):
        rows = rows if isinstance(rows, list) else rows.json()
        assert rows[0]["user"] == me and rows[0]["outcome"] == outcome and "comments" not in rows[0]
    listed = concord.http.get(f"/api/contacts/{contact['id']}/calls", params={"with": "comments"}).json()["data"]
    assert [row["id"] for row in listed[0]["comments"]] == [comment["id"]]
    nested = concord.get(f"contacts/{contact['id']}").json()["calls"][0]  # Concord loads the outcome only there
    assert nested["outcome"] == outcome and "user" not in nested and "comments" not in nested
    note = concord.create("notes", {"body": "Noted", "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert note["user"] == me and after(note, "user_id") == "user" and "outcome" not in note
    assert concord.http.get(f"/api/notes/{note['id']}", params={"with": "comments"}).json()["comments"] == []


def test_nested_comments_through_every_protocol_and_for_a_limited_user(concord: Concord, outcomes: dict[str, int],
                                                                       contact: dict[str, Any]) -> None:
    scopes = {"Call": {"create": "yes", "read": "all", "edit": "own", "delete": "own"},
              "Contact": {"create": "yes", "read": "all", "edit": "all", "delete": "no"}}
    limited = concord.as_user("reader", scopes)
    call = log_call(concord, outcomes["No Answer"], ("contacts", contact["id"]))
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    made = espo.post("/api/v1/Comment", json={"body": "From Espo", "parentType": "Call", "parentId": call["id"]})
    assert made.status_code == 200, made.content
    theirs = limited.http.get(f"/api/calls/{call['id']}", params={"with": "comments"}).json()
    assert [row["body"] for row in theirs["comments"]] == ["From Espo"] and theirs["comments_count"] == 1
    assert theirs["comments"][0]["authorizations"] == {"view": False, "update": False, "delete": False}
    assert theirs["user"]["id"] == concord.user_id and theirs["outcome"]["id"] == outcomes["No Answer"]
    mine = limited.create(f"calls/{call['id']}/comments", {"body": "Mine", "via_resource": "contacts",
                                                          "via_resource_id": contact["id"]})
    rows = limited.http.get("/api/calls", params={"with": "comments"}).json()["data"][0]["comments"]
    assert [(row["id"], row["authorizations"]["update"]) for row in rows] == [(int(made.json()["id"]), False),
                                                                             (mine["id"], True)]


@pytest.mark.parametrize("value", ["comments;comments", ";;", "nosuch", "COMMENTS", "x" * 5000, "comments;user"])
def test_odd_with_values_are_no_500(concord: Concord, outcomes: dict[str, int], contact: dict[str, Any],
                                    value: str) -> None:
    call = log_call(concord, outcomes["Busy"], ("contacts", contact["id"]))
    for path in (f"/api/calls/{call['id']}", "/api/calls", f"/api/contacts/{contact['id']}/calls"):
        response = concord.http.get(path, params={"with": value})
        assert response.status_code == 200, (path, response.content[:200])
    assert concord.http.get("/api/calls", params=[("with[]", "comments")]).status_code in (200, 422)
    assert concord.http.get(f"/api/calls/{call['id']}", headers={"Authorization": ""}).status_code == 401


IN_USE = "The call outcome is already associated with calls, hence, cannot be deleted."  # the peer's 409


def test_an_outcome_calls_use_is_kept_whatever_the_protocol(concord: Concord, outcomes: dict[str, int],
                                                            contact: dict[str, Any]) -> None:
    used = concord.create("call-outcomes", {"name": "Used"})
    spare = concord.create("call-outcomes", {"name": "Spare"})
    call = log_call(concord, used["id"], ("contacts", contact["id"]))
    refused = concord.delete(f"call-outcomes/{used['id']}")
    assert refused.status_code == 409 and refused.json() == {"message": IN_USE}
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    through_espo = espo.delete(f"/api/v1/CallOutcome/{used['id']}")
    assert through_espo.status_code == 409 and through_espo.headers["x-status-reason"] == IN_USE
    mass = espo.post("/api/v1/CallOutcome/action/massDelete", json={"ids": [str(spare["id"]), str(used["id"])]})
    assert mass.status_code == 409  # all or nothing: the spare one stays too
    assert concord.get(f"call-outcomes/{spare['id']}").status_code == 200
    assert concord.get(f"calls/{call['id']}").json()["outcome"]["id"] == used["id"]
    assert concord.delete(f"calls/{call['id']}").status_code == 204  # trashed: it may come back with its outcome
    assert concord.delete(f"call-outcomes/{used['id']}").json() == {"message": IN_USE}
    assert concord.delete(f"trashed/calls/{call['id']}").status_code == 204
    assert concord.delete(f"call-outcomes/{used['id']}").status_code == 204
    assert concord.delete(f"call-outcomes/{spare['id']}").status_code == 204
    limited = concord.as_user("outcomes", {"CallOutcome": {"create": "no", "read": "all", "edit": "no",
                                                            "delete": "no"}})
    assert limited.delete(f"call-outcomes/{outcomes['Busy']}").status_code == 403
    assert concord.http.delete(f"/api/call-outcomes/{outcomes['Busy']}",
                               headers={"Authorization": ""}).status_code == 401
