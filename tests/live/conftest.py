"""A real `polycrm serve` process on 127.0.0.1, for clients that need a socket."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

POLYCRM = [sys.executable, "-m", "polycrm"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    api_key: str
    env: dict[str, str]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(POLYCRM + list(args), env=env, capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def live_database(backend: str) -> Iterator[str | None]:
    """The database URL of a live server on `backend` (tests/conftest.py BACKENDS): None for SQLite (the
    server's own file), or a PostgreSQL URL whose search path is a schema of its own, dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    from sqlalchemy import text

    from polycrm.store.database import make_engine
    from tests.conftest import PG_URL

    assert PG_URL is not None
    schema = f"live_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}{'&' if '?' in PG_URL else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def serve(data_dir: Path, *, database_url: str | None = None, setup: Callable[[dict[str, str]], None] | None = None,
          **extra_env: str) -> Iterator[LiveServer]:
    """`polycrm serve` over a fresh store (SQLite in `data_dir`, or PostgreSQL at `database_url`), with an admin
    user and API key; `setup` gets the environment to prepare the store before the server starts. Its output
    goes to `server.log` in `data_dir` (a pipe nobody reads could fill up and stall the server)."""
    env = dict(os.environ, POLYCRM_DATA_DIR=str(data_dir), POLYCRM_SECRET_KEY="live-test-secret", **extra_env)
    env.pop("POLYCRM_DATABASE_URL", None)
    if database_url is not None:
        env["POLYCRM_DATABASE_URL"] = database_url
    assert run_cli(env, "init").returncode == 0
    created = run_cli(env, "user", "create", "--username", "integration", "--admin", "--password", "integration-pw")
    assert created.returncode == 0, created.stderr
    issued = run_cli(env, "apikey", "create", "--user", "integration", "--json")
    assert issued.returncode == 0, issued.stderr
    key = json.loads(issued.stdout)["key"]
    if setup is not None:
        setup(env)
    port = free_port()
    log_path = data_dir / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(POLYCRM + ["serve", "--port", str(port)], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError(log_path.read_text(errors="replace") or "server did not start")
    try:
        yield LiveServer(url, key, env)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("live")) as server:
        yield server
