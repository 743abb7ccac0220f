"""Concord's `/api/teams` (specs/concord.md §2 "Users": CRUD, writes for super admins) over the Team entity,
as a running Concord CRM 1.4.1 answers: its TeamResource's keys and order, its TeamRequest's messages, its
super-admin 403, the teams a user who is no admin reads. Members and the manager are the team membership
EspoCRM shows (`/api/v1/Team`, its `users`, a user's `teamsIds`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import JSON_HEADERS, Concord

# TeamResource's keys, in the order Concord 1.4.1 shows them (`description` for super admins only).
TEAM_KEYS = ["id", "name", "description", "user_id", "manager", "members", "created_at", "updated_at",
             "was_recently_created"]
ADMIN_ONLY = {"message": "Your account is not authorized to perform this action."}



def espo(concord: Concord) -> Any:
    return concord.harness.key_client(concord.harness.admin_key, validate=False)


def team(concord: Concord, name: str, manager: int, *members: int, **values: Any) -> dict[str, Any]:
    return concord.create("teams", {"name": name, "user_id": manager, "members": list(members), **values})


def test_an_admin_creates_reads_changes_and_deletes_a_team(concord: Concord, pat: Concord, sam: Concord) -> None:
    made = concord.post("teams", {"name": "Sales", "description": "The sales team", "user_id": concord.user_id,
                                  "members": [pat.user_id]})
    assert made.status_code == 201, made.content
    shown = made.json()
    assert list(shown) == TEAM_KEYS
    assert (shown["name"], shown["description"], shown["user_id"]) == ("Sales", "The sales team", concord.user_id)
    assert shown["was_recently_created"] is True and shown["created_at"].endswith(".000000Z")
    # The manager and members are users as /api/users shows them (Concord's UserResource), without their
    # teams (`[]`: Concord 1.4.1 loads none for a team's users)
    assert shown["manager"] == {**concord.get(f"users/{concord.user_id}").json(), "teams": []}
    assert shown["members"] == [{**concord.get(f"users/{pat.user_id}").json(), "teams": []}]
    team_id = shown["id"]
    read = concord.get(f"teams/{team_id}").json()
    assert read == {**shown, "was_recently_created": False}
    # PUT takes the whole request again (Concord's TeamRequest); members, when sent, become exactly these
    changed = concord.put(f"teams/{team_id}", {"name": "Sales EU", "user_id": sam.user_id,
                                               "members": [sam.user_id, pat.user_id, pat.user_id]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["description"] == "The sales team"  # a key not sent is left alone
    assert (changed.json()["user_id"], changed.json()["manager"]["id"]) == (sam.user_id, sam.user_id)
    assert [user["id"] for user in changed.json()["members"]] == sorted([pat.user_id, sam.user_id])
    kept = concord.put(f"teams/{team_id}", {"name": "Sales EU", "user_id": sam.user_id, "description": ""})
    assert len(kept.json()["members"]) == 2 and kept.json()["description"] is None  # "" is null, as Laravel's
    # PATCH is an update too (Concord's apiResource), with the same rules
    patched = concord.http.patch(f"/api/teams/{team_id}", json={"name": "Ops", "user_id": pat.user_id,
                                                                 "members": []})
    assert patched.status_code == 200 and patched.json()["members"] == [] and patched.json()["name"] == "Ops"
    assert concord.http.patch(f"/api/teams/{team_id}", json={}).status_code == 422
    assert concord.delete(f"teams/{team_id}").status_code == 204
    gone = concord.get(f"teams/{team_id}")
    assert gone.status_code == 404
    assert gone.json() == {"message": f"No query results for model [Modules\\Users\\Models\\Team] {team_id}"}
    assert concord.delete(f"teams/{team_id}").status_code == 404


def test_teams_are_a_bare_array_by_name(concord: Concord, pat: Concord) -> None:
    assert concord.get("teams").json() == []
    team(concord, "Zeta", pat.user_id)
    team(concord, "Alpha", concord.user_id, pat.user_id)
    listed = concord.get("teams").json()
    assert [row["name"] for row in listed] == ["Alpha", "Zeta"]
    assert all(list(row) == TEAM_KEYS and row["was_recently_created"] is False for row in listed)
    assert listed[0]["members"][0]["id"] == pat.user_id and listed[1]["manager"]["id"] == pat.user_id


def test_a_user_who_is_no_admin_reads_the_teams_they_are_in_or_manage(concord: Concord, pat: Concord,
                                                                       sam: Concord) -> None:
    member = team(concord, "Sales", concord.user_id, pat.user_id, description="secret")
    managed = team(concord, "Ops", pat.user_id)
    other = team(concord, "Support", sam.user_id, sam.user_id)
    listed = pat.get("teams")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [managed["id"], member["id"]]  # by name
    assert all("description" not in row for row in listed.json())  # Concord shows it to super admins only
    assert list(pat.get(f"teams/{member['id']}").json()) == [k for k in TEAM_KEYS if k != "description"]
    assert pat.get(f"teams/{managed['id']}").status_code == 200
    refused = pat.get(f"teams/{other['id']}")
    assert (refused.status_code, refused.json()) == (403, {"message": ""})  # Concord's bare abort(403)
    assert [row["id"] for row in sam.get("teams").json()] == [other["id"]]
    # Writes are for super admins: the team is found first (404), then the caller refused (compact, as the
    # middleware answers), before the body is read
    for response in (pat.post("teams", {}), pat.put(f"teams/{member['id']}", {"name": "Mine"}),
                     pat.http.patch(f"/api/teams/{member['id']}", json={}), pat.delete(f"teams/{member['id']}")):
        assert (response.status_code, response.json()) == (403, ADMIN_ONLY)
        assert response.content == b'{"message":"Your account is not authorized to perform this action."}'
    assert pat.put("teams/999999", {}).status_code == 404 and pat.delete("teams/999999").status_code == 404
    assert pat.get("teams/999999").status_code == 404
    assert concord.get(f"teams/{member['id']}").json()["name"] == "Sales"  # nothing changed


def test_a_role_that_reads_teams_shows_them_all(concord: Concord, pat: Concord) -> None:
    """PolyCRM's roles decide what a token reads (EspoCRM's Team read level); without one, Concord's rule."""
    team(concord, "Sales", concord.user_id)
    reader = concord.as_user("reader", {"Team": {"read": "all"}})
    assert [row["name"] for row in reader.get("teams").json()] == ["Sales"]
    assert pat.get("teams").json() == []


def test_validation_in_concords_words(concord: Concord, pat: Concord) -> None:
    assert concord.post("teams", {}).json() == {
        "message": "The name field is required. (and 1 more error)",
        "errors": {"name": ["The name field is required."], "user_id": ["The user id field is required."]}}
    assert concord.post("teams", {"name": "", "user_id": "x", "members": ["a", 5]}).json() == {
        "message": "The name field is required. (and 2 more errors)",
        "errors": {"name": ["The name field is required."], "user_id": ["The user id field must be a number."],
                   "members.0": ["The members.0 field must be a number."]}}
    assert concord.post("teams", {"name": 5, "user_id": 1, "members": "2"}).json() == {
        "message": "The name field must be a string. (and 1 more error)",
        "errors": {"name": ["The name field must be a string."], "members": ["The members field must be an array."]}}
    assert concord.post("teams", {"name": "  ", "user_id": "1"}).json()["errors"] == {
        "name": ["The name field is required."]}
    assert concord.post("teams", {"name": "N", "user_id": 1, "members": None}).json()["errors"] == {
        "members": ["The members field must be an array."]}
    assert concord.post("teams", {"name": "N", "user_id": 1, "description": [1]}).json()["errors"] == {
        "description": ["The description field must be a string."]}
    assert concord.post("teams", {"name": "n" * 192, "user_id": 1}).json()["errors"] == {
        "name": ["The name field must not be greater than 191 characters."]}
    # Ids of no user: 422 (Concord 1.4.1 answers 500, and keeps the team it made without its members)
    assert concord.post("teams", {"name": "N", "user_id": 999999, "members": [pat.user_id, 888888]}).json() == {
        "message": "The selected user id is invalid. (and 1 more error)",
        "errors": {"user_id": ["The selected user id is invalid."],
                   "members.1": ["The selected members.1 is invalid."]}}
    made = team(concord, "Sales", concord.user_id)
    # The same request on PUT: name and user_id required again
    assert concord.put(f"teams/{made['id']}", {"name": "Sales2"}).json() == {
        "message": "The user id field is required.", "errors": {"user_id": ["The user id field is required."]}}
    assert concord.get("teams").json() == [made | {"was_recently_created": False}]  # nothing else written


def test_a_longer_name_than_a_team_keeps_is_422(concord: Concord) -> None:
    """EspoCRM's Team name holds 100 characters (Concord's 191)."""
    response = concord.post("teams", {"name": "n" * 101, "user_id": concord.user_id})
    assert response.status_code == 422 and list(response.json()["errors"]) == ["name"]
    assert concord.get("teams").json() == []


@pytest.mark.parametrize("body", [[], [1, 2], "text", 5, None, {"name": "N", "user_id": [1]},
                                  {"name": "N", "user_id": {"a": 1}}, {"name": "N", "user_id": True},
                                  {"name": "N", "user_id": 1.5}, {"name": "N", "user_id": 10 ** 30},
                                  {"name": "N", "user_id": 1, "members": [[1]]},
                                  {"name": "N", "user_id": 1, "members": {"a": 1}},
                                  {"name": "N", "user_id": 1, "members": list(range(2000))},
                                  {"name": "N", "user_id": 1, "members": [10 ** 30]},
                                  {"name": "a\u0000b", "user_id": 1}, {"name": {"x": 1}, "user_id": 1}])
def test_bad_bodies_are_422(concord: Concord, body: Any) -> None:
    response = concord.post("teams", body)
    assert response.status_code == 422, (body, response.content)
    assert response.json()["message"] and isinstance(response.json()["errors"], dict)
    assert concord.get("teams").json() == []


def test_malformed_oversized_and_unknown_keys(concord: Concord) -> None:
    malformed = concord.http.post("/api/teams", content=b'{"name": ', headers=JSON_HEADERS)
    assert malformed.status_code == 422 and list(malformed.json()["errors"]) == ["body"]
    huge = concord.http.post("/api/teams", content=b'{"name": "' + b"x" * 30_000_000 + b'"}', headers=JSON_HEADERS)
    assert huge.status_code == 413
    made = concord.post("teams", {"name": "N", "user_id": concord.user_id, "bogus": 1, "id": 77,
                                  "created_at": "x", "manager": {"id": 5}})
    assert made.status_code == 201 and made.json()["id"] != 77
    assert made.headers["X-PolyCRM-Warning"] == "keys ignored (not fields of teams): bogus"
    assert [row["name"] for row in concord.get("teams").json()] == ["N"]


@pytest.mark.parametrize("path", ["teams/99999999999999999999999", "teams/%00", "teams/-1", "teams/0", "teams/abc"])
def test_odd_ids_are_404(concord: Concord, path: str) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = concord.http.request(method, f"/api/{path}", json={"name": "N", "user_id": 1})
        assert response.status_code == 404, (method, path, response.content)
    assert concord.get("teams/1abc").status_code == 404  # no team 1: the leading digits, as MySQL casts them
    made = team(concord, "Sales", concord.user_id)
    assert concord.get(f"teams/{made['id']}abc").json()["id"] == made["id"]


def test_methods_a_path_does_not_serve_are_405(concord: Concord) -> None:
    made = team(concord, "Sales", concord.user_id)
    refused = concord.http.post(f"/api/teams/{made['id']}", json={})
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE"
    for method in ("PUT", "DELETE", "PATCH"):
        response = concord.http.request(method, "/api/teams", json={})
        assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD, POST"


@pytest.mark.parametrize("method, path", [("GET", "teams"), ("POST", "teams"), ("GET", "teams/1"),
                                          ("PUT", "teams/1"), ("PATCH", "teams/1"), ("DELETE", "teams/1")])
def test_teams_need_a_token(concord: Concord, method: str, path: str) -> None:
    anonymous = concord.harness.client(validate=False)
    for headers in ({"Accept": "application/json"}, {"Accept": "application/json", "Authorization": "Bearer 1|no"}):
        response = anonymous.request(method, f"/api/{path}", json={"name": "N", "user_id": 1}, headers=headers)
        assert (response.status_code, response.json()) == (401, {"message": "Unauthenticated."})


def test_a_team_is_the_team_espocrm_shows(concord: Concord, pat: Concord, sam: Concord) -> None:
    made = team(concord, "Sales", sam.user_id, pat.user_id, description="EU")
    client = espo(concord)
    stored = client.get(f"/api/v1/Team/{made['id']}").json()
    assert (stored["name"], stored["description"], stored["managerId"]) == ("Sales", "EU", str(sam.user_id))
    assert [user["id"] for user in client.get(f"/api/v1/Team/{made['id']}/users").json()["list"]] == [str(pat.user_id)]
    assert client.get(f"/api/v1/User/{pat.user_id}").json()["teamsIds"] == [str(made["id"])]
    # Membership changed through EspoCRM is the team's members through Concord, and the other way round
    assert client.post(f"/api/v1/Team/{made['id']}/users", json={"id": str(sam.user_id)}).status_code == 200
    assert [user["id"] for user in concord.get(f"teams/{made['id']}").json()["members"]] == \
           sorted([pat.user_id, sam.user_id])
    concord.put(f"teams/{made['id']}", {"name": "Sales", "user_id": sam.user_id, "members": [sam.user_id]})
    assert client.get(f"/api/v1/User/{pat.user_id}").json()["teamsIds"] == []
    assert client.get(f"/api/v1/User/{sam.user_id}").json()["teamsIds"] == [str(made["id"])]
    # A team made through EspoCRM, with its manager, is a Concord team
    other = client.post("/api/v1/Team", json={"name": "Ops", "managerId": str(pat.user_id)}).json()
    assert client.put(f"/api/v1/User/{sam.user_id}", json={"teamsIds": [str(made["id"]), other["id"]]}).status_code == 200
    shown = concord.get(f"teams/{other['id']}").json()
    assert (shown["name"], shown["user_id"], [user["id"] for user in shown["members"]]) == \
           ("Ops", pat.user_id, [sam.user_id])
    # A team deleted through Concord is gone from EspoCRM, and from its members' teams
    assert concord.delete(f"teams/{made['id']}").status_code == 204
    assert client.get(f"/api/v1/Team/{made['id']}").status_code == 404
    assert client.get(f"/api/v1/User/{sam.user_id}").json()["teamsIds"] == [str(other["id"])]


def test_membership_is_what_a_user_reads_at_once(concord: Concord, pat: Concord) -> None:
    """A user added or removed reads the team (and its team-level records) on their next call: team
    membership carries rights, whichever protocol changes it."""
    made = team(concord, "Sales", concord.user_id)
    assert pat.get(f"teams/{made['id']}").status_code == 403
    espo(concord).post(f"/api/v1/Team/{made['id']}/users", json={"id": str(pat.user_id)})
    assert pat.get(f"teams/{made['id']}").status_code == 200
    concord.put(f"teams/{made['id']}", {"name": "Sales", "user_id": concord.user_id, "members": []})
    assert pat.get(f"teams/{made['id']}").status_code == 403
    concord.put(f"teams/{made['id']}", {"name": "Sales", "user_id": pat.user_id})
    assert pat.get(f"teams/{made['id']}").status_code == 200  # the manager reads the team they manage
