"""InflowCRM webhook deliveries end to end in one process (specs/inflowcrm.md §11.3-11.5): one compact JSON
object per event with `diff` on updates, `X-Webhook-Signature` verified here with hashlib/hmac
(independently of the code under test), the subscribed spelling echoed, any non-2xx retried, the delivery
log, redelivery and disabling."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from starlette.testclient import TestClient

from tests.events.receiver import Receiver
from tests.inflow.conftest import InflowValidator

SECRET = "receiver-secret-of-at-least-32-characters"


@pytest.fixture
def inflow(harness) -> TestClient:
    client = harness.client({"x-api-key": harness.admin_key}, validate=False)
    client.event_hooks["response"].append(InflowValidator())
    return client


def subscribe(inflow: TestClient, event: str, url: str, module: str = "customer", secret: str = SECRET) -> str:
    response = inflow.post("/webhooks/subscribe", json={"event": event, "hookUrl": url, "module": module,
                                                        "hmacSecret": secret})
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def create(inflow: TestClient, module: str, data: dict) -> dict:
    response = inflow.post("/api/createRecord", json={"module": module, "data": data})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def verified(request, secret: str = SECRET) -> dict:
    """The payload, after checking the signature and that the body is JSON.stringify-compatible."""
    expected = hmac.new(secret.encode("utf-8"), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-webhook-signature"] == expected
    payload = json.loads(request.body)
    assert request.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert request.headers["content-type"] == "application/json"
    return payload


def test_create_update_delete_payloads(inflow, worker, receiver: Receiver):
    subscribe(inflow, "created", receiver.url + "/c")
    subscribe(inflow, "UPDATED", receiver.url + "/u")
    subscribe(inflow, "delete", receiver.url + "/d")
    record = create(inflow, "customer", {"name": "Zażółć Ltd", "email": "office@zazolc.example",
                                         "customerCity": "Kraków", "type": "Customer"})
    changed = inflow.patch(f"/api/updateRecord/{record['id']}", json={
        "module": "customer", "data": {"name": "Zażółć S.A.", "customerCity": "Gdańsk", "website": "zazolc.example"}})
    assert changed.status_code == 200
    assert inflow.delete(f"/api/customer/{record['id']}").status_code == 204
    worker.run_until_idle()
    by_path = {r.path: r for r in receiver.wait_for(3)}
    created = verified(by_path["/hook/c"])
    assert list(created) == ["id", "event", "module", "data"]
    assert created["id"] == record["id"] and created["event"] == "created" and created["module"] == "customer"
    assert created["data"] == record
    updated = verified(by_path["/hook/u"])
    assert list(updated) == ["id", "event", "module", "data", "diff"] and updated["event"] == "UPDATED"
    assert updated["diff"] == [{"path": "name", "from": "Zażółć Ltd", "to": "Zażółć S.A."},
                               {"path": "website", "from": None, "to": "zazolc.example"},
                               {"path": "customerCity", "from": "Kraków", "to": "Gdańsk"}]
    # The record was deleted before the update was sent: the update's own values are all there is.
    assert updated["data"] == {"id": record["id"], "name": "Zażółć S.A.", "website": "zazolc.example",
                               "customerCity": "Gdańsk"}
    deleted = verified(by_path["/hook/d"])
    assert deleted == {"id": record["id"], "event": "delete", "module": "customer",
                       "data": {"deleted": True, "id": record["id"]}}
    for request in by_path.values():
        assert len(request.headers["x-polycrm-delivery"]) == 36 and request.headers["x-polycrm-timestamp"]


def test_update_data_is_the_whole_record_and_changes_from_any_protocol_arrive(inflow, api, worker,
                                                                            receiver: Receiver, harness):
    subscribe(inflow, "update", receiver.url)
    account = api.post("/api/v1/Account", json={"name": "Espo Made", "billingAddressCity": "Oslo"}).json()
    contact = api.post("/api/v1/Contact", json={"lastName": "Nord", "accountId": account["id"]}).json()
    assert api.put(f"/api/v1/Account/{account['id']}", json={"billingAddressCity": "Bergen"}).status_code == 200
    harness.app.state.core.add_field("Account", "cInternal", "varchar", {}, {})  # no InflowCRM API name
    assert api.put(f"/api/v1/Account/{account['id']}", json={"cInternal": "x"}).status_code == 200
    worker.run_until_idle()
    received = receiver.wait_for(1)
    assert len(received) == 1  # a change this protocol cannot show is not an update here
    payload = verified(received[0])
    wire = inflow.post("/api/findRecord", json={"module": "customer", "filters": {"name": "Espo Made"}}).json()["data"]
    assert payload["id"] == wire["id"] and payload["data"] == wire
    assert payload["diff"] == [{"path": "customerCity", "from": "Oslo", "to": "Bergen"}]
    assert contact["accountId"] == account["id"]


def test_relations_in_payloads_are_wire_ids(inflow, worker, receiver: Receiver):
    subscribe(inflow, "create", receiver.url, module="contact")
    customer = create(inflow, "customer", {"name": "Parent Co"})
    contact = create(inflow, "contact", {"lastName": "Child", "company": customer["id"]})
    worker.run_until_idle()
    payload = verified(receiver.wait_for(1)[0])
    assert payload["data"]["company"] == customer["id"] and payload["data"] == contact


def test_each_records_events_arrive_in_commit_order(inflow, worker, receiver: Receiver):
    subscribe(inflow, "update", receiver.url)
    ids = [create(inflow, "customer", {"name": f"C{n}"})["id"] for n in range(3)]
    for step in range(3):
        for record_id in ids:
            inflow.patch(f"/api/updateRecord/{record_id}", json={"module": "customer",
                                                                  "data": {"description": f"v{step}"}})
    worker.run_until_idle()
    payloads = [verified(r) for r in receiver.wait_for(9)]
    for record_id in ids:
        diffs = [p["diff"][0] for p in payloads if p["id"] == record_id]
        assert [(d["from"], d["to"]) for d in diffs] == [(None, "v0"), ("v0", "v1"), ("v1", "v2")]


def test_owner_acl_is_checked_at_send_time(harness, worker, receiver: Receiver):
    scopes = {"Account": {"create": "yes", "read": "own", "edit": "own", "delete": "own"}}
    _, espo_user = harness.user(scopes)
    user = harness.client({"x-api-key": espo_user.headers["x-api-key"]}, validate=False)
    admin = harness.client({"x-api-key": harness.admin_key}, validate=False)
    subscribe(user, "create", receiver.url)
    create(admin, "customer", {"name": "Not theirs"})
    mine = create(user, "customer", {"name": "Theirs"})
    worker.run_until_idle()
    receiver.wait_for(1)
    assert [verified(r)["id"] for r in receiver.received] == [mine["id"]]


@pytest.mark.parametrize("status", [302, 400, 410, 500])
def test_any_non_2xx_is_retried_and_logged(inflow, worker, receiver: Receiver, status: int):
    subscription_id = subscribe(inflow, "create", receiver.url)
    receiver.statuses = [status]
    create(inflow, "customer", {"name": "Retry me"})
    worker.run_until_idle()
    first, second = receiver.wait_for(2)
    assert first.headers["x-polycrm-delivery"] == second.headers["x-polycrm-delivery"] and first.body == second.body
    log = inflow.get(f"/webhooks/{subscription_id}/deliveries").json()
    assert log["meta"]["pagination"]["total"] == 1
    delivery = log["data"][0]
    assert delivery["status"] == "succeeded" and delivery["subscriptionId"] == subscription_id
    assert [(a["statusCode"], a["outcome"]) for a in delivery["attempts"]] == [(status, "retry"), (200, "success")]
    assert inflow.get(f"/webhooks/{subscription_id}").json()["data"]["isActive"] is True


def test_redeliver_and_the_log_filters(inflow, worker, receiver: Receiver):
    subscription_id = subscribe(inflow, "create", receiver.url)
    create(inflow, "customer", {"name": "Once"})
    worker.run_until_idle()
    first = receiver.wait_for(1)[0]
    delivery_id = first.headers["x-polycrm-delivery"]
    path = f"/webhooks/{subscription_id}/deliveries"
    again = inflow.post(f"{path}/{delivery_id}/redeliver")
    assert again.status_code == 200 and again.json()["data"]["status"] == "pending"
    assert inflow.post(f"{path}/{delivery_id}/redeliver").json()["error"]["code"] == "CONFLICT"
    assert inflow.post(f"{path}/nope/redeliver").status_code == 404
    assert inflow.get(f"{path}?status=pending").json()["meta"]["pagination"]["total"] == 1
    assert inflow.get(f"{path}?status=bogus").json()["error"]["code"] == "VALIDATION_ERROR"
    worker.run_until_idle()
    second = receiver.wait_for(2)[1]
    assert second.headers["x-polycrm-delivery"] == delivery_id and second.body == first.body
    assert [a["number"] for a in inflow.get(path).json()["data"][0]["attempts"]] == [1, 2]


def test_failing_subscriptions_are_disabled_and_subscribing_again_starts_afresh(inflow, worker, receiver: Receiver):
    subscription_id = subscribe(inflow, "create", receiver.url)
    receiver.default_status = 503
    for n in range(3):
        create(inflow, "customer", {"name": f"x{n}"})
        worker.run_until_idle()
    state = inflow.get(f"/webhooks/{subscription_id}").json()["data"]
    assert state["isActive"] is False and "3 failed deliveries in a row" in state["disabledReason"]
    assert len(receiver.received) == 9
    receiver.default_status = 200
    fresh = subscribe(inflow, "create", receiver.url)
    assert fresh != subscription_id
    create(inflow, "customer", {"name": "after"})
    worker.run_until_idle()
    assert verified(receiver.wait_for(10)[-1])["data"]["name"] == "after"


def test_the_secret_a_server_generates_still_signs(inflow, worker, receiver: Receiver, harness):
    response = inflow.post("/webhooks/subscribe", json={"event": "create", "hookUrl": receiver.url,
                                                        "module": "customer"})
    subscription_id = response.json()["data"]["id"]
    secret = harness.app.state.webhooks.subscriptions.get_by_uid(subscription_id, "inflow").secret
    assert len(secret) >= 32
    create(inflow, "customer", {"name": "Signed"})
    worker.run_until_idle()
    verified(receiver.wait_for(1)[0], secret)
