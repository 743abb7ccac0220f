"""`polycrm serve` itself, one process on a new data directory (its first start makes the admin and key):
every line it writes is JSON from one handler (uvicorn's included, its access log off), POLYCRM_LOG_LEVEL
reaches the worker process, the startup line names the settings, and no secret is written."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time

import httpx

from tests.live.conftest import POLYCRM, free_port
from tests.unit.test_first_start import credentials

SECRET_KEY = "live-logs-secret-key"


def test_the_server_writes_json_lines_with_request_ids_and_no_secret(tmp_path):
    env = dict(os.environ, POLYCRM_DATA_DIR=str(tmp_path), POLYCRM_SECRET_KEY=SECRET_KEY, POLYCRM_LOG_LEVEL="debug",
               POLYCRM_LOG_FORMAT="json")
    env.pop("POLYCRM_DATABASE_URL", None)
    url, log_path = f"http://127.0.0.1:{free_port()}", tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(POLYCRM + ["serve", "--port", url.rsplit(":", 1)[1]], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                httpx.get(f"{url}/api/v1/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        password, key = credentials((tmp_path / "initial-admin.txt").read_text())
        good = httpx.get(f"{url}/api/v1/Account?maxSize=1&api_key={key}",
                         headers={"X-Api-Key": key, "X-Request-Id": "live-check-1"})
        basic = "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()
        by_password = httpx.get(f"{url}/api/v1/Account", headers={"Authorization": basic})
        bad = httpx.get(f"{url}/api/v1/Account",
                        headers={"Authorization": "Basic " + base64.b64encode(b"admin:wrong-pw-live").decode()})
        refused = httpx.post(f"{url}/api/v1/Account", json={"name": ""}, headers={"X-Api-Key": key})
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert (good.status_code, by_password.status_code, bad.status_code, refused.status_code) == (200, 200, 401, 400)
    assert good.headers["x-request-id"] == "live-check-1"
    text = log_path.read_text()
    lines = text.splitlines()
    # Besides JSON lines, only the command's own output: the store it serves, where the first admin's
    # credentials are, the address.
    assert [line[:20] for line in lines if not line.startswith("{")] == [
        "store: sqlite:///" + str(tmp_path)[:3], "First start: created", "PolyCRM on http://12"]
    records = [json.loads(line) for line in lines if line.startswith("{")]
    loggers = {r["logger"] for r in records}
    assert {"uvicorn.error", "polycrm.server", "polycrm.access", "polycrm.auth", "polycrm.espo"} <= loggers
    assert "uvicorn.access" not in loggers and 'HTTP/1.1" 200' not in text
    access = [r for r in records if r["logger"] == "polycrm.access" and r["request_id"] == "live-check-1"]
    assert len(access) == 1 and (access[0]["user"], access[0]["client"]) == ("admin", "127.0.0.1")
    assert access[0]["path"] == "/api/v1/Account?maxSize=1&api_key=***"
    debug = [r for r in records if r["event"] == "request refused"]
    assert [(r["level"], r["request_id"]) for r in debug] == [("debug", refused.headers["x-request-id"])]
    starting = next(r for r in records if r["event"] == "starting")
    assert (starting["log_level"], starting["server_workers"], starting["data_dir"]) == ("debug", 1, str(tmp_path))
    assert any(r["event"] == "Application shutdown complete." for r in records)
    for secret in (key, password, SECRET_KEY, "wrong-pw-live", basic[6:]):
        assert secret not in text
