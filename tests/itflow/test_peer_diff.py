"""Differences found by replaying /work/peer's scenario against a real ITFlow v26.07 (FINDINGS.md), each pinned."""

from __future__ import annotations

from tests.itflow.conftest import Itflow

UPDATE_FAILED = "Auth success but update query failed"


def test_updated_at_is_null_until_the_row_changes(itflow: Itflow, client_id: int):
    row = itflow.read("clients", client_id=client_id)["data"][0]
    assert row["client_created_at"] and row["client_updated_at"] is None
    contact = itflow.create("contacts", {"contact_name": "Ann", "contact_email": "ann@x.org", "client_id": client_id})
    assert itflow.read("contacts", contact_id=contact)["data"][0]["contact_updated_at"] is None
    assert itflow.post("clients/update", {"client_id": client_id, "client_is_lead": "0",
                                          "client_notes": "changed"}).json()["success"] == "True"
    assert itflow.read("clients", client_id=client_id)["data"][0]["client_updated_at"] is not None


def test_documents_have_updated_at_at_once(itflow: Itflow, client_id: int):
    document = itflow.create("documents", {"document_name": "Runbook", "document_content": "x",
                                           "client_id": client_id})
    row = itflow.read("documents", document_id=document)["data"][0]
    assert row["document_updated_at"] == row["document_created_at"]  # spec §14.9


def test_asset_create_with_an_unknown_network_as_the_powershell_sample(itflow: Itflow, client_id: int):
    """The sample sends asset_network_id "16" and empty link ids; ITFlow has no foreign keys and stores it."""
    asset = itflow.create("assets", {
        "asset_name": "My Laptop", "asset_type": "Laptop", "asset_make": "Dell", "asset_model": "Optiplex",
        "asset_serial": "XYZ", "asset_os": "Windows 10", "asset_ip": "192.168.10.10", "asset_mac": "",
        "asset_status": "Deployed", "asset_purchase_date": "0000-00-00", "asset_warranty_expire": "0000-00-00",
        "asset_install_date": "0000-00-00", "asset_notes": "This is a cool laptop!", "asset_vendor_id": "",
        "asset_location_id": "", "asset_contact_id": "", "asset_network_id": "16", "client_id": client_id})
    row = next(r for r in itflow.read("assets")["data"] if r["asset_id"] == str(asset))
    assert (row["interface_ip"], row["interface_network_id"], row["asset_vendor_id"]) == ("192.168.10.10", "0", "0")
    assert itflow.create("contacts", {"contact_name": "Bo", "contact_email": "bo@x.org", "contact_location_id": "99999",
                                     "client_id": client_id})


def test_contact_without_phone_reads_empty_string(itflow: Itflow, client_id: int):
    contact = itflow.create("contacts", {"contact_name": "Temp Person", "contact_email": "temp@x.org",
                                         "client_id": client_id})
    row = itflow.read("contacts", contact_id=contact)["data"][0]
    assert (row["contact_phone"], row["contact_extension"], row["contact_mobile"]) == ("", "", "")


def test_noop_contact_update_is_false_unless_primary(itflow: Itflow, client_id: int):
    body = {"contact_name": "John Smith", "contact_title": "IT Director", "contact_email": "john@contoso.org",
            "contact_phone": "123456", "contact_extension": "", "contact_mobile": "", "contact_notes": "Promoted",
            "contact_important": "1", "contact_location_id": "0", "client_id": client_id}
    contact = itflow.create("contacts", body | {"contact_primary": "0"})
    first = itflow.post("contacts/update", body | {"contact_id": contact, "contact_title": "CTO"}).json()
    assert first == {"success": "True", "count": 1}
    again = itflow.post("contacts/update", body | {"contact_id": contact, "contact_title": "CTO"}).json()
    assert again["success"] == "False" and again["message"].startswith(UPDATE_FAILED)
    # A primary contact's update clears and sets the flag again: the row always changes (spec §14).
    primary = itflow.create("contacts", {"contact_name": "Jm", "contact_email": "jm@contoso.org",
                                         "contact_primary": "1", "client_id": client_id})
    for _ in range(2):
        assert itflow.post("contacts/update", {"contact_id": primary, "client_id": client_id}).json() == {
            "success": "True", "count": 1}
    rows = {r["contact_id"]: r for r in itflow.read("contacts", client_id=client_id)["data"]}
    assert rows[str(primary)]["contact_primary"] == "1" and rows[str(contact)]["contact_primary"] == "0"
    assert rows[str(primary)]["contact_updated_at"] is not None


def test_a_dropped_link_is_named_in_a_warning(itflow: Itflow, client_id: int):
    response = itflow.post("contacts/create", {"contact_name": "Cy", "contact_email": "cy@x.org",
                                               "contact_location_id": "99999", "client_id": client_id})
    assert response.json()["success"] == "True"
    assert "Location 99999 does not exist" in response.headers["x-polycrm-warning"]
    plain = itflow.post("contacts/create", {"contact_name": "Di", "contact_email": "di@x.org", "client_id": client_id})
    assert "x-polycrm-warning" not in plain.headers
