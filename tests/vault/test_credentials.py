"""Credential secrets: encrypted at rest under the store's master key, written through any API, shown in
clear only by core.vault.reveal with a key an ITFlow decrypt password unlocked; never by the EspoCRM API,
lists, relationship lists or webhook payloads; no filter or sort may name them."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from polycrm.core import vault
from polycrm.core.errors import UnreadableSecret
from tests.vault.conftest import new_account

SECRETS = {"username": "svc-backup", "password": "Tr0ub4dor&3", "otpSecret": "JBSWY3DPEHPK3PXP"}
SECRET_KEYS = set(SECRETS)


def unlocked(harness):
    issued = harness.directory.create_itflow_key(harness.admin_id)
    return vault.unlock(harness.directory.find_itflow_key(issued.key).vault_key, issued.decrypt_password)


def stored_row(store, credential_id: int):
    table = store.database.table("credential")
    with store.database.connect() as conn:
        return conn.execute(select(table).where(table.c.id == credential_id)).one()


def create_credential(api, **values):
    response = api.post("/api/v1/Credential", json={"name": "Backup NAS", **SECRETS, **values})
    assert response.status_code == 200, response.text
    return response.json()


def test_secrets_are_encrypted_at_rest_and_never_returned_by_the_espo_api(harness, api, store):
    account_id = new_account(api)
    created = create_credential(api, accountId=str(account_id), uri="https://nas.example")
    assert not SECRET_KEYS & set(created) and created["passwordChangedAt"] is not None
    row = stored_row(store, int(created["id"]))
    for name, column in (("username", row.username), ("password", row.password), ("otpSecret", row.otp_secret)):
        assert column.startswith("v1:") and SECRETS[name] not in column
    read = api.get(f"/api/v1/Credential/{created['id']}").json()
    assert not SECRET_KEYS & set(read) and read["uri"] == "https://nas.example"
    listed = api.get("/api/v1/Credential", params={"select": "name,password,username,otpSecret"}).json()
    assert listed["total"] == 1 and not SECRET_KEYS & set(listed["list"][0])
    related = api.get(f"/api/v1/Account/{account_id}/credentials").json()
    assert related["total"] == 1 and not SECRET_KEYS & set(related["list"][0])

    core = harness.app.state.core
    shown = core.vault.reveal(unlocked(harness), "Credential", [read])[0]
    assert {k: shown[k] for k in SECRETS} == SECRETS and shown["uri"] == "https://nas.example"


def test_updates_encrypt_and_stamp_password_changes(harness, api, store):
    created = create_credential(api, otpSecret=None)
    first_change = created["passwordChangedAt"]
    credential_id = created["id"]
    same = api.put(f"/api/v1/Credential/{credential_id}", json={"password": SECRETS["password"]}).json()
    assert same["versionNumber"] == 1  # the stored secret again: no change
    changed = api.put(f"/api/v1/Credential/{credential_id}", json={"password": "new-one", "otpSecret": "ABC"}).json()
    assert changed["versionNumber"] == 2 and changed["passwordChangedAt"] >= first_change
    assert not SECRET_KEYS & set(changed)
    core = harness.app.state.core
    key = unlocked(harness)
    shown = core.vault.reveal(key, "Credential", [{"id": int(credential_id)}])[0]
    assert (shown["username"], shown["password"], shown["otpSecret"]) == (SECRETS["username"], "new-one", "ABC")
    api.put(f"/api/v1/Credential/{credential_id}", json={"username": None})
    assert core.vault.reveal(key, "Credential", [{"id": int(credential_id)}])[0]["username"] is None


def test_mass_create_and_core_writes_encrypt_too(harness, store):
    core = harness.app.state.core
    admin = core.actors(harness.admin_id)
    ids = core.records("Credential").create_many(admin, [{"name": "a", "password": "p1"}, {"name": "b"}])
    assert stored_row(store, ids[0]).password.startswith("v1:") and stored_row(store, ids[1]).password is None
    shown = core.vault.reveal(unlocked(harness), "Credential", [{"id": i} for i in ids])
    assert [s["password"] for s in shown] == ["p1", None]
    assert stored_row(store, ids[0]).password_changed_at is not None
    assert stored_row(store, ids[1]).password_changed_at is None


@pytest.mark.parametrize("params", [
    {"where[0][type]": "equals", "where[0][attribute]": "password", "where[0][value]": "x"},
    {"where[0][type]": "isNull", "where[0][attribute]": "otpSecret"},
    {"where[0][type]": "or", "where[0][value][0][type]": "startsWith",
     "where[0][value][0][attribute]": "username", "where[0][value][0][value]": "s"},
    {"orderBy": "password"},
])
def test_filtering_or_sorting_on_a_secret_is_400(api, params):
    create_credential(api)
    response = api.get("/api/v1/Credential", params=params)
    assert response.status_code == 400 and "secret" in response.headers["x-status-reason"]


def test_tampered_ciphertext_is_refused_not_shown(harness, api, store):
    created = create_credential(api)
    table = store.database.table("credential")
    row = stored_row(store, int(created["id"]))
    with store.database.transaction() as conn:  # a ciphertext moved to another field does not decrypt there
        conn.execute(update(table).where(table.c.id == row.id).values(password=row.username))
    core = harness.app.state.core
    with pytest.raises(UnreadableSecret, match="Credential.password"):
        core.vault.reveal(unlocked(harness), "Credential", [created])
    flipped = row.password[:-2] + ("A" if row.password[-2] != "A" else "B") + row.password[-1]
    with store.database.transaction() as conn:
        conn.execute(update(table).where(table.c.id == row.id).values(password=flipped))
    with pytest.raises(UnreadableSecret):
        core.vault.reveal(unlocked(harness), "Credential", [created])


def test_webhook_payloads_leave_secrets_out(harness, api):
    created = create_credential(api)
    service = harness.app.state.core.records("Credential")
    payload = service.complete_snapshots([{"id": int(created["id"]), **SECRETS, "name": "x"}], None)[0]
    assert not SECRET_KEYS & set(payload)
    assert not SECRET_KEYS & set(service.complete_snapshots([{"id": int(created["id"]), "password": "c"}],
                                                            {"id", "password"})[0])
