"""Webhook benchmark: deliveries per second to a local receiver, event-to-delivery latency, and what
matching subscriptions cost a create.

    .venv/bin/python bench/webhooks.py                                  # SQLite, in-process worker
    .venv/bin/python bench/webhooks.py --worker-processes 1             # SQLite, a separate worker process
    .venv/bin/python bench/webhooks.py --backend postgresql             # PostgreSQL, 2 `polycrm worker`s

Prints figures; asserts nothing. Only 127.0.0.1; every phase stops by count, and every wait by a timeout.
See bench/README.md ("Webhooks").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import loadgen  # noqa: E402
import run  # noqa: E402
import seed  # noqa: E402
from polycrm.dialects.inflow.ids import encode_id  # noqa: E402

WAIT = 300.0  # seconds: the bound of every wait for deliveries


class Receiver:
    """A minimal HTTP/1.1 keep-alive receiver on an asyncio loop in a thread: records when each payload
    item (by record id and webhook) arrived, answers 200 at once."""

    def __init__(self) -> None:
        self.port = run.free_port()
        self.requests = 0
        self.arrivals: dict[tuple[str, str], float] = {}  # (webhook id, record id) -> first arrival
        self.items = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode("latin-1")
                headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line)
                lowered = {k.lower(): v for k, v in headers.items()}
                body = await reader.readexactly(int(lowered.get("content-length", "0")))
                self._record(path, lowered, body, time.time())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _record(self, path: str, headers: dict[str, str], body: bytes, at: float) -> None:
        if "signature" in headers:  # EspoCRM: an array of items, the webhook id in the signature
            webhook_id = base64.b64decode(headers["signature"]).decode().split(":")[0]
            items = json.loads(body)
        else:  # InflowCRM: one event per request; each subscription has a URL of its own
            webhook_id, items = path, [json.loads(body)]
        with self._lock:
            self.requests += 1
            self.items += len(items)
            for item in items:
                self.arrivals.setdefault((webhook_id, item["id"]), at)

    def wait_items(self, count: int, timeout: float = WAIT) -> float:
        """Wait until `count` items have arrived; the time.time() of the last one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.arrivals) >= count:
                    return max(self.arrivals.values(), default=time.time())
            time.sleep(0.01)
        raise TimeoutError(f"only {len(self.arrivals)} of {count} items arrived within {timeout} s")


def create_latencies(api: httpx.Client, count: int, prefix: str) -> list[float]:
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        response = api.post("/api/v1/Contact", json={"firstName": "Bench", "lastName": f"{prefix}{i}",
                                              "emailAddress": f"{prefix.lower()}{i}@bench.example"})
        latencies.append(time.perf_counter() - started)
        response.raise_for_status()
    return latencies


def subscribe(api: httpx.Client, receiver: Receiver, count: int, protocol: str) -> list[str]:
    """`count` subscriptions to contact creates; EspoCRM webhook ids, or InflowCRM subscription UUIDs."""
    ids = []
    for n in range(count):
        if protocol == "espo":
            response = api.post("/api/v1/Webhook", json={"event": "Contact.create", "url": receiver.url})
        else:  # the same URL again would be the same subscription
            response = api.post("/webhooks/subscribe", json={"event": "create", "module": "contact",
                                                             "hookUrl": f"{receiver.url}/{n}"})
        response.raise_for_status()
        ids.append(response.json()["id"] if protocol == "espo" else response.json()["data"]["id"])
    return ids


def unsubscribe(api: httpx.Client, hook: str, protocol: str) -> None:
    api.delete(f"/api/v1/Webhook/{hook}" if protocol == "espo" else f"/webhooks/{hook}").raise_for_status()


def wire_id(espo_id: str, protocol: str) -> str:
    """A record's id as the protocol's payloads show it (InflowCRM: 24 hex characters)."""
    return espo_id if protocol == "espo" else encode_id("Contact", int(espo_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--worker-processes", type=int, default=None,
                        help="`polycrm worker` processes (default: 0 on SQLite, i.e. the server's in-process "
                             "worker; 2 on PostgreSQL). With any, the servers run no worker of their own")
    parser.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--creates", type=int, default=200, help="creates per phase of the 0-vs-10 comparison")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the alternating 0-vs-N comparison")
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--burst", type=int, default=5000, help="records mass-created for the throughput phase")
    parser.add_argument("--subscriptions", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=50, help="POLYCRM_WEBHOOK_BATCH_SIZE: events per request")
    parser.add_argument("--protocol", choices=["espo", "inflow"], default="espo",
                        help="whose subscriptions: EspoCRM (batches) or InflowCRM (one event per request)")
    args = parser.parse_args(argv)
    if args.protocol == "inflow":
        args.batch_size = 1
    if args.worker_processes is None:
        args.worker_processes = 0 if args.backend == "sqlite" else 2

    data_dir = run.RESULTS / f"webhooks-{args.backend}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    database_url = None
    if args.backend == "postgresql":
        name = "polycrm_bench_webhooks"
        run.pg_admin(args.pg_url, [f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"])
        database_url = run.pg_database_url(args.pg_url, name)
    env = seed.cli_env(data_dir, database_url)
    env.update(POLYCRM_WEBHOOK_ALLOW_PRIVATE="1", POLYCRM_WEBHOOK_BATCH_SIZE=str(args.batch_size),
               POLYCRM_WEBHOOK_WORKERS="0" if args.worker_processes else "1",
               POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS="subscribe=100000/hour,item=100000/hour")
    seed.run_cli(["init"], env)
    key = run.create_api_key(env)
    receiver = Receiver()
    server = run.Server(env, args.server_workers, data_dir / "server.log")
    workers = [subprocess.Popen([seed.POLYCRM, "worker"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
               for _ in range(args.worker_processes)]
    mode = f"{args.worker_processes} `polycrm worker` process(es)" if args.worker_processes else "in-process worker"
    figures: dict[str, Any] = {"backend": args.backend, "protocol": args.protocol, "workers": mode}
    try:
        server.wait_ready()
        api = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers={"X-Api-Key": key}, timeout=120)
        create_latencies(api, 50, "Warm")

        # 1. A create with N matching subscriptions against none, in alternating phases (A B A B).
        # (A subscription's queued deliveries are cancelled when it is deleted: wait for them first.)
        phases: dict[str, list[float]] = {"none": [], "subscribed": []}
        hooks: list[str] = []
        expected = 0
        for round_number in range(args.rounds):
            receiver.wait_items(expected)
            for hook in hooks:
                unsubscribe(api, hook, args.protocol)
            phases["none"] += create_latencies(api, args.creates, f"N{round_number}-")
            hooks = subscribe(api, receiver, args.subscriptions, args.protocol)
            paths = [f"/hook/{n}" for n in range(len(hooks))] if args.protocol == "inflow" else hooks
            phases["subscribed"] += create_latencies(api, args.creates, f"S{round_number}-")
            expected += args.creates * args.subscriptions
        p50 = {k: statistics.median(v) for k, v in phases.items()}
        figures["create_p50_ms"] = {k: round(v * 1000, 3) for k, v in p50.items()}
        figures["create_ratio"] = round(p50["subscribed"] / p50["none"], 3)

        # 2. Event-to-delivery latency: one create at a time, ~20 per second, with the subscriptions on.
        receiver.wait_items(expected)
        sent: dict[str, float] = {}
        for i in range(args.latency_events):
            response = api.post("/api/v1/Contact", json={"lastName": f"Latency{i}"})
            sent[wire_id(response.json()["id"], args.protocol)] = time.time()
            time.sleep(0.05)
        expected += len(sent) * len(hooks)
        receiver.wait_items(expected)
        delays = [receiver.arrivals[(h, r)] - at for r, at in sent.items() for h in paths
                  if (h, r) in receiver.arrivals]
        figures["latency_ms"] = {"p50": round(loadgen.percentile(delays, 50) * 1000, 1),
                                 "p99": round(loadgen.percentile(delays, 99) * 1000, 1), "samples": len(delays)}

        # 3. Throughput: a burst of events queued at once, delivered to every subscription.
        # Timed from the first delivery of the burst to the last, so the mass creates' own time (which
        # overlaps) does not count; `end_to_end_s` is from the first mass create to the last delivery.
        before_requests = receiver.requests
        started = time.time()
        for offset in range(0, args.burst, 1000):
            batch = [{"lastName": f"Burst{offset + i}"} for i in range(min(1000, args.burst - offset))]
            api.post("/api/v1/Contact/action/massCreate", json={"list": batch}).raise_for_status()
        last = receiver.wait_items(expected + args.burst * len(hooks))
        first = min(at for at in receiver.arrivals.values() if at >= started)
        elapsed = last - first
        delivered = args.burst * len(hooks)
        figures["burst"] = {"events": args.burst, "subscriptions": len(hooks), "deliveries": delivered,
                            "seconds": round(elapsed, 2), "end_to_end_s": round(last - started, 2),
                            "deliveries_per_s": round(delivered / elapsed),
                            "requests_per_s": round((receiver.requests - before_requests) / elapsed)}
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)  # it finishes the requests in flight first
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)
        server.stop()

    print(f"\nWebhooks ({args.protocol}) on {args.backend}, {mode}, {args.server_workers} server processes, "
          f"{args.subscriptions} subscriptions")
    print(f"  create p50: {figures['create_p50_ms']['none']:.2f} ms with none, "
          f"{figures['create_p50_ms']['subscribed']:.2f} ms with {args.subscriptions} matching "
          f"(ratio {figures['create_ratio']:.3f}; target <= 1.10)")
    latency = figures["latency_ms"]
    print(f"  event-to-delivery latency: p50 {latency['p50']} ms, p99 {latency['p99']} ms "
          f"({latency['samples']} deliveries; target p99 < 1000 ms)")
    burst = figures["burst"]
    target = 500 if args.backend == "sqlite" else 2000
    print(f"  burst: {burst['deliveries']} deliveries ({burst['events']} events x {burst['subscriptions']}) in "
          f"{burst['seconds']} s = {burst['deliveries_per_s']}/s in {burst['requests_per_s']} requests/s "
          f"({burst['end_to_end_s']} s from the first mass create) "
          f"(up to {args.batch_size} per request; target >= {target}/s)")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
