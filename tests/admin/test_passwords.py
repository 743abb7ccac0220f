"""Passwords and roles written through EspoCRM's User API are stored (or refused with a 400), never dropped:
a user created or changed with a password logs in with it; `User/action/changeOwnPassword` checks the
current one. Passwords never appear in a response."""

from __future__ import annotations

import pytest

from tests.admin.conftest import basic

USER = "/api/v1/User"


def can_log_in(harness, user: str, password: str) -> bool:
    response = harness.client(basic(user, password)).get("/api/v1/App/user")
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def user_names(api) -> set[str]:
    return {u["userName"] for u in api.get(USER).json()["list"]}


def test_a_user_created_with_a_password_logs_in_with_it(harness, api):
    response = api.post(USER, json={"userName": "alice", "lastName": "A", "password": "first-secret",
                                    "passwordConfirm": "first-secret"})
    assert response.status_code == 200, response.text
    assert not {"password", "passwordConfirm", "passwordHash"} & set(response.json())
    assert can_log_in(harness, "alice", "first-secret")
    assert not can_log_in(harness, "alice", "wrong-secret")
    read = api.get(f"{USER}/{response.json()['id']}").json()
    assert not any("password" in key.lower() for key in read)


def test_an_admin_changes_a_password_and_the_old_one_stops_working(harness, api):
    user_id = api.post(USER, json={"userName": "bob", "lastName": "B", "password": "old-secret-1"}).json()["id"]
    response = api.put(f"{USER}/{user_id}", json={"password": "new-secret-2", "passwordConfirm": "new-secret-2"})
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    assert can_log_in(harness, "bob", "new-secret-2")
    assert not can_log_in(harness, "bob", "old-secret-1")


@pytest.mark.parametrize("body, reason", [
    ({"password": "secret-one", "passwordConfirm": "secret-two"}, "do not match"),
    ({"password": "short"}, "8 to 150"),
    ({"password": "x" * 151}, "8 to 150"),
    ({"password": 12345678}, "must be a string"),
    ({"password": ["secret-one"]}, "must be a string"),
    ({"password": "secret\x00one"}, "NUL"),
    ({"passwordConfirm": "secret-one"}, "'password' is required"),
    ({"password": "secret-one", "apiKey": "abc"}, "'apiKey' cannot be set"),
    ({"password": "secret-one", "authMethod": "Hmac"}, "'authMethod' cannot be set"),
    ({"password": "secret-one", "rolesIds": "1"}, "'rolesIds' must be an array"),
    ({"password": "secret-one", "rolesIds": ["999"]}, "No role with id 999"),
    ({"password": "secret-one", "type": "api"}, "API users have no password"),
])
def test_bad_passwords_are_refused_and_nothing_is_written(harness, api, body, reason):
    response = api.post(USER, json={"userName": "carol", "lastName": "C", **body})
    assert response.status_code in (400, 404), response.text
    assert reason in response.headers["X-Status-Reason"]
    assert "carol" not in user_names(api)
    user_id = api.post(USER, json={"userName": "carol", "lastName": "C", "password": "kept-secret"}).json()["id"]
    response = api.put(f"{USER}/{user_id}", json=body)
    assert response.status_code in (400, 404) and reason in response.headers["X-Status-Reason"]
    assert can_log_in(harness, "carol", "kept-secret")


def test_only_administrators_set_passwords_through_user_records(harness, api):
    user_id, client = harness.user({"User": {"read": "own", "edit": "own"}})
    response = client.put(f"{USER}/{user_id}", json={"password": "mine-new-secret"})
    assert response.status_code == 403 and "changeOwnPassword" in response.headers["X-Status-Reason"]
    response = client.put(f"{USER}/{user_id}", json={"rolesIds": []})
    assert response.status_code == 403
    response = client.put(f"{USER}/{user_id}", json={"title": "Boss"})
    assert response.status_code == 200  # the rest of one's own record stays editable


def test_change_own_password_checks_the_current_one(harness):
    harness.directory.create_user("dave", "current-secret")
    dave = harness.client(basic("dave", "current-secret"))
    action = "/api/v1/User/action/changeOwnPassword"
    for body, status, reason in [
        ({"password": "next-secret-1"}, 400, "'currentPassword' is required"),
        ({"password": "next-secret-1", "currentPassword": "not-it"}, 403, "current password is wrong"),
        ({"password": "next", "currentPassword": "current-secret"}, 400, "8 to 150"),
        ({"password": "next-secret-1", "passwordConfirm": "next-secret-2", "currentPassword": "current-secret"},
         400, "do not match"),
        ({"currentPassword": "current-secret"}, 400, "'password' is required"),
    ]:
        response = dave.post(action, json=body)
        assert response.status_code == status and reason in response.headers["X-Status-Reason"], response.text
    assert can_log_in(harness, "dave", "current-secret")
    response = dave.post(action, json={"password": "next-secret-1", "currentPassword": "current-secret"})
    assert response.status_code == 200 and response.json() is True
    assert can_log_in(harness, "dave", "next-secret-1")
    assert not can_log_in(harness, "dave", "current-secret")


def test_api_users_have_no_password_to_change(harness):
    _, client = harness.user({}, user_type="api")
    response = client.post("/api/v1/User/action/changeOwnPassword",
                           json={"password": "next-secret-1", "currentPassword": "whatever"})
    assert response.status_code == 403


def test_roles_given_through_roles_ids_apply_at_the_next_request(harness, api):
    role = api.post("/api/v1/Role", json={"name": "Sales", "data": {"Account": {"read": "all"}}}).json()
    user_id, client = harness.user()
    assert client.get("/api/v1/Account").status_code == 403
    assert api.put(f"{USER}/{user_id}", json={"rolesIds": [role["id"]]}).status_code == 200
    assert client.get("/api/v1/Account").status_code == 200
    assert api.put(f"{USER}/{user_id}", json={"rolesIds": []}).status_code == 200
    assert client.get("/api/v1/Account").status_code == 403


def test_administrators_read_a_users_roles_back_and_nobody_else_does(harness, api):
    role = api.post("/api/v1/Role", json={"name": "Support", "data": {"Case": {"read": "all"}}}).json()
    user_id, client = harness.user({"User": {"read": "own", "edit": "own"}})
    updated = api.put(f"{USER}/{user_id}", json={"rolesIds": [role["id"]]}).json()
    read = api.get(f"{USER}/{user_id}").json()
    for shown in (updated, read):
        assert (shown["rolesIds"], shown["rolesNames"]) == ([role["id"]], {role["id"]: "Support"})
    assert api.get(f"{USER}/{user_id}", params={"select": "userName"}).json().keys() == {"id", "userName"}
    own = client.get(f"{USER}/{user_id}").json()
    assert "rolesIds" not in own and "rolesNames" not in own
    created = api.post(USER, json={"userName": "erin", "lastName": "E", "rolesIds": [role["id"]]}).json()
    assert created["rolesNames"] == {role["id"]: "Support"}
