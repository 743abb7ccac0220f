"""The entities PolyCRM has for ITFlow, through EspoCRM's `/api/v1` (both backends): each is created, read,
updated, found by a filter, deleted and refused bad input like any other entity, and access control applies
to it. One declarative row per entity (`SPECS`); the ITFlow names of their fields are in
dialects/itflow/modules.json, which every field name of must exist on its entity (`test_itflow_mapping_...`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pytest
from sqlalchemy import select

from polycrm.meta import load_builtin_registry
from tests.support.espo import ok, post


@dataclass(frozen=True)
class Spec:
    create: dict[str, Any]  # besides the links the entity needs (`needs`) and its Account
    update: dict[str, Any]
    filter: tuple[str, Any]  # an attribute the created record has, and its value (not updated)
    bad: dict[str, Any]  # a create body refused with a 400
    needs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # link -> (entity, body)


ASSET = ("Asset", {"name": "Laptop-01"})
SPECS = {
    "Location": Spec({"name": "HQ", "addressStreet": "1 Main St", "addressCity": "Oslo", "isPrimary": True},
                     {"hours": "9-17", "addressPostalCode": "0150"}, ("addressCity", "Oslo"), {"name": ""}),
    "Vendor": Spec({"name": "Acme ISP", "emailAddress": "noc@acme.test", "sla": "4h"}, {"accountNumber": "A-1"},
                   ("sla", "4h"), {"name": "x" * 201}),
    "Asset": Spec({"name": "Laptop-01", "assetType": "Laptop", "make": "Lenovo", "serialNumber": "SN-1",
                   "purchaseDate": "2024-02-29"}, {"status": "Deployed", "warrantyExpiresOn": "2027-02-28"},
                  ("serialNumber", "SN-1"), {"name": "L", "purchaseDate": "2024-02-30"}),
    "AssetInterface": Spec({"name": "eth0", "ipAddress": "10.0.0.5", "macAddress": "00:11:22:33:44:55"},
                           {"isPrimary": True, "natIpAddress": "203.0.113.5"}, ("ipAddress", "10.0.0.5"),
                           {"name": "eth1"}, needs={"asset": ASSET}),
    "AssetHistory": Spec({"status": "Deployed", "description": "Given to Ann"}, {"name": "Handover"},
                         ("status", "Deployed"), {"status": "Lost"}, needs={"asset": ASSET}),
    "Certificate": Spec({"name": "www", "domainName": "www.example.com", "issuedBy": "R3",
                         "expiresOn": "2030-01-01"}, {"publicKey": "-----BEGIN-----"}, ("issuedBy", "R3"),
                        {"name": "www", "expiresOn": "soon"}),
    "Domain": Spec({"name": "example.com", "expiresOn": "2031-05-01", "nameServers": "ns1.example.com"},
                   {"txtRecords": "v=spf1 -all"}, ("expiresOn", "2031-05-01"), {"isFavorite": "maybe"}),
    "Network": Spec({"name": "LAN", "vlan": 10, "networkAddress": "10.0.0.0/24", "gateway": "10.0.0.1"},
                    {"dhcpRange": "10.0.0.100-10.0.0.200"}, ("vlan", 10), {"name": "LAN", "vlan": 4095}),
    "Software": Spec({"name": "Office", "softwareType": "SaaS", "seats": 25, "expiresOn": "2026-12-31"},
                     {"licenseKey": "K-1"}, ("seats", 25), {"name": "Office", "seats": -1}),
    "Product": Spec({"name": "Support hour", "productType": "Service", "price": 95.5, "priceCurrency": "EUR"},
                    {"code": "SUP-1"}, ("productType", "Service"), {"name": "Box", "productType": "Gadget"}),
    "Invoice": Spec({"numberPrefix": "INV-", "dateInvoiced": "2025-01-01", "dateDue": "2025-01-31",
                     "amount": 120, "status": "Sent"}, {"status": "Paid"}, ("dateInvoiced", "2025-01-01"),
                    {"status": "Lost"}),
    "InvoiceItem": Spec({"name": "Hours", "quantity": 2, "unitPrice": 60, "total": 120, "sortOrder": 1},
                        {"tax": 12.5}, ("sortOrder", 1), {"name": "Hours", "quantity": "two"},
                        needs={"invoice": ("Invoice", {"dateDue": "2025-01-31"})}),
    "Quote": Spec({"dateQuoted": "2025-01-01", "amount": 999.99, "scope": "Migration"}, {"status": "Accepted"},
                  ("scope", "Migration"), {"amountCurrency": "ZZZ", "amount": 1}),
    "Payment": Spec({"datePaid": "2025-02-01", "amount": 120, "method": "Bank"}, {"reference": "TX-9"},
                    ("method", "Bank"), {"amount": -5}, needs={"invoice": ("Invoice", {})}),
    "Expense": Spec({"description": "Cables", "amount": 19.9, "dateSpent": "2025-03-01"}, {"receipt": "r.pdf"},
                    ("dateSpent", "2025-03-01"), {"amount": "a lot"}),
    "KnowledgeBaseArticle": Spec({"name": "VPN setup", "body": "<p>Step 1</p>", "bodyPlain": "Step 1"},
                                 {"isClientVisible": False}, ("bodyPlain", "Step 1"), {"name": None}),
    "KnowledgeBaseArticleVersion": Spec(
        {"name": "VPN setup", "body": "<p>Old</p>", "description": "v1", "versionCreatedAt": "2025-01-01 10:00:00"},
        {"body": "<p>Older</p>"}, ("description", "v1"), {"name": "v2"},
        needs={"article": ("KnowledgeBaseArticle", {"name": "VPN setup"})}),
}
REGISTRY = load_builtin_registry()


def create_body(api, entity: str, spec: Spec) -> dict[str, Any]:
    body = dict(spec.create)
    for link, (target, target_body) in spec.needs.items():
        body[f"{link}Id"] = post(api, target, target_body)["id"]
    if "account" in REGISTRY.entity(entity).fields:
        body["accountId"] = post(api, "Account", {"name": "Client"})["id"]
    return body


def same(record: dict[str, Any], expected: dict[str, Any]) -> None:
    for key, value in expected.items():
        shown = record[key]
        assert shown == value or (isinstance(value, float | int) and shown == pytest.approx(value)), (key, shown)


@pytest.mark.parametrize("entity", SPECS)
def test_an_itflow_entity_is_created_read_updated_listed_and_deleted(api, entity):
    spec = SPECS[entity]
    body = create_body(api, entity, spec)
    created = post(api, entity, body)
    same(created, body)
    record_id = created["id"]
    same(ok(api.get(f"/api/v1/{entity}/{record_id}")).json(), body)
    updated = ok(api.put(f"/api/v1/{entity}/{record_id}", json=spec.update)).json()
    same(updated, {**body, **spec.update})
    attribute, value = spec.filter
    other = dict(create_body(api, entity, spec), **{attribute: None})
    post(api, entity, other)
    where = {"where[0][type]": "equals", "where[0][attribute]": attribute, "where[0][value]": str(value)}
    listed = ok(api.get(f"/api/v1/{entity}", params=where)).json()
    assert [r["id"] for r in listed["list"]] == [record_id] and listed["total"] == 1
    assert ok(api.delete(f"/api/v1/{entity}/{record_id}")).json() is True
    ok(api.get(f"/api/v1/{entity}/{record_id}"), 404)


@pytest.mark.parametrize("entity", SPECS)
def test_bad_input_is_refused_with_a_400_and_writes_nothing(api, entity):
    ok(api.post(f"/api/v1/{entity}", json=SPECS[entity].bad), 400)
    assert ok(api.get(f"/api/v1/{entity}")).json()["total"] == 0


@pytest.mark.parametrize("entity", ["Asset", "Invoice", "KnowledgeBaseArticle"])
def test_access_to_an_itflow_entity_follows_the_role(harness, api, entity):
    _, reader = harness.user({entity: {"create": "no", "read": "own", "edit": "no", "delete": "no"}})
    _, stranger = harness.user({})
    body = create_body(api, entity, SPECS[entity])
    post(api, entity, body)
    assert ok(reader.get(f"/api/v1/{entity}")).json()["total"] == 0  # not theirs
    ok(reader.post(f"/api/v1/{entity}", json=body), 403)
    ok(stranger.get(f"/api/v1/{entity}"), 403)


def test_every_field_of_the_itflow_mapping_exists_on_its_entity():
    """A canonical field of dialects/itflow/modules.json is a field of its entity (a link field for a link,
    `<currency field>Currency` for a currency code), or one of its links (Contact.portalUser, kept on the user)."""
    fitting = {"int": {"int", "autoincrement", "link"}, "tiny": {"bool"}, "dec": {"float", "currency"},
               "vc": {"varchar", "enum", "url", "email", "phone", "text", "personName", "secret"},
               "text": {"text", "wysiwyg"},
               "date": {"date"}, "dt": {"datetime"}}
    tables = json.loads((resources.files("polycrm.dialects") / "itflow" / "modules.json").read_text())["tables"]
    assert {table["entity"] for table in tables.values()} <= set(REGISTRY.entities)
    for name, table in tables.items():
        entity = REGISTRY.entity(table["entity"])
        for column, (canonical, column_type, *options) in table["columns"].items():
            if canonical is None or canonical == "id":
                continue
            if canonical.endswith("Currency") and canonical not in entity.fields:
                assert entity.fields[canonical.removesuffix("Currency")].type == "currency", (name, column)
            elif canonical in entity.fields:
                kind = entity.fields[canonical].type
                mapped = bool(options) and "map" in options[0]  # its values translated: any field type
                assert mapped or kind in fitting[column_type.rstrip("?")], (name, column, kind)
            else:
                assert canonical in entity.links, (name, column, canonical)


def test_an_itflow_entity_takes_custom_fields_and_fires_webhooks(harness, api):
    """Custom fields (real columns, filterable) and webhook events work on the new entities as on Account."""
    field = api.post("/api/v1/Admin/fieldManager/Asset", json={"name": "rackUnit", "type": "int"})
    assert field.status_code == 200, field.headers.get("x-status-reason")
    hook = api.post("/api/v1/Webhook", json={"event": "Asset.create", "url": "https://hooks.example.com/assets"})
    assert hook.status_code == 201, hook.headers.get("x-status-reason")
    created = post(api, "Asset", {"name": "SRV-9", "cRackUnit": 12})
    post(api, "Asset", {"name": "SRV-10", "cRackUnit": 3})
    where = {"where[0][type]": "greaterThan", "where[0][attribute]": "cRackUnit", "where[0][value]": "10"}
    assert [r["id"] for r in ok(api.get("/api/v1/Asset", params=where)).json()["list"]] == [created["id"]]
    core = harness.app.state.core
    table = core.database.table("webhook_event")
    with core.database.connect() as conn:
        events = conn.execute(select(table.c.entity_type, table.c.record_id)).all()
    assert ("Asset", int(created["id"])) in [tuple(e) for e in events]
