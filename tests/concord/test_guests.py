"""Activity guests through Concord (specs/concord.md §5 "Activities": `guests`): the users and contacts invited
to an activity, the Task's `guestUsers` and `guestContacts` links (the same rows through `/api/v1/Task`).

Pinned against a running Concord 1.4.1: a guest is GuestResource's `{id, guest_email, guest_display_name,
resource_name}`; `guests` comes right after `user_id` on single records and index rows; a write is the whole
set (`{"users": [2]}` leaves no contact guest), `null` changes nothing, `[]` and `{}` remove every guest, an id
may come alone or as `{id}`; a value that is no array is `The Guests field must be an array.`. Where 1.4.1 drops
an id of no record silently, or answers 500 (a list of ids, a kind that is neither users nor contacts),
PolyCRM answers 422 and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import JSON_HEADERS, Concord


def activity(concord: Concord, **body: Any) -> dict[str, Any]:
    return concord.create("activities", {"title": "Meet Gina", "due_date": "2030-01-15", "user_id": concord.user_id,
                                         **body})


def invited(record: dict[str, Any]) -> list[tuple[str, int]]:
    return [(guest["resource_name"], guest["id"]) for guest in record["guests"]]


@pytest.fixture
def people(concord: Concord) -> dict[str, int]:
    """A contact with an address, another without, and a second user."""
    directory = concord.harness.directory
    return {"gina": concord.create("contacts", {"first_name": "Gina", "last_name": "Guest",
                                                "email": "gina.guest@example.com"})["id"],
            "hal": concord.create("contacts", {"first_name": "Hal"})["id"],
            "peer": directory.create_user("peer", None, first_name="Peer", last_name="User",
                                          email="user@example.com")}


def test_guests_show_as_concords_guest_resource(concord: Concord, people: dict[str, int]) -> None:
    created = activity(concord, guests={"contacts": [people["gina"]], "users": [people["peer"], concord.user_id]})
    keys = list(created)
    assert keys[keys.index("user_id") + 1] == "guests" and keys[keys.index("guests") + 1] == "description"
    assert created["guests"] == [
        {"id": people["gina"], "guest_email": "gina.guest@example.com", "guest_display_name": "Gina Guest",
         "resource_name": "contacts"},
        {"id": concord.user_id, "guest_email": created["guests"][1]["guest_email"],
         "guest_display_name": created["guests"][1]["guest_display_name"], "resource_name": "users"},
        {"id": people["peer"], "guest_email": "user@example.com", "guest_display_name": "Peer User",
         "resource_name": "users"}]
    assert list(created["guests"][0]) == ["id", "guest_email", "guest_display_name", "resource_name"]
    shown = concord.get(f"activities/{created['id']}").json()
    assert shown["guests"] == created["guests"]
    row = concord.get("activities").json()["data"][0]
    assert row["guests"] == created["guests"]  # index rows show them too, as Concord's table loads them
    concord.put(f"activities/{created['id']}", {"contacts": [people["hal"]]})
    listed = concord.get(f"contacts/{people['hal']}/activities").json()["data"]
    assert [invited(r) for r in listed] == [invited(created)]
    assert activity(concord)["guests"] == []
    assert concord.get("activities", select="title").json()["data"][0]["guests"] is None
    assert concord.get("activities", order="guests").status_code == 422  # not a column to sort by
    assert concord.delete(f"activities/{created['id']}").status_code == 204
    assert concord.get(f"trashed/activities/{created['id']}").json()["guests"] == created["guests"]


def test_a_write_names_the_whole_set(concord: Concord, people: dict[str, int]) -> None:
    made = activity(concord, guests={"users": [people["peer"]], "contacts": [people["gina"], people["hal"]]})
    path = f"activities/{made['id']}"
    assert invited(concord.put(path, {"title": "Still"}).json()) == invited(made)  # not sent: left alone
    assert invited(concord.put(path, {"guests": None}).json()) == invited(made)  # null: Concord fills no null
    assert invited(concord.put(path, {"guests": " "}).json()) == invited(made)  # Laravel reads "" as null
    only_users = concord.put(path, {"guests": {"users": [people["peer"]]}}).json()
    assert invited(only_users) == [("users", people["peer"])]  # the contacts went, as Concord's saveGuests
    alone = concord.put(path, {"guests": {"contacts": {"id": people["gina"]}, "users": people["peer"]}}).json()
    assert invited(alone) == [("contacts", people["gina"]), ("users", people["peer"])]
    listed = concord.put(path, {"guests": {"contacts": f"{people['hal']}, {people['gina']}",
                                           "users": [people["peer"], str(people["peer"])]}}).json()
    assert invited(listed) == [("contacts", people["gina"]), ("contacts", people["hal"]), ("users", people["peer"])]
    assert concord.put(path, {"guests": {"users": None, "contacts": [people["hal"]]}}).json()["guests"][0][
        "id"] == people["hal"]
    assert concord.put(path, {"guests": []}).json()["guests"] == []
    concord.put(path, {"guests": {"users": [people["peer"]]}})
    assert concord.put(path, {"guests": {}}).json()["guests"] == []


@pytest.mark.parametrize("guests, errors", [
    ("x", {"guests": ["The Guests field must be an array."]}),
    (5, {"guests": ["The Guests field must be an array."]}),
    (True, {"guests": ["The Guests field must be an array."]}),
    ([1], {"guests.0": ["The selected guests.0 is invalid."]}),
    ({"companies": [1]}, {"guests.companies": ["The selected guests.companies is invalid."]}),
    ({"users": "abc"}, {"guests.users.0": ["The guests.users.0 field must be an integer."]}),
    ({"users": [1, True, [1]]}, {"guests.users.1": ["The guests.users.1 field must be an integer."],
                                 "guests.users.2": ["The guests.users.2 field must be an integer."]}),
    ({"contacts": {"id": "x"}}, {"guests.contacts.0": ["The guests.contacts.0 field must be an integer."]}),
    ({"users": list(range(1, 1002))}, {"guests.users": ["The guests.users field must be an array of at most "
                                                        "1000 ids."]}),
    ({"contacts": 1.5}, {"guests.contacts": ["The guests.contacts field must be an array of at most 1000 ids."]}),
])
def test_bad_guests_are_422(concord: Concord, guests: Any, errors: dict[str, list[str]]) -> None:
    body = {"title": "Bad", "due_date": "2030-01-15", "user_id": concord.user_id, "guests": guests}
    response = concord.post("activities", body)
    assert response.status_code == 422 and response.json()["errors"] == errors
    assert concord.get("activities").json()["meta"]["total"] == 0


def test_ids_of_no_record_are_422_and_nothing_is_written(concord: Concord, people: dict[str, int]) -> None:
    made = activity(concord, guests={"contacts": [people["gina"]]})
    path = f"activities/{made['id']}"
    gone = concord.create("contacts", {"first_name": "Gone"})["id"]
    assert concord.delete(f"contacts/{gone}").status_code == 204
    response = concord.put(path, {"title": "Changed", "guests": {"contacts": [people["hal"], 999999, gone],
                                                                 "users": [-1, concord.user_id]}})
    assert response.status_code == 422 and response.json() == {
        "message": "The selected guests.contacts.1 is invalid. (and 2 more errors)",
        "errors": {"guests.contacts.1": ["The selected guests.contacts.1 is invalid."],
                   "guests.contacts.2": ["The selected guests.contacts.2 is invalid."],
                   "guests.users.0": ["The selected guests.users.0 is invalid."]}}
    kept = concord.get(path).json()
    assert kept["title"] == "Meet Gina" and invited(kept) == [("contacts", people["gina"])]
    # A field's own error comes first: the store is asked only once the body reads
    both = concord.post("activities", {"due_date": "2030-01-15", "user_id": concord.user_id,
                                       "guests": {"contacts": [999999]}})
    assert both.json()["errors"] == {"title": ["The Title field is required."]}
    assert concord.get("activities").json()["meta"]["total"] == 1


def test_guests_need_a_token(concord: Concord, people: dict[str, int]) -> None:
    made = activity(concord)
    anonymous = concord.harness.client({**JSON_HEADERS}, validate=False)
    for response in (anonymous.post("/api/activities", json={"title": "X", "guests": {"users": [1]}}),
                     anonymous.put(f"/api/activities/{made['id']}", json={"guests": {"users": [1]}})):
        assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}
    assert concord.get(f"activities/{made['id']}").json()["guests"] == []


def test_a_limited_user_reads_and_sets_only_the_guests_they_may_read(concord: Concord,
                                                                     people: dict[str, int]) -> None:
    limited = concord.as_user("limited", {"Task": {"create": "yes", "read": "own", "edit": "own", "delete": "own"},
                                          "Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "own"},
                                          "User": {"read": "no"}})
    theirs = limited.create("contacts", {"first_name": "Theirs"})["id"]
    made = activity(concord, user_id=limited.user_id,
                    guests={"contacts": [people["gina"], theirs], "users": [concord.user_id, limited.user_id]})
    path = f"activities/{made['id']}"
    assert invited(limited.get(path).json()) == [("contacts", theirs), ("users", limited.user_id)]
    assert invited(limited.get("activities").json()["data"][0]) == [("contacts", theirs), ("users", limited.user_id)]
    # Whom they cannot read they can neither invite nor uninvite: an update keeps them
    refused = limited.put(path, {"guests": {"contacts": [theirs, people["gina"]], "users": [concord.user_id]}})
    assert refused.status_code == 422 and refused.json()["errors"] == {
        "guests.contacts.1": ["The selected guests.contacts.1 is invalid."],
        "guests.users.0": ["The selected guests.users.0 is invalid."]}
    assert invited(limited.put(path, {"guests": {"users": [limited.user_id]}}).json()) == [
        ("users", limited.user_id)]
    assert invited(concord.get(path).json()) == [("contacts", people["gina"]), ("users", concord.user_id),
                                                 ("users", limited.user_id)]
    # Nor may they change an activity they may not edit
    other = activity(concord, title="Admin's")
    assert limited.put(f"activities/{other['id']}", {"guests": {"users": [limited.user_id]}}).status_code == 403
    assert concord.get(f"activities/{other['id']}").json()["guests"] == []


def test_guests_are_the_tasks_links_through_api_v1(concord: Concord, people: dict[str, int]) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    made = activity(concord, guests={"users": [people["peer"]], "contacts": [people["gina"]]})
    task = espo.get(f"/api/v1/Task/{made['id']}").json()
    assert task["guestUsersIds"] == [str(people["peer"])] and task["guestContactsIds"] == [str(people["gina"])]
    assert task["guestContactsNames"] == {str(people["gina"]): "Gina Guest"}
    changed = espo.put(f"/api/v1/Task/{made['id']}", json={"guestContactsIds": [str(people["hal"])],
                                                            "guestUsersIds": []})
    assert changed.status_code == 200
    assert invited(concord.get(f"activities/{made['id']}").json()) == [("contacts", people["hal"])]
    linked = espo.get(f"/api/v1/Contact/{people['hal']}/tasksAsGuest").json()
    assert [row["id"] for row in linked["list"]] == [str(made["id"])]
    espo.delete(f"/api/v1/Contact/{people['hal']}")
    assert concord.get(f"activities/{made['id']}").json()["guests"] == []  # a deleted guest is not shown
