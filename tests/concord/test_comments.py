"""Comments (specs/concord.md §2): `GET/POST /api/{resource}/{id}/comments` on activities, calls and notes and
`GET/PUT/DELETE /api/comments/{id}`, over the Comment entity (visible through `/api/v1/Comment`), as Concord
CRM 1.4.1 answers them: the caller is the author; only the author (or an administrator) changes one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import Concord

COMMENT_KEYS = ["id", "body", "created_by", "creator", "created_at", "updated_at", "authorizations",
                "was_recently_created"]
TASKS = {"Task": {"create": "yes", "read": "all", "edit": "own", "delete": "no"}}


def activity(concord: Concord, **body: Any) -> dict[str, Any]:
    return concord.create("activities", {"title": "Call Ada", "due_date": "2030-01-15", "user_id": concord.user_id,
                                         **body})


def test_comment_on_an_activity_and_read_it_back(concord: Concord) -> None:
    task = activity(concord)
    path = f"activities/{task['id']}/comments"
    assert concord.get(path).json() == []
    response = concord.post(path, {"body": "<p>Hello <b>world</b></p>"})
    assert response.status_code == 201, response.content
    comment = response.json()
    assert list(comment) == COMMENT_KEYS and comment["was_recently_created"] is True
    assert comment["body"] == "<p>Hello <b>world</b></p>" and comment["created_by"] == concord.user_id
    assert comment["creator"] == concord.get("me").json()  # the author as UserResource
    assert comment["authorizations"] == {"view": True, "update": True, "delete": True}
    second = concord.post(path, {"body": "Second"}).json()
    listed = concord.get(path).json()
    assert [c["id"] for c in listed] == [comment["id"], second["id"]]  # oldest first
    shown_task = concord.get(f"activities/{task['id']}").json()
    assert shown_task["comments_count"] == 2 and list(shown_task)[:3] == ["id", "created_by", "comments_count"]  # as Concord
    rows = concord.get("activities").json()["data"]
    assert {row["id"]: row["comments_count"] for row in rows}[task["id"]] == 2
    assert activity(concord, title="Quiet")["comments_count"] == 0
    assert listed[0]["was_recently_created"] is False
    shown = concord.get(f"comments/{comment['id']}")
    assert shown.status_code == 200 and shown.json()["body"] == comment["body"]
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    stored = espo.get(f"/api/v1/Comment/{comment['id']}").json()
    assert (stored["parentType"], str(stored["parentId"]), stored["body"], str(stored["createdById"])) == \
           ("Task", str(task["id"]), comment["body"], str(concord.user_id))
    edited = concord.put(f"comments/{comment['id']}", {"body": "edited"})
    assert edited.status_code == 200 and edited.json()["body"] == "edited"
    assert concord.delete(f"comments/{comment['id']}").status_code == 204
    assert concord.get(f"comments/{comment['id']}").status_code == 404
    assert [c["id"] for c in concord.get(path).json()] == [second["id"]]
    assert concord.get(f"activities/{task['id']}").json()["comments_count"] == 1


def test_calls_and_notes_take_comments_made_from_a_record(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Ann"})
    note = concord.create("notes", {"body": "A note", "via_resource": "contacts", "via_resource_id": contact["id"]})
    path = f"notes/{note['id']}/comments"
    missing = concord.post(path, {"body": "x"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"via_resource_id": ["The via resource id field is required."]}
    made = concord.post(path, {"body": "x", "via_resource": "contacts", "via_resource_id": contact["id"]})
    assert made.status_code == 201, made.content
    assert concord.get(path, via_resource="contacts", via_resource_id=str(contact["id"])).json()[0]["body"] == "x"
    assert concord.post(path, {"body": "x", "via_resource": "contacts", "via_resource_id": 999999}).status_code == 403


def test_bad_comment_bodies_are_422_in_concords_words(concord: Concord) -> None:
    path = f"activities/{activity(concord)['id']}/comments"
    assert concord.post(path, {}).json() == {"message": "The body field is required.",
                                              "errors": {"body": ["The body field is required."]}}
    assert concord.post(path, {"body": "   "}).status_code == 422
    assert concord.post(path, {"body": 5}).json()["errors"] == {"body": ["The body field must be a string."]}
    assert concord.post(path, {"body": "x" * 70_000}).status_code == 422
    assert concord.post(path, ["body"]).status_code == 422
    bad_via = concord.post(path, {"body": "x", "via_resource": "users", "via_resource_id": "abc"})
    assert bad_via.json()["errors"] == {"via_resource": ["The selected via resource is invalid."],
                                        "via_resource_id": ["The via resource id field must be a number."]}
    assert concord.post(path, {"body": "x", "via_resource_id": 1}).json()["errors"] == {
        "via_resource": ["The via resource field is required when via resource id is present."]}
    injected = concord.post(path, {"body": "'); DROP TABLE comment;--"})
    assert injected.status_code == 201 and injected.json()["body"] == "'); DROP TABLE comment;--"
    assert [c["body"] for c in concord.get(path).json()] == ["'); DROP TABLE comment;--"]  # nothing half-written
    comment = injected.json()
    assert concord.put(f"comments/{comment['id']}", {"body": ""}).json()["errors"] == {
        "body": ["The body field is required."]}


def test_other_resources_and_records_are_404(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Ann"})
    refused = concord.post(f"contacts/{contact['id']}/comments", {"body": "x"})
    assert refused.status_code == 404
    assert refused.json() == {"message": "Comments cannot be added to the provided resource."}
    assert concord.get(f"contacts/{contact['id']}/comments").status_code == 404
    missing = concord.post("activities/999999/comments", {"body": "x"})
    assert missing.json() == {
        "message": "No query results for model [Modules\\Activities\\App\\Models\\Activity] 999999"}
    for raw in ("999999", "abc"):
        gone = concord.get(f"comments/{raw}")
        assert gone.status_code == 404
        assert gone.json() == {"message": f"No query results for model [Modules\\Comments\\App\\Models\\Comment] {raw}"}
    assert concord.post("comments/1", {}).status_code == 405


def test_only_the_author_or_an_admin_changes_a_comment(concord: Concord) -> None:
    task = activity(concord)
    path = f"activities/{task['id']}/comments"
    ann = concord.as_user("ann", TASKS)
    bob = concord.as_user("bob", TASKS)
    mine = ann.post(path, {"body": "Ann's"})
    assert mine.status_code == 201 and mine.json()["created_by"] == ann.user_id
    comment_id = mine.json()["id"]
    listed = bob.get(path).json()  # who reads the record reads its comments
    assert [c["id"] for c in listed] == [comment_id] and listed[0]["authorizations"]["update"] is False
    assert bob.get(f"comments/{comment_id}").status_code == 403  # Concord's CommentPolicy: the author's
    assert bob.put(f"comments/{comment_id}", {"body": "Bob's now"}).status_code == 403
    assert bob.delete(f"comments/{comment_id}").status_code == 403
    assert ann.put(f"comments/{comment_id}", {"body": "Ann's, edited"}).status_code == 200
    assert concord.put(f"comments/{comment_id}", {"body": "By the admin"}).status_code == 200
    assert concord.get(path).json()[0]["body"] == "By the admin"
    nobody = concord.as_user("nobody", {"Contact": True})  # may not read the activity
    assert nobody.get(path).status_code == 403
    assert nobody.post(path, {"body": "x"}).status_code == 403
    assert ann.delete(f"comments/{comment_id}").status_code == 204


@pytest.mark.parametrize("method, path", [("GET", "activities/1/comments"), ("POST", "activities/1/comments"),
                                          ("GET", "comments/1"), ("PUT", "comments/1"), ("DELETE", "comments/1")])
def test_comments_need_a_token(concord: Concord, method: str, path: str) -> None:
    anonymous = concord.harness.client(validate=False)
    response = anonymous.request(method, f"/api/{path}", json={"body": "x"},
                                 headers={"Accept": "application/json", "Authorization": "Bearer 1|nope"})
    assert response.status_code == 401
