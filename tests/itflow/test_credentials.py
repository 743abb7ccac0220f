"""credentials (specs/itflow.md §8.5, §6): secrets only with the key's decrypt password, refused when wrong."""

from __future__ import annotations

from tests.itflow.conftest import Itflow

CREDENTIAL = {"credential_name": "Domain admin", "credential_description": "AD", "credential_uri": "ldap://dc1",
              "credential_username": " administrator ", "credential_password": "S3cr3t!<b>",
              "credential_otp_secret": "JBSWY3DPEHPK3PXP", "credential_note": "rotate yearly"}


def test_create_and_read_with_the_decrypt_password(itflow: Itflow, client_id: int):
    password = itflow.key.decrypt_password
    credential_id = itflow.create("credentials", CREDENTIAL | {"api_key_decrypt_password": password,
                                                               "client_id": str(client_id)})
    row = itflow.read("credentials", api_key_decrypt_password=password, credential_id=credential_id)["data"][0]
    assert row["credential_username"] == " administrator " and row["credential_password"] == "S3cr3t!<b>"
    assert row["credential_otp_secret"] == "JBSWY3DPEHPK3PXP" and row["credential_client_id"] == str(client_id)
    assert row["credential_password_changed_at"] is not None


def test_wrong_or_missing_password_is_refused(itflow: Itflow, client_id: int):
    password = itflow.key.decrypt_password
    body = CREDENTIAL | {"client_id": str(client_id)}
    for wrong in ("", "wrong-password", password.upper()):
        refused = itflow.post("credentials/create", body | {"api_key_decrypt_password": wrong})
        assert refused.json()["success"] == "False", wrong
    credential_id = itflow.create("credentials", body | {"api_key_decrypt_password": password})
    assert itflow.read("credentials", api_key_decrypt_password="wrong")["success"] == "False"
    assert itflow.read("credentials")["success"] == "False"
    update = {"credential_id": credential_id, "client_id": client_id, "credential_password": "new"}
    assert itflow.post("credentials/update", update | {"api_key_decrypt_password": "x"}).json()["success"] == "False"
    assert itflow.read("credentials", api_key_decrypt_password=password)["data"][0]["credential_password"] == \
        "S3cr3t!<b>"


def test_update_changes_only_what_is_sent(itflow: Itflow, client_id: int):
    password = itflow.key.decrypt_password
    credential_id = itflow.create("credentials", CREDENTIAL | {"api_key_decrypt_password": password,
                                                               "client_id": client_id})
    body = {"credential_id": str(credential_id), "client_id": str(client_id), "api_key_decrypt_password": password}
    assert itflow.post("credentials/update", body | {"credential_password": "n3w"}).json() == {
        "success": "True", "count": 1}
    row = itflow.read("credentials", api_key_decrypt_password=password)["data"][0]
    assert row["credential_password"] == "n3w" and row["credential_username"] == " administrator "
    assert itflow.post("credentials/update", body | {"credential_password": "n3w"}).json()["success"] == "False"
    # The PowerShell sample's stale login_* names: nothing required is there.
    stale = {"login_name": "x", "login_password": "y", "api_key_decrypt_password": password, "client_id": client_id}
    assert itflow.post("credentials/create", stale).json()["success"] == "False"


def test_other_keys_and_other_apis_never_see_secrets(itflow: Itflow, client_id: int):
    password = itflow.key.decrypt_password
    credential_id = itflow.create("credentials", CREDENTIAL | {"api_key_decrypt_password": password,
                                                               "client_id": client_id})
    other_key = itflow.scoped(client_id)
    assert other_key.read("credentials", api_key_decrypt_password=password)["success"] == "False"
    assert other_key.read("credentials", api_key_decrypt_password=other_key.key.decrypt_password)["count"] == 1
    espo = itflow.harness.key_client(itflow.harness.admin_key)
    record = espo.get(f"/api/v1/Credential/{credential_id}").json()
    assert "S3cr3t" not in str(record) and "administrator" not in str(record)
    listed = espo.get("/api/v1/Credential").json()
    assert "S3cr3t" not in str(listed)
