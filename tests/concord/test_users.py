"""Concord's `users` resource (specs/concord.md §2, §4 "Users", §9 "Users and tokens"): every user lists and
reads users; super admins create, change and delete them; users log in by email (`POST /api/token`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import JSON_HEADERS, Concord

PASSWORD = "correct-horse-9"


def new_user(**overrides: Any) -> dict[str, Any]:
    body = {"name": "Mary Major", "email": "mary@example.com", "password": PASSWORD,
            "password_confirmation": PASSWORD, "timezone": "Europe/Berlin", "time_format": "H:i",
            "date_format": "Y-m-d"}
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


def test_an_admin_creates_a_user_who_gets_a_token_and_calls_the_api(concord: Concord):
    response = concord.post("users", new_user(locale="es", default_landing_page="/deals", access_api=True))
    assert response.status_code == 201, response.content
    user = response.json()
    assert user["name"] == "Mary Major" and user["email"] == "mary@example.com"
    assert (user["timezone"], user["time_format"], user["date_format"], user["locale"]) == \
           ("Europe/Berlin", "H:i", "Y-m-d", "es")
    assert user["default_landing_page"] == "/deals" and user["super_admin"] is False and user["access_api"] is True
    assert user["was_recently_created"] is True and "path" not in user  # a user is no UI resource
    assert "password" not in response.text and PASSWORD not in response.text

    client = concord.harness.client(JSON_HEADERS, validate=False)
    token = client.post("/api/token", json={"email": "Mary@example.com", "password": PASSWORD,
                                            "device_name": "n8n"})
    assert token.status_code == 200, token.content
    assert token.json()["userId"] == user["id"]
    me = concord.harness.client({**JSON_HEADERS, "Authorization": f"Bearer {token.json()['accessToken']}"},
                                validate=False).get("/api/me")
    assert me.status_code == 200 and me.json()["email"] == "mary@example.com"
    # the same user through EspoCRM's API
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    espo = espo.get(f"/api/v1/User/{user['id']}").json()
    assert (espo["firstName"], espo["lastName"], espo["timeZone"], espo["dateFormat"]) == \
           ("Mary", "Major", "Europe/Berlin", "Y-m-d")


def test_a_normal_user_lists_and_reads_users_but_cannot_write_them(concord: Concord):
    admin = concord.get(f"users/{concord.user_id}").json()
    bob = concord.as_user("bob", {"Contact": {"read": "all"}})
    listing = bob.get("users", per_page=100)
    assert listing.status_code == 200
    ids = {row["id"] for row in listing.json()["data"]}
    assert {concord.user_id, bob.user_id} <= ids
    shown = bob.get(f"users/{concord.user_id}")
    assert shown.status_code == 200 and shown.json()["name"] == admin["name"]
    assert "roles" not in shown.json() and shown.json()["authorizations"]["update"] is False
    assert bob.get("users", q="bob").json()["meta"]["total"] == 1
    assert bob.post("users", new_user()).status_code == 403
    assert bob.put(f"users/{bob.user_id}", {"super_admin": True}).status_code == 403
    assert bob.delete(f"users/{concord.user_id}").status_code == 403
    assert bob.get(f"users/{bob.user_id}").json()["super_admin"] is False
    assert concord.get("users/99999").status_code == 404


def test_an_admin_changes_roles_and_flags_and_deletes_a_user(concord: Concord):
    concord.harness.directory.create_role("Sales", {"Contact": {"read": "all", "create": "yes"}})
    user = concord.create("users", new_user(roles=["Sales"]))
    assert [role["name"] for role in user["roles"]] == ["Sales"]
    changed = concord.put(f"users/{user['id']}", {"name": "Mary Minor", "super_admin": True, "roles": []})
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["name"] == "Mary Minor" and body["super_admin"] is True and body["access_api"] is True
    assert body["roles"] == [] and body["email"] == "mary@example.com"  # keys not sent are left alone
    # a new password needs its confirmation; an empty one leaves the password alone
    assert concord.put(f"users/{user['id']}", {"password": "another-secret-1"}).json()["errors"]["password"] == \
        ["The password field confirmation does not match."]
    assert concord.put(f"users/{user['id']}", {"password": "", "name": "Mary M"}).status_code == 200
    assert concord.delete(f"users/{user['id']}").status_code == 204
    assert concord.get(f"users/{user['id']}").status_code == 404


def test_an_api_user_gets_no_password(concord: Concord):
    api_user = concord.harness.directory.create_user("robot", None, user_type="api")
    response = concord.put(f"users/{api_user}", {"password": PASSWORD, "password_confirmation": PASSWORD,
                                                 "name": "Robot Renamed"})
    assert response.status_code == 422 and list(response.json()["errors"]) == ["password"]
    assert concord.get(f"users/{api_user}").json()["name"] != "Robot Renamed"  # nothing half-written


def test_an_admin_cannot_delete_themself_nor_demote_the_last_admin(concord: Concord):
    response = concord.delete(f"users/{concord.user_id}")
    assert response.status_code == 409
    assert response.json() == {"message": "You cannot delete your own account."}
    demoted = concord.put(f"users/{concord.user_id}", {"super_admin": False})
    assert demoted.status_code == 403
    assert concord.get(f"users/{concord.user_id}").json()["super_admin"] is True


def test_required_fields_are_reported_with_concords_plain_names(concord: Concord):
    response = concord.post("users", {})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors == {"name": ["The name field is required."], "email": ["The email field is required."],
                      "password": ["The password field is required."],
                      "timezone": ["The timezone field is required."],
                      "time_format": ["The time format field is required."],
                      "date_format": ["The date format field is required."]}
    assert response.json()["message"] == "The name field is required. (and 5 more errors)"
    user = concord.create("users", new_user())
    emptied = concord.put(f"users/{user['id']}", {"name": " ", "timezone": None})
    assert emptied.json()["errors"] == {"name": ["The name field must have a value."],
                                        "timezone": ["The timezone field must have a value."]}


def test_passwords_must_be_confirmed_and_long_enough(concord: Concord):
    cases = [({"password_confirmation": "something-else"}, "The password field confirmation does not match."),
             ({"password": "short", "password_confirmation": "short"},
              "The password field must be at least 8 characters."),
             ({"password": 12345678, "password_confirmation": 12345678}, "The password field must be a string."),
             ({"password": "x" * 151, "password_confirmation": "x" * 151},
              "The password field must not be greater than 150 characters.")]
    for change, message in cases:
        response = concord.post("users", new_user(**change))
        assert response.status_code == 422 and response.json()["errors"] == {"password": [message]}, change
        assert "x" * 151 not in response.text
    assert concord.get("users", q="mary").json()["meta"]["total"] == 0  # nothing half-written


def test_an_email_names_one_user_or_contact(concord: Concord):
    concord.create("users", new_user())
    for email in ("MARY@example.com", f"admin-contact@example.com"):
        if email.startswith("admin-contact"):
            concord.create("contacts", {"first_name": "Ann", "email": email})
        response = concord.post("users", new_user(email=email))
        assert response.status_code == 422
        assert response.json()["errors"] == {"email": ["The email has already been taken."]}
    other = concord.create("users", new_user(email="other@example.com", name="Other"))
    assert concord.put(f"users/{other['id']}", {"email": "mary@example.com"}).status_code == 422
    assert concord.put(f"users/{other['id']}", {"email": "other@example.com"}).status_code == 200  # its own


@pytest.mark.parametrize("change, key, message", [
    ({"email": "not-an-address"}, "email", "The email field must be a valid email address."),
    ({"email": ["a@b.c"]}, "email", "The email field must be a string."),
    ({"name": "x" * 192}, "name", "The name field must not be greater than 191 characters."),
    ({"name": {"first": "A"}}, "name", "The name field must be a string."),
    ({"timezone": "Mars/Olympus"}, "timezone", "The timezone field must be a valid timezone."),
    ({"time_format": "HH:mm"}, "time_format", "The selected time format is invalid."),
    ({"date_format": "'; DROP TABLE user; --"}, "date_format", "The selected date format is invalid."),
    ({"locale": "xx"}, "locale", "This locale does not exists."),
    ({"roles": ["No Such Role"]}, "roles", "The selected roles is invalid."),
    ({"roles": "Sales"}, "roles", "The roles field must be an array."),
    ({"super_admin": "yes"}, "super_admin", "The super admin field must be true or false."),
    ({"access_api": [1]}, "access_api", "The access api field must be true or false."),
    ({"default_landing_page": 5}, "default_landing_page", "The default landing page field must be a string."),
])
def test_bad_input_is_a_422_on_its_key(concord: Concord, change: dict[str, Any], key: str, message: str):
    response = concord.post("users", new_user(**change))
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == {key: [message]}


def test_bodies_that_are_not_objects_and_unknown_keys(concord: Concord):
    assert concord.post("users", [1, 2]).json()["errors"] == {"body": ["The request body must be a JSON object."]}
    response = concord.post("users", new_user(nickname="M", id=77))
    assert response.status_code == 201 and response.json()["id"] != 77
    assert "nickname" in response.headers["X-PolyCRM-Warning"]
    assert concord.get("users", order="password").status_code == 422
    assert concord.get("users", order="name|desc").status_code == 200


def test_no_answer_nor_list_shows_a_password(concord: Concord):
    user = concord.create("users", new_user())
    for response in (concord.get("users"), concord.get(f"users/{user['id']}"),
                     concord.put(f"users/{user['id']}", {"password": "n3w-passw0rd", "password_confirmation":
                                                         "n3w-passw0rd"})):
        assert response.status_code == 200
        assert PASSWORD not in response.text and "n3w-passw0rd" not in response.text
        assert "password" not in response.text
