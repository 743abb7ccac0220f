"""Activities and activity types through Concord (specs/concord.md §4 "Activities", "Activity types", §5): an
activity is a Task; its due and end dates are a day or a moment, as Concord renders them; `is_completed` is the
task's Completed status; a new store has Concord's five activity types, Task the default one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.concord.conftest import Concord


def activity(concord: Concord, **body: Any) -> dict[str, Any]:
    return concord.create("activities", {"title": "Call Ada", "due_date": "2030-01-15", "user_id": concord.user_id,
                                         **body})


@pytest.fixture
def types(concord: Concord) -> dict[str, dict[str, Any]]:
    """The activity types a new store has, by name."""
    return {t["name"]: t for t in concord.get("activity-types", per_page="100").json()["data"]}


def test_a_new_store_has_concords_activity_types(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    assert sorted(types) == ["Call", "Deadline", "Email", "Meeting", "Task"]
    task = types["Task"]
    assert (task["flag"], task["swatch_color"], task["icon"]) == ("task", "#ffd600", "CheckCircle")
    assert types["Call"]["icon"] == "Phone" and types["Deadline"]["swatch_color"] == "#f43f5e"
    assert task["path"] == f"/activity-types/{task['id']}" and task["display_name"] == "Task"
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.get(f"/api/v1/ActivityType/{task['id']}").json()["isDefault"] is True
    assert espo.get(f"/api/v1/ActivityType/{types['Call']['id']}").json()["isDefault"] is False


def test_activity_types_are_written_and_checked(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    created = concord.create("activity-types", {"name": "Visit", "icon": "MapPin", "swatch_color": "#123456"})
    assert created["flag"] is None and created["name"] == "Visit"
    missing = concord.post("activity-types", {})
    assert missing.status_code == 422 and missing.json()["errors"] == {
        "name": ["The Name field is required."], "swatch_color": ["The Color field is required."],
        "icon": ["The Icon field is required."]}
    taken = concord.post("activity-types", {"name": "Call", "icon": "Phone", "swatch_color": "#000000"})
    assert taken.status_code == 422 and taken.json()["errors"] == {"name": ["The Name has already been taken."],
                                                                   "icon": ["The Icon has already been taken."]}
    long_icon = concord.post("activity-types", {"name": "Long", "icon": "x" * 51, "swatch_color": "#000000"})
    assert long_icon.json()["errors"] == {"icon": ["The Icon field must not be greater than 50 characters."]}
    assert concord.put(f"activity-types/{created['id']}", {"name": "Site visit"}).json()["name"] == "Site visit"
    assert concord.delete(f"activity-types/{created['id']}").status_code == 204


def test_create_show_update_delete(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    response = concord.post("activities", {"title": "Call Ada", "due_date": "2030-01-15", "user_id": concord.user_id,
                                           "description": "<p>Agenda</p>", "note": "Private",
                                           "reminder_minutes_before": 30, "guests": {"users": [concord.user_id]}})
    assert response.status_code == 201 and "x-polycrm-warning" not in response.headers  # guests are kept
    created = response.json()
    assert [(g["resource_name"], g["id"]) for g in created["guests"]] == [("users", concord.user_id)]
    assert created["was_recently_created"] is True and created["display_name"] == "Call Ada"
    assert created["path"] == f"/activities/{created['id']}"
    assert created["activity_type_id"] == types["Task"]["id"]  # the default type
    assert created["due_date"] == "2030-01-15" and created["end_date"] == "2030-01-15"  # all day; end = due
    assert (created["description"], created["note"], created["reminder_minutes_before"]) == (
        "<p>Agenda</p>", "Private", 30)
    assert created["user_id"] == concord.user_id and created["created_by"] == concord.user_id
    assert created["is_completed"] is False and created["completed_at"] is None
    assert created["contacts"] == [] and created["companies_count"] == 0
    path = f"activities/{created['id']}"
    shown = concord.get(path).json()
    assert shown["was_recently_created"] is False and shown["title"] == "Call Ada"
    updated = concord.put(path, {"title": "Call Ada back", "activity_type_id": types["Call"]["id"]}).json()
    assert updated["title"] == "Call Ada back" and updated["activity_type_id"] == types["Call"]["id"]
    assert updated["due_date"] == "2030-01-15"  # left alone
    assert concord.delete(path).status_code == 204
    assert concord.get(path).status_code == 404
    assert concord.get(f"trashed/activities/{created['id']}").json()["title"] == "Call Ada back"
    assert concord.post(f"trashed/activities/{created['id']}").status_code == 200
    assert concord.get(path).status_code == 200


def test_due_and_end_dates_are_a_day_or_a_moment(concord: Concord) -> None:
    timed = activity(concord, due_date="2030-01-15 09:30:00", end_date="2030-01-15 10:00:00")
    assert timed["due_date"] == "2030-01-15T09:30:00.000000Z" and timed["end_date"] == "2030-01-15T10:00:00.000000Z"
    # What is read back is taken back (Laravel's JSON form), and a timed due date makes a timed end date.
    again = activity(concord, due_date=timed["due_date"])
    assert again["due_date"] == again["end_date"] == "2030-01-15T09:30:00.000000Z"
    path = f"activities/{timed['id']}"
    to_day = concord.put(path, {"due_date": "2030-01-14", "end_date": "2030-01-16"}).json()
    assert (to_day["due_date"], to_day["end_date"]) == ("2030-01-14", "2030-01-16")
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    task = espo.get(f"/api/v1/Task/{timed['id']}").json()
    assert task["dateStartDate"] == "2030-01-14" and task["dateEndDate"] == "2030-01-16"
    back = concord.put(path, {"due_date": "2030-01-14 08:00", "end_date": "2030-01-14 09:00:00"}).json()
    assert back["due_date"] == "2030-01-14T08:00:00.000000Z" and back["end_date"] == "2030-01-14T09:00:00.000000Z"


def test_is_completed_is_the_completed_status(concord: Concord) -> None:
    created = activity(concord, is_completed=True)
    assert created["is_completed"] is True and created["completed_at"] is not None
    path = f"activities/{created['id']}"
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    task = espo.get(f"/api/v1/Task/{created['id']}").json()
    assert task["status"] == "Completed" and task["dateCompleted"] is not None
    reopened = concord.put(path, {"is_completed": False}).json()
    assert reopened["is_completed"] is False and reopened["completed_at"] is None
    assert espo.get(f"/api/v1/Task/{created['id']}").json()["status"] == "Not Started"
    # A started task stays started when told it is not completed; completing it through EspoCRM shows here.
    espo.put(f"/api/v1/Task/{created['id']}", json={"status": "Started"})
    assert concord.put(path, {"is_completed": False, "title": "Still going"}).json()["is_completed"] is False
    assert espo.get(f"/api/v1/Task/{created['id']}").json()["status"] == "Started"
    espo.put(f"/api/v1/Task/{created['id']}", json={"status": "Completed"})
    done = concord.get(path).json()
    assert done["is_completed"] is True and done["completed_at"] is not None
    assert concord.put(path, {"is_completed": None}).json()["is_completed"] is True  # null changes nothing


@pytest.mark.parametrize("body, errors", [
    ({}, {"title": ["The Title field is required."], "due_date": ["The Due Date field is required."],
          "user_id": ["The Owner field is required."]}),
    ({"due_date": "2030-02-30"}, {"due_date": ["The Due Date field must be a valid date."]}),
    ({"due_date": "15/01/2030"}, {"due_date": ["The Due Date field must be a valid date."]}),
    ({"due_date": 20300115}, {"due_date": ["The Due Date field must be a valid date."]}),
    ({"end_date": "2030-01-14"}, {"end_date": ["The end date must not be less then the due date."]}),
    ({"due_date": "2030-01-15 10:00:00", "end_date": "2030-01-15 09:00:00"},
     {"end_date": ["The end date must not be less then the due date."]}),
    ({"due_date": "2030-01-15 10:00:00", "end_date": "2030-01-16"},
     {"end_date": ["You must specify end time when the end date is on a different day."]}),
    ({"reminder_minutes_before": 0}, {"reminder_minutes_before": ["The selected Reminder is invalid."]}),
    ({"reminder_minutes_before": 40321},
     {"reminder_minutes_before": ["The Reminder field must not be greater than 40320."]}),
    ({"reminder_minutes_before": "soon"}, {"reminder_minutes_before": ["The Reminder field must be an integer."]}),
    ({"is_completed": "maybe"}, {"is_completed": ["The Is Completed field must be true or false."]}),
    ({"title": "x" * 192}, {"title": ["The Title field must not be greater than 191 characters."]}),
    ({"title": ["a"]}, {"title": ["The Title field must be a string."]}),
    ({"activity_type_id": 999999}, {"activity_type_id": ["The selected Activity Type is invalid."]}),
    ({"user_id": "me"}, {"user_id": ["The selected Owner is invalid."]}),
])
def test_bad_input(concord: Concord, body: dict[str, Any], errors: dict[str, list[str]]) -> None:
    base = {"title": "Bad", "due_date": "2030-01-15", "user_id": concord.user_id}
    response = concord.post("activities", {**base, **body} if body else {})
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == errors
    assert concord.get("activities").json()["meta"]["total"] == 0  # nothing written


def test_reminder_bounds_and_updates(concord: Concord) -> None:
    created = activity(concord, reminder_minutes_before=40320)
    assert created["reminder_minutes_before"] == 40320
    path = f"activities/{created['id']}"
    assert concord.put(path, {"reminder_minutes_before": None}).json()["reminder_minutes_before"] is None
    assert concord.put(path, {"title": ""}).json()["errors"] == {"title": [
        "The Title field must be a string.", "The Title field must have a value."]}  # as Laravel reads "" (null)
    assert concord.put(path, {"activity_type_id": None}).json()["errors"] == {
        "activity_type_id": ["The Activity Type field must have a value."]}


def test_the_type_is_required_without_a_default(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    task_type = types["Task"]["id"]
    assert espo.put(f"/api/v1/ActivityType/{task_type}", json={"isDefault": False}).status_code == 200
    refused = concord.post("activities", {"title": "No type", "due_date": "2030-01-15", "user_id": concord.user_id})
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"activity_type_id": ["The Activity Type field is required."]}
    assert activity(concord, activity_type_id=types["Meeting"]["id"])["activity_type_id"] == types["Meeting"]["id"]
    espo.put(f"/api/v1/ActivityType/{types['Email']['id']}", json={"isDefault": True})
    assert activity(concord)["activity_type_id"] == types["Email"]["id"]


def test_associations_both_ways(concord: Concord) -> None:
    acme = concord.create("companies", {"name": "Acme"})
    ada = concord.create("contacts", {"first_name": "Ada"})
    stage = concord.get("pipeline-stages").json()["data"][0]
    deal = concord.create("deals", {"name": "Deal", "stage_id": stage["id"]})
    created = activity(concord, contacts=[ada["id"]], companies="Acme", deals=[deal["id"]])
    assert [c["id"] for c in created["contacts"]] == [ada["id"]]
    assert [c["id"] for c in created["companies"]] == [acme["id"]]
    assert [d["id"] for d in created["deals"]] == [deal["id"]]
    assert (created["contacts_count"], created["associations_count"]) == (1, 3)
    shown = concord.get(f"contacts/{ada['id']}").json()
    assert shown["activities_count"] == 1 and [a["id"] for a in shown["activities"]] == [created["id"]]
    assert concord.get(f"companies/{acme['id']}/activities").json()["data"][0]["title"] == "Call Ada"
    listed = concord.get(f"deals/{deal['id']}/activities").json()
    assert listed["meta"]["total"] == 1
    path = f"associations/contacts/{ada['id']}"
    assert concord.get(path).json()["activities"][0]["id"] == created["id"]
    detached = concord.delete_json(path, {"activities": [created["id"]]})
    assert detached.status_code == 200 and detached.json()["activities"] == []
    again = concord.put(path, {"activities": [created["id"]]})
    assert again.status_code == 200 and again.json()["activities_count"] == 1
    assert concord.put(path, {"activities": [created["id"]]}).status_code == 409
    refused = concord.put(f"associations/activities/{created['id']}", {"activities": [created["id"]]})
    assert refused.status_code == 409
    assert refused.json() == {"message": 'The provided resource name "activities" cannot be associated to activity.'}
    synced = concord.put(f"activities/{created['id']}", {"companies": []}).json()
    assert synced["companies"] == [] and synced["contacts_count"] == 1
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    task = espo.get(f"/api/v1/Task/{created['id']}").json()
    assert task["contactsIds"] == [str(ada["id"])] and task["opportunitiesIds"] == [str(deal["id"])]


def rule(name: str, operator: str, value: Any, kind: str = "text") -> dict[str, Any]:
    return {"type": "rule", "query": {"type": kind, "rule": name, "operator": operator, "value": value}}


def filtered(concord: Concord, *rules: dict[str, Any]) -> list[str]:
    response = concord.get("activities", filters=json.dumps({"condition": "and", "children": list(rules)}),
                           per_page="100")
    assert response.status_code == 200, response.content
    return sorted(row["title"] for row in response.json()["data"])


def test_filters_search_and_order(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    other = concord.as_user("other", {"Task": True})
    activity(concord, title="All day 15th")
    activity(concord, title="Timed 16th", due_date="2030-01-16 09:00:00", activity_type_id=types["Call"]["id"])
    activity(concord, title="Done", due_date="2030-01-10", is_completed=True, user_id=other.user_id)
    assert filtered(concord, rule("title", "contains", "day")) == ["All day 15th"]
    assert filtered(concord, rule("title", "contains", "%' OR 1=1 --")) == []  # literal text, not SQL
    assert filtered(concord, rule("due_date", "equal", "2030-01-15", "date")) == ["All day 15th"]
    assert filtered(concord, rule("end_date", "equal", "2030-01-15", "date")) == ["All day 15th"]  # not the 16th
    assert filtered(concord, rule("end_date", "greater", "2030-01-15", "date")) == ["Timed 16th"]
    assert filtered(concord, rule("due_date", "between", ["2030-01-10", "2030-01-15"], "date")) == [
        "All day 15th", "Done"]
    assert filtered(concord, rule("is_completed", "equal", "1", "radio")) == ["Done"]
    assert filtered(concord, rule("is_completed", "equal", False, "radio")) == ["All day 15th", "Timed 16th"]
    assert filtered(concord, rule("user_id", "equal", "me", "select")) == ["All day 15th", "Timed 16th"]
    assert filtered(concord, rule("activity_type_id", "equal", types["Call"]["id"], "select")) == ["Timed 16th"]
    assert filtered(concord, rule("created_at", "is", "today", "date")) == ["All day 15th", "Done", "Timed 16th"]
    assert filtered(concord, rule("updated_at", "is", "future", "date")) == []
    ordered = concord.get("activities", order="due_date|desc").json()["data"]
    assert [row["title"] for row in ordered] == ["Timed 16th", "All day 15th", "Done"]
    assert [row["title"] for row in concord.get("activities/search", q="Timed").json()] == ["Timed 16th"]
    ids = {rule_["id"] for rule_ in concord.get("activities/rules").json()}
    assert {"title", "user_id", "activity_type_id", "is_completed", "due_date", "end_date", "created_at",
            "updated_at"} <= ids
    bad = concord.get("activities", filters='{"children":[{"type":"rule","query":{"rule":"is_completed",'
                                            '"operator":"equal","value":"perhaps"}}]}')
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["filters.children.0.query.value"]
    injected = concord.get("activities", order="due_date;drop table task|desc")
    assert injected.status_code == 422


def test_a_limited_user_sees_and_writes_their_own(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    limited = concord.as_user("limited", {"Task": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}})
    theirs = activity(concord, title="Admin's")
    # Every user reads the activity types (Concord's policy), so any may set one; none may change them.
    mine = limited.create("activities", {"title": "Mine", "due_date": "2030-01-15", "user_id": limited.user_id,
                                         "activity_type_id": types["Call"]["id"]})
    assert mine["authorizations"]["update"] is True and mine["activity_type_id"] == types["Call"]["id"]
    assert [row["title"] for row in limited.get("activities").json()["data"]] == ["Mine"]
    assert limited.get(f"activities/{theirs['id']}").status_code == 403
    assert limited.put(f"activities/{theirs['id']}", {"title": "Taken"}).status_code == 403
    assert limited.delete(f"activities/{theirs['id']}").status_code == 403
    assert limited.post("activity-types", {"name": "X", "icon": "X", "swatch_color": "#000000"}).status_code == 403
    assert limited.put(f"activity-types/{types['Call']['id']}", {"name": "Ring"}).status_code == 403
    assert len(limited.get("activity-types").json()["data"]) == 5


def test_an_activity_is_a_task_through_api_v1(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    created = activity(concord, title="Meet", due_date="2030-03-01 14:00:00", end_date="2030-03-01 15:00:00",
                       reminder_minutes_before=15, note="Bring slides", activity_type_id=types["Meeting"]["id"])
    task = espo.get(f"/api/v1/Task/{created['id']}").json()
    assert task["name"] == "Meet" and task["status"] == "Not Started"
    assert task["dateStart"] == "2030-03-01 14:00:00" and task["dateEnd"] == "2030-03-01 15:00:00"
    assert task["reminderMinutesBefore"] == 15 and task["note"] == "Bring slides"
    assert task["activityTypeId"] == str(types["Meeting"]["id"]) and task["activityTypeName"] == "Meeting"
    assert task["assignedUserId"] == str(concord.user_id)
    espo.put(f"/api/v1/Task/{created['id']}", json={"name": "Meet again", "dateEnd": "2030-03-01 16:00:00"})
    moved = concord.get(f"activities/{created['id']}").json()
    assert moved["title"] == "Meet again" and moved["end_date"] == "2030-03-01T16:00:00.000000Z"
    made = espo.post("/api/v1/Task", json={"name": "From Espo", "dateStartDate": "2030-04-02",
                                           "dateEndDate": "2030-04-02", "status": "Completed",
                                           "assignedUserId": str(concord.user_id)}).json()
    shown = concord.get(f"activities/{made['id']}").json()
    assert shown["title"] == "From Espo" and shown["due_date"] == "2030-04-02" and shown["end_date"] == "2030-04-02"
    assert shown["is_completed"] is True and shown["completed_at"] is not None
    assert shown["activity_type_id"] == types["Task"]["id"]  # the default type, whoever creates the task
    assert espo.delete(f"/api/v1/Task/{made['id']}").status_code == 200
    assert concord.get(f"activities/{made['id']}").status_code == 404


def test_types_in_use_flagged_or_default_stay(concord: Concord, types: dict[str, dict[str, Any]]) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    flagged = concord.delete(f"activity-types/{types['Call']['id']}")
    assert flagged.status_code == 409 and flagged.json() == {"message": "You cannot delete primary activity type."}
    visit = concord.create("activity-types", {"name": "Visit", "icon": "MapPin", "swatch_color": "#123456"})
    before = espo.get(f"/api/v1/ActivityType/{types['Task']['id']}").json()
    espo.put(f"/api/v1/ActivityType/{visit['id']}", json={"isDefault": True})  # takes the mark from Task
    after = espo.get(f"/api/v1/ActivityType/{types['Task']['id']}").json()
    assert after["isDefault"] is False and after["versionNumber"] == before["versionNumber"] + 1  # a change of it
    made = espo.post("/api/v1/ActivityType/action/massCreate", json={"list": [
        {"name": f"Mass {n}", "icon": f"Icon{n}", "swatchColor": "#123456", "isDefault": True} for n in range(2)]})
    assert made.status_code == 200, made.content  # a mass create keeps one default too: the last one made
    defaults = espo.get("/api/v1/ActivityType", params={"where[0][type]": "isTrue",
                                                        "where[0][attribute]": "isDefault"}).json()["list"]
    assert [t["name"] for t in defaults] == ["Mass 1"]
    espo.put(f"/api/v1/ActivityType/{visit['id']}", json={"isDefault": True})
    default = concord.delete(f"activity-types/{visit['id']}")
    assert default.status_code == 409
    assert default.json() == {"message": "This is a default activity type, hence, cannot be deleted."}
    espo.put(f"/api/v1/ActivityType/{types['Task']['id']}", json={"isDefault": True})
    used = activity(concord, activity_type_id=visit["id"])
    assert concord.delete(f"activities/{used['id']}").status_code == 204  # in the trash: still using it
    in_use = concord.delete(f"activity-types/{visit['id']}")
    assert in_use.status_code == 409
    assert in_use.json() == {"message": "The type is already associated with activities, hence, cannot be deleted."}
    assert concord.delete(f"trashed/activities/{used['id']}").status_code == 204
    assert concord.delete(f"activity-types/{visit['id']}").status_code == 204
