"""ITFlow API keys: issued with a decrypt password, matched as ITFlow matches them, scoped to a client,
expiring by date, refused by PolyCRM's own APIs; through the directory and `polycrm apikey`."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import text

import polycrm.auth.itflow_keys
import polycrm.auth.trusted
from polycrm.auth.directory import DirectoryError, UnknownName
from polycrm.core import vault
from polycrm.core.errors import WrongDecryptPassword
from tests.vault.conftest import new_account


def test_issued_key_matches_case_insensitively_and_ignoring_trailing_spaces(harness, api):
    directory = harness.directory
    client_id = new_account(api)
    issued = directory.create_itflow_key(harness.admin_id, client_id=client_id, name="RMM")
    assert re.fullmatch(r"[a-z0-9]{32}", issued.key) and len(issued.decrypt_password) == 32
    assert (issued.info.protocol, issued.info.client_id, issued.info.name) == ("itflow", client_id, "RMM")
    for spelling in (issued.key, issued.key.upper(), issued.key + "   "):
        found = directory.find_itflow_key(spelling)
        assert found is not None and (found.id, found.user_id, found.client_id, found.name) == (
            issued.info.id, harness.admin_id, client_id, "RMM")
    assert directory.find_itflow_key(" " + issued.key) is None  # only trailing spaces are ignored
    assert directory.find_itflow_key(issued.key[:-1]) is None


def test_itflow_keys_work_on_the_itflow_api_only(harness):
    directory = harness.directory
    itflow = directory.create_itflow_key(harness.admin_id)
    native = directory.create_api_key(harness.admin_id)
    assert directory.find_api_key(itflow.key) is None
    assert directory.find_itflow_key(native.key) is None
    assert harness.key_client(itflow.key).get("/api/v1/Account").status_code == 401
    assert harness.key_client(native.key).get("/api/v1/Account").status_code == 200
    with harness.client({"x-api-key": itflow.key}, validate=False) as inflow:
        assert inflow.post("/api/searchRecords", json={"module": "customer"}).status_code == 401


def test_decrypt_password_unlocks_the_vault_and_nothing_else(harness):
    issued = harness.directory.create_itflow_key(harness.admin_id)
    found = harness.directory.find_itflow_key(issued.key)
    key = vault.unlock(found.vault_key, issued.decrypt_password)
    other = harness.directory.create_itflow_key(harness.admin_id)
    assert vault.unlock(harness.directory.find_itflow_key(other.key).vault_key, other.decrypt_password) == key
    for password in ("", issued.decrypt_password.upper(), other.decrypt_password, issued.decrypt_password + " "):
        with pytest.raises(WrongDecryptPassword):
            vault.unlock(found.vault_key, password)
    tampered = found.vault_key[:-4] + ("AAAA" if not found.vault_key.endswith("AAAA") else "BBBB")
    for material in (tampered, "v2." + found.vault_key[3:], "v1.!!!", ""):
        with pytest.raises(WrongDecryptPassword):
            vault.unlock(material, issued.decrypt_password)


def test_revoked_and_expired_keys_are_refused(harness, monkeypatch):
    directory = harness.directory
    revoked = directory.create_itflow_key(harness.admin_id)
    assert directory.find_itflow_key(revoked.key) is not None
    assert directory.revoke_api_key(revoked.info.id)
    assert directory.find_itflow_key(revoked.key) is None

    tomorrow = date.today() + timedelta(days=1)
    expiring = directory.create_itflow_key(harness.admin_id, expires_on=tomorrow)
    assert expiring.info.expires_on == tomorrow and directory.find_itflow_key(expiring.key) is not None

    class Tomorrow(date):
        @classmethod
        def today(cls) -> date:
            return tomorrow

    monkeypatch.setattr(polycrm.auth.itflow_keys, "date", Tomorrow)  # 00:00 of the expiry date, local time
    assert directory.find_itflow_key(expiring.key) is None


def test_bad_requests_for_itflow_keys(harness, api):
    directory = harness.directory
    for bad in (-1, True, "1"):
        with pytest.raises(DirectoryError, match="client id"):
            directory.create_itflow_key(harness.admin_id, client_id=bad)
    with pytest.raises(UnknownName, match="No account"):
        directory.create_itflow_key(harness.admin_id, client_id=999)
    deleted = new_account(api, "Gone")
    assert api.delete(f"/api/v1/Account/{deleted}").status_code == 200
    with pytest.raises(UnknownName, match="No account"):
        directory.create_itflow_key(harness.admin_id, client_id=deleted)
    with pytest.raises(UnknownName, match="No user"):
        directory.create_itflow_key(999)
    for day in (date.today(), date.today() - timedelta(days=1)):
        with pytest.raises(DirectoryError, match="after today"):
            directory.create_itflow_key(harness.admin_id, expires_on=day)
    with pytest.raises(DirectoryError, match="name"):
        directory.create_itflow_key(harness.admin_id, name="x" * 101)
    assert [k.id for k in directory.list_api_keys() if k.protocol] == []


def test_apikey_commands_issue_list_and_revoke_itflow_keys(harness, api, cli, monkeypatch):
    client_id = new_account(api)
    result = cli("apikey", "create", "--user", "admin", "--itflow", "--client", str(client_id), "--name", "rmm",
                 "--expires", (date.today() + timedelta(days=30)).isoformat(), "--json")
    assert result.exit_code == 0, result.stderr
    issued = json.loads(result.stdout)
    # The cache's clock stands still until the test moves it: the commands below may take longer than the TTL.
    start = polycrm.auth.trusted.monotonic()
    monkeypatch.setattr(polycrm.auth.trusted, "monotonic", lambda: start)
    assert {"id", "key", "decryptPassword", "user", "name", "expiresAt", "protocol", "clientId"} <= set(issued)
    assert (issued["protocol"], issued["clientId"]) == ("itflow", client_id)
    found = harness.directory.find_itflow_key(issued["key"])
    assert found is not None and found.client_id == client_id
    vault.unlock(found.vault_key, issued["decryptPassword"])

    plain = cli("apikey", "create", "--user", "admin", "--itflow")
    assert plain.exit_code == 0 and "Decrypt password (api_key_decrypt_password): " in plain.stdout
    assert "client all" in plain.stdout

    listed = [json.loads(line) for line in cli("apikey", "list", "--json").stdout.splitlines()]
    kinds = {entry["id"]: (entry["kind"], entry["clientId"]) for entry in listed}
    assert kinds[issued["id"]] == ("itflow", client_id) and ("key", None) in kinds.values()
    table = cli("apikey", "list").stdout
    assert f"\titflow\tclient {client_id}\texpires " in table and "\titflow\tclient all\t" in table
    assert issued["key"] not in table and issued["decryptPassword"] not in table

    assert cli("apikey", "revoke", str(issued["id"])).exit_code == 0
    assert harness.directory.find_itflow_key(issued["key"]) is not None  # trusted for ITFLOW_KEY_TTL
    later = start + polycrm.auth.itflow_keys.ITFLOW_KEY_TTL + 1
    monkeypatch.setattr(polycrm.auth.trusted, "monotonic", lambda: later)
    assert harness.directory.find_itflow_key(issued["key"]) is None
    assert "revoked" in [line for line in cli("apikey", "list").stdout.splitlines()
                         if line.startswith(f"{issued['id']}\t")][0]


@pytest.mark.parametrize("args, message", [
    (["--itflow", "--expires", "2020-01-01"], "--expires must be in the future"),
    (["--itflow", "--expires", "31.12.2099"], "--expires must be a date YYYY-MM-DD"),
    (["--itflow", "--expires", "2099-02-30"], "--expires must be a date YYYY-MM-DD"),
    (["--itflow", "--client", "-3"], "--client must be 0 (all clients) or an account's id"),
    (["--itflow", "--client", "77"], "No account (client) with id 77"),
    (["--client", "1"], "--client needs --itflow"),
    (["--itflow", "--hmac"], "exclude each other"),
])
def test_apikey_create_refusals(harness, cli, args, message):
    cli.fails("apikey", "create", "--user", "admin", *args, message=message)
    assert [k for k in harness.directory.list_api_keys() if k.protocol] == []


def test_a_store_made_before_itflow_keys_upgrades(harness, store):
    """Existing stores open: `polycrm init`/`serve` add the api_key columns, old keys keep working."""
    old = harness.directory.create_api_key(harness.admin_id)
    with store.database.transaction() as conn:
        for column in ("protocol", "client_id", "expires_on", "vault_key"):
            conn.execute(text(f"ALTER TABLE api_key DROP COLUMN {column}"))
    store.database.sync_schema()
    assert harness.directory.find_api_key(old.key) == (harness.admin_id, None)
    issued = harness.directory.create_itflow_key(harness.admin_id)
    assert harness.directory.find_itflow_key(issued.key) is not None
