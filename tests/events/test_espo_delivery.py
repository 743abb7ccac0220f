"""EspoCRM webhook deliveries end to end in one process: payload items per event, batching, signatures
(verified here with hashlib/hmac, independently of the code under test), status rules and the log."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json

import pytest

from tests.events.conftest import TEST_SETTINGS
from tests.events.receiver import Receiver
from tests.support.ssrf import BLOCKED_HOSTS


def subscribe(api, event: str, url: str, **extra) -> dict:
    response = api.post("/api/v1/Webhook", json={"event": event, "url": url, **extra})
    assert response.status_code == 201, (response.status_code, response.headers.get("x-status-reason"))
    return response.json()


def create(api, entity: str, body: dict) -> dict:
    response = api.post(f"/api/v1/{entity}", json=body)
    assert response.status_code == 200, response.headers.get("x-status-reason")
    return response.json()


def verify_espo_signatures(headers: dict[str, str], body: bytes, webhook_id: str, secret: str) -> None:
    expected_hex = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert base64.b64decode(headers["signature"]) == f"{webhook_id}:{expected_hex}".encode()
    legacy = base64.b64decode(headers["x-signature"])
    assert legacy == webhook_id.encode() + b":" + hmac.new(secret.encode(), body, hashlib.sha256).digest()


def test_create_update_delete_are_delivered_signed(api, worker, receiver: Receiver):
    hooks = {action: subscribe(api, f"Account.{action}", receiver.url) for action in ("create", "update", "delete")}
    account = create(api, "Account", {"name": "Acme", "type": "Customer", "billingAddressCity": "Prague"})
    assert api.put(f"/api/v1/Account/{account['id']}", json={"name": "Acme 2", "website": "acme.example"}
                   ).status_code == 200
    assert api.delete(f"/api/v1/Account/{account['id']}").status_code == 200
    worker.run_until_idle()
    received = receiver.wait_for(3)
    by_hook = {}
    for request in received:
        webhook_id = base64.b64decode(request.headers["signature"]).decode().split(":")[0]
        by_hook[webhook_id] = request
    assert set(by_hook) == {h["id"] for h in hooks.values()}
    for action, hook in hooks.items():
        request = by_hook[hook["id"]]
        verify_espo_signatures(request.headers, request.body, hook["id"], hook["secretKey"])
        assert request.headers["content-type"] == "application/json"
        assert len(request.headers["x-polycrm-delivery"]) == 36
        timestamp = request.headers["x-polycrm-timestamp"]
        signed = f"{timestamp}.{request.headers['x-polycrm-delivery']}.".encode() + request.body
        assert request.headers["x-polycrm-signature"] == "v1=" + hmac.new(
            hook["secretKey"].encode(), signed, hashlib.sha256).hexdigest()
        items = json.loads(request.body)
        assert isinstance(items, list) and len(items) == 1
        item = items[0]
        if action == "create":
            assert item["id"] == account["id"] and item["name"] == "Acme"
            assert item["billingAddressCity"] == "Prague" and item["createdById"] == account["createdById"]
            assert item["createdByName"] == "admin" and item["teamsIds"] == []
        elif action == "update":
            assert item == {"id": account["id"], "name": "Acme 2", "website": "acme.example"}
        else:
            assert item == {"id": account["id"]}


def test_batches_hold_at_most_fifty_items_in_commit_order(api, worker, receiver: Receiver):
    subscribe(api, "Contact.create", receiver.url)
    response = api.post("/api/v1/Contact/action/massCreate",
                        json={"list": [{"lastName": f"L{i}"} for i in range(120)]})
    assert response.status_code == 200
    ids = response.json()["ids"]
    worker.run_until_idle()
    received = receiver.wait_for(3)
    sizes = [len(json.loads(r.body)) for r in received]
    assert sizes == [50, 50, 20]
    assert [item["id"] for r in received for item in json.loads(r.body)] == ids


def test_field_update_items_and_no_event_without_a_real_change(api, worker, receiver: Receiver, harness):
    hook = subscribe(api, "Account.fieldUpdate.assignedUser", receiver.url)
    subscribe(api, "Account.fieldUpdate.name", receiver.url)
    account = create(api, "Account", {"name": "Solo"})
    api.put(f"/api/v1/Account/{account['id']}", json={"name": "Solo"})  # no change: no event
    api.put(f"/api/v1/Account/{account['id']}", json={"assignedUserId": str(harness.admin_id)})
    worker.run_until_idle()
    received = receiver.wait_for(1)
    assert len(received) == 1
    verify_espo_signatures(received[0].headers, received[0].body, hook["id"], hook["secretKey"])
    assert json.loads(received[0].body) == [{"id": account["id"], "assignedUserId": str(harness.admin_id),
                                             "assignedUserName": "admin"}]


def test_skip_own_and_owner_acl_at_send_time(api, harness, worker, receiver: Receiver):
    api_user, api_client = harness.user({"Account": {"create": "yes", "read": "own", "edit": "own",
                                                     "delete": "no"}}, user_type="api")
    own = subscribe(api_client, "Account.create", receiver.url)
    assert own["userId"] == str(api_user)
    create(api, "Account", {"name": "Not theirs"})
    theirs = create(api, "Account", {"name": "Theirs", "assignedUserId": str(api_user)})
    worker.run_until_idle()
    received = receiver.wait_for(1)
    assert [item["id"] for item in json.loads(received[0].body)] == [theirs["id"]]
    skipping = subscribe(api_client, "Account.update", receiver.url, skipOwn=True)
    api_client.put(f"/api/v1/Account/{theirs['id']}", json={"name": "By themselves"})
    worker.run_until_idle()
    assert len(receiver.received) == 1, "skipOwn: the owner's own change is not sent"
    assert skipping["skipOwn"] is True


@pytest.mark.parametrize("status, expected", [(400, "failed"), (422, "failed")])
def test_client_errors_fail_at_once(api, worker, receiver: Receiver, status: int, expected: str):
    hook = subscribe(api, "Account.create", receiver.url)
    receiver.default_status = status
    create(api, "Account", {"name": "x"})
    worker.run_until_idle()
    log = api.get(f"/api/v1/Webhook/{hook['id']}/deliveries").json()
    assert log["total"] == 1 and log["list"][0]["status"] == expected
    assert [a["statusCode"] for a in log["list"][0]["attempts"]] == [status]


def test_retries_then_success_and_the_log_shows_every_attempt(api, worker, receiver: Receiver):
    hook = subscribe(api, "Account.create", receiver.url)
    receiver.statuses = [500, 503]
    create(api, "Account", {"name": "x"})
    worker.run_until_idle()
    received = receiver.wait_for(3)
    assert len({r.headers["x-polycrm-delivery"] for r in received}) == 1, "one delivery id across retries"
    delivery = api.get(f"/api/v1/Webhook/{hook['id']}/deliveries").json()["list"][0]
    assert delivery["status"] == "succeeded"
    assert [(a["statusCode"], a["outcome"]) for a in delivery["attempts"]] == [
        (500, "retry"), (503, "retry"), (200, "success")]
    assert all(a["durationMs"] >= 0 and a["startedAt"] for a in delivery["attempts"])
    assert delivery["attempts"][-1]["responseExcerpt"] == "ok"


def test_exhausted_deliveries_disable_the_webhook_with_a_reason(api, worker, receiver: Receiver):
    hook = subscribe(api, "Account.create", receiver.url)
    receiver.default_status = 500
    for n in range(3):
        create(api, "Account", {"name": f"x{n}"})
        worker.run_until_idle()
    state = api.get(f"/api/v1/Webhook/{hook['id']}").json()
    assert state["isActive"] is False
    assert "3 failed deliveries in a row" in state["disabledReason"] and "HTTP 500" in state["disabledReason"]
    assert len(receiver.received) == 9  # 3 deliveries x 3 attempts
    create(api, "Account", {"name": "while disabled"})
    worker.run_until_idle()
    assert len(receiver.received) == 9
    receiver.default_status = 200
    enabled = api.put(f"/api/v1/Webhook/{hook['id']}", json={"isActive": True}).json()
    assert enabled["isActive"] is True and enabled["disabledReason"] is None


def test_gone_removes_the_webhook(api, worker, receiver: Receiver):
    hook = subscribe(api, "Account.create", receiver.url)
    receiver.default_status = 410
    create(api, "Account", {"name": "x"})
    worker.run_until_idle()
    assert api.get(f"/api/v1/Webhook/{hook['id']}").status_code == 404
    assert len(receiver.received) == 1


def test_redeliver_sends_the_same_delivery_again(api, worker, receiver: Receiver):
    hook = subscribe(api, "Account.create", receiver.url)
    create(api, "Account", {"name": "x"})
    worker.run_until_idle()
    first = receiver.wait_for(1)[0]
    delivery_id = first.headers["x-polycrm-delivery"]
    again = api.post(f"/api/v1/Webhook/{hook['id']}/deliveries/{delivery_id}/redeliver")
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert api.post(f"/api/v1/Webhook/{hook['id']}/deliveries/{delivery_id}/redeliver").status_code == 409
    assert api.post(f"/api/v1/Webhook/{hook['id']}/deliveries/nope/redeliver").status_code == 404
    worker.run_until_idle()
    second = receiver.wait_for(2)[1]
    assert second.headers["x-polycrm-delivery"] == delivery_id and second.body == first.body
    log = api.get(f"/api/v1/Webhook/{hook['id']}/deliveries").json()["list"][0]
    assert [a["number"] for a in log["attempts"]] == [1, 2]


def test_private_targets_are_refused_at_send_time_without_the_setting(api, worker, receiver: Receiver):
    hook = subscribe(api, "Account.create", receiver.url)
    worker.sender.guard.allow_private = False
    create(api, "Account", {"name": "x"})
    worker.run_until_idle()
    assert receiver.received == []
    delivery = api.get(f"/api/v1/Webhook/{hook['id']}/deliveries").json()["list"][0]
    assert delivery["attempts"][0]["error"].startswith("blocked:")


def test_every_blocked_spelling_is_refused_at_connect_time(api, worker, receiver: Receiver):
    """Subscribed while private targets were allowed, then sent with them refused: no spelling gets through,
    and none is even tried (each attempt is logged as blocked, not as a connection error)."""
    hooks = [subscribe(api, "Account.create", f"http://{host}:{receiver.port}/hook") for host in BLOCKED_HOSTS]
    worker.sender.guard.allow_private = False
    create(api, "Account", {"name": "x"})
    worker.run_until_idle()
    assert receiver.received == []
    for host, hook in zip(BLOCKED_HOSTS, hooks):
        attempts = api.get(f"/api/v1/Webhook/{hook['id']}/deliveries").json()["list"][0]["attempts"]
        assert attempts and all(a["error"].startswith("blocked:") for a in attempts), (host, attempts)


def test_redirects_are_not_followed(api, worker, receiver: Receiver):
    elsewhere = Receiver().start()
    try:
        hook = subscribe(api, "Account.create", receiver.url)
        receiver.statuses = [302]
        receiver.headers = {"Location": elsewhere.url}
        create(api, "Account", {"name": "x"})
        worker.run_until_idle()
        assert len(receiver.wait_for(1)) == 1
        attempts = api.get(f"/api/v1/Webhook/{hook['id']}/deliveries").json()["list"][0]["attempts"]
        assert [a["statusCode"] for a in attempts] == [302]  # a 3xx is a success in EspoCRM, not a hop
        assert elsewhere.received == []
    finally:
        elsewhere.stop()


@pytest.mark.parametrize("webhook_settings", [dataclasses.replace(TEST_SETTINGS, batch_size=1)])
def test_one_event_per_request_keeps_each_records_order(api, worker, receiver: Receiver):
    subscribe(api, "Account.update", receiver.url)
    ids = [create(api, "Account", {"name": f"A{i}"})["id"] for i in range(3)]
    for step in range(3):
        for record_id in ids:
            api.put(f"/api/v1/Account/{record_id}", json={"description": f"v{step}"})
    worker.run_until_idle()
    received = receiver.wait_for(9)
    items = [json.loads(r.body) for r in received]
    assert all(len(batch) == 1 for batch in items)
    for record_id in ids:
        assert [b[0]["description"] for b in items if b[0]["id"] == record_id] == ["v0", "v1", "v2"]
