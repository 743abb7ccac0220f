"""Roles through EspoCRM's `/api/v1/Role`: administrators list, read, create, change and delete them, in
EspoCRM's shape (`data`: access levels by entity type); a change applies to the role's users at their next
request; what PolyCRM cannot store is refused."""

from __future__ import annotations

import pytest

ROLE = "/api/v1/Role"


def test_a_role_is_created_read_listed_changed_and_deleted(harness, api):
    user_id, client = harness.user()
    response = api.post(ROLE, json={"name": "Sales", "data": {"Account": {"create": "yes", "read": "all"},
                                                              "Contact": True},
                                    "massUpdatePermission": "no", "usersIds": [str(user_id)],
                                    "assignmentPermission": "not-set"})
    assert response.status_code == 200, response.text
    role = response.json()
    assert role["name"] == "Sales" and role["massUpdatePermission"] == "no"
    assert role["data"]["Account"] == {"create": "yes", "read": "all", "edit": "no", "delete": "no"}
    assert role["data"]["Contact"] == {"create": "yes", "read": "all", "edit": "all", "delete": "all"}
    assert role["usersIds"] == [str(user_id)] and role["usersNames"][str(user_id)].startswith("user")
    assert api.get(f"{ROLE}/{role['id']}").json() == role
    assert api.get(ROLE).json() == {"total": 1, "list": [role]}
    assert client.get("/api/v1/Account").status_code == 200

    changed = api.put(f"{ROLE}/{role['id']}", json={"data": {"Contact": {"read": "own"}}})
    assert changed.status_code == 200 and changed.json()["data"] == {
        "Contact": {"create": "no", "read": "own", "edit": "no", "delete": "no"}}
    assert client.get("/api/v1/Account").status_code == 403  # at once, cached rights or not
    assert api.patch(f"{ROLE}/{role['id']}", json={"name": "Sales EU", "usersIds": []}).json()["usersIds"] == []
    assert client.get("/api/v1/Contact").status_code == 403

    api.put(f"{ROLE}/{role['id']}", json={"usersIds": [str(user_id)], "data": {"Account": True}})
    assert client.get("/api/v1/Account").status_code == 200
    assert api.delete(f"{ROLE}/{role['id']}").json() is True
    assert client.get("/api/v1/Account").status_code == 403
    assert api.get(f"{ROLE}/{role['id']}").status_code == 404
    assert api.delete(f"{ROLE}/{role['id']}").status_code == 404
    assert api.get(ROLE).json() == {"total": 0, "list": []}


def test_a_role_read_back_can_be_written_back(api):
    role = api.post(ROLE, json={"name": "Support", "data": {"Case": {"read": "team", "edit": "own"}}}).json()
    response = api.put(f"{ROLE}/{role['id']}", json=role)
    assert response.status_code == 200 and response.json() == role


def test_only_administrators_manage_roles(harness, api):
    role = api.post(ROLE, json={"name": "Sales"}).json()
    _, client = harness.user({"Account": True})
    for method, path, body in [("GET", ROLE, None), ("POST", ROLE, {"name": "Mine", "data": {"User": True}}),
                               ("GET", f"{ROLE}/{role['id']}", None),
                               ("PUT", f"{ROLE}/{role['id']}", {"data": {"Account": True}}),
                               ("PATCH", f"{ROLE}/{role['id']}", {"usersIds": []}),
                               ("DELETE", f"{ROLE}/{role['id']}", None)]:
        response = client.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert api.get(f"{ROLE}/{role['id']}").json() == role
    assert "Mine" not in [r["name"] for r in api.get(ROLE).json()["list"]]


@pytest.mark.parametrize("body, status, reason", [
    ({}, 400, "'name' is required"),
    ({"name": ""}, 400, "Role name"),
    ({"name": "x" * 101}, 400, "Role name"),
    ({"name": 5}, 400, "Role name"),
    ({"name": "R", "data": []}, 400, "must be an object"),
    ({"name": "R", "data": {"Nope": True}}, 400, "Unknown entity 'Nope'"),
    ({"name": "R", "data": {"Account": {"read": "everything"}}}, 400, "Bad level"),
    ({"name": "R", "data": {"Account": {"stream": "all"}}}, 400, "Bad levels"),
    ({"name": "R", "data": {"Account": "yes"}}, 400, "Bad levels"),
    ({"name": "R", "massUpdatePermission": True}, 400, "massUpdatePermission"),
    ({"name": "R", "exportPermission": "yes"}, 400, "'exportPermission' is not supported"),
    ({"name": "R", "fieldData": {"Account": {}}}, 400, "'fieldData' is not supported"),
    ({"name": "R", "usersIds": "1"}, 400, "'usersIds' must be an array"),
    ({"name": "R", "usersIds": ["999"]}, 404, "No user with id 999"),
    ({"name": "R", "usersIds": [{"id": 1}]}, 400, "'usersIds' must be an array"),
    ({"name": "Taken"}, 409, "already exists"),
])
def test_bad_roles_are_refused_and_nothing_is_written(api, body, status, reason):
    taken = api.post(ROLE, json={"name": "Taken"}).json()
    response = api.post(ROLE, json=body)
    assert response.status_code == status and reason in response.headers["X-Status-Reason"], response.text
    assert [r["name"] for r in api.get(ROLE).json()["list"]] == ["Taken"]
    if body.get("name") != "Taken":
        other = api.post(ROLE, json={"name": "Other"}).json()
        response = api.put(f"{ROLE}/{taken['id']}", json=dict(body, name=body.get("name", "Other")))
        assert response.status_code in (400, 404, 409), response.text
        assert api.get(f"{ROLE}/{taken['id']}").json() == taken
        api.delete(f"{ROLE}/{other['id']}")


@pytest.mark.parametrize("role_id", ["abc", "0", "-1", "1.5", "99999999999999999999999"])
def test_unknown_role_ids_are_404(api, role_id):
    assert api.get(f"{ROLE}/{role_id}").status_code == 404
    assert api.put(f"{ROLE}/{role_id}", json={"name": "X"}).status_code == 404
