"""Closed-loop HTTP load generator for bench/run.py.

Each phase opens C keep-alive connections to 127.0.0.1 and has each one send requests back to back until the
phase's duration or request count is reached; it records the latency of every request, the throughput, the
errors (by status and X-Status-Reason) and the CPU the generator itself used (so a saturated generator is
visible rather than mistaken for a slow server). Phases can be spread over several processes.

uvicorn's workers share one listening socket and a keep-alive connection stays with the worker that accepted
it, so a handful of long-lived connections can all land on one worker (seen: 96 % / 0 % CPU). Each connection is
therefore reopened every `reconnect_every` requests (default 50), which spreads the load like many clients do.

Two clients:
- `raw` (default): a minimal HTTP/1.1 keep-alive client on asyncio streams (uvloop when installed).
  A request costs it ~20-40 us of CPU, so on a 2-core box it leaves the cores to the server.
- `httpx`: httpx.AsyncClient, same requests. Several times the CPU per request; use it to cross-check.
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

import orjson

# Keep in step with seed.py (is_live_contact_id, TIERS).
DELETED_MODULUS = 97
TIERS = ["Gold", "Silver", "Bronze"]


@dataclass
class Target:
    """Where and how to call, and what the dataset holds (enough to make valid random requests)."""

    host: str
    port: int
    api_key: str
    max_contact_id: int
    max_account_id: int
    user_ids: list[int]
    name_prefixes: list[str]
    run_tag: str
    itflow_key: str = ""  # an all-clients ITFlow key (`polycrm apikey create --itflow`)
    accounts_with_contacts: list[int] = field(default_factory=list)  # ids of accounts with live contacts
    concord_token: str = ""  # a Concord personal access token of the bench user (`polycrm token create`)
    last_names: list[str] = field(default_factory=list)  # surnames that occur (the Concord list's filter value)
    fragments: list[str] = field(default_factory=list)  # 4-letter pieces of surnames (the `contains` searches)
    emails: list[str] = field(default_factory=list)  # addresses of live contacts (the lookups by email)


@dataclass
class PhaseSpec:
    scenario: str
    concurrency: int
    duration: float
    max_requests: int
    target: Target
    client: str = "raw"
    procs: int = 1
    seed: int = 1
    batch: int = 1000  # mass create records per request
    reconnect_every: int = 50  # requests per keep-alive connection before it is reopened (0: never)


@dataclass
class PhaseResult:
    scenario: str
    concurrency: int
    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    cpu: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    error_kinds: dict[str, int] = field(default_factory=dict)  # "status reason" -> count
    error_samples: list[str] = field(default_factory=list)
    records: int = 0  # records written (mass create: ok * batch)


# --- requests ---------------------------------------------------------------------------------------------

Request = tuple[str, str, bytes | None]  # method, path (with query), body


def _q(value: str) -> str:
    return quote(value, safe="")


def _where_equals(attribute: str, value: str, kind: str = "equals") -> str:
    return (f"{_q('where[0][type]')}={kind}&{_q('where[0][attribute]')}={attribute}"
            f"&{_q('where[0][value]')}={_q(value)}")


def concord_filter(rule: str, value: str, rule_type: str = "text", operator: str = "equal") -> str:
    """Concord's `filters` with one rule, as its query builder sends them (PHP nested parameters)."""
    pairs = [("filters[condition]", "and"), ("filters[children][0][type]", "rule"),
             ("filters[children][0][query][type]", rule_type), ("filters[children][0][query][rule]", rule),
             ("filters[children][0][query][operator]", operator), ("filters[children][0][query][value]", value)]
    return "&".join(f"{_q(key)}={_q(item)}" for key, item in pairs)


def live_id(rng: random.Random, max_id: int) -> int:
    contact_id = rng.randrange(1, max_id + 1)
    if contact_id % DELETED_MODULUS == 0:
        contact_id = contact_id - 1 if contact_id > 1 else 1
    return contact_id


def request_factory(scenario: str, target: Target, seed: int, batch: int = 1000) -> Callable[[], Request]:
    """A function returning the next request of a scenario (random but reproducible for a seed)."""
    rng = random.Random(seed)
    serial = itertools.count(1)
    tag = f"{target.run_tag}{seed}"

    def person(n: int) -> dict[str, Any]:
        first = ["Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis"][n % 8]
        last = f"Bench{tag}x{n}"
        return {"firstName": first, "lastName": last, "emailAddress": f"{first.lower()}.{last.lower()}@bench.example",
                "cTier": TIERS[n % 3], "cScore": n % 101,
                "accountId": str(rng.randrange(1, target.max_account_id + 1)),
                "assignedUserId": str(target.user_ids[n % len(target.user_ids)])}

    if scenario == "ping":
        return lambda: ("GET", "/api/v1/", None)
    if scenario == "get":
        return lambda: ("GET", f"/api/v1/Contact/{live_id(rng, target.max_contact_id)}", None)
    if scenario in ("list_tier", "list_tier_nototal"):
        tiers = itertools.cycle(TIERS)
        return lambda: ("GET", "/api/v1/Contact?maxSize=20&" + _where_equals("cTier", next(tiers))
                        + "&orderBy=createdAt&order=desc", None)
    if scenario == "list_assigned":
        return lambda: ("GET", "/api/v1/Contact?maxSize=20&" + _where_equals(
            "assignedUserId", str(rng.choice(target.user_ids))) + "&orderBy=createdAt&order=desc", None)
    if scenario == "search":
        return lambda: ("GET", f"/api/v1/Contact?maxSize=20&textFilter={_q(rng.choice(target.name_prefixes))}",
                        None)
    if scenario == "list_last_name":
        return lambda: ("GET", "/api/v1/Contact?maxSize=20&" + _where_equals(
            "lastName", rng.choice(target.last_names or ["Smith"])) + "&orderBy=createdAt&order=desc", None)
    if scenario == "list_name_contains":
        return lambda: ("GET", "/api/v1/Contact?maxSize=20&" + _where_equals(
            "name", rng.choice(target.fragments or ["mith"]), "contains") + "&orderBy=createdAt&order=desc", None)
    if scenario == "list_email":
        return lambda: ("GET", "/api/v1/Contact?maxSize=20&" + _where_equals(
            "emailAddress", rng.choice(target.emails or ["nobody@example.com"])), None)
    if scenario == "inflow_search":
        return lambda: ("POST", "/api/searchRecords", orjson.dumps({
            "module": "contact", "filters": {"lastName": rng.choice(target.last_names or ["Smith"])}, "limit": 20}))
    if scenario == "create":
        return lambda: ("POST", "/api/v1/Contact", orjson.dumps(person(next(serial))))
    if scenario == "update":
        return lambda: ("PUT", f"/api/v1/Contact/{live_id(rng, target.max_contact_id)}",
                        orjson.dumps({"cScore": rng.randrange(0, 101)}))
    if scenario == "mass_create":
        def mass() -> Request:
            base = next(serial) * batch
            return ("POST", "/api/v1/Contact/action/massCreate",
                    orjson.dumps({"list": [person(base + i) for i in range(batch)]}))
        return mass
    if scenario == "itflow_client":
        return lambda: ("GET", f"/api/v1/clients/read.php?api_key={target.itflow_key}"
                        f"&client_id={rng.randrange(1, target.max_account_id + 1)}", None)
    if scenario == "itflow_contacts":
        return lambda: ("GET", f"/api/v1/contacts/read.php?api_key={target.itflow_key}"
                        f"&client_id={rng.choice(target.accounts_with_contacts)}&limit=50", None)
    if scenario == "itflow_contact_email":
        return lambda: ("GET", f"/api/v1/contacts/read.php?api_key={target.itflow_key}"
                        f"&contact_email={_q(rng.choice(target.emails or ['nobody@example.com']))}", None)
    if scenario == "itflow_ticket_create":
        def ticket() -> Request:
            n = next(serial)
            # As itflow-api-powershell's tickets/create sample: every value a string, no contact (the client's
            # primary contact is filled in), nobody assigned.
            return ("POST", "/api/v1/tickets/create.php", orjson.dumps({
                "api_key": target.itflow_key, "ticket_subject": f"Bench ticket {tag}x{n}",
                "ticket_details": f"Printer on floor {n % 7} is offline", "ticket_priority": "Low",
                "ticket_assigned_to": "0", "ticket_contact_id": "0",
                "client_id": str(rng.randrange(1, target.max_account_id + 1))}))
        return ticket
    if scenario == "case_create":
        return lambda: ("POST", "/api/v1/Case", orjson.dumps({
            "name": f"Bench case {tag}x{next(serial)}", "accountId": str(rng.randrange(1, target.max_account_id + 1))}))
    if scenario == "concord_list":
        return lambda: ("GET", "/api/contacts?per_page=15&" + concord_filter(
            "last_name", rng.choice(target.last_names or ["Smith"])), None)
    if scenario == "concord_search":
        return lambda: ("GET", f"/api/contacts?per_page=15&q={_q(rng.choice(target.fragments or ['mith']))}", None)
    if scenario == "concord_get":
        return lambda: ("GET", f"/api/contacts/{live_id(rng, target.max_contact_id)}", None)
    if scenario == "concord_create":
        def concord_contact() -> Request:
            # The EspoCRM create's contact in Concord's keys: its company through the `companies` association,
            # its owner as `user_id` (the custom fields have no Concord key).
            record = person(next(serial))
            return ("POST", "/api/contacts", orjson.dumps({
                "first_name": record["firstName"], "last_name": record["lastName"], "email": record["emailAddress"],
                "companies": [int(record["accountId"])], "user_id": int(record["assignedUserId"])}))
        return concord_contact
    raise ValueError(f"unknown scenario {scenario}")


# Scenarios of the ITFlow API: the key travels in the query or the body, not in a header.
ITFLOW_SCENARIOS = ("itflow_client", "itflow_contacts", "itflow_contact_email", "itflow_ticket_create")
# Scenarios of the Concord API (`/api/{resource}`, a Sanctum Bearer token).
CONCORD_SCENARIOS = ("concord_list", "concord_search", "concord_get", "concord_create")


def auth_headers(scenario: str, target: Target) -> dict[str, str]:
    """Headers every request of the scenario carries (the API key or Concord token; X-No-Total for the no-count
    list)."""
    if scenario == "ping" or scenario in ITFLOW_SCENARIOS:
        return {}
    if scenario in CONCORD_SCENARIOS:
        return {"Authorization": f"Bearer {target.concord_token}", "Accept": "application/json"}
    if scenario == "list_tier_nototal":
        return {"X-Api-Key": target.api_key, "X-No-Total": "true"}
    return {"X-Api-Key": target.api_key}


# --- the raw client ---------------------------------------------------------------------------------------

class HttpError(Exception):
    pass


class RawConnection:
    """One keep-alive HTTP/1.1 connection; responses with Content-Length or chunked bodies."""

    def __init__(self, host: str, port: int, headers: dict[str, str]):
        self.host, self.port = host, port
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[bytes, bytes], bytes]:
        if self.writer is None:
            await self.connect()
        assert self.reader is not None and self.writer is not None
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n".encode() + self.fixed
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            self.writer.write(head + body)
        else:
            self.writer.write(head + b"\r\n")
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        status = int(lines[0][9:12])
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
        if b"content-length" in headers:
            payload = await self.reader.readexactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            payload = b"".join(chunks)
        else:
            payload = await self.reader.read()
            self.close()
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, payload


# --- running a phase --------------------------------------------------------------------------------------

def _record_error(result: PhaseResult, status: int, reason: str, sample: str) -> None:
    result.errors += 1
    key = f"{status} {reason}".strip()
    result.error_kinds[key] = result.error_kinds.get(key, 0) + 1
    if len(result.error_samples) < 3:
        result.error_samples.append(f"{key}: {sample[:300]}")


async def _run_raw(spec: PhaseSpec, concurrency: int, seed: int, result: PhaseResult) -> None:
    target = spec.target
    make = request_factory(spec.scenario, target, seed, spec.batch)
    headers = auth_headers(spec.scenario, target)
    deadline = time.perf_counter() + spec.duration
    budget = [spec.max_requests]
    latencies = result.latencies
    perf = time.perf_counter

    reconnect_every = spec.reconnect_every

    async def worker() -> None:
        conn = RawConnection(target.host, target.port, headers)
        sent = 0
        try:
            while budget[0] > 0 and perf() < deadline:
                budget[0] -= 1
                sent += 1
                if reconnect_every and sent % reconnect_every == 0:
                    conn.close()  # spread connections over the server's workers (see PhaseSpec)
                method, path, body = make()
                started = perf()
                try:
                    status, response_headers, payload = await conn.request(method, path, body)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    conn.close()
                    _record_error(result, 0, type(exc).__name__, str(exc))
                    await asyncio.sleep(0.05)
                    continue
                if 200 <= status < 300:
                    latencies.append(perf() - started)
                    result.ok += 1
                else:
                    reason = response_headers.get(b"x-status-reason", b"").decode("utf-8", "replace")
                    _record_error(result, status, reason, payload.decode("utf-8", "replace"))
        finally:
            conn.close()

    await _gather_bounded([worker() for _ in range(concurrency)], spec, result)


async def _run_httpx(spec: PhaseSpec, concurrency: int, seed: int, result: PhaseResult) -> None:
    import httpx

    target = spec.target
    make = request_factory(spec.scenario, target, seed, spec.batch)
    deadline = time.perf_counter() + spec.duration
    budget = [spec.max_requests]
    perf = time.perf_counter
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://{target.host}:{target.port}", limits=limits,
                                 headers=auth_headers(spec.scenario, target), timeout=60.0) as client:
        async def worker() -> None:
            while budget[0] > 0 and perf() < deadline:
                budget[0] -= 1
                method, path, body = make()
                started = perf()
                try:
                    response = await client.request(method, path, content=body,
                                                    headers={"Content-Type": "application/json"} if body else None)
                except httpx.HTTPError as exc:
                    _record_error(result, 0, type(exc).__name__, str(exc))
                    await asyncio.sleep(0.05)
                    continue
                if 200 <= response.status_code < 300:
                    result.latencies.append(perf() - started)
                    result.ok += 1
                else:
                    _record_error(result, response.status_code, response.headers.get("x-status-reason", ""),
                                  response.text)

        await _gather_bounded([worker() for _ in range(concurrency)], spec, result)


async def _gather_bounded(coroutines: list[Any], spec: PhaseSpec, result: PhaseResult) -> None:
    """Run the workers; whatever is still waiting 60 s after the deadline is cancelled and counted."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    done, pending = await asyncio.wait(tasks, timeout=spec.duration + 60)
    for task in pending:
        task.cancel()
        _record_error(result, 0, "Timeout", "request still pending 60 s after the phase deadline")
    for task in done:
        if task.exception() is not None:
            _record_error(result, 0, type(task.exception()).__name__, str(task.exception()))


def _process_main(spec: PhaseSpec, concurrency: int, seed: int) -> PhaseResult:
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    result = PhaseResult(spec.scenario, concurrency)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    runner = _run_raw if spec.client == "raw" else _run_httpx
    asyncio.run(runner(spec, concurrency, seed, result))
    result.elapsed = time.perf_counter() - wall_start
    result.cpu = time.process_time() - cpu_start
    return result


def run_phase(spec: PhaseSpec, pool: Any | None = None) -> PhaseResult:
    """Run one phase in `spec.procs` processes (the connections split between them); merged result."""
    procs = max(1, min(spec.procs, spec.concurrency))
    shares = [spec.concurrency // procs + (1 if i < spec.concurrency % procs else 0) for i in range(procs)]
    per_proc_budget = [max(1, spec.max_requests * s // spec.concurrency) for s in shares]
    jobs = []
    for i, share in enumerate(shares):
        part = PhaseSpec(**{**spec.__dict__, "max_requests": per_proc_budget[i]})
        jobs.append((part, share, spec.seed * 1000 + i))
    if pool is None:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(procs) as own_pool:
            parts = own_pool.starmap(_process_main, jobs)
    else:
        parts = pool.starmap(_process_main, jobs)
    merged = PhaseResult(spec.scenario, spec.concurrency)
    for part in parts:
        merged.ok += part.ok
        merged.errors += part.errors
        merged.elapsed = max(merged.elapsed, part.elapsed)
        merged.cpu += part.cpu
        merged.latencies.extend(part.latencies)
        for key, count in part.error_kinds.items():
            merged.error_kinds[key] = merged.error_kinds.get(key, 0) + count
        merged.error_samples.extend(part.error_samples[:max(0, 3 - len(merged.error_samples))])
    if spec.scenario == "mass_create":
        merged.records = merged.ok * spec.batch
    elif spec.scenario == "create":
        merged.records = merged.ok
    return merged


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of a list of seconds; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summarize(result: PhaseResult) -> dict[str, Any]:
    elapsed = result.elapsed or 1e-9
    ms = lambda v: None if v is None else round(v * 1000, 3)  # noqa: E731
    return {
        "scenario": result.scenario, "concurrency": result.concurrency, "ok": result.ok, "errors": result.errors,
        "elapsed_s": round(result.elapsed, 3), "rps": round(result.ok / elapsed, 1),
        "records_per_s": round(result.records / elapsed, 1) if result.records else None,
        "p50_ms": ms(percentile(result.latencies, 50)), "p90_ms": ms(percentile(result.latencies, 90)),
        "p99_ms": ms(percentile(result.latencies, 99)), "max_ms": ms(max(result.latencies, default=None)),
        "loadgen_cpu_pct": round(100 * result.cpu / elapsed, 1),
        "loadgen_cpu_us_per_req": round(1e6 * result.cpu / max(1, result.ok + result.errors), 1),
        "error_kinds": result.error_kinds, "error_samples": result.error_samples,
    }


if __name__ == "__main__":  # a quick self-check against a running server: python bench/loadgen.py PORT KEY
    import sys

    port, key = int(sys.argv[1]), sys.argv[2]
    target = Target("127.0.0.1", port, key, 1000, 100, [1], ["Smi"], "selftest")
    for client in ("raw", "httpx"):
        for scenario in ("ping", "get"):
            out = summarize(run_phase(PhaseSpec(scenario, 8, 3.0, 10**9, target, client=client)))
            print(client, scenario, {k: out[k] for k in ("rps", "p50_ms", "p99_ms", "errors", "loadgen_cpu_pct",
                                                        "loadgen_cpu_us_per_req")}, out["error_kinds"])

