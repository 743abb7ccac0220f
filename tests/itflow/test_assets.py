"""assets and their primary interface (specs/itflow.md §8.1), as the TRMM and Hyper-V scripts drive them."""

from __future__ import annotations

from tests.itflow.conftest import Itflow

ASSET = {"asset_name": "SRV-01", "asset_type": "Server", "asset_make": "HPE", "asset_model": "DL380 <Gen10>",
         "asset_serial": "CZ123", "asset_os": "Windows Server 2022", "asset_ip": "10.0.0.5", "asset_mac": "",
         "asset_status": "Deployed", "asset_purchase_date": "0000-00-00", "asset_warranty_expire": "0000-00-00",
         "asset_install_date": "", "asset_notes": "rack 4", "asset_vendor_id": "", "asset_location_id": "",
         "asset_contact_id": ""}
INTERFACE_COLUMNS = ["interface_id", "interface_name", "interface_description", "interface_type", "interface_mac",
                     "interface_ip", "interface_nat_ip", "interface_ipv6", "interface_notes", "interface_primary",
                     "interface_created_at", "interface_updated_at", "interface_archived_at", "interface_network_id",
                     "interface_asset_id"]


def test_create_then_reads_with_and_without_the_interface(itflow: Itflow, client_id: int):
    asset_id = itflow.create("assets", ASSET | {"asset_mac": "AA:BB:CC:00:11:22", "client_id": str(client_id)})
    by_id = itflow.read("assets", asset_id=asset_id)["data"][0]
    assert "interface_mac" not in by_id and by_id["asset_model"] == "DL380"
    assert by_id["asset_purchase_date"] is None and by_id["asset_client_id"] == str(client_id)
    listed = itflow.read("assets")["data"][0]
    assert list(listed)[-len(INTERFACE_COLUMNS):] == INTERFACE_COLUMNS
    assert listed["interface_ip"] == "10.0.0.5" and listed["interface_primary"] == "1"
    assert listed["interface_name"] == "1" and listed["interface_asset_id"] == str(asset_id)
    found = itflow.read("assets", asset_mac="aa:bb:cc:00:11:22")
    assert found["count"] == 1 and found["data"][0]["asset_id"] == str(asset_id)
    assert itflow.read("assets", asset_type="server")["count"] == 1
    assert itflow.read("assets", asset_serial="nope")["success"] == "False"


def test_trmm_update_loop(itflow: Itflow, client_id: int):
    """Look up by MAC; create when "False", else update by data.asset_id; "False" on update means no changes."""
    body = ASSET | {"asset_mac": "AA:BB:CC:00:11:22", "client_id": str(client_id)}
    assert itflow.read("assets", asset_mac=body["asset_mac"])["success"] == "False"
    asset_id = itflow.create("assets", body | {"asset_id": ""})
    found = itflow.read("assets", asset_mac=body["asset_mac"])["data"][0]
    update = body | {"asset_id": found["asset_id"], "asset_install_date": "2024-02-01"}
    assert itflow.post("assets/update", update).json() == {"success": "True", "count": 1}
    assert itflow.post("assets/update", update).json()["success"] == "False"
    # Fields not sent keep their values, the interface's IP included.
    assert itflow.post("assets/update", {"asset_id": asset_id, "client_id": client_id,
                                         "asset_notes": "moved"}).json()["success"] == "True"
    row = itflow.read("assets")["data"][0]
    assert row["interface_ip"] == "10.0.0.5" and row["asset_install_date"] == "2024-02-01"
    assert row["asset_notes"] == "moved"


def test_update_of_a_missing_or_foreign_asset_is_the_failure(itflow: Itflow, client_id: int):
    assert itflow.post("assets/update", {"asset_id": "9999", "client_id": client_id,
                                         "asset_name": "x"}).json()["success"] == "False"
    other = itflow.create("clients", {"client_name": "Other"})
    theirs = itflow.create("assets", ASSET | {"client_id": other})
    scoped = itflow.scoped(client_id)
    assert scoped.post("assets/update", {"asset_id": theirs, "asset_ip": "1.2.3.4"}).json()["success"] == "False"
    assert itflow.read("assets", asset_id=theirs, client_id=other)["data"][0]["asset_name"] == "SRV-01"
    assert scoped.post("assets/delete", {"asset_id": theirs}).json()["success"] == "False"


def test_delete_reports_success(itflow: Itflow, client_id: int):
    asset_id = itflow.create("assets", ASSET | {"client_id": client_id})
    assert itflow.post("assets/delete", {"asset_id": asset_id, "client_id": client_id}).json() == {
        "success": "True", "count": 1}
    assert itflow.read("assets", asset_id=asset_id)["success"] == "False"


def test_create_needs_a_name_and_a_client(itflow: Itflow, client_id: int):
    assert itflow.post("assets/create", ASSET | {"asset_name": "0", "client_id": client_id}).json()[
        "success"] == "False"
    assert itflow.post("assets/create", ASSET).json()["success"] == "False"
