"""A real `polycrm serve` process on 127.0.0.1, for clients that need a socket."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

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
def serve(data_dir: Path, **extra_env: str) -> Iterator[LiveServer]:
    """`polycrm serve` over a fresh SQLite store in `data_dir`, with an admin user and API key. Its output
    goes to `server.log` there (a pipe nobody reads could fill up and stall the server)."""
    env = dict(os.environ, POLYCRM_DATA_DIR=str(data_dir), POLYCRM_SECRET_KEY="live-test-secret", **extra_env)
    env.pop("POLYCRM_DATABASE_URL", None)
    assert run_cli(env, "init").returncode == 0
    created = run_cli(env, "user", "create", "--username", "integration", "--admin", "--password", "integration-pw")
    assert created.returncode == 0, created.stderr
    issued = run_cli(env, "apikey", "create", "--user", "integration", "--json")
    assert issued.returncode == 0, issued.stderr
    key = json.loads(issued.stdout)["key"]
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
