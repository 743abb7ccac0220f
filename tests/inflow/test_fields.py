"""InflowCRM "Api field names" of custom fields (§9.1): given at creation (CLI, EspoCRM field manager) or
later, unique per module, and picked up by other server processes."""

from __future__ import annotations

import json

import pytest

from polycrm.app import build_core
from polycrm.core import service as core_service
from polycrm.core.errors import BadRequest, Conflict
from polycrm.store.database import open_database
from tests.inflow.conftest import create
from tests.support.cli import Cli


def api_names(inflow, module: str = "customer") -> list[str]:
    return [f["apiFieldName"] for f in inflow.post("/api/getModuleFields", json={"module": module}).json()["data"]]


def test_api_name_given_later_changed_and_removed(inflow, harness):
    core = harness.app.state.core
    core.add_field("Account", "cLoyalty", "int")
    assert "loyalty" not in api_names(inflow)
    core.set_api_name("Account", "cLoyalty", "inflow", "loyalty")
    assert api_names(inflow)[-1] == "loyalty"
    record = create(inflow, "customer", {"name": "Loyal", "loyalty": 7})
    core.set_api_name("Account", "cLoyalty", "inflow", "points")
    assert inflow.get(f"/api/customer/{record['id']}").json()["data"]["points"] == 7
    assert "loyalty" not in api_names(inflow)
    core.set_api_name("Account", "cLoyalty", "inflow", None)
    assert "points" not in inflow.get(f"/api/customer/{record['id']}").json()["data"]


@pytest.mark.parametrize("name,exception", [
    ("email", Conflict), ("Email", Conflict), ("customerCity", Conflict), ("id", Conflict), ("files", Conflict),
    ("standaloneAttachments", Conflict), ("module", Conflict), ("taken", Conflict), ("TAKEN", Conflict),
    ("1bad", BadRequest), ("with space", BadRequest), ("", BadRequest),
])
def test_api_names_are_unique_per_module(harness, name, exception):
    core = harness.app.state.core
    core.add_field("Account", "cTaken", "varchar", {}, {"inflow": "taken"})
    core.add_field("Account", "cOther", "varchar")
    with pytest.raises(exception):
        core.set_api_name("Account", "cOther", "inflow", name)
    with pytest.raises(exception):
        core.add_field("Account", "cThird", "varchar", {}, {"inflow": name})
    core.add_field("Contact", "cTaken", "varchar", {}, {"inflow": "taken"})  # another module may use it


def test_built_in_fields_keep_their_names(harness):
    with pytest.raises(BadRequest):
        harness.app.state.core.set_api_name("Account", "website", "inflow", "site")
    with pytest.raises(BadRequest):
        harness.app.state.core.set_api_name("Account", "cMissing", "inflow", "x")


def test_file_fields_cannot_be_required(harness):
    with pytest.raises(BadRequest):
        harness.app.state.core.add_field("Account", "cScan", "file", {"required": True}, {"inflow": "scan"})


def test_espo_field_manager_takes_the_inflow_name(inflow, harness):
    espo = harness.key_client(harness.admin_key)
    added = espo.post("/api/v1/Admin/fieldManager/Account", json={"name": "segment", "type": "enum",
                                                                   "options": ["smb", "enterprise"],
                                                                   "inflowApiName": "segment"})
    assert added.status_code == 200, added.headers.get("x-status-reason")
    assert "segment" in api_names(inflow)
    clash = espo.post("/api/v1/Admin/fieldManager/Account", json={"name": "mail", "type": "varchar",
                                                                   "inflowApiName": "email"})
    assert clash.status_code == 409


def test_other_processes_pick_up_api_names(inflow, store, config, monkeypatch):
    monkeypatch.setattr(core_service, "SCHEMA_CHECK_INTERVAL", 0.0)
    other = open_database(store.url, schema=store.schema)
    try:
        other_core = build_core(config, other)
        other_core.add_field("Account", "cRegion", "varchar", {}, {"inflow": "region"})
        assert "region" in api_names(inflow)
        other_core.set_api_name("Account", "cRegion", "inflow", "area")
        assert "area" in api_names(inflow) and "region" not in api_names(inflow)
    finally:
        other.dispose()


def test_cli_field_api_name_and_purge(store, tmp_path):
    cli = Cli(store, tmp_path)
    assert cli("init").exit_code == 0
    added = cli("field", "add", "Account", "nip", "--type", "varchar", "--inflow-name", "customerNip")
    assert added.exit_code == 0, added.stderr
    renamed = cli("field", "api-name", "Account", "cNip", "--inflow", "taxId")
    assert renamed.exit_code == 0 and "set to taxId" in renamed.stdout
    cli.fails("field", "api-name", "Account", "cNip", "--inflow", "email", message="already used")
    cli.fails("field", "add", "Account", "vat", "--type", "varchar", "--inflow-name", "taxId", message="taxId")
    cli.fails("field", "api-name", "Account", "cNip", message="give exactly one of --inflow NAME and --clear")
    store.database.load_custom_fields()
    assert store.database.registry.entity("Account").fields["cNip"].api_names == {"inflow": "taxId"}
    purged = cli("purge", "--deleted-before", "2000-01-01")
    assert purged.exit_code == 0 and "Purged 0 records" in purged.stdout, purged.stderr
    cli.fails("purge", "--deleted-before", "soon", message="--deleted-before must be a date YYYY-MM-DD")
    assert json.loads(cli("apikey", "create", "--user", "admin", "--json").stdout)["key"]
