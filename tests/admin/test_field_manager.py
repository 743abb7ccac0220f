"""EspoCRM's field manager for custom fields: read (`GET`), change (`PUT`: label, options, required,
default, ... within what the field's column allows) and remove (`DELETE`: the column, its index, its
values, its files and the webhooks on its updates). Built-in fields cannot be changed or removed. Another
server process sharing the database picks changes and removals up as it picks additions up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect, select

import polycrm.core.service
import polycrm.store.database
from polycrm.auth.acl import Actor
from polycrm.core.service import Core
from polycrm.store.database import open_database
from tests.conftest import Store

MANAGER = "/api/v1/Admin/fieldManager"
URL = "https://hooks.example.com/polycrm"


def columns_and_indexes(store: Store, table: str = "account") -> tuple[set[str], set[str]]:
    with store.database.engine.connect() as conn:
        inspector = inspect(conn)
        return ({c["name"] for c in inspector.get_columns(table)},
                {i["name"] for i in inspector.get_indexes(table)})


def stored_fields(store: Store) -> list[str]:
    table = store.database.table("custom_field")
    with store.database.connect() as conn:
        return sorted(conn.execute(select(table.c.name)).scalars())


def inflow_fields(inflow) -> list[str]:
    return [f["apiFieldName"] for f in inflow.post("/api/getModuleFields", json={"module": "customer"}).json()["data"]]


def add(api, name: str, field_type: str = "varchar", entity: str = "Account", **params):
    response = api.post(f"{MANAGER}/{entity}", json={"name": name, "type": field_type, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_field_is_read_changed_and_removed(harness, api, store):
    # Responses are checked against the OpenAPI document up to the first change; each later set of field
    # parameters would cost the validator a new document.
    unchecked = harness.key_client(harness.admin_key, validate=False)
    before = columns_and_indexes(store)
    add(api, "tier", "enum", options=["Gold", "Silver"], label="Tier")
    read = api.get(f"{MANAGER}/Account/cTier").json()
    assert read == {"name": "cTier", "type": "enum", "options": ["Gold", "Silver"], "label": "Tier",
                    "isCustom": True, "optionIds": {"Gold": 1, "Silver": 2}}
    account = api.post("/api/v1/Account", json={"name": "Acme", "cTier": "Gold"}).json()

    changed = api.put(f"{MANAGER}/Account/cTier", json={
        "label": "Level", "options": ["Gold", "Silver", "Bronze"], "required": True, "default": "Bronze",
        "tooltip": "Customer level", "isCustom": True, "type": "enum", "name": "cTier"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == dict(read, label="Level", options=["Gold", "Silver", "Bronze"], required=True,
                                  default="Bronze", tooltip="Customer level",
                                  optionIds={"Gold": 1, "Silver": 2, "Bronze": 3})  # a new option's number
    api = unchecked
    assert api.get(f"{MANAGER}/Account/cTier").json() == changed.json()
    assert api.post("/api/v1/Account", json={"name": "New"}).json()["cTier"] == "Bronze"  # the new default
    assert api.post("/api/v1/Account", json={"name": "Bad", "cTier": "Iron"}).status_code == 400
    assert api.patch(f"{MANAGER}/Account/cTier", json={"default": None, "required": False}).json().get(
        "default") is None
    assert api.post("/api/v1/Account", json={"name": "Newer"}).json()["cTier"] is None

    assert api.delete(f"{MANAGER}/Account/cTier").json() is True
    assert columns_and_indexes(store) == before  # column and index gone, on either backend
    assert stored_fields(store) == []
    record = api.get(f"/api/v1/Account/{account['id']}")
    assert record.status_code == 200 and "cTier" not in record.json()
    where = {"where[0][type]": "equals", "where[0][attribute]": "cTier", "where[0][value]": "Gold"}
    assert api.get("/api/v1/Account", params=where).status_code == 400
    assert api.get(f"{MANAGER}/Account/cTier").status_code == 404
    assert api.delete(f"{MANAGER}/Account/cTier").status_code == 404
    # The name is free again, for a field of another type.
    add(api, "tier", "int")
    assert api.put(f"/api/v1/Account/{account['id']}", json={"cTier": 3}).json()["cTier"] == 3


BAD_CHANGES = [
    ("cTier", {"type": "varchar"}, "type cannot be changed"),
    ("cTier", {"name": "cOther"}, "cannot be renamed"),
    ("cCode", {"maxLength": 20}, "'maxLength' cannot be changed"),
    ("cTier", {"maxLength": 20}, "'maxLength' cannot be changed"),
    ("cTier", {"options": []}, "needs 'options'"),
    ("cTier", {"options": ["a", "a"]}, "unique"),
    ("cTier", {"options": "a,b"}, "needs 'options'"),
    ("cCode", {"options": ["a"]}, "takes no options"),
    ("cTier", {"required": "yes"}, "'required' must be true or false"),
    ("cTier", {"default": "Iron"}, ""),
    ("cCode", {"default": "x" * 31}, ""),
    ("cTier", {"label": ""}, "'label'"),
    ("cTier", {"label": 5}, "'label'"),
    ("cTier", {"tooltip": "x" * 5000}, "'tooltip'"),
    ("cTier", {"min": 1}, "'min' applies to number fields"),
    ("cTier", {"color": "red"}, "Unknown field parameter 'color'"),
    ("cTier", {"label": "a\x00b"}, "NUL"),
    ("cTier", {"inflowApiName": "bad name"}, "Bad API name"),
    ("cTier", {"inflowApiName": 5}, "Bad API name"),
    ("cTier", {"inflowApiName": "name"}, "already used"),
    ("cTier", {"label": "Fine", "inflowApiName": "bad name"}, "Bad API name"),
    ("cTier", {"optionIds": {"Gold": 2, "Silver": 1}}, "'optionIds' are kept by PolyCRM"),
    ("cTier", {"optionIds": None}, "'optionIds' are kept by PolyCRM"),
    ("cCode", {"optionIds": {"a": 1}}, "'optionIds' are kept by PolyCRM"),
    ("cTier", {"dialectParams": {"concord": "Radio"}}, "'dialectParams' must be an object of objects"),
    ("cTier", {"dialectParams": {"concord": {"x": "y" * 30_000}}}, "at most 20000 characters"),
]


def test_bad_changes_are_refused_and_nothing_changes(api, subtests):
    add(api, "tier", "enum", options=["Gold", "Silver"])
    add(api, "code", "varchar", maxLength=30)
    for field, body, reason in BAD_CHANGES:
        with subtests.test(field=field, body=body):
            before = api.get(f"{MANAGER}/Account/{field}").json()
            response = api.put(f"{MANAGER}/Account/{field}", json=body)
            assert response.status_code in (400, 409), response.text
            assert reason in response.headers["X-Status-Reason"], response.headers["X-Status-Reason"]
            assert api.get(f"{MANAGER}/Account/{field}").json() == before


def test_options_keep_their_numbers_for_life(api):
    """`optionIds` number an option field's options for protocols that name options by number (Concord):
    given in order on creation, kept through changes, never given again once an option is removed; a
    client may send them back unchanged, never set them."""
    refused = api.post(f"{MANAGER}/Account", json={"name": "tier", "type": "enum", "options": ["A"],
                                                    "optionIds": {"A": 7}})
    assert refused.status_code == 400 and "'optionIds' are given by PolyCRM" in refused.headers["X-Status-Reason"]
    assert add(api, "tier", "multiEnum", options=["Gold", "Silver"])["optionIds"] == {"Gold": 1, "Silver": 2}
    read = api.get(f"{MANAGER}/Account/cTier").json()
    echoed = api.put(f"{MANAGER}/Account/cTier", json=dict(read, options=["Silver", "Bronze"]))
    assert echoed.status_code == 200, echoed.text
    assert echoed.json()["optionIds"] == {"Gold": 1, "Silver": 2, "Bronze": 3}
    again = api.put(f"{MANAGER}/Account/cTier", json={"options": ["Silver", "Bronze", "Iron", "Gold"]}).json()
    assert again["optionIds"] == {"Gold": 1, "Silver": 2, "Bronze": 3, "Iron": 4}  # Gold comes back as 1
    dialect = api.put(f"{MANAGER}/Account/cTier", json={"dialectParams": {"concord": {"type": "Checkbox"}}})
    assert dialect.json()["dialectParams"] == {"concord": {"type": "Checkbox"}}


def test_built_in_fields_are_read_but_neither_changed_nor_removed(api, store):
    before = columns_and_indexes(store)
    read = api.get(f"{MANAGER}/Account/name")
    assert read.status_code == 200 and read.json()["isCustom"] is False and read.json()["type"] == "varchar"
    for method in ("PUT", "DELETE"):
        response = api.request(method, f"{MANAGER}/Account/name", json={"label": "Title"})
        assert response.status_code == 403
        assert "built-in field of Account" in response.headers["X-Status-Reason"]
    assert columns_and_indexes(store) == before


@pytest.mark.parametrize("path", ["/Nope/cTier", "/Account/cNope", "/Account/c%00", "/account/name"])
def test_unknown_entities_and_fields_are_404(api, path):
    for method in ("GET", "PUT", "DELETE"):
        assert api.request(method, MANAGER + path, json={}).status_code == 404, (method, path)


def test_only_administrators_use_the_field_manager(harness, api):
    add(api, "tier")
    _, client = harness.user({"Account": True})
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        assert client.request(method, f"{MANAGER}/Account/cTier", json={"label": "x"}).status_code == 403
    assert api.get(f"{MANAGER}/Account/cTier").json()["name"] == "cTier"


def test_removal_takes_the_webhooks_on_its_updates_and_its_api_name(harness, api, inflow):
    add(api, "loyalty", "int", inflowApiName="loyalty_points")
    on_field = api.post("/api/v1/Webhook", json={"event": "Account.fieldUpdate.cLoyalty", "url": URL}).json()
    on_other = api.post("/api/v1/Webhook", json={"event": "Account.fieldUpdate.name", "url": URL}).json()
    assert "loyalty_points" in inflow_fields(inflow)
    api.delete(f"{MANAGER}/Account/cLoyalty")
    assert [h["id"] for h in api.get("/api/v1/Webhook").json()["list"]] == [on_other["id"]]
    assert api.get(f"/api/v1/Webhook/{on_field['id']}").status_code == 404
    assert "loyalty_points" not in inflow_fields(inflow)
    add(api, "points", "int", inflowApiName="loyalty_points")  # the API name is free again


def test_removing_a_file_field_deletes_its_files(harness, api, inflow, config):
    harness.app.state.core.add_field("Account", "cContract", "file", {}, {"inflow": "contract"})
    created = inflow.post("/api/createRecord", data={"module": "customer", "name": "Signed"},
                          files=[("contract", ("c.pdf", b"%PDF-1.4", "application/pdf")),
                                 ("standaloneAttachments", ("note.txt", b"note", "text/plain"))])
    assert created.status_code == 201, created.text
    files = sorted(p for p in (config.data_dir / "files").rglob("*") if p.is_file())
    assert len(files) == 2
    api.delete(f"{MANAGER}/Account/cContract")
    left = sorted(p for p in (config.data_dir / "files").rglob("*") if p.is_file())
    assert len(left) == 1 and left[0] in files  # the standalone attachment stays
    record = inflow.get(f"/api/customer/{created.json()['data']['id']}")
    assert record.status_code == 200


def test_another_process_picks_changes_and_removals_up(api, store: Store):
    add(api, "tier", "varchar")
    other = open_database(store.url, schema=store.schema, sync=False)
    try:
        core = Core(other)
        service = core.records("Account")
        assert "cTier" in service.entity.fields
        api.put(f"{MANAGER}/Account/cTier", json={"required": True})
        other.refresh_if_stale()
        assert core.records("Account").entity.fields["cTier"].required
        api.delete(f"{MANAGER}/Account/cTier")
        other.refresh_if_stale()
        assert "cTier" not in other.registry.entity("Account").fields
        assert "c_tier" not in other.table("account").columns
        core._services.clear()
        created = core.records("Account").create(ADMIN, {"name": "From the other process"})
        assert "cTier" not in created
    finally:
        other.dispose()


ADMIN = Actor(user_id=1, user_name="admin", is_admin=True, user_type="admin")


def test_columns_are_dropped_once_no_process_can_still_use_them(api, store: Store, monkeypatch):
    """Removal hides the field at once; its column goes `COLUMN_DROP_DELAY` later, so that a server that
    has not yet learnt of the removal (it looks every few seconds) can still read and write the table."""
    monkeypatch.setattr(polycrm.store.database, "COLUMN_DROP_DELAY", timedelta(hours=1))
    # The stale server looks again only when the test says so, however long the steps below take.
    monkeypatch.setattr(polycrm.core.service, "SCHEMA_CHECK_INTERVAL", float("inf"))
    add(api, "tier", "varchar")
    stale = open_database(store.url, schema=store.schema, sync=False)
    try:
        stale_core = Core(stale)
        record = stale_core.records("Account").create(ADMIN, {"name": "Acme", "cTier": "Gold"})
        assert api.delete(f"{MANAGER}/Account/cTier").json() is True
        assert "c_tier" in columns_and_indexes(store)[0]
        assert "cTier" not in api.get(f"/api/v1/Account/{record['id']}").json()
        assert api.get(f"{MANAGER}/Account/cTier").status_code == 404
        # The stale server, before it looks again, still works with the column.
        assert stale_core.records("Account").update(ADMIN, record["id"], {"cTier": "Silver"})[0]["cTier"] == "Silver"
        # The name (or another sharing its column) cannot be taken until the column is gone.
        for name in ("tier", "TIER"):
            response = api.post(f"{MANAGER}/Account", json={"name": name, "type": "int"})
            assert response.status_code == 409 and "removed moments ago" in response.headers["X-Status-Reason"]
        stale.refresh_if_stale()
        assert "cTier" not in stale.registry.entity("Account").fields
        assert "c_tier" in columns_and_indexes(store)[0]  # not due yet
        monkeypatch.setattr(polycrm.store.database, "COLUMN_DROP_DELAY", timedelta(0))  # ... an hour later
        stale.refresh_if_stale()  # whichever process looks first drops it
        assert "c_tier" not in columns_and_indexes(store)[0]
        add(api, "tier", "int")
        assert api.put(f"/api/v1/Account/{record['id']}", json={"cTier": 7}).json()["cTier"] == 7
    finally:
        stale.dispose()
