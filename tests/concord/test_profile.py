"""The caller's own account (specs/concord.md §2 "Users"): `PUT /api/profile` and `PUT /api/profile/password`,
as Concord CRM 1.4.1 answers them, for any user whatever their roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.concord.conftest import JSON_HEADERS, Concord

PASSWORD = "correct-horse-9"


def profile(**overrides: Any) -> dict[str, Any]:
    body = {"name": "Pat Doe", "email": "pat@example.com", "timezone": "Europe/Berlin", "locale": "es",
            "time_format": "H:i", "date_format": "Y-m-d"}
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


@pytest.fixture
def pat(concord: Concord) -> Concord:
    """A user with a password and a role that grants nothing on users."""
    user = concord.as_user("pat", {"Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}},
                           email="pat@example.com")
    concord.harness.directory.set_password(user.user_id, PASSWORD)
    return user


def test_a_limited_user_changes_their_own_profile(concord: Concord, pat: Concord) -> None:
    response = pat.put("profile", profile(name="Pat Q Doe", default_landing_page="/deals", super_admin=True,
                                          access_api=False, roles=["admin"], password="x", bogus=1))
    assert response.status_code == 200, response.content
    user = response.json()
    assert (user["id"], user["name"], user["email"], user["timezone"], user["locale"]) == \
           (pat.user_id, "Pat Q Doe", "pat@example.com", "Europe/Berlin", "es")
    assert (user["time_format"], user["date_format"], user["default_landing_page"]) == ("H:i", "Y-m-d", "/deals")
    assert user["super_admin"] is False and user["access_api"] is True  # not the caller's to change here
    assert list(user) == list(pat.get("me").json())  # as /api/me shows the caller
    warning = response.headers["X-PolyCRM-Warning"]
    assert all(key in warning for key in ("super_admin", "access_api", "roles", "password", "bogus"))
    assert pat.get("me").json()["name"] == "Pat Q Doe"
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False).get(f"/api/v1/User/{pat.user_id}")
    assert (espo.json()["firstName"], espo.json()["lastName"], espo.json()["type"]) == ("Pat Q", "Doe", "regular")
    assert pat.put(f"users/{concord.user_id}", {"name": "Hijack"}).status_code == 403  # others' stay refused


def test_profile_keys_are_all_required_in_concords_order(pat: Concord) -> None:
    response = pat.put("profile", {})
    assert response.status_code == 422
    assert response.json() == {
        "message": "The name field is required. (and 5 more errors)",
        "errors": {"name": ["The name field is required."], "email": ["The email field is required."],
                   "time_format": ["The time format field is required."],
                   "date_format": ["The date format field is required."],
                   "locale": ["The locale field is required."], "timezone": ["The timezone field is required."]}}


def test_bad_profile_values_are_422_as_concord_words_them(concord: Concord, pat: Concord) -> None:
    response = pat.put("profile", {"name": 5, "email": "bad", "timezone": "Nope/X", "locale": "xx",
                                   "time_format": "x", "date_format": ["y"]})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "name": ["The name field must be a string."], "email": ["The email field must be a valid email address."],
        "time_format": ["The selected time format is invalid."],
        "date_format": ["The selected date format is invalid."], "locale": ["This locale does not exists."],
        "timezone": ["The timezone field must be a valid timezone."]}
    concord.as_user("other", email="other@example.com")
    taken = pat.put("profile", profile(email="Other@example.com"))
    assert taken.status_code == 422 and taken.json()["errors"] == {"email": ["The email has already been taken."]}
    assert pat.put("profile", profile(email="pat@example.com")).status_code == 200  # their own address
    assert pat.put("profile", profile(name="n" * 300)).status_code == 422
    assert pat.put("profile", profile(name="Robert'); DROP TABLE user;--")).json()["name"] == \
           "Robert'); DROP TABLE user;--"
    assert pat.put("profile", ["not", "an", "object"]).status_code == 422
    assert pat.get("me").json()["email"] == "pat@example.com"  # nothing half-written


def test_the_password_changes_with_the_current_one(concord: Concord, pat: Concord) -> None:
    new = "battery-staple-7"
    response = pat.put("profile/password", {"old_password": PASSWORD, "password": new,
                                            "password_confirmation": new})
    assert response.status_code == 204 and response.content == b""
    client = concord.harness.client(JSON_HEADERS, validate=False)
    login = {"email": "pat@example.com", "device_name": "n8n"}
    assert client.post("/api/token", json={**login, "password": new}).status_code == 200
    assert client.post("/api/token", json={**login, "password": PASSWORD}).status_code == 422


def test_password_change_refusals_are_concords(pat: Concord) -> None:
    empty = pat.put("profile/password", {})
    assert empty.status_code == 422 and empty.json() == {
        "message": "The Current Password field is required. (and 2 more errors)",
        "errors": {"old_password": ["The Current Password field is required."],
                   "password": ["The password field is required."],
                   "password_confirmation": ["The password confirmation field is required."]}}
    wrong = pat.put("profile/password", {"old_password": "wrongwrong", "password": "wrongwrong",
                                         "password_confirmation": "wrongwrong"})
    assert wrong.json()["errors"] == {"old_password": ["The password is incorrect."],
                                      "password": ["The password field and Current Password must be different."]}
    mismatch = pat.put("profile/password", {"old_password": PASSWORD, "password": "battery-staple-7",
                                            "password_confirmation": "battery-staple-8"})
    assert mismatch.json()["errors"] == {"password": ["The password field confirmation does not match."]}
    short = pat.put("profile/password", {"old_password": PASSWORD, "password": "abc", "password_confirmation": "abc"})
    assert set(short.json()["errors"]) == {"password", "password_confirmation"}
    typed = pat.put("profile/password", {"old_password": 123456, "password": ["x"], "password_confirmation": None})
    assert typed.status_code == 422 and typed.json()["errors"]["password"] == ["The password field must be a string."]
    huge = pat.put("profile/password", {"old_password": "p" * 100_000, "password": "q" * 200,
                                        "password_confirmation": "q" * 200})
    assert huge.status_code == 422 and huge.json()["errors"]["old_password"] == ["The password is incorrect."]
    assert pat.put("profile/password", "nope").status_code == 422


@pytest.mark.parametrize("path", ["profile", "profile/password"])
def test_profile_routes_need_a_token(concord: Concord, path: str) -> None:
    anonymous = concord.harness.client(validate=False)
    assert anonymous.put(f"/api/{path}", json={}, headers={"Accept": "application/json"}).status_code == 401


def test_other_methods_answer_as_concords_router(concord: Concord) -> None:
    assert concord.post("profile", {}).status_code == 404  # Concord: POST /api/{resource}, no such resource
    refused = concord.post("profile/password", {})  # the path fits /api/{resource}/{id} too
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, PUT, DELETE"
