"""Reliability with real processes and sockets (127.0.0.1 only, every wait bounded): a receiver that is
down for a while, a server killed with SIGKILL mid-delivery, and several servers and workers sharing one
store. PostgreSQL variants skip with a visible reason when POLYCRM_TEST_DATABASE_URL is unset."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import httpx
from typer.testing import CliRunner, Result

from polycrm.cli import app as cli_app

from tests.events.processes import Cluster
from tests.events.receiver import Received, Receiver
from tests.live.conftest import free_port

WAIT = 90.0  # seconds: the bound of every wait below
INFLOW_PATH = "/hook/inflow"  # where the InflowCRM subscriptions deliver; EspoCRM's go to /hook
INFLOW_SECRET = "reliability-inflow-secret-0123456789"


def wait_until(condition: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s")


def items_by_webhook(received: list[Received]) -> dict[str, list[dict]]:
    """Payload items per webhook id (from the Signature header), in arrival order."""
    found: dict[str, list[dict]] = defaultdict(list)
    for request in received:
        if request.path == INFLOW_PATH:
            continue
        webhook_id = base64.b64decode(request.headers["signature"]).decode().split(":")[0]
        found[webhook_id].extend(json.loads(request.body))
    return found


def delivered(receiver: Receiver, wanted: dict[str, list[str]]) -> bool:
    """Whether each webhook has received an item for each of its record ids."""
    found = items_by_webhook(receiver.received)
    return all({item["id"] for item in found[hook]} >= set(ids) for hook, ids in wanted.items())


def subscribe(api, event: str, url: str) -> str:
    response = api.post("/Webhook", json={"event": event, "url": url})
    assert response.status_code == 201, response.headers.get("x-status-reason")
    return response.json()["id"]


def subscribe_inflow(url: str, api_key: str, receiver: Receiver) -> None:
    """An InflowCRM subscription to contact updates: one event per request, ordered per record."""
    with httpx.Client(base_url=url, headers={"x-api-key": api_key}, timeout=30) as inflow:
        response = inflow.post("/webhooks/subscribe", json={"event": "updated", "module": "contact",
                                                            "hookUrl": receiver.url + "/inflow",
                                                            "hmacSecret": INFLOW_SECRET})
        assert response.status_code == 201, response.text


def inflow_updates(received: list[Received]) -> dict[str, list[str]]:
    """The descriptions each record's InflowCRM update payloads set, in arrival order (signatures checked),
    one per delivery (a resend after a crash is the same delivery)."""
    found: dict[str, list[str]] = defaultdict(list)
    seen: set[str] = set()
    for request in received:
        if request.path != INFLOW_PATH or request.headers["x-polycrm-delivery"] in seen:
            continue
        seen.add(request.headers["x-polycrm-delivery"])
        assert request.headers["x-webhook-signature"] == hmac.new(INFLOW_SECRET.encode(), request.body,
                                                                   hashlib.sha256).hexdigest()
        payload = json.loads(request.body)
        found[payload["id"]] += [d["to"] for d in payload["diff"] if d["path"] == "description"]
    return found


def same_delivery_same_body(received: list[Received]) -> None:
    """Duplicates are allowed only as resends of one delivery: same delivery id, same events."""
    bodies: dict[str, set[bytes]] = defaultdict(set)
    for request in received:
        bodies[request.headers["x-polycrm-delivery"]].add(request.body)
    assert all(len(b) == 1 for b in bodies.values())


def test_receiver_down_then_up_every_event_arrives_in_commit_order(backend: str, tmp_path: Path):
    receiver = Receiver(port=free_port())  # not listening yet
    cluster = Cluster.create(backend, tmp_path)
    try:
        url = cluster.serve()
        with cluster.client(url) as api:
            created_hook = subscribe(api, "Contact.create", receiver.url)
            updated_hook = subscribe(api, "Contact.update", receiver.url)
            subscribe_inflow(url, cluster.api_key, receiver)
            ids = [api.post("/Contact", json={"lastName": f"R{i}"}).json()["id"] for i in range(10)]
            for step in range(5):
                for record_id in ids:
                    assert api.put(f"/Contact/{record_id}", json={"description": f"v{step}"}).status_code == 200
            wait_until(lambda: any(d["attempts"] for d in api.get(f"/Webhook/{created_hook}/deliveries").json()[
                "list"]), what="a failed attempt while the receiver is down")
            failed = api.get(f"/Webhook/{created_hook}/deliveries").json()["list"][-1]["attempts"][0]
            assert failed["outcome"] == "retry" and failed["statusCode"] is None and "Connect" in failed["error"]
            receiver.start()
            wait_until(lambda: delivered(receiver, {created_hook: ids, updated_hook: ids}),
                       what="every event delivered after the receiver came back")
            wait_until(lambda: sum(len(v) for v in items_by_webhook(receiver.received).values()) >= 60,
                       what="every update delivered")
            wait_until(lambda: sum(len(v) for v in inflow_updates(receiver.received).values()) >= 50,
                       what="every InflowCRM update delivered")
        found = items_by_webhook(receiver.received)
        assert sorted(item["id"] for item in found[created_hook]) == sorted(ids)
        per_record: dict[str, list[str]] = defaultdict(list)
        for item in found[updated_hook]:
            per_record[item["id"]].append(item["description"])
        assert per_record == {record_id: [f"v{step}" for step in range(5)] for record_id in ids}
        inflow = inflow_updates(receiver.received)
        assert len(inflow) == 10 and all(v == [f"v{step}" for step in range(5)] for v in inflow.values())
        same_delivery_same_body(receiver.received)
    finally:
        receiver.stop()
        cluster.stop()


def test_sigkill_while_deliveries_are_pending_and_in_flight_loses_nothing(backend: str, tmp_path: Path):
    receiver = Receiver().start()
    receiver.delay = 0.3  # each request stays in flight for a while
    cluster = Cluster.create(backend, tmp_path)
    try:
        server = cluster.serve()
        with cluster.client(server) as api:
            created_hook = subscribe(api, "Contact.create", receiver.url)
            updated_hook = subscribe(api, "Contact.update", receiver.url)
            subscribe_inflow(server, cluster.api_key, receiver)
            ids = []
            for i in range(20):
                ids.append(api.post("/Contact", json={"lastName": f"K{i}"}).json()["id"])
                assert api.put(f"/Contact/{ids[-1]}", json={"description": "changed"}).status_code == 200
        wait_until(lambda: len(receiver.received) >= 2, what="deliveries in flight")
        cluster.kill(cluster.processes[0])
        delivered_before = len(receiver.received)
        restarted = cluster.serve()
        wait_until(lambda: delivered(receiver, {created_hook: ids, updated_hook: ids}),
                   what="every event delivered after the restart")
        wait_until(lambda: len(inflow_updates(receiver.received)) == 20,
                   what="every InflowCRM update delivered after the restart")
        assert all(v == ["changed"] for v in inflow_updates(receiver.received).values())
        assert len(receiver.received) > delivered_before
        same_delivery_same_body(receiver.received)
        with cluster.client(restarted) as api:
            def all_succeeded() -> bool:
                log = api.get(f"/Webhook/{created_hook}/deliveries?maxSize=200").json()["list"]
                return all(d["status"] == "succeeded" for d in log)

            wait_until(all_succeeded, what="every delivery recorded as succeeded")
    finally:
        receiver.stop()
        cluster.stop()


def test_several_servers_and_workers_deliver_each_event_once_per_subscription(backend: str, tmp_path: Path):
    receiver = Receiver().start()
    cluster = Cluster.create(backend, tmp_path)
    try:
        servers = [cluster.serve(), cluster.serve()]
        cluster.worker()
        cluster.worker()
        with cluster.client(servers[0]) as api:
            hooks = [subscribe(api, "Contact.create", receiver.url) for _ in range(2)]
        created: list[str] = []
        lock = threading.Lock()

        def write(server: str, prefix: str) -> None:
            with cluster.client(server) as api:
                for i in range(60):
                    response = api.post("/Contact", json={"lastName": f"{prefix}{i}"})
                    assert response.status_code == 200
                    with lock:
                        created.append(response.json()["id"])

        threads = [threading.Thread(target=write, args=(server, f"S{n}-")) for n, server in enumerate(servers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        assert len(created) == 120

        wait_until(lambda: delivered(receiver, {hook: created for hook in hooks}),
                   what="every event delivered to both subscriptions")
        time.sleep(1.0)  # anything sent twice would arrive now
        found = items_by_webhook(receiver.received)
        for hook in hooks:
            counts = Counter(item["id"] for item in found[hook])
            assert set(counts) == set(created) and max(counts.values()) == 1, f"webhook {hook}: duplicates"
        deliveries = Counter(r.headers["x-polycrm-delivery"] for r in receiver.received)
        assert max(deliveries.values()) == 1
    finally:
        receiver.stop()
        cluster.stop()


def test_cli_shows_the_delivery_log_and_redelivers(tmp_path: Path):
    receiver = Receiver().start()
    cluster = Cluster.create("sqlite", tmp_path)
    runner = CliRunner()

    def polycrm(*args: str) -> Result:  # in this process: the commands, not their start-up, are under test
        return runner.invoke(cli_app, list(args), env=cluster.env)

    try:
        server = cluster.serve()
        with cluster.client(server) as api:
            hook = subscribe(api, "Account.create", receiver.url)
            api.post("/Account", json={"name": "Logged"}).raise_for_status()
        wait_until(lambda: len(receiver.received) == 1, what="the first delivery")
        listed = polycrm("webhook", "list")
        assert listed.exit_code == 0 and f"{hook}\tespo\tAccount.create\tactive\t{receiver.url}" in listed.stdout
        wait_until(lambda: json.loads(polycrm("webhook", "deliveries", "--json").stdout)["list"][0][
            "status"] == "succeeded", what="the delivery recorded")
        log = json.loads(polycrm("webhook", "deliveries", "--webhook", hook, "--json").stdout)
        delivery = log["list"][0]
        assert log["total"] == 1 and delivery["attempts"][0]["statusCode"] == 200
        assert delivery["id"] == receiver.received[0].headers["x-polycrm-delivery"]
        text_log = polycrm("webhook", "deliveries").stdout
        assert delivery["id"] in text_log and "#1" in text_log
        redelivered = polycrm("webhook", "redeliver", delivery["id"])
        assert redelivered.exit_code == 0, redelivered.stderr
        wait_until(lambda: len(receiver.received) == 2, what="the redelivery")
        assert receiver.received[1].headers["x-polycrm-delivery"] == delivery["id"]
        missing = polycrm("webhook", "redeliver", "no-such-delivery")
        assert missing.exit_code == 1 and missing.stderr.splitlines()[-1].startswith("error: no delivery")
        with httpx.Client(base_url=server, headers={"x-api-key": cluster.api_key}, timeout=30) as inflow:
            uid = inflow.post("/webhooks/subscribe", json={"event": "create", "module": "customer",
                                                           "hookUrl": receiver.url + "/inflow"}).json()["data"]["id"]
            inflow.post("/api/createRecord", json={"module": "customer", "data": {"name": "Inflow"}}).raise_for_status()
        # (the EspoCRM webhook on Account.create receives this customer too)
        wait_until(lambda: any(r.path == "/hook/inflow" for r in receiver.received), what="the InflowCRM delivery")
        inflow_request = next(r for r in receiver.received if r.path == "/hook/inflow")
        assert uid in polycrm("webhook", "list").stdout
        by_uuid = json.loads(polycrm("webhook", "deliveries", "--webhook", uid, "--json").stdout)
        assert by_uuid["total"] == 1 and by_uuid["list"][0]["id"] == inflow_request.headers["x-polycrm-delivery"]
        unknown = polycrm("webhook", "deliveries", "--webhook", "00000000-0000-4000-8000-000000000000")
        assert unknown.exit_code == 1 and unknown.stderr.splitlines()[-1].startswith("error: no webhook subscription")
    finally:
        receiver.stop()
        cluster.stop()
