"""Where a request's time goes: the SQL statements PolyCRM runs for one request of each bench scenario.

    .venv/bin/python bench/trace.py --rows 2000 [--backend postgresql] [--pg-url URL] [--show 40]

Uses the store `bench/run.py` seeded (bench/results/<backend>-<rows>; PostgreSQL: polycrm_bench_<rows>), runs
the application in-process (no HTTP server) and, per scenario, prints the number of SQL statements and of
committed transactions per request, the in-process time per request (median of --repeat) and the process CPU
per request (over all --repeat requests; the test client's own work included), and the statements of one
request (shortened).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import loadgen  # noqa: E402
import run as bench_run  # noqa: E402
import seed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--scenarios", default="ping,get,list_tier,list_tier_nototal,list_assigned,search,create,"
                                               "update,mass_create",
                        help="also: itflow_client,itflow_contacts,itflow_ticket_create,case_create,"
                             "concord_list,concord_get,concord_create")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--show", type=int, default=30, help="statements to print per scenario")
    parser.add_argument("--width", type=int, default=180, help="characters shown per statement")
    args = parser.parse_args()

    data_dir = bench_run.RESULTS / f"{args.backend}-{args.rows}"
    database_url = (bench_run.pg_database_url(args.pg_url, f"polycrm_bench_{args.rows}")
                    if args.backend == "postgresql" else None)
    url = seed.database_url_for(data_dir, database_url)
    marks = seed.read_seed_marks(url)
    if marks.get("bench.seeded_rows") != args.rows:
        print(f"No store seeded with {args.rows} contacts at {url}; run bench/run.py --rows {args.rows} first")
        return 1
    env = seed.cli_env(data_dir, database_url)
    key = bench_run.create_api_key(env)
    itflow_key = bench_run.create_itflow_key(env)
    concord_token, _ = bench_run.create_concord_token(env)
    os.environ.update(env)
    os.environ["POLYCRM_CONCORD_RATE_LIMIT"] = bench_run.RAISED_RATE_LIMIT  # as run.py serves it
    os.environ["POLYCRM_INFLOW_RATE_LIMIT"] = bench_run.RAISED_RATE_LIMIT

    from sqlalchemy import event

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from polycrm.app import build_app
    from polycrm.config import load_config
    from polycrm.store.database import open_database

    config = load_config()
    database = open_database(config.database_url, sync=False)
    statements: list[str] = []
    commits = [0]
    event.listen(database.engine, "commit", lambda conn: commits.__setitem__(0, commits[0] + 1))
    event.listen(database.engine, "before_cursor_execute",
                 lambda conn, cursor, statement, params, context, many: statements.append(
                     " ".join(statement.split())))
    facts = bench_run.dataset_facts(url, marks)
    target = loadgen.Target("testserver", 80, key, facts["max_contact_id"], facts["max_account_id"],
                            facts["user_ids"], facts["prefixes"], f"t{int(time.time()) % 100000}", itflow_key,
                            facts["accounts_with_contacts"], concord_token, facts["last_names"],
                            facts["fragments"], facts["emails"])
    with TestClient(build_app(config, database)) as client:
        for scenario in [s for s in args.scenarios.split(",") if s]:
            make = loadgen.request_factory(scenario, target, 3, batch=100)
            headers = loadgen.auth_headers(scenario, target)
            counts, times, status = [], [], None
            commits[0] = 0
            cpu = time.process_time()
            for _ in range(args.repeat):
                method, path, body = make()
                statements.clear()
                started = time.perf_counter()
                response = client.request(method, path, content=body,
                                          headers={**headers, "Content-Type": "application/json"} if body else headers)
                times.append(time.perf_counter() - started)
                counts.append(len(statements))
                status = response.status_code
            cpu = time.process_time() - cpu
            print(f"\n== {scenario}: {method} {path[:100]}  -> {status}  "
                  f"{statistics.median(counts):.0f} SQL statements/request, "
                  f"{commits[0] / args.repeat:.1f} commits/request, "
                  f"{statistics.median(times) * 1000:.2f} ms/request in-process (median of {args.repeat}), "
                  f"{cpu / args.repeat * 1000:.2f} ms CPU/request")
            for number, statement in enumerate(statements[:args.show], 1):
                print(f"  {number:>2}. {statement[:args.width]}")
            if len(statements) > args.show:
                print(f"  ... {len(statements) - args.show} more")
    database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
