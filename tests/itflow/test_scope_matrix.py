"""The client-scope matrix: a key limited to one client reads and writes nothing of another client, through
any endpoint, the holes ITFlow has (specs/itflow.md §4) included."""

from __future__ import annotations

from typing import Any

import pytest

from polycrm.dialects.itflow.mapping import ItflowMapping
from tests.itflow.conftest import Itflow, ItflowKey
from tests.itflow.test_assets import ASSET
from tests.itflow.test_clients import CONTACT
from tests.itflow.test_read_modules import make

MAPPING = ItflowMapping.load()


def populate(itflow: Itflow, client: int, tag: str) -> dict[str, int]:
    """One record of every module for a client, created through the API where ITFlow can create it."""
    password = itflow.key.decrypt_password
    ids = {
        "contacts": itflow.create("contacts", CONTACT | {"client_id": client, "contact_email": f"{tag}@x.test",
                                                         "contact_mobile": "5550000"}),
        "assets": itflow.create("assets", ASSET | {"client_id": client, "asset_mac": f"AA:{tag}"}),
        "tickets": itflow.create("tickets", {"ticket_subject": tag, "client_id": client}),
        "locations": itflow.create("locations", {"location_name": tag, "client_id": client}),
        "certificates": itflow.create("certificates", {"certificate_name": tag, "certificate_domain": "d",
                                                       "client_id": client}),
        "credentials": itflow.create("credentials", {"credential_name": tag, "credential_password": "p",
                                                     "api_key_decrypt_password": password, "client_id": client}),
        "documents": itflow.create("documents", {"document_name": tag, "document_content": "c",
                                                 "client_id": client}),
        "domains": make(itflow, "Domain", name=f"{tag}.test", accountId=client),
        "networks": make(itflow, "Network", name=tag, networkAddress="10.0.0.0/24", gateway="10.0.0.1",
                         accountId=client),
        "software": make(itflow, "Software", name=tag, softwareType="SaaS", accountId=client),
        "vendors": make(itflow, "Vendor", name=tag, accountId=client),
        "invoices": make(itflow, "Invoice", accountId=client, status="Sent", dateInvoiced="2026-01-02",
                         dateDue="2026-02-01", amount=1, amountCurrency="USD"),
        "quotes": make(itflow, "Quote", accountId=client, status="Draft", dateQuoted="2026-01-05", amount=1,
                       amountCurrency="USD"),
    }
    ids["invoice_items"] = make(itflow, "InvoiceItem", invoiceId=ids["invoices"], name=tag, quantity=1, unitPrice=1)
    return ids


@pytest.fixture
def two_clients(itflow: Itflow, client_id: int) -> tuple[int, int, dict[str, int], dict[str, int]]:
    other = itflow.create("clients", {"client_name": "Other"})
    return client_id, other, populate(itflow, client_id, "mine"), populate(itflow, other, "theirs")


def _client_columns(module: str) -> str | None:
    table = MAPPING.table(MAPPING.endpoints[module].table)
    return table.client_column


def test_scoped_reads_see_only_their_client(itflow: Itflow, two_clients: tuple[Any, ...]):
    mine, theirs, my_ids, their_ids = two_clients
    scoped = itflow.scoped(mine)
    password = scoped.key.decrypt_password
    for module, endpoint in MAPPING.endpoints.items():
        if module in ("invoice_items", "expenses", "products", "payments"):
            continue
        extra = {"api_key_decrypt_password": password} if module == "credentials" else {}
        for params in ({}, {"client_id": theirs}, {"limit": 1000}):
            body = scoped.read(module, **params, **extra)
            column = _client_columns(module)
            assert body["success"] == "True", (module, params)
            assert {row[column] for row in body["data"]} == {str(mine)}, (module, params)
        for read_filter in endpoint.filters:
            if read_filter.field is None and module in their_ids:  # by id: the other client's record
                body = scoped.read(module, **{read_filter.param: their_ids[module]}, **extra)
                assert body["success"] == "False", (module, read_filter.param)
    assert scoped.read("invoice_items", invoice_id=their_ids["invoices"])["success"] == "False"
    assert scoped.read("invoice_items", item_id=their_ids["invoice_items"])["success"] == "False"
    assert scoped.read("contacts", contact_email="theirs@x.test")["success"] == "False"
    assert scoped.read("contacts", contact_phone_or_mobile="5550000")["data"][0]["contact_client_id"] == str(mine)
    assert scoped.read("assets", asset_mac="aa:theirs")["success"] == "False"


WRITES_ON_THEIRS = [
    ("contacts/update", "contacts", "contact_id", {"contact_title": "hacked"}),
    ("contacts/delete", "contacts", "contact_id", {}),
    ("contacts/archive", "contacts", "contact_id", {}),
    ("assets/update", "assets", "asset_id", {"asset_notes": "hacked", "asset_ip": "6.6.6.6"}),
    ("assets/delete", "assets", "asset_id", {}),
    ("tickets/resolve", "tickets", "ticket_id", {}),
    ("documents/update", "documents", "document_id", {"document_content": "hacked"}),
    ("credentials/update", "credentials", "credential_id", {"credential_password": "hacked"}),
]


def test_scoped_writes_never_reach_another_client(itflow: Itflow, two_clients: tuple[Any, ...]):
    mine, theirs, my_ids, their_ids = two_clients
    scoped = itflow.scoped(mine)
    before = {module: itflow.read(module, client_id=theirs, api_key_decrypt_password=itflow.key.decrypt_password)
              for _, module, _, _ in WRITES_ON_THEIRS}
    for path, module, id_key, fields in WRITES_ON_THEIRS:
        body = {id_key: their_ids[module], "client_id": theirs,
                "api_key_decrypt_password": scoped.key.decrypt_password} | fields
        assert scoped.post(path, body).json()["success"] == "False", path
    for path in ("clients/update", "clients/archive"):
        scoped.post(path, {"client_id": theirs, "client_notes": "hacked"})
    after = {module: itflow.read(module, client_id=theirs, api_key_decrypt_password=itflow.key.decrypt_password)
             for _, module, _, _ in WRITES_ON_THEIRS}
    assert after == before
    other_client = itflow.read("clients", client_id=theirs)["data"][0]
    assert other_client["client_notes"] == "" and other_client["client_archived_at"] is None
    # Creates with the other client's id land in the key's own client.
    new_contact = scoped.create("contacts", CONTACT | {"client_id": theirs, "contact_email": "new@x.test"})
    assert itflow.read("contacts", contact_id=new_contact)["data"][0]["contact_client_id"] == str(mine)


def test_a_key_acts_with_its_users_roles(itflow: Itflow, client_id: int):
    """An ITFlow key is its user: what their roles refuse, the key cannot read or write either."""
    itflow.create("tickets", {"ticket_subject": "admin's", "client_id": client_id})
    harness = itflow.harness
    user_id = harness.directory.create_user("tech", None)
    harness.directory.create_role("tickets-own", {
        "Case": {"create": "yes", "read": "own", "edit": "own", "delete": "no"},
        "Account": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    harness.directory.assign_role(user_id, "tickets-own")
    issued = harness.directory.create_itflow_key(user_id)
    tech = Itflow(harness, ItflowKey(issued.key, issued.decrypt_password, 0))
    assert tech.read("tickets")["success"] == "False"  # the admin's ticket is not theirs
    own = tech.create("tickets", {"ticket_subject": "mine", "client_id": client_id})
    assert [r["ticket_id"] for r in tech.read("tickets")["data"]] == [str(own)]
    assert tech.read("assets")["success"] == "False"  # no access to assets at all
    assert tech.post("assets/create", {"asset_name": "x", "client_id": client_id}).json()["success"] == "False"
    assert tech.post("clients/update", {"client_id": client_id, "client_notes": "x"}).json()["success"] == "False"
    assert tech.read("clients", client_id=client_id)["count"] == 1
