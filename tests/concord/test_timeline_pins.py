"""Timeline pins (`POST /api/timeline/pin` and `/unpin`, Concord's TimelinePinController): TimelinePin records
that put an entry at the top of a record's timeline, as Concord CRM 1.4.1 answers them (200, no body)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import Concord


def pin_body(subject_type: str, subject_id: int, entry_type: str, entry_id: int) -> dict[str, Any]:
    return {"subject_id": subject_id, "subject_type": subject_type, "timelineable_id": entry_id,
            "timelineable_type": entry_type}


def timeline(client: Concord, path: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"{path}/timeline", **params)
    assert response.status_code == 200, response.content
    return response.json()["data"]


def deal_with_history(concord: Concord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    deal = concord.create("deals", {"name": "Pinned", "stage_id": 1, "amount": 10})
    concord.put(f"deals/{deal['id']}", {"amount": 20})
    concord.put(f"deals/{deal['id']}", {"amount": 30})
    return deal, [e for e in timeline(concord, f"deals/{deal['id']}") if e["timeline_key"] == "changelog"]


def test_a_pinned_changelog_entry_comes_first(concord: Concord) -> None:
    deal, changes = deal_with_history(concord)
    oldest = changes[-1]
    assert oldest["description"] == "created" and oldest["is_pinned"] is False
    response = concord.post("timeline/pin", pin_body("deal", deal["id"], "changelog", oldest["id"]))
    assert response.status_code == 200 and response.content == b""
    data = timeline(concord, f"deals/{deal['id']}")
    assert data[0]["id"] == oldest["id"] and data[0]["is_pinned"] is True
    assert data[0]["pinned_date"].endswith(".000000Z") and all(not e["is_pinned"] for e in data[1:])
    # A second pin of the same entry keeps one; the pin is a TimelinePin record through /api/v1.
    assert concord.post("timeline/pin", pin_body("deal", deal["id"], "changelog", oldest["id"])).status_code == 200
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    pins = espo.get("/api/v1/TimelinePin").json()["list"]
    assert [(p["subjectType"], p["timelineableType"]) for p in pins] == [("Opportunity", "Note")]
    # Paged, a part shows its pinned entries on its first page and pages the others.
    first = timeline(concord, f"deals/{deal['id']}", per_page=1)
    assert [e["id"] for e in first if e["timeline_key"] == "changelog"] == [oldest["id"], changes[0]["id"]]
    second = timeline(concord, f"deals/{deal['id']}", per_page=1, page=2)
    assert [e["id"] for e in second if e["timeline_key"] == "changelog"] == [changes[1]["id"]]
    assert concord.post("timeline/unpin", pin_body("deal", deal["id"], "changelog", oldest["id"])).status_code == 200
    assert not any(e["is_pinned"] for e in timeline(concord, f"deals/{deal['id']}"))
    assert espo.get("/api/v1/TimelinePin").json()["list"] == []
    # Unpinning what is not pinned does nothing, as in Concord.
    assert concord.post("timeline/unpin", pin_body("deal", deal["id"], "changelog", oldest["id"])).status_code == 200


def test_pinned_records_come_first(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Pam"})
    via = {"via_resource": "contacts", "via_resource_id": contact["id"], "contacts": [contact["id"]]}
    old = concord.create("notes", {"body": "Old note", **via})
    concord.create("notes", {"body": "New note", **via})
    call = concord.create("calls", {"body": "Called", "date": "2030-03-04 10:15:00", "call_outcome_id": 1, **via})
    assert concord.post("timeline/pin", pin_body("contact", contact["id"], "note", old["id"])).status_code == 200
    assert concord.post("timeline/pin", pin_body("contact", contact["id"], "call", call["id"])).status_code == 200
    data = timeline(concord, f"contacts/{contact['id']}")
    pinned = [(e["timeline_key"], e["id"]) for e in data if e["is_pinned"]]
    assert sorted(pinned) == [("call", call["id"]), ("note", old["id"])]
    assert [e["is_pinned"] for e in data][:2] == [True, True] and not any(e["is_pinned"] for e in data[2:])
    shown = next(e for e in data if e["timeline_key"] == "note" and e["id"] == old["id"])
    keys = list(shown)
    assert shown["is_pinned"] is True and keys[keys.index("timeline_sort_column") + 1] == "is_pinned"
    # A company has its own pins: the contact's do not show there.
    company = concord.create("companies", {"name": "Pins Inc", "contacts": [contact["id"]]})
    assert not any(e["is_pinned"] for e in timeline(concord, f"companies/{company['id']}"))


def test_bad_bodies_are_concords_422(concord: Concord) -> None:
    response = concord.post("timeline/pin", {})
    assert response.status_code == 422
    assert response.json() == {"message": "The subject id field is required. (and 3 more errors)", "errors": {
        "subject_id": ["The subject id field is required."], "subject_type": ["The subject type field is required."],
        "timelineable_id": ["The timelineable id field is required."],
        "timelineable_type": ["The timelineable type field is required."]}}
    wrong = concord.post("timeline/unpin", {"subject_id": "x", "subject_type": 5, "timelineable_id": 1.5,
                                            "timelineable_type": []})
    assert wrong.json()["errors"] == {
        "subject_id": ["The subject id field must be an integer."],
        "subject_type": ["The subject type field must be a string."],
        "timelineable_id": ["The timelineable id field must be an integer."],
        "timelineable_type": ["The timelineable type field is required."]}
    for body in ([1, 2], "text"):
        assert concord.post("timeline/pin", body).status_code == 422
    huge = pin_body("deal", 10**30, "changelog", 1)
    assert concord.post("timeline/pin", huge).status_code == 422


def test_unknown_types_and_records(concord: Concord) -> None:
    deal, changes = deal_with_history(concord)
    for subject, entry in (("foo", "note"), ("deal", "deal"), ("deal", "changelogs")):
        response = concord.post("timeline/pin", pin_body(subject, deal["id"], entry, 1))
        assert response.status_code == 404 and response.json() == {"message": ""}
    missing = concord.post("timeline/pin", pin_body("deal", 999999, "changelog", changes[0]["id"]))
    assert missing.status_code == 404
    assert missing.json()["message"] == "No query results for model [Modules\\Deals\\App\\Models\\Deal] 999999"
    assert concord.post("timeline/pin", pin_body("deal", deal["id"], "note", 999999)).status_code == 404
    # A changelog entry of another record is no entry of this one.
    other, other_changes = deal_with_history(concord)
    assert concord.post("timeline/pin", pin_body("deal", deal["id"], "changelog",
                                                 other_changes[0]["id"])).status_code == 404


def test_the_caller_must_read_both_records(concord: Concord) -> None:
    deal, changes = deal_with_history(concord)
    limited = concord.as_user("pinner", {"Opportunity": {"create": "yes", "read": "own", "edit": "own",
                                                          "delete": "no"}})
    body = pin_body("deal", deal["id"], "changelog", changes[0]["id"])
    assert limited.post("timeline/pin", body).status_code == 403
    own = concord.create("deals", {"name": "Theirs", "stage_id": 1, "user_id": limited.user_id})
    [created] = [e for e in timeline(limited, f"deals/{own['id']}") if e["timeline_key"] == "changelog"]
    assert limited.post("timeline/pin", pin_body("deal", own["id"], "changelog", created["id"])).status_code == 200
    assert timeline(limited, f"deals/{own['id']}")[0]["is_pinned"] is True
    # A note they may not read cannot be pinned to a deal they read.
    note = concord.create("notes", {"body": "Secret", "via_resource": "deals", "via_resource_id": own["id"],
                                    "deals": [own["id"]]})
    assert limited.post("timeline/pin", pin_body("deal", own["id"], "note", note["id"])).status_code == 403
    # Pins are shared: the administrator sees the limited user's pin.
    assert timeline(concord, f"deals/{own['id']}")[0]["is_pinned"] is True


def test_pins_need_a_token(concord: Concord) -> None:
    anonymous = concord.harness.client(validate=False)
    for path in ("/api/timeline/pin", "/api/timeline/unpin"):
        response = anonymous.post(path, json={}, headers={"Accept": "application/json"})
        assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}
    assert concord.get("timeline/pin").json() == {"message": ""}  # a GET fits `{resource}/{id}`, as in Laravel


@pytest.mark.parametrize("path", ["timeline/pin", "timeline/unpin"])
def test_malformed_json_is_refused(concord: Concord, path: str) -> None:
    response = concord.http.post(f"/api/{path}", content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 422)
