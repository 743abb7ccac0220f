"""`/api/v1/Webhook`: management as EspoCRM does it (specs/espocrm.md §9.1), bad input, access rules.
Every response is validated against the generated OpenAPI document by the harness."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from polycrm.app import build_app
from tests.api.conftest import ApiHarness
from tests.events.conftest import TEST_SETTINGS
from tests.support.ssrf import ACCEPTED_HOSTS, BLOCKED_HOSTS

URL = "http://127.0.0.1:9/hook"


def subscribe(api, body: dict):
    return api.post("/api/v1/Webhook", json=body)


def test_create_returns_201_with_a_secret_and_derived_attributes(api, harness):
    response = subscribe(api, {"event": "Lead.fieldUpdate.status", "url": URL, "description": "d"})
    assert response.status_code == 201
    hook = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", hook["secretKey"])
    assert (hook["entityType"], hook["type"], hook["field"]) == ("Lead", "fieldUpdate", "status")
    assert hook["isActive"] is True and hook["skipOwn"] is False and hook["userId"] is None
    assert hook["createdById"] == str(harness.admin_id) and hook["createdByName"] == "admin"
    assert api.get(f"/api/v1/Webhook/{hook['id']}").json() == hook
    listed = api.get("/api/v1/Webhook").json()
    assert listed == {"total": 1, "list": [hook]}


def test_secret_is_encrypted_at_rest(api, store):
    hook = subscribe(api, {"event": "Account.create", "url": URL}).json()
    with store.database.engine.connect() as conn:
        stored = conn.execute(select(store.database.table("webhook").c.secret)).scalar_one()
    assert hook["secretKey"] not in stored


@pytest.mark.parametrize("event, reason", [
    ("", "Event is empty."), ("Account", "Not supported event."), ("Account.explode", "Not supported event."),
    ("Account.create.x", "Not supported event."), ("Account.fieldUpdate", "Not supported event."),
    ("Nope.create", "Entity type is not available for Webhooks."), ("Account.fieldUpdate.", "Field is empty."),
    ("Account.fieldUpdate.nope", "Field does not exist."), ("a.b.c.d", "Not supported event.")])
def test_bad_events_are_forbidden_with_espo_reasons(api, event: str, reason: str):
    response = subscribe(api, {"event": event, "url": URL})
    assert response.status_code == 403 and response.headers["x-status-reason"] == reason


@pytest.mark.parametrize("body, field, kind", [
    ({"event": "Account.create"}, "url", "required"),
    ({"event": "Account.create", "url": "not a url"}, "url", "valid"),
    ({"event": "Account.create", "url": "ftp://example.com/"}, "url", "valid"),
    ({"event": "Account.create", "url": 5}, "url", "valid"),
    ({"event": 5, "url": URL}, "event", "valid"),
    ({"event": "Account.create", "url": URL, "isActive": "yes"}, "isActive", "valid"),
    ({"event": "Account.create", "url": URL, "skipOwn": 1}, "skipOwn", "valid"),
    ({"event": "Account.create", "url": URL, "description": ["x"]}, "description", "valid"),
    ({"event": "Account.create", "url": URL, "userId": {"x": 1}}, "userId", "valid"),
])
def test_bad_values_are_validation_failures(api, body: dict, field: str, kind: str):
    response = subscribe(api, body)
    assert response.status_code == 400
    assert response.json()["messageTranslation"]["data"] == {"field": field, "type": kind}


def test_missing_event_and_unknown_or_read_only_fields(api):
    assert subscribe(api, {"url": URL}).headers["x-status-reason"] == "Event is empty."
    hook = subscribe(api, {"event": "Account.create", "url": URL, "secretKey": "mine", "entityType": "Lead",
                           "bogus": True}).json()
    assert hook["secretKey"] != "mine" and hook["entityType"] == "Account" and "bogus" not in hook


def test_bad_bodies(api, harness, config, store):
    assert api.post("/api/v1/Webhook", content=b"{", headers={"content-type": "application/json"}
                    ).status_code == 400
    assert api.post("/api/v1/Webhook", content=b"3", headers={"content-type": "application/json"}
                    ).status_code == 400
    small = build_app(dataclasses.replace(config, max_body_bytes=100, webhooks=TEST_SETTINGS), store.database)
    client = ApiHarness(small, harness.directory, harness.admin_id, harness.admin_key).key_client(harness.admin_key)
    assert client.post("/api/v1/Webhook", json={"event": "Account.create", "url": URL,
                                                "description": "x" * 200}).status_code == 413


def test_private_urls_are_refused_without_the_setting(harness, config, store):
    strict = build_app(config, store.database)  # POLYCRM_WEBHOOK_ALLOW_PRIVATE unset
    client = ApiHarness(strict, harness.directory, harness.admin_id, harness.admin_key).key_client(harness.admin_key)
    for host in BLOCKED_HOSTS:
        response = client.post("/api/v1/Webhook", json={"event": "Account.create", "url": f"http://{host}/x"})
        assert response.status_code == 400, host
        assert response.json()["messageTranslation"]["data"] == {"field": "url", "type": "valid"}, host
    assert client.get("/api/v1/Webhook").json()["total"] == 0
    hooks = []
    for host in ACCEPTED_HOSTS:
        response = client.post("/api/v1/Webhook", json={"event": "Account.create", "url": f"https://{host}/x"})
        assert response.status_code == 201, host
        hooks.append(response.json()["id"])
    for host in ("127.1", "[::ffff:0:7f00:1]", "loopback.example.net"):  # changing the URL is checked too
        patched = client.patch(f"/api/v1/Webhook/{hooks[0]}", json={"url": f"http://{host}/x"})
        assert patched.status_code == 400, host


def test_regular_users_have_no_access(harness):
    _, client = harness.user({"Account": True})
    for response in (client.get("/api/v1/Webhook"), subscribe(client, {"event": "Account.create", "url": URL}),
                     client.get("/api/v1/Webhook/1")):
        assert response.status_code == 403 and response.headers["x-status-reason"] == "No access to 'Webhook'."


def test_api_users_own_their_webhooks(api, harness):
    api_user, client = harness.user({"Account": {"read": "own"}}, user_type="api")
    other, other_client = harness.user({"Account": {"read": "all"}}, user_type="api")
    assert subscribe(client, {"event": "Contact.create", "url": URL}).headers["x-status-reason"] == \
        "Entity type is forbidden."
    mine = subscribe(client, {"event": "Account.create", "url": URL, "userId": str(other)}).json()
    assert mine["userId"] == str(api_user), "only admins choose the owner"
    theirs = subscribe(other_client, {"event": "Account.delete", "url": URL}).json()
    assert [h["id"] for h in client.get("/api/v1/Webhook").json()["list"]] == [mine["id"]]
    assert client.get(f"/api/v1/Webhook/{theirs['id']}").status_code == 403
    assert client.delete(f"/api/v1/Webhook/{theirs['id']}").status_code == 403
    assert api.get("/api/v1/Webhook").json()["total"] == 2
    # Non-admins may not change the event: it is dropped silently (EspoCRM).
    changed = client.put(f"/api/v1/Webhook/{mine['id']}", json={"event": "Account.delete", "skipOwn": True})
    assert changed.status_code == 200 and changed.json()["event"] == "Account.create"
    assert changed.json()["skipOwn"] is True


def test_admin_chooses_an_api_user_as_owner(api, harness):
    regular, _ = harness.user({"Account": True})
    api_user, _ = harness.user({"Account": True}, user_type="api")
    refused = subscribe(api, {"event": "Account.create", "url": URL, "userId": str(regular)})
    assert refused.status_code == 403 and refused.headers["x-status-reason"] == "User must be an API User."
    owned = subscribe(api, {"event": "Account.create", "url": URL, "userId": str(api_user)}).json()
    assert owned["userId"] == str(api_user) and owned["userName"].startswith("user")


def test_per_user_limit(harness, monkeypatch):
    monkeypatch.setattr("polycrm.dialects.espo.webhooks.MAX_PER_USER", 2)
    _, client = harness.user({"Account": True}, user_type="api")
    for _ in range(2):
        assert subscribe(client, {"event": "Account.create", "url": URL}).status_code == 201
    refused = subscribe(client, {"event": "Account.create", "url": URL})
    assert refused.status_code == 403
    assert refused.headers["x-status-reason"] == "Webhook number per user exceeded the limit."


def test_update_and_delete(api):
    hook = subscribe(api, {"event": "Account.create", "url": URL}).json()
    assert api.put(f"/api/v1/Webhook/{hook['id']}", json={"event": "Account.update"}).headers[
        "x-status-reason"] == "Event can't be changed."
    patched = api.patch(f"/api/v1/Webhook/{hook['id']}", json={"url": "http://127.0.0.1:10/x", "isActive": False,
                                                              "event": "Account.create"}).json()
    assert patched["url"] == "http://127.0.0.1:10/x" and patched["isActive"] is False
    assert api.put(f"/api/v1/Webhook/{hook['id']}", json={"url": "nope"}).status_code == 400
    assert api.delete(f"/api/v1/Webhook/{hook['id']}").json() is True
    for response in (api.get(f"/api/v1/Webhook/{hook['id']}"), api.delete(f"/api/v1/Webhook/{hook['id']}"),
                     api.get("/api/v1/Webhook/abc"), api.get(f"/api/v1/Webhook/{hook['id']}/deliveries")):
        assert response.status_code == 404


def test_list_paging_and_bad_parameters(api):
    ids = [subscribe(api, {"event": "Account.create", "url": URL}).json()["id"] for _ in range(3)]
    page = api.get("/api/v1/Webhook?offset=1&maxSize=1").json()
    assert page["total"] == 3 and [h["id"] for h in page["list"]] == ids[1:2]
    assert api.get("/api/v1/Webhook?maxSize=201").status_code == 400
    assert api.get("/api/v1/Webhook?offset=-1").status_code == 400
    assert api.get(f"/api/v1/Webhook/{ids[0]}/deliveries?maxSize=x").status_code == 400
    assert api.get(f"/api/v1/Webhook/{ids[0]}/deliveries?status=bogus").status_code == 400
    assert api.get(f"/api/v1/Webhook/{ids[0]}/deliveries?status=failed").json() == {"total": 0, "list": []}
