"""Unmodified EspoCRM clients against a live `polycrm serve`: the PyPI `espo` package and plain `requests`
calls built as EspoCRM's documentation shows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
import requests
from espo import Espo, EspoMethods
from espo.exceptions import EspoError

from tests.live.conftest import run_cli


def test_espo_package_crud_filter_relate_delete(live_server):
    client = Espo(live_server.url, live_server.api_key)
    account = client.request(EspoMethods.POST, "Account", {"name": "Espo Client Co", "type": "Customer"})
    contact = client.request(EspoMethods.POST, "Contact", {"firstName": "Eve", "lastName": "Client",
                                                           "emailAddress": "eve@client.example"})
    assert client.request(EspoMethods.GET, f"Contact/{contact['id']}")["name"] == "Eve Client"
    updated = client.request(EspoMethods.PUT, f"Contact/{contact['id']}", {"title": "x", "description": "Updated"})
    assert updated["description"] == "Updated"
    listed = client.request(EspoMethods.GET, "Account", {
        "where": [{"type": "equals", "attribute": "type", "value": "Customer"}], "maxSize": 10})
    assert [r["id"] for r in listed["list"]] == [account["id"]]
    assert client.request(EspoMethods.POST, f"Account/{account['id']}/contacts", {"id": contact["id"]}) is True
    related = client.request(EspoMethods.GET, f"Account/{account['id']}/contacts")
    assert [r["id"] for r in related["list"]] == [contact["id"]]
    assert client.request(EspoMethods.DELETE, f"Account/{account['id']}/contacts", {"id": contact["id"]}) is True
    assert client.request(EspoMethods.DELETE, f"Contact/{contact['id']}") is True
    with pytest.raises(EspoError) as missing:
        client.request(EspoMethods.GET, f"Contact/{contact['id']}")
    assert missing.value.code == 404


def test_documented_requests_calls(live_server):
    headers = {"X-Api-Key": live_server.api_key, "Content-Type": "application/json"}
    base = f"{live_server.url}/api/v1"
    lead = requests.post(f"{base}/Lead", headers=headers, json={"firstName": "New", "lastName": "Lead",
                                                                "emailAddress": "lead@example.com"}, timeout=10)
    assert lead.status_code == 200
    opp = requests.post(f"{base}/Opportunity", headers=headers, timeout=10,
                        json={"name": "Big Deal", "stage": "Prospecting", "amount": 50000, "probability": 75,
                              "closeDate": "2030-12-31"}).json()
    updated = requests.put(f"{base}/Opportunity/{opp['id']}", headers=headers, json={"stage": "Proposal"},
                           timeout=10)
    assert updated.json()["stage"] == "Proposal"
    where = [{"type": "and", "value": [{"type": "equals", "field": "stage", "value": "Proposal"}]}]
    found = requests.get(f"{base}/Opportunity", headers=headers, timeout=10,
                         params={"where": json.dumps(where), "maxSize": 50}).json()
    assert [r["id"] for r in found["list"]] == [opp["id"]]
    search = requests.get(f"{base}/Opportunity", headers=headers, timeout=10,
                          params={"searchParams": json.dumps({"where": where, "select": ["name"]})}).json()
    assert search["total"] == 1
    assert requests.delete(f"{base}/Opportunity/{opp['id']}", headers=headers, timeout=10).json() is True


def test_php_client_hmac_signature(live_server):
    issued = run_cli(live_server.env, "apikey", "create", "--user", "integration", "--hmac", "--json")
    payload = json.loads(issued.stdout)
    signature = hmac.new(payload["hmacSecret"].encode(), b"GET /Account", hashlib.sha256).hexdigest()
    header = base64.b64encode(f"{payload['key']}:{signature}".encode()).decode()
    response = requests.get(f"{live_server.url}/api/v1/Account", headers={"X-Hmac-Authorization": header},
                            params={"maxSize": 1}, timeout=10)
    assert response.status_code == 200


def test_cli_errors_are_one_line(live_server):
    result = run_cli(live_server.env, "apikey", "create", "--user", "nobody")
    assert result.returncode != 0
    assert result.stderr.splitlines()[1:] == ["error: No user 'nobody'."]  # after the line naming the store
    bad_date = run_cli(live_server.env, "apikey", "create", "--user", "integration", "--expires", "tomorrow")
    assert bad_date.returncode != 0 and bad_date.stderr.strip().count("\n") == 0
    bad_field = run_cli(live_server.env, "field", "add", "Contact", "x", "--type", "nope")
    assert bad_field.returncode != 0 and "Traceback" not in bad_field.stderr
