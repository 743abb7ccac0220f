"""`polycrm token create|list|revoke` and `polycrm user create --email --no-api-access`, through the real
entry point over the test's store."""

from __future__ import annotations

import json
import re

import polycrm.auth.concord_tokens
import polycrm.auth.trusted


def test_token_commands_issue_list_and_revoke(harness, cli, monkeypatch):
    directory = harness.directory
    ana = directory.create_user("ana", None)
    result = cli("token", "create", "--user", "ana", "--name", "n8n", "--json")
    assert result.exit_code == 0, result.stderr
    issued = json.loads(result.stdout)
    assert set(issued) == {"id", "name", "userId", "plainTextToken"}
    assert (issued["name"], issued["userId"]) == ("n8n", ana)
    assert re.fullmatch(rf"{issued['id']}\|[A-Za-z0-9]{{40}}[0-9a-f]{{8}}", issued["plainTextToken"])
    # The cache's clock stands still until the test moves it: the commands below may take longer than its TTL.
    start = polycrm.auth.trusted.monotonic()
    monkeypatch.setattr(polycrm.auth.trusted, "monotonic", lambda: start)
    found = directory.find_concord_token(issued["plainTextToken"])
    assert found is not None and found.user_id == ana

    plain = cli("token", "create", "--user", "admin", "--name", "Zapier sync")
    assert plain.exit_code == 0, plain.stderr
    line, advice = plain.stdout.splitlines()
    admin_token = re.fullmatch(r"App CRM token \(id (\d+)\): (\d+\|\w{48})", line)
    assert admin_token and "cannot be shown again" in advice

    listed = [json.loads(line) for line in cli("token", "list", "--json").stdout.splitlines()]
    assert [(t["id"], t["user"], t["userId"], t["name"], t["lastUsedAt"] is not None) for t in listed] == [
        (issued["id"], "ana", ana, "n8n", True), (int(admin_token[1]), "admin", harness.admin_id, "Zapier sync", False)]
    table = cli("token", "list", "--user", "admin").stdout
    assert table.startswith(f"{admin_token[1]}\tadmin\tZapier sync\tcreated ") and table.endswith("\tlast used never\n")
    assert issued["plainTextToken"] not in table + cli("apikey", "list").stdout
    assert f"{issued['id']}\tana\tn8n\t" in cli("apikey", "list").stdout
    assert "\tconcord\tclient -\texpires -\tactive" in cli("apikey", "list").stdout

    assert cli("token", "revoke", str(issued["id"])).stdout == f"Revoked App CRM token {issued['id']}\n"
    assert directory.find_concord_token(issued["plainTextToken"]) is not None  # trusted a little longer
    later = start + polycrm.auth.concord_tokens.CONCORD_TOKEN_TTL + 1
    monkeypatch.setattr(polycrm.auth.trusted, "monotonic", lambda: later)
    assert directory.find_concord_token(issued["plainTextToken"]) is None
    assert [t["id"] for t in map(json.loads, cli("token", "list", "--json").stdout.splitlines())] == [
        int(admin_token[1])]
    assert cli("token", "list", "--user", "ana").stdout == ""
    cli.fails("token", "revoke", str(issued["id"]), message=f"no live App CRM token with id {issued['id']}")
    key_id = directory.create_api_key(ana).info.id
    cli.fails("token", "revoke", str(key_id), message="no live App CRM token")  # a key of another API


def test_token_create_refusals(harness, cli):
    cli.fails("token", "create", "--user", "nobody", "--name", "n8n", message="No user 'nobody'")
    cli.fails("token", "create", "--user", "admin", "--name", "", message="A token's name is required")
    cli.fails("token", "create", "--user", "admin", "--name", "x" * 101, message="at most 100 characters")
    cli.fails("token", "list", "--user", "nobody", message="No user 'nobody'")
    assert cli("token", "create", "--user", "admin").exit_code == 2  # --name is required, as in Concord
    assert harness.directory.list_concord_tokens(None) == []


def test_user_create_takes_an_email_and_api_access(harness, api, cli):
    directory = harness.directory
    result = cli("user", "create", "--username", "ana", "--password-stdin", "--email", "Ana@Example.com",
                 input="ana-secret-1\n")
    assert result.exit_code == 0, result.stderr
    ana = directory.user_id("ana")
    assert directory.verify_email_password("ana@example.com", "ana-secret-1") == ana
    assert api.get(f"/api/v1/User/{ana}").json()["apiAccess"] is True
    assert cli("user", "create", "--username", "bob", "--api", "--no-api-access").exit_code == 0
    assert api.get(f"/api/v1/User/{directory.user_id('bob')}").json()["apiAccess"] is False
    cli.fails("user", "create", "--username", "cy", "--api", "--email", "ANA@example.com",
              message="Email ANA@example.com is already used")
    cli.fails("user", "create", "--username", "cy", "--api", "--email", "not-an-email",
              message="'not-an-email' is not an email address")
    assert "cy" not in {user.user_name for user in directory.list_users()}
