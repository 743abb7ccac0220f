"""Sanctum tokens, the API-access permission, rate limits and which dialect answers a path under `/api/`
(specs/concord.md §1, §9 "§1 Transport and auth", "§1 Rate limiting")."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from polycrm.dialects.inflow.ids import encode_id
from tests.concord.conftest import JSON_HEADERS, Concord, concord_client

TOKEN = re.compile(r"\d+\|[A-Za-z0-9]{40}[0-9a-f]{8}")


def anonymous(concord: Concord, **headers: str):  # noqa: ANN201 - a TestClient
    return concord_client(concord.harness, headers)


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer 999|nope", "Bearer x", "Basic YTpi"])
def test_missing_or_bad_tokens_are_401_in_json(concord: Concord, authorization: str | None) -> None:
    headers = {"Accept": "application/json", **({"Authorization": authorization} if authorization else {})}
    response = anonymous(concord, **headers).get("/api/contacts")
    assert response.status_code == 401
    assert response.content == b'{"message":"Unauthenticated."}'
    assert response.headers["x-app-version"] == "1.5.1"
    assert "x-ratelimit-limit" not in response.headers


def test_without_accept_json_a_client_still_gets_json_not_a_login_page(concord: Concord) -> None:
    response = anonymous(concord).get("/api/contacts", follow_redirects=False)
    assert response.status_code == 401 and response.json() == {"message": "Unauthenticated."}


def test_a_token_works_with_or_without_its_id_prefix(concord: Concord) -> None:
    assert TOKEN.fullmatch(concord.token)
    secret = concord.token.split("|", 1)[1]
    for token in (concord.token, secret):
        response = anonymous(concord, Authorization=f"Bearer {token}", **JSON_HEADERS).get("/api/contacts")
        assert response.status_code == 200, token
    other_id = str(int(concord.token.split("|")[0]) + 1)
    response = anonymous(concord, Authorization=f"Bearer {other_id}|{secret}").get("/api/contacts")
    assert response.status_code == 401


def test_a_user_without_api_access_is_403_on_every_call(concord: Concord) -> None:
    locked = concord.as_user("locked", {"Contact": True}, api_access=False)
    for response in (locked.get("contacts"), locked.get("me"), locked.post("contacts", {"first_name": "X"})):
        assert response.status_code == 403
        assert response.content == b'{"error":"Your account is not authorized to perform API requests."}'


def test_token_exchange(concord: Concord) -> None:
    directory = concord.harness.directory
    directory.create_user("mary", "mary-password-1", email="Mary@Example.com")
    client = anonymous(concord, **JSON_HEADERS)
    response = client.post("/api/token", json={"email": "mary@example.com", "password": "mary-password-1",
                                               "device_name": "n8n"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body) == ["accessToken", "userId", "email", "name"] and TOKEN.fullmatch(body["accessToken"])
    me = anonymous(concord, Authorization=f"Bearer {body['accessToken']}", **JSON_HEADERS).get("/api/me").json()
    assert me["id"] == body["userId"] and me["email"] == "Mary@Example.com" and me["super_admin"] is False
    failed = client.post("/api/token", json={"email": "mary@example.com", "password": "wrong-password",
                                             "device_name": "n8n"})
    assert failed.status_code == 422
    assert failed.json() == {"message": "These credentials do not match our records.",
                             "errors": {"email": ["These credentials do not match our records."]}}
    missing = client.post("/api/token", json={"email": 5})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"email", "password", "device_name"}


def test_personal_access_tokens(concord: Concord) -> None:
    created = concord.post("personal-access-tokens", {"name": "zapier"})
    assert created.status_code == 201
    body = created.json()
    assert TOKEN.fullmatch(body["plainTextToken"]) and body["accessToken"]["name"] == "zapier"
    assert "last_used_at" not in body["accessToken"]
    listed = concord.get("personal-access-tokens").json()
    assert {row["name"] for row in listed} >= {"n8n", "zapier"}
    assert all(set(row) == {"id", "tokenable_type", "tokenable_id", "name", "abilities", "last_used_at",
                            "expires_at", "created_at", "updated_at"} for row in listed)
    token_id = body["accessToken"]["id"]
    assert concord.delete(f"personal-access-tokens/{token_id}").status_code == 204
    gone = anonymous(concord, Authorization=f"Bearer {body['plainTextToken']}").get("/api/contacts")
    assert gone.status_code == 401
    other = concord.as_user("other", {"Contact": True})
    assert other.delete(f"personal-access-tokens/{other_token_id(other)}").status_code == 204
    assert concord.delete(f"personal-access-tokens/{token_id}").status_code == 404
    assert concord.post("personal-access-tokens", {}).status_code == 422


@pytest.mark.parametrize("name", ["n" * 101, "   "])
def test_token_names_longer_than_kept_or_blank_are_422(concord: Concord, name: str) -> None:
    """Both were 500s (found by Schemathesis): PolyCRM keeps 100 characters of a token's name."""
    created = concord.post("personal-access-tokens", {"name": name})
    assert created.status_code == 422 and list(created.json()["errors"]) == ["name"]
    exchanged = anonymous(concord, **JSON_HEADERS).post("/api/token", json={
        "email": "nobody@example.com", "password": "secret-password", "device_name": name})
    assert exchanged.status_code == 422 and list(exchanged.json()["errors"]) == ["device_name"]


def other_token_id(client: Concord) -> int:
    return int(client.token.split("|")[0])


@pytest.mark.parametrize("token_id", ["²", "99999999999999999999999", "1.5", "-1"])
def test_odd_token_ids_are_404(concord: Concord, token_id: str) -> None:
    """`²` and an id beyond 64 bits were 500s (int() of a superscript digit; SQLite's integer range)."""
    response = concord.delete(f"personal-access-tokens/{token_id}")
    assert response.status_code == 404
    assert concord.get("me").status_code == 200


def test_someone_elses_token_cannot_be_revoked(concord: Concord) -> None:
    other = concord.as_user("someone", {"Contact": True})
    assert concord.delete(f"personal-access-tokens/{other_token_id(other)}").status_code == 404
    assert other.get("contacts").status_code == 200


def test_requests_are_counted_off_the_event_loop(concord: Concord, monkeypatch: pytest.MonkeyPatch) -> None:
    """The count may wait on Redis: on the event loop it would hold up every other request of the worker."""
    from polycrm.dialects.ratelimit import RateLimiter

    counted_on_a_loop: list[bool] = []
    hit = RateLimiter.hit

    def noted(self: RateLimiter, rate: Any, *identity: str) -> Any:
        try:
            asyncio.get_running_loop()
            counted_on_a_loop.append(True)
        except RuntimeError:
            counted_on_a_loop.append(False)
        return hit(self, rate, *identity)

    monkeypatch.setattr(RateLimiter, "hit", noted)
    response = concord.get("contacts")
    assert response.status_code == 200 and response.headers["x-ratelimit-remaining"]
    assert counted_on_a_loop == [False]


def test_bearer_requests_are_concords_and_the_rest_inflowcrms(concord: Concord) -> None:
    created = concord.create("contacts", {"first_name": "Shared"})
    inflow = concord.harness.client({"x-api-key": concord.harness.admin_key}, validate=False)
    # InflowCRM's record path takes a 24-hex id: without a Bearer token it is InflowCRM's, the same record.
    answered = inflow.get(f"/api/contacts/{encode_id('Contact', created['id'])}")
    assert answered.status_code == 200, answered.content
    assert "Shared" in answered.text
    # A Concord-only shape answers Concord's 401 without a token.
    for path in ("/api/contacts", "/api/contacts/1", "/api/contacts/search", "/api/me", "/api/search",
                 "/api/associations/contacts/1"):
        response = anonymous(concord, Accept="application/json").get(path)
        assert response.json() == {"message": "Unauthenticated."}, path
    assert inflow.post("/api/searchRecords", json={"module": "Contacts"}).status_code != 404
