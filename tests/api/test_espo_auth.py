"""EspoCRM API authentication (§1) and role-based access (all/team/own/no)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

import pytest

import polycrm.auth.directory

from tests.api.test_espo_records import create


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def test_no_credentials_is_401_with_empty_body(harness):
    client = harness.client()
    response = client.get("/api/v1/Account")
    assert response.status_code == 401 and response.content == b""
    assert response.headers["www-authenticate"] == 'Basic realm=""'
    assert "www-authenticate" not in client.post("/api/v1/Account", json={}).headers
    assert "www-authenticate" not in client.get("/api/v1/Account",
                                                headers={"X-Requested-With": "XMLHttpRequest"}).headers


@pytest.mark.parametrize("headers", [
    {"X-Api-Key": "0123456789abcdef0123456789abcdef"},
    {"X-Api-Key": ""},
    {"X-Api-Key": "' OR 1=1 --"},
    {"Authorization": "Basic " + b64("admin:wrong-password")},
    {"Authorization": "Basic " + b64("nobody:admin-password-1")},
    {"Espo-Authorization": b64("admin:wrong")},
    {"Espo-Authorization": b64("adm\x00in:admin-password-1")},  # PostgreSQL refuses NUL in a query
    {"X-Hmac-Authorization": "!!!not-base64"},
    {"X-Hmac-Authorization": b64("nokey")},
])
def test_bad_credentials_are_401(harness, headers):
    assert harness.client(headers).get("/api/v1/Account").status_code == 401


def test_malformed_espo_authorization_is_400(harness):
    response = harness.client({"Espo-Authorization": b64("no-colon")}).get("/api/v1/Account")
    assert response.status_code == 400
    assert response.headers["x-status-reason"] == "Auth: Bad authorization string provided."


def test_basic_auth_and_espo_token_flow(harness):
    basic = harness.client({"Authorization": "Basic " + b64("admin:admin-password-1")})
    assert basic.get("/api/v1/Account").status_code == 200
    assert basic.get("/api/v1/App/user").json()["token"] is None
    login = harness.client({"Espo-Authorization": b64("admin:admin-password-1")})
    token = login.get("/api/v1/App/user").json()["token"]
    assert isinstance(token, str) and len(token) == 32
    by_token = harness.client({"Espo-Authorization": b64(f"admin:{token}"), "Espo-Authorization-By-Token": "true"})
    assert by_token.get("/api/v1/Account").status_code == 200
    assert by_token.post("/api/v1/App/destroyAuthToken", json={"token": token}).json() is True
    assert by_token.get("/api/v1/Account").status_code == 401


def test_hmac_hex_legacy_binary_and_full_path_variant(harness):
    issued = harness.directory.create_api_key(harness.admin_id, with_hmac=True)
    key, secret = issued.key, issued.hmac_secret
    assert secret

    def signed(message: str, binary: bool = False) -> dict[str, str]:
        mac = hmac.new(secret.encode(), message.encode(), hashlib.sha256)
        digest = mac.digest() if binary else mac.hexdigest().encode()
        return {"X-Hmac-Authorization": b64(key.encode() + b":" + digest)}

    client = harness.client()
    assert client.get("/api/v1/Account?maxSize=5", headers=signed("GET /Account")).status_code == 200
    assert client.get("/api/v1/Account", headers=signed("GET /Account", binary=True)).status_code == 200
    assert client.get("/api/v1/Account?maxSize=5",
                      headers=signed("GET /api/v1/Account?maxSize=5")).status_code == 200
    assert client.get("/api/v1/Account", headers=signed("POST /Account")).status_code == 401
    assert client.get("/api/v1/Contact", headers=signed("GET /Account")).status_code == 401
    # A key issued for HMAC is not accepted on its own.
    assert client.get("/api/v1/Account", headers={"X-Api-Key": key}).status_code == 401


def test_revoked_and_expired_keys_are_401(harness, pass_key_trust):
    issued = harness.directory.create_api_key(harness.admin_id)
    client = harness.key_client(issued.key)
    assert client.get("/api/v1/Account").status_code == 200
    # Revoked by another process (harness.directory is not the server's): refused once the server's trust in
    # the key it found live runs out.
    harness.directory.revoke_api_key(issued.info.id)
    assert client.get("/api/v1/Account").status_code == 200
    pass_key_trust()
    assert client.get("/api/v1/Account").status_code == 401
    # Revoked by the server's own directory: refused at once.
    own = harness.directory.create_api_key(harness.admin_id)
    assert harness.key_client(own.key).get("/api/v1/Account").status_code == 200
    harness.app.state.directory.revoke_api_key(own.info.id)
    assert harness.key_client(own.key).get("/api/v1/Account").status_code == 401
    expired = harness.directory.create_api_key(harness.admin_id, expires_at=datetime.utcnow() - timedelta(days=1))
    assert harness.key_client(expired.key).get("/api/v1/Account").status_code == 401


def test_a_trusted_key_still_expires_on_time(harness, monkeypatch):
    issued = harness.directory.create_api_key(harness.admin_id, expires_at=datetime.utcnow() + timedelta(days=1))
    client = harness.key_client(issued.key)
    assert client.get("/api/v1/Account").status_code == 200
    later = datetime.utcnow() + timedelta(days=2)
    monkeypatch.setattr(polycrm.auth.directory, "utcnow", lambda: later)
    assert client.get("/api/v1/Account").status_code == 401


def test_api_keys_are_stored_hashed(harness, store):
    issued = harness.directory.create_api_key(harness.admin_id, with_hmac=True)
    with store.database.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(store.database.table("api_key").select()) for v in row)
    assert issued.key not in dump and issued.hmac_secret not in dump


def test_user_without_role_has_no_access(harness):
    _, client = harness.user(None)
    response = client.get("/api/v1/Account")
    assert response.status_code == 403 and response.headers["x-status-reason"] == "No read access."
    assert client.post("/api/v1/Account", json={"name": "x"}).status_code == 403


def test_own_level_limits_lists_reads_and_edits(harness, api):
    scopes = {"Account": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}}
    user_id, client = harness.user(scopes)
    mine = client.post("/api/v1/Account", json={"name": "Mine"})
    assert mine.status_code == 200 and mine.json()["assignedUserId"] == str(user_id)
    theirs = create(api, "Account", {"name": "Theirs"})
    listed = client.get("/api/v1/Account").json()
    assert [r["name"] for r in listed["list"]] == ["Mine"] and listed["total"] == 1
    assert client.get(f"/api/v1/Account/{theirs['id']}").status_code == 403
    assert client.put(f"/api/v1/Account/{theirs['id']}", json={"name": "x"}).status_code == 403
    assert client.put(f"/api/v1/Account/{mine.json()['id']}", json={"name": "Mine 2"}).status_code == 200
    assert client.delete(f"/api/v1/Account/{mine.json()['id']}").status_code == 403
    assert api.get(f"/api/v1/Account/{theirs['id']}").json()["name"] == "Theirs"


def test_own_level_on_an_entity_without_owners_allows_no_record(harness, api):
    team = create(api, "Team", {"name": "Sales"})
    _, client = harness.user({"Team": {"create": "no", "read": "own", "edit": "own", "delete": "no"}})
    listed = client.get("/api/v1/Team")
    assert listed.status_code == 200 and listed.json() == {"total": 0, "list": []}
    assert client.get(f"/api/v1/Team/{team['id']}").status_code == 403
    assert client.put(f"/api/v1/Team/{team['id']}", json={"name": "x"}).status_code == 403


def test_team_level_sees_team_records(harness, api):
    team = create(api, "Team", {"name": "Sales"})
    other_team = create(api, "Team", {"name": "Support"})
    scopes = {"Contact": {"create": "yes", "read": "team", "edit": "team", "delete": "team"}}
    _, client = harness.user(scopes, teams=[int(team["id"])])
    in_team = create(api, "Contact", {"lastName": "InTeam", "teamsIds": [team["id"]]})
    create(api, "Contact", {"lastName": "OtherTeam", "teamsIds": [other_team["id"]]})
    create(api, "Contact", {"lastName": "NoTeam"})
    listed = client.get("/api/v1/Contact").json()
    assert [r["lastName"] for r in listed["list"]] == ["InTeam"]
    assert client.put(f"/api/v1/Contact/{in_team['id']}", json={"description": "ok"}).status_code == 200
    assert client.delete(f"/api/v1/Contact/{in_team['id']}").status_code == 200


@pytest.mark.parametrize("action,level,allowed", [
    ("read", "all", True), ("read", "no", False), ("edit", "all", True), ("edit", "no", False),
    ("delete", "all", True), ("delete", "no", False), ("create", "yes", True), ("create", "no", False),
])
def test_permission_matrix(harness, api, action, level, allowed):
    scopes = {"Case": {"create": "no", "read": "all", "edit": "no", "delete": "no"}}
    scopes["Case"][action] = level
    _, client = harness.user(scopes)
    case = create(api, "Case", {"name": "Matrix"})
    calls = {
        "read": lambda: client.get(f"/api/v1/Case/{case['id']}"),
        "edit": lambda: client.put(f"/api/v1/Case/{case['id']}", json={"name": "changed"}),
        "delete": lambda: client.delete(f"/api/v1/Case/{case['id']}"),
        "create": lambda: client.post("/api/v1/Case", json={"name": "new"}),
    }
    status = calls[action]().status_code
    assert (status == 200) is allowed and (status == 403) is (not allowed)


def test_mass_update_permission_and_admin_only_field_manager(harness, api):
    scopes = {"Account": {"create": "yes", "read": "all", "edit": "all", "delete": "all"}}
    _, client = harness.user(scopes, mass_update=False)
    account = create(api, "Account", {"name": "MU"})
    response = client.post("/api/v1/MassAction", json={"entityType": "Account", "action": "update",
                                                       "params": {"ids": [account["id"]]}, "data": {"type": "Partner"}})
    assert response.status_code == 403
    assert client.post("/api/v1/Admin/fieldManager/Account", json={"name": "x", "type": "int"}).status_code == 403


@pytest.mark.parametrize("header", ["Authorization", "Espo-Authorization"])
def test_passwords_are_not_trimmed_user_names_are(harness, header):
    harness.directory.create_user("spaced", " spaced-password ")

    def status(credentials: str) -> int:
        value = ("Basic " if header == "Authorization" else "") + b64(credentials)
        return harness.client({header: value}).get("/api/v1/App/user").status_code

    assert status("admin:admin-password-1 ") == 401
    assert status("admin: admin-password-1") == 401
    assert status(" admin :admin-password-1") == 200
    assert status("spaced:spaced-password") == 401
    assert status("spaced: spaced-password ") == 200


def espo_login(harness, user: str, password: str) -> str:
    response = harness.client({"Espo-Authorization": b64(f"{user}:{password}")}).get("/api/v1/App/user")
    assert response.status_code == 200
    return response.json()["token"]


def test_users_destroy_only_their_own_tokens_admins_any(harness):
    harness.directory.create_user("alice", "alice-password")
    harness.directory.create_user("bob", "bob-password")
    alice, bob = espo_login(harness, "alice", "alice-password"), espo_login(harness, "bob", "bob-password")

    def by_token(user: str, token: str):
        return harness.client({"Espo-Authorization": b64(f"{user}:{token}"), "Espo-Authorization-By-Token": "true"})

    # Another user's token is answered as an unknown one, and keeps working.
    bob_client = by_token("bob", bob)
    assert bob_client.post("/api/v1/App/destroyAuthToken", json={"token": alice}).json() is False
    assert bob_client.post("/api/v1/App/destroyAuthToken", json={"token": "0" * 32}).json() is False
    assert by_token("alice", alice).get("/api/v1/App/user").status_code == 200
    # An admin (here through an API key) may end anyone's session.
    admin = harness.key_client(harness.admin_key)
    assert admin.post("/api/v1/App/destroyAuthToken", json={"token": bob}).json() is True
    assert by_token("bob", bob).get("/api/v1/App/user").status_code == 401
    alice_client = by_token("alice", alice)
    assert alice_client.post("/api/v1/App/destroyAuthToken", json={"token": alice}).json() is True
    assert by_token("alice", alice).get("/api/v1/App/user").status_code == 401


@pytest.mark.parametrize("body", [{}, {"token": ""}, {"token": 5}, {"token": None}, {"token": ["x"]}])
def test_destroy_auth_token_needs_a_token(api, body):
    response = api.post("/api/v1/App/destroyAuthToken", json=body)
    assert response.status_code == 400 and response.headers["x-status-reason"] == "No token."
