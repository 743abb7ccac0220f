"""itflow-api-powershell's requests, byte for byte, against a live `polycrm serve` (specs/itflow.md §10): JSON
here-strings posted as a form with `Expect: 100-continue` (Windows PowerShell 5.1's HttpWebRequest waits for
the interim 100 before it sends the body), and GETs with the values in the URL."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.live.conftest import LiveServer, run_cli

AGENT = "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.4522"


@pytest.fixture(scope="module")
def itflow_key(live_server: LiveServer) -> str:
    issued = run_cli(live_server.env, "apikey", "create", "--user", "integration", "--itflow", "--json")
    assert issued.returncode == 0, issued.stderr
    return json.loads(issued.stdout)["key"]


def _exchange(server: LiveServer, request: bytes, body: bytes = b"") -> tuple[bytes, int, dict[str, str], bytes]:
    """Send a request's head, then (after the interim answer, if one was asked for) its body; the interim
    status line received, the final status, headers and body."""
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        interim = b""
        if body:
            interim = sock.recv(4096)
            sock.sendall(body)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, content = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return interim, int(status_line.split()[1]), headers, content


def post(server: LiveServer, function: str, here_string: str) -> tuple[bytes, int, dict[str, str], bytes]:
    body = here_string.encode()
    head = (f"POST /api/v1/{function}.php HTTP/1.1\r\nHost: {urlsplit(server.url).netloc}\r\nUser-Agent: {AGENT}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\nConnection: close\r\n\r\n").encode()
    return _exchange(server, head, body)


def get(server: LiveServer, path_and_query: str) -> tuple[int, dict[str, str], bytes]:
    head = (f"GET /api/v1/{path_and_query} HTTP/1.1\r\nHost: {urlsplit(server.url).netloc}\r\n"
            f"User-Agent: {AGENT}\r\nConnection: close\r\n\r\n").encode()
    _, status, headers, content = _exchange(server, head)
    return status, headers, content


def test_powershell_samples_end_to_end(live_server: LiveServer, itflow_key: str):
    interim, status, headers, content = post(live_server, "clients/create", f"""{{
    "api_key" : "{itflow_key}",
    "client_name" : "Contoso",
    "client_type" : "Managed",
    "client_website" : "contoso.org",
    "client_referral" : "",
    "client_rate" : "250",
    "client_currency_code" : "USD",
    "client_net_terms" : "30",
    "client_abbreviation" : "CTS",
    "client_tax_id_number" : "",
    "client_is_lead" : "0",
    "client_notes" : "Created by PowerShell"
}}""")
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert status == 200 and headers["content-type"] == "application/json"
    created = json.loads(content)
    assert content == b'{"success":"True","count":"1","data":[{"insert_id":%d}]}' % created["data"][0]["insert_id"]
    client_id = created["data"][0]["insert_id"]

    _, status, _, content = post(live_server, "tickets/create", f"""{{
    "api_key" : "{itflow_key}",
    "ticket_subject" : "Printer offline",
    "ticket_details" : "The printer on floor 2 is offline",
    "ticket_priority" : "Low",
    "ticket_assigned_to" : "0",
    "ticket_contact_id" : "0",
    "client_id" : "{client_id}"
}}""")
    ticket_id = json.loads(content)["data"][0]["insert_id"]

    status, headers, content = get(live_server, f"tickets/read.php?api_key={itflow_key}&ticket_id={ticket_id}")
    ticket = json.loads(content)["data"][0]
    assert ticket["ticket_subject"] == "Printer offline" and ticket["ticket_status_name"] == "New"
    assert not content.endswith(b"\n")

    _, status, _, content = post(live_server, "tickets/resolve", f"""{{
    "api_key" : "{itflow_key}",
    "ticket_id" : "{ticket_id}",
    "client_id" : "{client_id}"
}}""")
    assert content == b'{"success":"True","count":1}'


def test_trmm_sync_loop(live_server: LiveServer, itflow_key: str):
    """TRMM-create-update.ps1: look the asset up by MAC, create it when "False", else update it by the id read;
    an update that changes nothing answers "False", which the script reports as "No changes to update."."""
    _, _, _, content = post(live_server, "clients/create", f'{{"api_key" : "{itflow_key}", "client_name" : "TRMM"}}')
    client_id = json.loads(content)["data"][0]["insert_id"]
    mac = "00:15:5D:01:02:03"

    def sync(asset_id: str) -> dict:
        _, status, _, content = post(live_server, "assets/update" if asset_id else "assets/create", f"""{{
    "api_key" : "{itflow_key}",
    "asset_name" : "WS-042",
    "asset_type" : "Desktop",
    "asset_make" : "Dell Inc.",
    "asset_model" : "OptiPlex 7090",
    "asset_serial" : "7XK2Q93",
    "asset_os" : "Microsoft Windows 11 Pro",
    "asset_ip" : "10.1.2.42",
    "asset_mac" : "{mac}",
    "asset_install_date" : "2024-02-01",
    "asset_status" : "Deployed",
    "client_id" : "{client_id}",
    "asset_location_id" : "",
    "asset_network_id" : "0",
    "asset_id" : "{asset_id}"
}}""")
        assert status == 200
        return json.loads(content)

    status, _, content = get(live_server, f"assets/read.php?api_key={itflow_key}&asset_mac={mac}")
    assert json.loads(content)["success"] == "False"
    assert sync("")["success"] == "True"
    status, _, content = get(live_server, f"assets/read.php?api_key={itflow_key}&asset_mac={mac}")
    found = json.loads(content)["data"][0]
    assert found["asset_client_id"] == str(client_id) and found["interface_ip"] == "10.1.2.42"
    assert sync(found["asset_id"]) == {"success": "False", "message": (
        "Auth success but update query failed/returned no results. Ensure ALL required variables are provided "
        "and database schema is up-to-date. Most likely cause: non-existent module ID (i.e. bad contact "
        "ID/ticket ID/etc) or no rows changed.")}
