"""PolyCRM benchmark: seed a dataset, serve it, load it from a second process, compare with raw SQL.

    .venv/bin/python bench/run.py --rows 10000
    .venv/bin/python bench/run.py --rows 10000 --backend postgresql [--pg-url postgresql://postgres@127.0.0.1:5432/test]
    .venv/bin/python bench/run.py --rows 10000,1000000 --reuse        # two sizes + the flatness ratio

Prints a table per size and writes everything to bench/results/<timestamp>.json. See bench/README.md for what
each figure means and the targets. Only 127.0.0.1 is used; every loop stops by count or by duration.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import loadgen  # noqa: E402
import rawsql  # noqa: E402
import seed  # noqa: E402

RESULTS = BENCH_DIR / "results"
READ_SCENARIOS = ["get", "list_tier", "list_tier_nototal", "list_assigned", "list_last_name", "list_email",
                  "search", "list_name_contains", "inflow_search", "itflow_client", "itflow_contacts",
                  "itflow_contact_email", "concord_list", "concord_search", "concord_get"]
WRITE_SCENARIOS = ["create", "update", "mass_create", "itflow_ticket_create", "case_create", "concord_create"]
ALL_SCENARIOS = ["ping"] + READ_SCENARIOS + WRITE_SCENARIOS
LABELS = {
    "ping": "bare HTTP (GET /api/v1/)",
    "get": "get by id",
    "list_tier": "list cTier= ,createdAt desc",
    "list_tier_nototal": "  same, X-No-Total: true",
    "list_assigned": "list assignedUserId= ,desc",
    "list_last_name": "list lastName= ,createdAt desc",
    "list_email": "list emailAddress=",
    "search": "text search (textFilter)",
    "list_name_contains": "list name contains, desc",
    "inflow_search": "Inflow searchRecords lastName",
    "create": "create (POST /Contact)",
    "update": "update (PUT cScore)",
    "mass_create": "mass create (1000/req)",
    "itflow_client": "ITFlow clients/read by id",
    "itflow_contacts": "ITFlow contacts/read, 1 client",
    "itflow_contact_email": "ITFlow contacts/read by email",
    "itflow_ticket_create": "ITFlow tickets/create",
    "case_create": "create (POST /Case)",
    "concord_list": "Concord list last_name=, 15",
    "concord_search": "Concord list q= (contains), 15",
    "concord_get": "Concord GET /api/contacts/{id}",
    "concord_create": "Concord POST /api/contacts",
}
# EspoCRM list scenarios: `{"total", "list"}` answers of at most 20 records.
ESPO_LISTS = ("list_tier", "list_tier_nototal", "list_assigned", "list_last_name", "list_email", "search",
              "list_name_contains")
LATENCY_MAX_COUNT = 2000
# Concord (90 requests a minute per user) and InflowCRM (300 per 5 minutes per key) budgets: the bench raises them
# out of the way (the limiters still count every request, which is what the rate-limit figure measures).
RAISED_RATE_LIMIT = "1000000/minute"
# Steps of the loop that times this box's Python speed (`python_loop_ms`): about 0.1-0.2 s a round.
PYTHON_LOOP_STEPS = 1_000_000


def log(message: str = "") -> None:
    print(message, flush=True)


# --- datasets ---------------------------------------------------------------------------------------------

def pg_database_url(admin_url: str, name: str) -> str:
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def pg_admin(admin_url: str, statements: list[str]) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def trim_to_seed(url: str, marks: dict[str, int]) -> int:
    """Remove what earlier bench runs added (rows past the seeded ids), so a reused store has the seeded size."""
    from sqlalchemy import inspect, text

    from polycrm.store.database import make_engine

    max_id = marks["bench.max_contact_id"]
    engine = make_engine(url)
    removed = 0
    tables = set(inspect(engine).get_table_names())  # a store seeded by older code may lack newer tables
    side_tables = [t for t in ("email_address_link", "phone_number_link", "entity_team", "stream_subscription")
                   if t in tables]
    with engine.begin() as conn:
        removed = conn.execute(text("DELETE FROM contact WHERE id > :m"), {"m": max_id}).rowcount or 0
        for table in side_tables:
            conn.execute(text(f"DELETE FROM {table} WHERE entity_type = 'Contact' AND entity_id > :m"),
                         {"m": max_id})
        conn.execute(text("DELETE FROM account_contact WHERE contact_id > :m"), {"m": max_id})
        if "note" in tables:
            conn.execute(text("DELETE FROM note WHERE parent_type = 'Contact' AND parent_id > :m"), {"m": max_id})
        # The seed writes no cases and no audit entries: all of them are the case and ITFlow ticket phases'.
        if "case" in tables:
            removed += conn.execute(text('DELETE FROM "case"')).rowcount or 0
            if "note" in tables:
                conn.execute(text("DELETE FROM note WHERE parent_type = 'Case'"))
        if "audit_log_entry" in tables:
            conn.execute(text("DELETE FROM audit_log_entry"))
    if engine.dialect.name == "sqlite":
        # The deletes bypassed PolyCRM's write transactions, which checkpoint the log: the raw reads that come
        # next should not read through hundreds of megabytes of it.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    if engine.dialect.name == "postgresql" and removed:
        # Every table rows left, or the next run's reads step over their dead index entries (a get by id at
        # 1M went from 1.5 to 2.5 ms after a few runs when only contact was vacuumed).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("contact", *side_tables, "account_contact",
                          *[t for t in ("note", "case", "audit_log_entry") if t in tables]):
                conn.exec_driver_sql(f'VACUUM ANALYZE "{table}"')  # "case" is a keyword
    engine.dispose()
    return removed


def prepare_dataset(rows: int, args: argparse.Namespace) -> dict[str, Any]:
    """A store seeded to `rows` contacts (fresh, or reused when --reuse and the marks match)."""
    info: dict[str, Any] = {"backend": args.backend, "rows": rows}
    if args.backend == "sqlite":
        data_dir = RESULTS / f"sqlite-{rows}"
        database_url = None
    else:
        data_dir = RESULTS / f"postgresql-{rows}"
        name = f"polycrm_bench_{rows}"
        database_url = pg_database_url(args.pg_url, name)
        info["database"] = name
    url = seed.database_url_for(data_dir, database_url)
    info.update(data_dir=str(data_dir), database_url=url.split("@")[-1], reused=False)
    marks = seed.read_seed_marks(url) if args.reuse and data_dir.exists() else {}
    if args.reuse and marks.get("bench.seeded_rows") == rows:
        removed = trim_to_seed(url, marks)
        log(f"Reusing the store seeded with {rows:,} contacts ({removed:,} rows from earlier runs removed)")
        # `polycrm init` brings the schema up to this code's (new indexes), as an upgrade of a running store.
        started = time.perf_counter()
        seed.run_cli(["init"], seed.cli_env(data_dir, database_url))
        log(f"  polycrm init (schema upgrade) in {time.perf_counter() - started:.1f} s")
        info["reused"] = True
    else:
        if args.reuse:
            log(f"--reuse: no store seeded with {rows:,} contacts at {info['database_url']}; seeding a fresh one")
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        if args.backend == "postgresql":
            pg_admin(args.pg_url, [f'DROP DATABASE IF EXISTS "{info["database"]}" WITH (FORCE)',
                                   f'CREATE DATABASE "{info["database"]}"'])
        log(f"Seeding {rows:,} contacts ({args.backend}) ...")
        started = time.perf_counter()
        seed.prepare_schema(data_dir, database_url, log=log)
        stats = seed.seed(url, rows, log=log)
        info["seed"] = {"seconds_total": round(time.perf_counter() - started, 1), **stats}
        log(f"  seeded in {info['seed']['seconds_total']} s total")
        marks = seed.read_seed_marks(url)
    info["marks"] = marks
    info["env"] = seed.cli_env(data_dir, database_url)
    info["url"] = url
    return info


def dataset_facts(url: str, marks: dict[str, int]) -> dict[str, Any]:
    """What the load generator needs: live id range, user ids, surname prefixes that occur, the accounts that
    have live contacts (ITFlow's contacts of one client)."""
    from sqlalchemy import text

    from polycrm.store.database import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        user_ids = [int(r[0]) for r in conn.execute(text(
            "SELECT id FROM \"user\" WHERE user_name LIKE 'rep%' ORDER BY id"))]
        accounts = [int(r[0]) for r in conn.execute(text(
            "SELECT DISTINCT account_id FROM contact WHERE account_id IS NOT NULL AND deleted = false "
            "ORDER BY account_id"))]
        step = max(1, marks["bench.max_contact_id"] // 200)
        emails = [str(r[0]) for r in conn.execute(text(
            "SELECT email_address FROM contact WHERE id % :step = 1 AND deleted = false AND email_address IS NOT NULL "
            "ORDER BY id"), {"step": step})]
    engine.dispose()
    rng = random.Random(5)
    names = seed.LAST_NAMES
    prefixes = sorted({names[min(len(names) - 1, int(len(names) * rng.random() ** 2.2))][:3] for _ in range(80)})
    # Surnames drawn with the seed's popularity (the Concord list filters on one): common ones come up more.
    last_names = sorted({names[min(len(names) - 1, int(len(names) * rng.random() ** 2.2))] for _ in range(80)})
    # What a `contains` search is sent: four letters from within a surname drawn with the same popularity.
    fragments = sorted({name[1:5].lower() for name in last_names if len(name) >= 5})
    return {"max_contact_id": marks["bench.max_contact_id"], "max_account_id": marks["bench.max_account_id"],
            "user_ids": user_ids or [1], "prefixes": prefixes, "accounts_with_contacts": accounts or [1],
            "last_names": last_names, "fragments": fragments, "emails": emails}


# --- the server -------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_api_key(env: dict[str, str]) -> str:
    seed.run_cli(["user", "create", "--username", "bench", "--password", secrets.token_urlsafe(12), "--admin"],
                 env, tolerate=["already exists"])
    out = seed.run_cli(["apikey", "create", "--user", "bench", "--name", "bench", "--json"], env)
    return json.loads(out.strip().splitlines()[-1])["key"]


def create_itflow_key(env: dict[str, str]) -> str:
    """An all-clients ITFlow key of the bench user (after create_api_key made the user)."""
    out = seed.run_cli(["apikey", "create", "--user", "bench", "--itflow", "--name", "bench-itflow", "--json"], env)
    return json.loads(out.strip().splitlines()[-1])["key"]


def create_concord_token(env: dict[str, str]) -> tuple[str, int]:
    """A Concord personal access token of the bench user (after create_api_key made the user), and the user's id
    (Concord's limiter counts requests by user)."""
    out = seed.run_cli(["token", "create", "--user", "bench", "--name", "bench-concord", "--json"], env)
    issued = json.loads(out.strip().splitlines()[-1])
    return issued["plainTextToken"], int(issued["userId"])


class Server:
    """`polycrm serve` as a child process in its own process group (so its workers stop with it)."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        self.log_file = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [seed.POLYCRM, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
            env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 90.0) -> float:
        import httpx

        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"polycrm serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v1/", timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"polycrm serve not ready after {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self.log_file.flush()
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.log_file.close()


def cpu_snapshot(server_pgid: int, pg_database: str | None = None) -> dict[str, float]:
    """CPU seconds so far: the server's process group (uvicorn and its workers), the PostgreSQL backends
    connected to the bench database, and all CPUs busy / total (from /proc/stat), so a phase can say who used
    the machine."""
    tick = os.sysconf("SC_CLK_TCK")
    server = postgres = 0
    per_process: dict[str, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                raw = handle.read()
        except OSError:
            continue
        comm = raw[raw.find("(") + 1:raw.rfind(")")]
        fields = raw.rsplit(")", 1)[1].split()
        used = int(fields[11]) + int(fields[12])
        if int(fields[2]) == server_pgid:
            server += used
            per_process[f"pid:{entry}"] = used / tick
        elif pg_database and comm.startswith("postgres"):
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    title = handle.read().decode(errors="replace").split()
            except OSError:
                continue
            # "postgres: <user> <database> 127.0.0.1(port) idle"; parallel query workers carry no database name
            # (and only live ones can be seen: an exited worker's CPU shows up as "other").
            if pg_database in title or "parallel" in title:
                postgres += used
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    idle = values[3] + values[4]
    return {"server": server / tick, "postgres": postgres / tick, "busy": (sum(values) - idle) / tick,
            "all": sum(values) / tick, **per_process}


# --- probing ----------------------------------------------------------------------------------------------

def probe(port: int, key: str, target: loadgen.Target, scenarios: list[str]) -> dict[str, Any]:
    """One request per scenario with httpx, checked; failures are reported with status and X-Status-Reason."""
    import httpx

    findings: dict[str, Any] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        for scenario in scenarios:
            method, path, body = loadgen.request_factory(scenario, target, 99, batch=5)()
            headers = {**loadgen.auth_headers(scenario, target)}
            if body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = client.request(method, path, content=body, headers=headers)
            except httpx.HTTPError as exc:
                findings[scenario] = {"ok": False, "status": 0, "reason": type(exc).__name__, "body": str(exc)}
                continue
            entry: dict[str, Any] = {"ok": 200 <= response.status_code < 300, "status": response.status_code,
                                     "reason": response.headers.get("x-status-reason"), "request": f"{method} {path}",
                                     "bytes": len(response.content)}
            if not entry["ok"]:
                entry["body"] = response.text[:500]
            else:
                try:
                    data = response.json()
                except ValueError:
                    data = None
                problem = None
                if scenario in ESPO_LISTS:
                    if not isinstance(data, dict) or not isinstance(data.get("list"), list):
                        problem = "no 'list' in the response"
                    else:
                        entry["total"] = data.get("total")
                        entry["returned"] = len(data["list"])
                        if len(data["list"]) > 20:
                            problem = f"maxSize=20 returned {len(data['list'])} records"
                        if scenario.startswith("list_tier") and any(r.get("cTier") != data["list"][0].get("cTier")
                                                           for r in data["list"]):
                            problem = "cTier filter returned other tiers"
                        stamps = [r.get("createdAt") for r in data["list"]]
                        if scenario != "list_email" and stamps != sorted(stamps, reverse=True):
                            problem = "not ordered by createdAt desc"
                elif scenario in ("get", "create", "update", "case_create") and not (
                        isinstance(data, dict) and "id" in data):
                    problem = "no 'id' in the response"
                elif scenario in loadgen.CONCORD_SCENARIOS:
                    problem = concord_problem(scenario, path, response.status_code, data)
                    if scenario in ("concord_list", "concord_search") and isinstance(data, dict):
                        entry["returned"] = len(data.get("data") or [])
                        entry["total"] = (data.get("meta") or {}).get("total")
                elif scenario in loadgen.ITFLOW_SCENARIOS:
                    problem = itflow_problem(scenario, path, data)
                    if isinstance(data, dict):
                        entry["count"] = data.get("count")
                elif scenario == "inflow_search":
                    rows = data.get("data") if isinstance(data, dict) else None
                    if not isinstance(rows, list) or len(rows) > 20:
                        problem = f"not a page of at most 20 records: {str(data)[:200]}"
                    else:
                        entry["returned"] = len(rows)
                        entry["total"] = ((data.get("meta") or {}).get("pagination") or {}).get("total")
                elif scenario == "mass_create" and not (isinstance(data, dict) and data.get("count") == 5):
                    problem = f"massCreate of 5 answered {str(data)[:200]}"
                if problem:
                    entry["ok"] = False
                    entry["problem"] = problem
            findings[scenario] = entry
    return findings


def itflow_problem(scenario: str, path: str, data: Any) -> str | None:
    """What is wrong with an ITFlow answer of the bench's requests, if anything."""
    if not isinstance(data, dict) or data.get("success") != "True":
        return f"not a success envelope: {str(data)[:200]}"
    if scenario == "itflow_ticket_create":
        return None if data.get("count") == "1" and data.get("data", [{}])[0].get("insert_id") else (
            f"no insert_id: {str(data)[:200]}")
    found = data.get("data")
    if not isinstance(found, list) or data.get("count") != len(found):
        return f"count {data.get('count')} for {len(found) if isinstance(found, list) else found!r} rows"
    if scenario == "itflow_contact_email":
        asked = unquote(path.split("contact_email=")[1]).lower()
        return None if found and all(str(r.get("contact_email")).lower() == asked for r in found) else (
            f"{len(found)} rows, or rows of another address than {asked}")
    client = path.split("client_id=")[1].split("&")[0]
    if scenario == "itflow_client":
        return None if len(found) == 1 and found[0].get("client_id") == client else f"not client {client}"
    if not 1 <= len(found) <= 50 or any(r.get("contact_client_id") != client for r in found):
        return f"{len(found)} rows, or rows of another client than {client}"
    ids = [int(r["contact_id"]) for r in found]
    return None if ids == sorted(ids) else "not ordered by contact_id"


def concord_problem(scenario: str, path: str, status: int, data: Any) -> str | None:
    """What is wrong with a Concord answer of the bench's requests, if anything."""
    if not isinstance(data, dict):
        return f"not an object: {str(data)[:200]}"
    if scenario in ("concord_list", "concord_search"):
        rows, meta = data.get("data"), data.get("meta") or {}
        asked = unquote(path.rsplit("=", 1)[1]).lower()
        if not isinstance(rows, list) or len(rows) > 15:
            return f"{len(rows) if isinstance(rows, list) else rows!r} rows for per_page=15"
        if scenario == "concord_list" and any(str(r.get("last_name", "")).lower() != asked for r in rows):
            return f"rows with another last name than {asked!r}"
        shown = ("first_name", "last_name", "email")
        if scenario == "concord_search" and any(
                not any(asked in str(r.get(key) or "").lower() for key in shown) for r in rows):
            return f"rows without {asked!r} in their names or email"
        if not isinstance(meta.get("total"), int) or meta["total"] < len(rows):
            return f"total {meta.get('total')!r} for {len(rows)} rows"
        if any("companies_count" not in r or "phones" not in r for r in rows):
            return "rows without companies_count or phones"
        ids = [r.get("id") for r in rows]
        return None if len(set(ids)) == len(ids) else "duplicate rows"
    if scenario == "concord_get":
        if str(data.get("id")) != path.rsplit("/", 1)[1]:
            return f"id {data.get('id')!r} for {path}"
        if not isinstance(data.get("companies"), list) or data.get("companies_count") != len(data["companies"]):
            return f"companies_count {data.get('companies_count')!r} for {data.get('companies')!r}"
        return None
    if status != 201 or not data.get("id") or data.get("was_recently_created") is not True:
        return f"not a created record (HTTP {status}): {str(data)[:200]}"
    return None if len(data.get("companies") or []) == 1 else f"companies {data.get('companies')!r}"


# --- one size ---------------------------------------------------------------------------------------------

def run_size(rows: int, args: argparse.Namespace, stamp: str, pool: Any) -> dict[str, Any]:
    dataset = prepare_dataset(rows, args)
    facts = dataset_facts(dataset["url"], dataset["marks"])
    key = create_api_key(dataset["env"])
    scenarios = [s for s in ALL_SCENARIOS if s in args.scenarios]
    itflow_key = (create_itflow_key(dataset["env"]) if any(s in loadgen.ITFLOW_SCENARIOS for s in scenarios)
                  else "")
    concord = any(s in loadgen.CONCORD_SCENARIOS for s in scenarios)
    concord_token, concord_user = create_concord_token(dataset["env"]) if concord else ("", 0)
    run: dict[str, Any] = {"rows": rows, "backend": args.backend,
                           "dataset": {k: v for k, v in dataset.items() if k not in ("env", "url")},
                           "phases": {}, "raw": {}, "plans": {}, "python_loop_ms": python_loop_ms()}
    measure_raw(run, dataset["url"], facts, [s for s in scenarios if s in READ_SCENARIOS], args, stamp)
    log_path = RESULTS / f"{stamp}-{args.backend}-{rows}-server.log"
    env = dict(dataset["env"], POLYCRM_LOG_LEVEL=args.server_log_level,
               POLYCRM_CONCORD_RATE_LIMIT=RAISED_RATE_LIMIT,
               POLYCRM_INFLOW_RATE_LIMIT=RAISED_RATE_LIMIT)
    env.pop("POLYCRM_REDIS_URL", None)
    if args.redis_url:
        # Concord's limiter counts in Redis, under keys of this run's own.
        env.update(POLYCRM_REDIS_URL=args.redis_url, POLYCRM_REDIS_PREFIX=f"polycrm-bench-{stamp}")
    server = Server(env, args.workers, log_path)
    run["server_log"] = str(log_path)
    try:
        run["server_ready_s"] = round(server.wait_ready(), 2)
        target = loadgen.Target("127.0.0.1", server.port, key, facts["max_contact_id"], facts["max_account_id"],
                                facts["user_ids"], facts["prefixes"], f"r{stamp[-6:]}{rows}", itflow_key,
                                facts["accounts_with_contacts"], concord_token, facts["last_names"],
                                facts["fragments"], facts["emails"])
        run["probe"] = probe(server.port, key, target, scenarios)
        for scenario, entry in run["probe"].items():
            if not entry["ok"]:
                log(f"  PROBE FAILED {scenario}: {entry.get('request')} -> {entry['status']} "
                    f"X-Status-Reason={entry.get('reason')!r} {entry.get('problem', '')} {entry.get('body', '')[:200]}")
        d = args.duration
        for number, scenario in enumerate(scenarios):
            phases: dict[str, Any] = {}

            def phase(kind: str, concurrency: int, duration: float, max_requests: int) -> dict[str, Any]:
                spec = loadgen.PhaseSpec(scenario, concurrency, duration, max_requests, target, client=args.client,
                                         procs=args.loadgen_procs, seed=number * 10 + len(phases) + 1,
                                         batch=args.mass_batch,
                                         # a mass create takes seconds: a new connection per batch costs nothing
                                         reconnect_every=1 if scenario == "mass_create" else args.reconnect_every)
                before = cpu_snapshot(server.proc.pid, dataset.get("database"))
                summary = loadgen.summarize(loadgen.run_phase(spec, pool))
                after = cpu_snapshot(server.proc.pid, dataset.get("database"))
                wall = max(summary["elapsed_s"], 1e-9)
                used = {k: after[k] - before.get(k, 0.0) for k in after}
                # uvicorn's workers share one listening socket; keep-alive connections stay with the worker that
                # accepted them, so a phase can end up served mostly by one worker. Recorded per process.
                summary["server_cpu_by_process"] = sorted(
                    (round(100 * v / max(summary["elapsed_s"], 1e-9), 1) for k, v in used.items()
                     if k.startswith("pid:")), reverse=True)
                # CPU in % of one core; the box has os.cpu_count() * 100 %.
                summary["server_cpu_pct"] = round(100 * used["server"] / wall, 1)
                summary["postgres_cpu_pct"] = round(100 * used["postgres"] / wall, 1)
                summary["box_busy_pct"] = round(100 * used["busy"] / max(used["all"], 1e-9), 1)
                box_cores = 100 * used["busy"] / wall
                summary["other_cpu_pct"] = round(max(0.0, box_cores - summary["server_cpu_pct"]
                                                     - summary["postgres_cpu_pct"] - summary["loadgen_cpu_pct"]), 1)
                phases[kind] = summary
                return summary

            if scenario == "mass_create":
                phase("throughput", mass_create_connections(args), d, 10**9)
            else:
                if scenario in READ_SCENARIOS or scenario == "ping":
                    phase("warmup", args.concurrency, min(1.0, d / 4), 10**9)
                phase("latency", 1, max(1.0, d / 2), LATENCY_MAX_COUNT)
                phase("throughput", args.concurrency, d, 10**9)
            run["phases"][scenario] = phases
            if server.proc.poll() is not None:
                run["server_exited"] = f"polycrm serve exited with {server.proc.returncode} during {scenario}"
                log(f"  SERVER EXITED ({server.proc.returncode}) during {scenario}; last log lines:\n"
                    f"{server.log_tail()}")
                break
            main = phases["throughput"]
            lat = phases.get("latency", main)
            extra = f", {main['records_per_s']:,.0f} records/s" if scenario == "mass_create" else ""
            log(f"  {LABELS[scenario]:<30} {main['rps']:>8.1f} req/s{extra}  p50 {fmt(main['p50_ms'])} ms  "
                f"p99 {fmt(main['p99_ms'])} ms  | c=1 p50 {fmt(lat['p50_ms'])} ms  errors {main['errors']}"
                f"{' ' + str(main['error_kinds']) if main['errors'] else ''}")
        if "concord_get" in run["phases"] and args.redis_url and "server_exited" not in run:
            run["rate_limit"] = measure_rate_limit(run, env, target, args, pool, concord_user,
                                                   RESULTS / f"{stamp}-{args.backend}-{rows}-server-memory.log")
    finally:
        server.stop()
    log_text = log_path.read_text(errors="replace") if log_path.exists() else ""
    run["server_log_unhandled_errors"] = log_text.count("unhandled error")
    run["server_log_tracebacks"] = log_text.count("Traceback (most recent call last)")
    if run["server_log_tracebacks"]:
        first = log_text.find("Traceback (most recent call last)")
        run["server_log_first_traceback"] = log_text[max(0, first - 300):first + 3000]

    measure_raw(run, dataset["url"], facts, [s for s in scenarios if s in WRITE_SCENARIOS], args, stamp)
    compute_ratios(run)
    return run


def measure_rate_limit(run: dict[str, Any], env: dict[str, str], target: loadgen.Target, args: argparse.Namespace,
                       pool: Any, user_id: int, log_path: Path) -> dict[str, Any]:
    """What Concord's per-user limiter costs a read when it counts in Redis.

    Two measurements, in the same run, with the budget raised out of the way (RAISED_RATE_LIMIT):
    - the read itself, with the limiter in Redis (the bench's server, A) and in memory (a second server on the same
      store without POLYCRM_REDIS_URL, B): latency phases of the Concord get at c=1, A and B in turns;
    - `RateLimiter.hit` alone, from this process, against the same Redis key the server counts the bench user
      under (as full as the phases left it) and against memory: what one request's count costs, without HTTP;
      back to back, and spaced as a server at c=1 calls it (once a request, a read's time apart, idle in
      between): Redis then idles between two calls too, and on a busy box waking it costs more than the call.
      (A busy loop between the calls instead took a CPU of the two from Redis: 0.5-4.5 ms a call.)
    The target is judged on the spaced calls (the limiter's cost isolated) over the read's p50 with Redis; beside
    it, the same hit at Concord's own budget (90 a minute) and the floor, one Redis round trip (PING) spaced
    alike, since a counter shared by several servers costs at least that. The read's own difference is the
    cross-check, but on PostgreSQL its rounds spread wider (3-6 ms on a busy box)
    than the 0.3 ms it looks for."""
    import dataclasses
    import statistics

    from polycrm.dialects.ratelimit import RateLimiter, parse_rate

    out: dict[str, Any] = {"rate": RAISED_RATE_LIMIT, "redis_url": args.redis_url}
    memory_server = Server({k: v for k, v in env.items() if k not in ("POLYCRM_REDIS_URL", "POLYCRM_REDIS_PREFIX")},
                           args.workers, log_path)
    try:
        memory_server.wait_ready()
        targets = {"redis": target, "memory": dataclasses.replace(target, port=memory_server.port)}
        rounds: dict[str, list[float]] = {"redis": [], "memory": []}
        for number in range(args.rate_limit_rounds):
            for kind, where in targets.items():
                spec = loadgen.PhaseSpec("concord_get", 1, max(1.0, args.duration / 2), LATENCY_MAX_COUNT // 2,
                                         where, client=args.client, seed=900 + number,
                                         reconnect_every=args.reconnect_every)
                summary = loadgen.summarize(loadgen.run_phase(spec, pool))
                if summary["p50_ms"] is not None:
                    rounds[kind].append(summary["p50_ms"])
        out["read_p50_ms_rounds"] = rounds
        if rounds["redis"] and rounds["memory"]:
            redis_p50, memory_p50 = statistics.median(rounds["redis"]), statistics.median(rounds["memory"])
            out["read_p50_ms"] = {"redis": redis_p50, "memory": memory_p50}
            out["read_difference_pct"] = round(100 * (redis_p50 - memory_p50) / redis_p50, 1)
    finally:
        memory_server.stop()

    import redis

    rate = parse_rate(RAISED_RATE_LIMIT)
    prefix = env.get("POLYCRM_REDIS_PREFIX", "polycrm")
    gap = (out.get("read_p50_ms", {}).get("memory") or 1.0) / 1000
    perf = time.perf_counter
    limiters = {"redis": RateLimiter(args.redis_url, key_prefix=prefix), "memory": RateLimiter(None)}
    floor = redis.Redis.from_url(args.redis_url)
    # The floor: one Redis round trip (PING) spaced the same way; and the hit at Concord's own budget (a window
    # of at most 90 entries, where the raised budget's window holds every request of the last minute).
    calls = {"redis_hit": (lambda: limiters["redis"].hit(rate, "concord", str(user_id)), False),
             "memory_hit": (lambda: limiters["memory"].hit(rate, "concord", str(user_id)), False),
             "redis_hit_spaced": (lambda: limiters["redis"].hit(rate, "concord", str(user_id)), True),
             "redis_hit_default_budget_spaced": (
                 lambda: limiters["redis"].hit(parse_rate("90/minute"), "concord-bench", str(user_id)), True),
             "redis_ping_spaced": (floor.ping, True)}
    for name, (call, spaced) in calls.items():
        timings = []
        deadline = perf() + max(1.0, args.duration / 2)
        while len(timings) < LATENCY_MAX_COUNT and perf() < deadline:
            if spaced:
                time.sleep(gap)
            started = perf()
            result = call()
            timings.append(perf() - started)
        out[f"{name}_ms"] = {
            "count": len(timings), "p50": round(1000 * loadgen.percentile(timings, 50), 4),
            "p99": round(1000 * loadgen.percentile(timings, 99), 4),
            **({"remaining": result.remaining} if hasattr(result, "remaining") else {}),
            **({"gap_ms": round(1000 * gap, 3)} if spaced else {})}
    floor.close()
    try:
        client = redis.Redis.from_url(args.redis_url)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        out["redis_entries"] = sum(client.llen(key) for key in keys if client.type(key) == b"list")
        if keys:
            client.delete(*keys)  # this run's counters (they would expire a minute later anyway)
        client.close()
    except Exception as exc:  # noqa: BLE001 - a figure less, not a failed run
        out["redis_entries_error"] = f"{type(exc).__name__}: {exc}"
    read = out.get("read_p50_ms", {}).get("redis") or run["phases"]["concord_get"]["latency"].get("p50_ms")
    if read:
        out["hit_cost_pct"] = round(100 * out["redis_hit_ms"]["p50"] / read, 2)
        out["spaced_hit_cost_pct"] = round(100 * out["redis_hit_spaced_ms"]["p50"] / read, 2)
        out["round_trip_floor_pct"] = round(100 * out["redis_ping_spaced_ms"]["p50"] / read, 2)
    return out


def mass_create_connections(args: argparse.Namespace) -> int:
    """Connections of the mass create phase: one per server worker."""
    return max(1, min(args.concurrency, args.workers))


def mass_create_floor(raw: dict[str, Any]) -> Any:
    """The driver's records/s for mass create with as many connections as PolyCRM's phase had, if measured."""
    return raw.get("parallel", {}).get("records_per_s") or raw.get("records_per_s")


def measure_raw(run: dict[str, Any], url: str, facts: dict[str, Any], scenarios: list[str],
                args: argparse.Namespace, stamp: str) -> None:
    """Raw SQL of `scenarios`, with no server running (nothing else competes for the store or the CPUs).

    The reads run before the server starts and the writes after it stops: each sees the rows PolyCRM's
    phases of the same kind saw, not the ones the write phases (a mass create adds 100,000) leave behind."""
    if not scenarios:
        return
    store = rawsql.RawStore(url)
    try:
        started = time.perf_counter()
        warmed = store.prewarm()
        run["prewarm"] = {"bytes": warmed, "seconds": round(time.perf_counter() - started, 2)}
        log(f"  prewarmed: read {warmed / 1e6:,.0f} MB of the store in {run['prewarm']['seconds']} s")
        kwargs = {"max_contact_id": facts["max_contact_id"], "max_account_id": facts["max_account_id"],
                  "user_ids": facts["user_ids"], "prefixes": facts["prefixes"], "run_tag": f"r{stamp[-6:]}",
                  "accounts_with_contacts": facts["accounts_with_contacts"],
                  "last_names": facts["last_names"], "fragments": facts["fragments"], "emails": facts["emails"],
                  "batch": args.mass_batch}
        duration = min(3.0, args.duration / 2)
        for scenario in scenarios:
            try:
                raw = rawsql.measure(store, scenario, duration=duration,
                                     max_count=LATENCY_MAX_COUNT, warmup=3 if scenario == "mass_create" else 50,
                                     **kwargs)
                if scenario == "mass_create":
                    raw["records_per_s"] = round(raw["ops_per_s"] * args.mass_batch)
                    connections = mass_create_connections(args)
                    if connections > 1:
                        raw["parallel"] = rawsql.parallel_mass_create(url, connections, duration=duration, **kwargs)
                run["raw"][scenario] = raw
                if scenario in READ_SCENARIOS:
                    run["plans"][scenario] = rawsql.explain(store, scenario, **kwargs)
            except Exception as exc:  # noqa: BLE001 - report, keep going
                run["raw"][scenario] = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        store.close()


def compute_ratios(run: dict[str, Any]) -> None:
    """PolyCRM p50 at concurrency 1 / (raw SQL p50 + bare HTTP round trip p50 at concurrency 1); for mass
    create, PolyCRM's time per record / the floor's with as many connections (the floor's records/s over
    PolyCRM's)."""
    ping = run["phases"].get("ping", {}).get("latency", {}).get("p50_ms")
    run["ratios"] = {}
    floor = mass_create_floor(run["raw"].get("mass_create", {}))
    records = run["phases"].get("mass_create", {}).get("throughput", {}).get("records_per_s")
    if floor and records:
        run["ratios"]["mass_create"] = round(floor / records, 2)
    for scenario, raw in run["raw"].items():
        poly = run["phases"].get(scenario, {}).get("latency", {}).get("p50_ms")
        if poly is None or ping is None or raw.get("p50_ms") is None:
            continue
        run["ratios"][scenario] = round(poly / (raw["p50_ms"] + ping), 2)


# --- reporting --------------------------------------------------------------------------------------------

def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def print_table(run: dict[str, Any], args: argparse.Namespace) -> None:
    log()
    log(f"PolyCRM bench: {run['backend']}, {run['rows']:,} contacts; server --workers {args.workers}; "
        f"load c={args.concurrency} ({args.client} client, {args.loadgen_procs} proc); {args.duration:g} s/phase; "
        f"Python loop {run['python_loop_ms']} ms")
    header = (f"{'scenario':<30} {'req/s':>8} {'p50':>7} {'p99':>8} | {'p50@c1':>7} {'raw p50':>8} {'ratio':>6} | "
              f"{'errors':>6} | {'server':>6} {'pg':>5} {'loadgen':>7} {'other':>5}")
    log(header)
    log("-" * len(header))
    pct = lambda v: fmt(v, 0) + "%"  # noqa: E731
    for scenario, phases in run["phases"].items():
        main = phases["throughput"]
        lat = phases.get("latency", {})
        raw = run["raw"].get(scenario, {})
        rps = fmt(main["rps"], 1)
        if scenario == "mass_create" and main.get("records_per_s"):
            rps = f"{main['records_per_s']:,.0f}r"
        log(f"{LABELS[scenario]:<30} {rps:>8} {fmt(main['p50_ms']):>7} {fmt(main['p99_ms']):>8} | "
            f"{fmt(lat.get('p50_ms')):>7} {fmt(raw.get('p50_ms'), 3):>8} {fmt(run['ratios'].get(scenario)):>6} | "
            f"{main['errors']:>6} | {pct(main['server_cpu_pct']):>6} "
            f"{pct(main['postgres_cpu_pct']) if run['backend'] == 'postgresql' else '-':>5} "
            f"{pct(main['loadgen_cpu_pct']):>7} {pct(main['other_cpu_pct']):>5}")
    log(f"(ms; req/s, p50, p99 under load at c={args.concurrency}; p50@c1 = one client alone; raw p50 = the same query "
        f"straight through the driver;\n ratio = p50@c1 / (raw p50 + bare-HTTP p50@c1); mass create: records/s (r), "
        f"raw p50 per batch (one connection),\n ratio = floor records/s with as many connections as PolyCRM's "
        f"phase / PolyCRM's;\n "
        f"CPU during the loaded phase in % of one core\n (box = {os.cpu_count()} cores "
        f"= {100 * (os.cpu_count() or 1)}%): "
        f"server processes, PostgreSQL, load generator, other = anything else on the box, e.g. concurrent test runs)")
    lopsided = []
    for scenario, phases in run["phases"].items():
        if scenario not in READ_SCENARIOS:  # writes wait on the database's write lock: uneven CPU is normal
            continue
        split = [v for v in phases["throughput"].get("server_cpu_by_process", []) if v >= 1]
        if args.workers > 1 and split and split[0] >= 50 and (len(split) < args.workers or split[-1] < 0.4 * split[0]):
            lopsided.append(f"{LABELS[scenario].strip()} ({'/'.join(f'{v:.0f}%' for v in split)})")
    if lopsided:
        log("  note: the load was unevenly spread over the server workers (CPU per busy worker process) in: "
            + "; ".join(lopsided) + ". Keep-alive connections stay on the worker that accepted them; more "
            "--concurrency or a lower --reconnect-every evens it out.")
    for scenario, phases in run["phases"].items():
        for kind, summary in phases.items():
            if summary["errors"]:
                log(f"  ERRORS {scenario}/{kind}: {summary['error_kinds']}")
                for sample in summary["error_samples"][:2]:
                    log(f"    e.g. {sample[:240]}")
    for scenario, raw in run["raw"].items():
        if "error" in raw:
            log(f"  RAW SQL {scenario} failed: {raw['error']}")
    if run.get("server_log_tracebacks"):
        log(f"  server log: {run['server_log_tracebacks']} tracebacks, {run['server_log_unhandled_errors']} "
            f"'unhandled error' lines; see {run['server_log']}")
    for line in check_targets(run):
        log("  " + line)


def check_targets(run: dict[str, Any]) -> list[str]:
    """The README's targets, as far as one size can tell."""
    out = []
    phases = run["phases"]

    def get(scenario: str, kind: str, key: str) -> Any:
        return phases.get(scenario, {}).get(kind, {}).get(key)

    def line(ok: bool | None, text: str) -> None:
        out.append(f"[{'PASS' if ok else 'FAIL' if ok is not None else ' -- '}] {text}")

    p50 = get("list_tier", "latency", "p50_ms")
    size_note = "" if run["rows"] >= 1_000_000 else f" (target is at 1M rows; this is {run['rows']:,})"
    line(None if p50 is None else p50 < 15, f"filtered list p50 < 15 ms: {fmt(p50)} ms at c=1{size_note}")
    rps = get("get", "throughput", "rps")
    line(None if rps is None else rps >= 1500, f"get by id >= 1,500 req/s: {fmt(rps, 1)}")
    rps = get("create", "throughput", "rps")
    line(None if rps is None else rps >= 500, f"single creates >= 500/s: {fmt(rps, 1)}")
    rec = get("mass_create", "throughput", "records_per_s")
    raw = run["raw"].get("mass_create", {})
    floor_note = ""
    if raw.get("records_per_s"):
        parallel = raw.get("parallel")
        floor_note = (f" (the same rows straight through the driver: {raw['records_per_s']:,.0f}/s with one "
                      f"connection" + (f", {parallel['records_per_s']:,.0f}/s with {parallel['connections']}"
                                       if parallel else "") + ")")
    line(None if rec is None else rec >= 20000, f"mass create >= 20,000 records/s: {fmt(rec, 0)}{floor_note}")
    for scenario in ("get", "list_tier", "list_tier_nototal", "list_assigned", "search", "itflow_client",
                     "itflow_contacts", "concord_list", "concord_get"):
        ratio = run["ratios"].get(scenario)
        if ratio is not None:
            line(ratio <= 3, f"{LABELS[scenario]} within 3x of raw SQL + bare HTTP: {ratio}x")
    limit = run.get("rate_limit")
    if limit and "hit_cost_pct" in limit:
        reads = limit.get("read_p50_ms")
        cost = limit["spaced_hit_cost_pct"]
        read_note = (f"the Concord get at c=1 {fmt(reads['redis'])} ms with the limiter in Redis, "
                     f"{fmt(reads['memory'])} ms in memory ({limit['read_difference_pct']:+.1f} %); " if reads else "")
        line(cost < 5,
             f"Concord rate limit (Redis) under 5 % of a read: RateLimiter.hit alone p50 "
             f"{limit['redis_hit_spaced_ms']['p50']:.3f} ms spaced like requests = {cost} % of the get with Redis "
             f"({limit['redis_hit_ms']['p50']:.3f} ms back to back = {limit['hit_cost_pct']} %; memory "
             f"{limit['memory_hit_ms']['p50']:.3f} ms; {limit.get('redis_entries', '?')} entries in the window; at "
             f"Concord's own budget of 90 {limit['redis_hit_default_budget_spaced_ms']['p50']:.3f} ms); "
             f"floor: one Redis round trip (PING) spaced alike {limit['redis_ping_spaced_ms']['p50']:.3f} ms = "
             f"{limit['round_trip_floor_pct']} % of the read; "
             f"cross-check: {read_note.rstrip('; ') or 'not measured'}")
    concord, espo = get("concord_create", "throughput", "rps"), get("create", "throughput", "rps")
    if concord is not None and espo is not None:
        line(None, f"Concord create beside the EspoCRM create (same contact): {fmt(concord, 1)} against "
                   f"{fmt(espo, 1)} req/s, p50@c1 {fmt(get('concord_create', 'latency', 'p50_ms'))} against "
                   f"{fmt(get('create', 'latency', 'p50_ms'))} ms")
    ticket, case = get("itflow_ticket_create", "throughput", "rps"), get("case_create", "throughput", "rps")
    if ticket is not None and case is not None:
        line(ticket >= case, f"ITFlow ticket create no slower than a Case create: {fmt(ticket, 1)} against "
                             f"{fmt(case, 1)} req/s")
    ticket, case = get("itflow_ticket_create", "latency", "p50_ms"), get("case_create", "latency", "p50_ms")
    if ticket is not None and case is not None:
        line(ticket <= case, f"ITFlow ticket create p50@c1 no longer than a Case create's: {fmt(ticket)} against "
                             f"{fmt(case)} ms")
    return out


def print_flatness(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    by_rows = sorted(runs, key=lambda r: r["rows"])
    small, large = by_rows[0], by_rows[-1]
    log()
    log(f"Flatness {small['rows']:,} -> {large['rows']:,} contacts (p50 at c=1; target: filtered list within 1.5x)")
    for scenario in ("get", "list_tier", "list_tier_nototal", "list_assigned", "search"):
        a = small["phases"].get(scenario, {}).get("latency", {}).get("p50_ms")
        b = large["phases"].get(scenario, {}).get("latency", {}).get("p50_ms")
        if a and b:
            ratio = round(b / a, 2)
            verdict = ("PASS" if ratio <= 1.5 else "FAIL") if scenario.startswith("list") else " -- "
            log(f"  [{verdict}] {LABELS[scenario]:<30} {a:.2f} ms -> {b:.2f} ms = {ratio}x")
            out.append({"scenario": scenario, "small_p50_ms": a, "large_p50_ms": b, "ratio": ratio})
    return out


def python_loop_ms() -> float:
    """Milliseconds a fixed pure-Python loop takes now (the best of five): how fast this box runs Python at
    the moment, so runs on days when the same VM ran at half speed can be told apart."""
    def loop() -> float:
        started = time.perf_counter()
        total, table = 0, dict.fromkeys(range(1024), 0)
        for i in range(PYTHON_LOOP_STEPS):
            table[i & 1023] = i
            total += table[(i * 7) & 1023]
        return time.perf_counter() - started
    return round(min(loop() for _ in range(5)) * 1000, 1)


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import sqlite3

    info["sqlite"] = sqlite3.sqlite_version
    info["loadavg_at_start"] = [round(v, 2) for v in os.getloadavg()]
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PolyCRM benchmark (see bench/README.md)")
    parser.add_argument("--rows", default="10000", help="contacts to seed; several sizes comma-separated")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="admin connection; the bench database polycrm_bench_<rows> is (re)created beside it")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="polycrm serve --workers")
    parser.add_argument("--concurrency", type=int, default=8, help="connections of the load generator")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per throughput phase")
    parser.add_argument("--reuse", action="store_true", help="reuse a store already seeded to that size")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="load generator HTTP client")
    parser.add_argument("--loadgen-procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--mass-batch", type=int, default=1000, help="records per massCreate request")
    parser.add_argument("--reconnect-every", type=int, default=50,
                        help="reopen each connection after this many requests, so the load spreads over the "
                             "server workers (0: keep connections for the whole phase)")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                        help=f"comma-separated subset of {','.join(ALL_SCENARIOS)}")
    parser.add_argument("--server-log-level", default="warning", help="POLYCRM_LOG_LEVEL of the server")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379",
                        help="POLYCRM_REDIS_URL of the server (Concord's rate-limit counters); '' counts in memory")
    parser.add_argument("--rate-limit-rounds", type=int, default=3,
                        help="rounds of the Concord get with the limiter in Redis and in memory, in turns")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if "ping" not in args.scenarios:
        args.scenarios.insert(0, "ping")  # the ratios need the bare round trip
    sizes = [int(s.replace("_", "")) for s in args.rows.split(",") if s.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    report: dict[str, Any] = {"started": stamp, "machine": machine(), "args": {k: v for k, v in vars(args).items()},
                              "runs": []}
    out_path = RESULTS / f"{stamp}.json"
    load1 = report["machine"]["loadavg_at_start"][0]
    if load1 > 0.5:
        log(f"Note: the machine is busy before the bench starts (load average {load1}); other processes take CPU "
            f"from the server, so figures will be noisy (see the 'other' CPU column).")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(max(1, args.loadgen_procs)) as pool:
        for rows in sizes:
            try:
                run = run_size(rows, args, stamp, pool)
            except Exception as exc:  # noqa: BLE001 - one failed size must not lose the others
                log(f"RUN FAILED for {rows:,} rows: {type(exc).__name__}: {exc}")
                report["runs"].append({"rows": rows, "backend": args.backend, "error": f"{type(exc).__name__}: {exc}"})
                continue
            report["runs"].append(run)
            print_table(run, args)
            out_path.write_text(json.dumps(report, indent=1, default=str))
    ok_runs = [r for r in report["runs"] if "phases" in r]
    if len(ok_runs) > 1:
        report["flatness"] = print_flatness(ok_runs)
    out_path.write_text(json.dumps(report, indent=1, default=str))
    log(f"\nResults: {out_path}")
    return 0 if ok_runs else 1


if __name__ == "__main__":
    sys.exit(main())
