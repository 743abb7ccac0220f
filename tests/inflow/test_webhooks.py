"""InflowCRM webhook management (specs/inflowcrm.md §11.1-11.2, §3): the four routes with their exact
envelopes, event spellings, duplicates, the 10-per-module-and-event cap, SSRF rules, visibility per key,
budgets per operation group, and bad input of every kind. Deliveries are tested in tests/events."""

from __future__ import annotations

import dataclasses
import json
import re
import threading

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from polycrm.app import build_app
from tests.inflow.conftest import error
from tests.inflow.spec import reference
from tests.inflow.test_examples import example
from tests.support.ssrf import ACCEPTED_HOSTS, BLOCKED_HOSTS

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
URL = "https://your-app.com/webhook"
BLOCKED = "Invalid hookUrl - must be a valid HTTP/HTTPS URL and not internal/private"
ROOMY = "subscribe=1000/hour,list=1000/hour,item=1000/hour"


@pytest.fixture
def hooks_app(config, store, harness):
    """The application with budgets that the tests' own requests cannot exhaust."""
    return build_app(dataclasses.replace(config, inflow_webhook_rate_limits=ROOMY), store.database)


@pytest.fixture
def client(hooks_app, harness, inflow_validator):
    return _client(hooks_app, harness.admin_key, inflow_validator)


def _client(app, key, validator) -> TestClient:
    c = TestClient(app, headers={"x-api-key": key} if key else {})
    c.event_hooks["response"].append(validator)
    return c


def subscribe(client: TestClient, event: str = "created", url: str = URL, module: str = "customer", **extra) -> str:
    response = client.post("/webhooks/subscribe", json={"event": event, "hookUrl": url, "module": module, **extra})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"data"} and set(body["data"]) == {"id"} and UUID.match(body["data"]["id"])
    return body["data"]["id"]


def test_subscribe_list_get_delete_as_documented(client):
    reference("examples")
    request = example("v0-62025dd.webhooks.01.create-webhook-subscription.request-body.json")
    created = client.post("/webhooks/subscribe", json=request)
    assert created.status_code == 201 and "meta" not in created.json()
    subscription_id = created.json()["data"]["id"]
    documented = example("head-a8bc94f.webhooks.08.get-webhook-subscription.success-response-200.json")["data"]
    item = client.get(f"/webhooks/{subscription_id}").json()
    assert set(item) == {"data"}
    assert set(documented) <= set(item["data"])
    assert item["data"] | {"createdAt": None, "modifiedAt": None} == {
        "subscriptionId": subscription_id, "eventName": "created", "hookUrl": request["hookUrl"],
        "module": "customer", "createdAt": None, "modifiedAt": None, "isActive": True, "disabledReason": None}
    assert item["data"]["createdAt"].endswith("Z")
    listed = client.get("/webhooks").json()
    assert listed == {"data": [item["data"]], "meta": {"pagination": {
        "page": 1, "perPage": 20, "total": 1, "pages": 1, "hasNext": False, "hasPrev": False}}}
    deleted = client.delete(f"/webhooks/{subscription_id}")
    assert deleted.status_code == 200
    assert deleted.json() == example("head-a8bc94f.webhooks.11.delete-webhook-subscription.success-response-200.json")
    gone = error(client.get(f"/webhooks/{subscription_id}"), 404, "NOT_FOUND")
    assert gone["message"] == example("head-a8bc94f.webhooks.09.get-webhook-subscription.not-found-404.json")[
        "error"]["message"]
    error(client.delete(f"/webhooks/{subscription_id}"), 404, "NOT_FOUND")
    assert client.get("/webhooks").json()["data"] == []


def test_every_event_spelling_is_accepted_and_echoed(client):
    spellings = ["create", "created", "UPDATE", "updated", "delete", "Deleted"]
    ids = {event: subscribe(client, event, url=f"https://hooks.example.com/{event}") for event in spellings}
    for event, subscription_id in ids.items():
        assert client.get(f"/webhooks/{subscription_id}").json()["data"]["eventName"] == event
    for event in ("creat", "insert", "", "create.customer", 7, None, ["create"]):
        body = {"event": event, "hookUrl": URL, "module": "customer"}
        details = error(client.post("/webhooks/subscribe", json=body), 400, "VALIDATION_ERROR")["details"]
        assert details == [{"field": "event", "errors": ["event must be one of the allowed event types"]}]


def test_a_repeated_subscription_answers_with_the_existing_one(client):
    first = subscribe(client, "create")
    assert subscribe(client, "created") == first  # create and created are one event
    assert subscribe(client, "CREATE", hmacSecret="s" * 40) == first  # the secret is not rotated this way
    assert subscribe(client, "create", url=URL + "?x=1") != first
    assert subscribe(client, "update") != first
    assert client.get("/webhooks").json()["meta"]["pagination"]["total"] == 3


def test_at_most_ten_subscriptions_per_module_and_event(client, inflow_api, hooks_app, inflow_validator):
    for n in range(9):
        subscribe(client, "create", url=f"https://hooks.example.com/{n}")
    _, user = inflow_api.user({"Account": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    other = _client(hooks_app, user.headers["x-api-key"], inflow_validator)
    subscribe(other, "created", url="https://hooks.example.com/user")  # the tenant's tenth
    refused = error(client.post("/webhooks/subscribe", json={
        "event": "created", "hookUrl": "https://hooks.example.com/11", "module": "customer"}), 400,
        "SUBSCRIPTION_LIMIT_REACHED")
    assert refused["message"] == "Subscription limit (10) reached for module 'customer' event 'create'"
    subscribe(client, "create", url="https://hooks.example.com/0")  # a repeat is not a new one
    subscribe(client, "update", url="https://hooks.example.com/11")  # another event has its own ten
    subscribe(client, "create", url="https://hooks.example.com/11", module="contact")
    ids = [item["subscriptionId"] for item in client.get("/webhooks?perPage=100").json()["data"]
           if item["eventName"] in ("create", "created") and item["module"] == "customer"]
    assert len(ids) == 10
    client.delete(f"/webhooks/{ids[0]}")
    subscribe(client, "create", url="https://hooks.example.com/11")  # room again
    other.close()


def test_concurrent_subscribes_keep_the_cap_and_find_duplicates(client, harness):
    store = harness.app.state.webhooks.subscriptions
    results: list[object] = []

    def attempt(n: int) -> None:
        try:
            results.append(store.create_once(
                limit=10, protocol="inflow", event="create", entity_type="Account", action="create", field=None,
                url=f"https://hooks.example.com/{n % 12}", secret="x" * 40, owner_id=harness.admin_id,
                created_by_id=harness.admin_id))
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            results.append(exc)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [r for r in results if isinstance(r, tuple) and r[1]]
    repeats = [r for r in results if isinstance(r, tuple) and not r[1]]
    refused = [r for r in results if not isinstance(r, tuple)]
    assert len(created) == 10 and {type(r).__name__ for r in refused} == {"SubscriptionLimitReached"}
    assert {r[0].id for r in repeats} <= {r[0].id for r in created}
    assert len(created) + len(repeats) + len(refused) == 24
    assert client.get("/webhooks?perPage=100").json()["meta"]["pagination"]["total"] == 10


def test_internal_targets_and_other_ports_are_refused(client):
    urls = [f"http://{host}/hook" for host in BLOCKED_HOSTS] + [
        "http://169.254.169.254/latest/meta-data", "https://billing.internal/hook",
        "https://hooks.example.com:8443/hook", "http://hooks.example.com:8080/hook"]
    for url in urls:
        body = {"event": "create", "hookUrl": url, "module": "customer"}
        refused = error(client.post("/webhooks/subscribe", json=body), 400, "VALIDATION_ERROR")
        assert refused["message"] == BLOCKED, url
    assert client.get("/webhooks").json()["data"] == []
    for host in ACCEPTED_HOSTS:
        subscribe(client, url=f"https://{host}/hook")
    assert client.get("/webhooks").json()["meta"]["pagination"]["total"] == len(ACCEPTED_HOSTS)


def test_bad_subscribe_bodies_name_every_bad_field(client):
    details = error(client.post("/webhooks/subscribe", json={}), 400, "VALIDATION_ERROR")["details"]
    assert {d["field"] for d in details} == {"event", "hookUrl", "module"}
    cases = {
        "hookUrl": ["ftp://example.com/x", "not a url", "https://", "https://user:pw@example.com/x",
                    "https://example.com/" + "a" * 500, 42, None],
        "module": ["bad module", "x" * 65, "", 5, {"name": "customer"}],
        "hmacSecret": ["s" * 31, "s" * 129, 12345678901234567890123456789012345, ["s" * 40], None, ""],
        "color": ["blue"],
    }
    for field, values in cases.items():
        for value in values:
            body = {"event": "create", "hookUrl": URL, "module": "customer", field: value}
            details = error(client.post("/webhooks/subscribe", json=body), 400, "VALIDATION_ERROR")["details"]
            assert [d["field"] for d in details] == [field], (field, value, details)
    # The docs' own example secret is 29 characters, under the documented minimum of 32.
    reference("examples")
    documented = example("head-a8bc94f.webhooks.01.create-webhook-subscription.request-body.json")
    details = error(client.post("/webhooks/subscribe", json=documented), 400, "VALIDATION_ERROR")["details"]
    assert details[0]["field"] == "hmacSecret"
    assert subscribe(client, hmacSecret="s" * 32) and subscribe(client, url=URL + "/2", hmacSecret="s" * 128)
    assert client.get("/webhooks").json()["meta"]["pagination"]["total"] == 2


def test_malformed_and_oversized_bodies(client):
    headers = {"content-type": "application/json"}
    error(client.post("/webhooks/subscribe", content=b"{not json", headers=headers), 400, "VALIDATION_ERROR")
    error(client.post("/webhooks/subscribe", content=b'["create"]', headers=headers), 400, "VALIDATION_ERROR")
    error(client.post("/webhooks/subscribe", content=b"event=create", headers={
        "content-type": "application/x-www-form-urlencoded"}), 415, "UNSUPPORTED_MEDIA_TYPE")
    huge = json.dumps({"event": "create", "hookUrl": URL, "module": "customer", "pad": "x" * (11 * 1024 * 1024)})
    error(client.post("/webhooks/subscribe", content=huge.encode(), headers=headers), 413, "PAYLOAD_TOO_LARGE")
    injection = {"event": "create", "hookUrl": URL, "module": "customer'; DROP TABLE webhook; --"}
    error(client.post("/webhooks/subscribe", json=injection), 400, "VALIDATION_ERROR")
    assert client.get("/webhooks").json()["data"] == []


def test_unknown_modules_and_modules_outside_the_bundle(client, inflow_api, hooks_app, inflow_validator):
    refused = error(client.post("/webhooks/subscribe", json={
        "event": "create", "hookUrl": URL, "module": "invalid-module"}), 400, "MODULE_NOT_FOUND")
    assert refused["message"] == "Module 'invalid-module' not found"
    _, user = inflow_api.user({"Contact": {"create": "yes", "read": "all", "edit": "all", "delete": "all"}})
    limited = _client(hooks_app, user.headers["x-api-key"], inflow_validator)
    error(limited.post("/webhooks/subscribe", json={"event": "create", "hookUrl": URL, "module": "customer"}), 400,
          "MODULE_NOT_FOUND")
    assert subscribe(limited, module="contact")
    limited.close()


def test_each_key_manages_its_own_subscriptions_and_admins_see_all(client, inflow_api, hooks_app,
                                                                     inflow_validator):
    scopes = {"Account": {"create": "yes", "read": "all", "edit": "all", "delete": "all"}}
    _, first_user = inflow_api.user(scopes)
    _, second_user = inflow_api.user(scopes)
    first = _client(hooks_app, first_user.headers["x-api-key"], inflow_validator)
    second = _client(hooks_app, second_user.headers["x-api-key"], inflow_validator)
    mine = subscribe(first)
    theirs = subscribe(second)
    assert subscribe(second) == theirs  # a repeat is per key's user, not another user's subscription
    assert [i["subscriptionId"] for i in first.get("/webhooks").json()["data"]] == [mine]
    error(second.get(f"/webhooks/{mine}"), 404, "NOT_FOUND")
    error(second.delete(f"/webhooks/{mine}"), 404, "NOT_FOUND")
    assert {i["subscriptionId"] for i in client.get("/webhooks").json()["data"]} == {mine, theirs}
    assert client.delete(f"/webhooks/{theirs}").status_code == 200
    assert second.get("/webhooks").json()["data"] == []
    first.close()
    second.close()


def test_ids_are_required_and_checked(client):
    reference("examples")
    for method in ("GET", "DELETE"):
        missing = client.request(method, "/webhooks/")
        assert missing.status_code == 400
        assert missing.json()["error"]["message"] == example(
            "head-a8bc94f.webhooks.10.get-webhook-subscription.missing-id-parameter-400.json")["error"]["message"]
        error(client.request(method, "/webhooks/not-a-uuid"), 400, "VALIDATION_ERROR")
        error(client.request(method, "/webhooks/' OR 1=1 --"), 400, "VALIDATION_ERROR")
        error(client.request(method, "/webhooks/00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND")
    error(client.put("/webhooks/00000000-0000-4000-8000-000000000000", json={}), 405, "METHOD_NOT_ALLOWED")
    error(client.get("/webhooks/subscribe"), 405, "METHOD_NOT_ALLOWED")
    error(client.get("/webhooks/a/b/c"), 404, "NOT_FOUND")


def test_pages(client):
    for module in ("customer", "contact", "potential"):
        for event in ("create", "update", "delete"):
            subscribe(client, event, module=module)
    first = client.get("/webhooks?perPage=4").json()
    assert len(first["data"]) == 4 and first["meta"]["pagination"] == {
        "page": 1, "perPage": 4, "total": 9, "pages": 3, "hasNext": True, "hasPrev": False}
    last = client.get("/webhooks?page=3&perPage=4").json()
    assert len(last["data"]) == 1 and last["meta"]["pagination"]["hasPrev"] is True
    assert last["meta"]["pagination"]["hasNext"] is False
    assert client.get("/webhooks?page=9").json()["data"] == []
    seen = [i["subscriptionId"] for p in (1, 2, 3) for i in client.get(f"/webhooks?page={p}&perPage=4").json()["data"]]
    assert len(set(seen)) == 9
    for query in ("perPage=0", "perPage=101", "perPage=abc", "page=0", "page=-1", "page=1.5"):
        error(client.get(f"/webhooks?{query}"), 400, "VALIDATION_ERROR")


def test_secrets_are_never_shown_and_stored_encrypted(client, harness):
    secret = "my-own-secret-of-forty-characters-long!!"
    subscription_id = subscribe(client, hmacSecret=secret)
    for response in (client.get("/webhooks"), client.get(f"/webhooks/{subscription_id}")):
        assert secret not in response.text and "hmacSecret" not in response.text
    database = harness.app.state.webhooks.database
    table = database.table("webhook")
    with database.connect() as conn:
        stored = conn.execute(select(table.c.secret).where(table.c.uid == subscription_id)).scalar_one()
    assert secret not in stored
    assert harness.app.state.webhooks.subscriptions.get_by_uid(subscription_id, "inflow").secret == secret


def test_management_needs_a_valid_key(hooks_app, inflow_validator):
    reference("examples")
    for key in (None, "wrong-key"):
        anonymous = _client(hooks_app, key, inflow_validator)
        for method, path in (("POST", "/webhooks/subscribe"), ("GET", "/webhooks"),
                             ("GET", "/webhooks/00000000-0000-4000-8000-000000000000"),
                             ("DELETE", "/webhooks/00000000-0000-4000-8000-000000000000")):
            refused = error(anonymous.request(method, path, json={}), 401, "UNAUTHORIZED")
            assert refused["message"] == example(
                "head-a8bc94f.webhooks.18.common-error-responses.invalid-api-key-401.json")["error"]["message"]
        anonymous.close()


def test_each_operation_group_has_its_own_budget(config, store, harness, inflow_validator):
    app = build_app(dataclasses.replace(config, inflow_webhook_rate_limits="subscribe=2/minute,item=3/minute"),
                    store.database)
    client = _client(app, harness.admin_key, inflow_validator)
    first = client.post("/webhooks/subscribe", json={"event": "create", "hookUrl": URL, "module": "customer"})
    assert first.headers["ratelimit-limit"] == "2" and first.headers["ratelimit-remaining"] == "1"
    subscription_id = first.json()["data"]["id"]
    error(client.post("/webhooks/subscribe", json={}), 400, "VALIDATION_ERROR")  # refused requests count too
    refused = client.post("/webhooks/subscribe", json={"event": "create", "hookUrl": URL, "module": "customer"})
    reference("examples")
    assert refused.status_code == 429 and refused.json() == example(
        "head-a8bc94f.webhooks.06.create-webhook-subscription.rate-limit-error-429.json")
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    listed = client.get("/webhooks")  # the default 100/hour for lists
    assert listed.status_code == 200 and listed.headers["ratelimit-limit"] == "100"
    for remaining in ("2", "1", "0"):
        assert client.get(f"/webhooks/{subscription_id}").headers["ratelimit-remaining"] == remaining
    assert client.delete(f"/webhooks/{subscription_id}").status_code == 429  # get and delete share one budget
    api = client.get("/api/getBundleModuleNames")
    assert api.status_code == 200 and api.headers["ratelimit-limit"] == "300"
    client.close()


def test_default_budgets_are_the_documented_ones(inflow):
    assert inflow.post("/webhooks/subscribe", json={}).headers["ratelimit-limit"] == "10"
    assert inflow.get("/webhooks").headers["ratelimit-limit"] == "100"
    assert inflow.get("/webhooks/00000000-0000-4000-8000-000000000000").headers["ratelimit-limit"] == "50"
