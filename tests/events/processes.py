"""Real `polycrm serve` / `polycrm worker` processes over one store (SQLite data directory or a
PostgreSQL schema of its own), for the reliability tests. Only 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

from polycrm.store.database import make_engine
from tests.conftest import PG_URL
from tests.live.conftest import POLYCRM, free_port, run_cli

FAST_RETRIES = {"POLYCRM_WEBHOOK_ALLOW_PRIVATE": "1", "POLYCRM_WEBHOOK_POLL_INTERVAL": "0.05",
                "POLYCRM_WEBHOOK_BACKOFF_BASE": "0.2", "POLYCRM_WEBHOOK_BACKOFF_MAX": "1",
                "POLYCRM_WEBHOOK_MAX_ATTEMPTS": "100", "POLYCRM_WEBHOOK_DISABLE_AFTER": "100"}


@dataclass
class Cluster:
    """One store and the processes started on it; `stop` ends them all (tests call it in a finally)."""

    env: dict[str, str]
    api_key: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)
    _drop_schema: str | None = None

    @classmethod
    def create(cls, backend: str, data_dir: Path, **settings: str) -> "Cluster":
        env = dict(os.environ, POLYCRM_DATA_DIR=str(data_dir), POLYCRM_SECRET_KEY="reliability-secret",
                   **FAST_RETRIES, **settings)
        env.pop("POLYCRM_DATABASE_URL", None)
        cluster = cls(env)
        if backend == "postgresql":
            assert PG_URL is not None
            schema = f"r_{uuid.uuid4().hex[:12]}"
            engine = make_engine(PG_URL)
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
            cluster._drop_schema = schema
            separator = "&" if "?" in PG_URL else "?"
            env["POLYCRM_DATABASE_URL"] = f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
        for args in (["init"], ["user", "create", "--username", "hooks", "--admin", "--password", "hooks-password"]):
            done = run_cli(env, *args)
            assert done.returncode == 0, done.stderr
        issued = run_cli(env, "apikey", "create", "--user", "hooks", "--json")
        assert issued.returncode == 0, issued.stderr
        cluster.api_key = json.loads(issued.stdout)["key"]
        return cluster

    def serve(self, **settings: str) -> str:
        """Start a server (with its in-process delivery worker unless told otherwise); its base URL."""
        port = free_port()
        process = self._start(["serve", "--port", str(port)], settings)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/api/v1/", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start within 30 s")

    def worker(self) -> subprocess.Popen:
        return self._start(["worker"], {})

    def _start(self, args: list[str], settings: dict[str, str]) -> subprocess.Popen:
        process = subprocess.Popen(POLYCRM + args, env=dict(self.env, **settings), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        self.processes.append(process)
        return process

    def client(self, url: str) -> httpx.Client:
        return httpx.Client(base_url=f"{url}/api/v1", headers={"X-Api-Key": self.api_key}, timeout=30)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL a process and everything it started (uvicorn's children)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(process)
        if self._drop_schema is not None:
            engine = make_engine(PG_URL or "")
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{self._drop_schema}" CASCADE'))
            engine.dispose()
