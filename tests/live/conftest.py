"""A real `polycrm serve` process on 127.0.0.1, for clients that need a socket."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir: Path = tmp_path_factory.mktemp("live")
    env = dict(os.environ, POLYCRM_DATA_DIR=str(data_dir), POLYCRM_SECRET_KEY="live-test-secret")
    env.pop("POLYCRM_DATABASE_URL", None)
    assert run_cli(env, "init").returncode == 0
    created = run_cli(env, "user", "create", "--username", "integration", "--admin", "--password", "integration-pw")
    assert created.returncode == 0, created.stderr
    issued = run_cli(env, "apikey", "create", "--user", "integration", "--json")
    assert issued.returncode == 0, issued.stderr
    key = json.loads(issued.stdout)["key"]
    port = free_port()
    process = subprocess.Popen(POLYCRM + ["serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
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
        raise RuntimeError(process.stdout.read().decode() if process.stdout else "server did not start")
    yield LiveServer(url, key, env)
    process.terminate()
    process.wait(timeout=10)
