"""The audit log: written by core.audit (alone or inside a write's transaction), cut to ITFlow's widths,
read-only through /api/v1 and readable by administrators only, listed by `polycrm audit`."""

from __future__ import annotations

import json

import pytest

from tests.vault.conftest import new_account


def test_record_cuts_texts_and_maps_zero_ids_to_none(harness, api):
    audit = harness.app.state.core.audit
    client = new_account(api)
    long_id = audit.record("T" * 300, "A" * 300, "D" * 2000, client_id=client, entity_id=7,
                           user_id=harness.admin_id, ip="1" * 300, user_agent="U\x00" * 300)
    failed = audit.record("API", "Failed", "Incorrect or expired key (endpoint: /api/v1/clients/read.php)",
                          ip="203.0.113.9", user_agent="PowerShell")
    entries = {int(e["id"]): e for e in api.get("/api/v1/AuditLogEntry").json()["list"]}
    entry = api.get(f"/api/v1/AuditLogEntry/{long_id}").json()
    assert (len(entry["type"]), len(entry["action"]), len(entry["description"]), len(entry["ipAddress"]),
            entry["userAgent"]) == (200, 255, 1000, 200, "U" * 250)
    assert (entry["accountId"], entry["userId"], entry["entityId"]) == (str(client), str(harness.admin_id), 7)
    assert entries[failed]["accountId"] is None and entries[failed]["userId"] is None


def test_an_entry_written_in_a_transaction_goes_with_it(harness, store):
    audit = harness.app.state.core.audit
    with pytest.raises(RuntimeError):
        with store.database.transaction() as conn:
            audit.record("Credential", "Create", "x via API (k)", conn=conn)
            raise RuntimeError("the write failed")
    with store.database.transaction() as conn:
        kept = audit.record("Credential", "Create", "y via API (k)", conn=conn)
    from polycrm.core.audit import AuditQuery
    assert [e["id"] for e in audit.entries(AuditQuery())] == [kept]


def test_the_audit_log_is_read_only_and_for_administrators(harness, api):
    entry_id = harness.app.state.core.audit.record("API", "Failed", "x")
    _, reader = harness.user({"AuditLogEntry": True, "Account": True})
    assert reader.get("/api/v1/AuditLogEntry").status_code == 403
    assert reader.get(f"/api/v1/AuditLogEntry/{entry_id}").status_code == 403
    for client in (api, reader):
        assert client.post("/api/v1/AuditLogEntry", json={"type": "x", "action": "y"}).status_code == 403
        assert client.put(f"/api/v1/AuditLogEntry/{entry_id}", json={"type": "z"}).status_code == 403
        assert client.delete(f"/api/v1/AuditLogEntry/{entry_id}").status_code == 403
    assert api.get(f"/api/v1/AuditLogEntry/{entry_id}").json()["type"] == "API"


def test_audit_command_filters_and_prints(harness, api, cli):
    audit = harness.app.state.core.audit
    client = new_account(api)
    audit.record("API", "Failed", "bad key", ip="198.51.100.1")
    audit.record("Credential", "Create", "NAS via API (rmm)", client_id=client, entity_id=3)
    lines = [json.loads(line) for line in cli("audit", "--json").stdout.splitlines()]
    assert [e["type"] for e in lines] == ["Credential", "API"]
    assert lines[0]["clientId"] == client and lines[0]["entityId"] == 3 and lines[1]["clientId"] == 0
    assert [json.loads(x)["type"] for x in cli("audit", "--client", str(client), "--json").stdout.splitlines()] \
        == ["Credential"]
    assert [json.loads(x)["type"] for x in cli("audit", "--client", "0", "--json").stdout.splitlines()] == ["API"]
    assert cli("audit", "--type", "API").stdout.count("\n") == 1
    assert cli("audit", "--limit", "1").stdout.count("\n") == 1
    assert cli("audit", "--since", "2999-01-01").stdout == ""
    assert "\tAPI\tFailed\tclient 0\t198.51.100.1\tbad key" in cli("audit").stdout


@pytest.mark.parametrize("args, message", [
    (["--since", "yesterday"], "--since must be a date YYYY-MM-DD"),
    (["--client", "-1"], "--client must be 0 or an account's id"),
    (["--limit", "0"], "--limit must be 1 to 10000"),
])
def test_audit_command_refusals(cli, args, message):
    cli.fails("audit", *args, message=message)
