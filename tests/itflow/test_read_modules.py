"""The read-only modules (specs/itflow.md §8.7-§8.18): records written through the core, read the ITFlow way."""

from __future__ import annotations

from typing import Any

import pytest

from polycrm.dialects.itflow.envelope import FILTER_REQUIRED, NO_RESOURCE
from tests.itflow.conftest import Itflow


def make(itflow: Itflow, entity: str, **values: Any) -> int:
    admin = itflow.harness.directory.actor(itflow.harness.admin_id)
    return itflow.harness.app.state.core.records(entity).create(admin, values, skip_duplicate_check=True)["id"]


@pytest.fixture
def world(itflow: Itflow, client_id: int) -> dict[str, int]:
    other = itflow.create("clients", {"client_name": "Other"})
    vendor = make(itflow, "Vendor", name="Dell", accountId=client_id, emailAddress="sales@dell.test")
    global_vendor = make(itflow, "Vendor", name="Global Vendor")
    invoice = make(itflow, "Invoice", accountId=client_id, numberPrefix="INV-", status="Sent",
                   dateInvoiced="2026-01-02", dateDue="2026-02-01", amount=99.955, amountCurrency="USD")
    foreign_invoice = make(itflow, "Invoice", accountId=other, status="Draft", dateInvoiced="2026-01-02",
                           dateDue="2026-02-01", amount=1, amountCurrency="USD")
    items = [make(itflow, "InvoiceItem", invoiceId=invoice, name=name, quantity=1, unitPrice=10, sortOrder=order)
             for name, order in (("second", 2), ("first", 1))]
    return {"client": client_id, "other": other, "vendor": vendor, "global_vendor": global_vendor,
            "invoice": invoice, "foreign_invoice": foreign_invoice, "item_second": items[0], "item_first": items[1],
            "domain": make(itflow, "Domain", name="contoso.org", accountId=client_id, registrarId=vendor),
            "network": make(itflow, "Network", name="LAN", networkAddress="10.0.0.0/24", gateway="10.0.0.1",
                            accountId=client_id, vlan=20),
            "software": make(itflow, "Software", name="Office", softwareType="SaaS", licenseKey="",
                             accountId=client_id),
            "product": make(itflow, "Product", name="Support hour", productType="Service", price=120,
                            priceCurrency="USD"),
            "expense": make(itflow, "Expense", description="Cables", amount=12.5, amountCurrency="USD",
                            dateSpent="2026-03-01", accountId=client_id),
            "payment": make(itflow, "Payment", amount=50, amountCurrency="USD", datePaid="2026-03-02",
                            invoiceId=invoice),
            "quote": make(itflow, "Quote", accountId=client_id, status="Draft", dateQuoted="2026-01-05",
                          amount=10, amountCurrency="USD")}


def test_vendors_global_rows_only_for_all_clients_keys(itflow: Itflow, world: dict[str, int]):
    assert itflow.read("vendors")["count"] == 2
    scoped = itflow.scoped(world["client"])
    rows = scoped.read("vendors")["data"]
    assert [r["vendor_id"] for r in rows] == [str(world["vendor"])]
    assert rows[0]["vendor_email"] == "sales@dell.test" and rows[0]["vendor_template_id"] == "0"
    assert itflow.read("vendors", client_id=0)["data"][0]["vendor_id"] == str(world["global_vendor"])


def test_domains_networks_software_filters(itflow: Itflow, world: dict[str, int]):
    assert itflow.read("domains", domain_name="CONTOSO.org")["data"][0]["domain_registrar"] == str(world["vendor"])
    assert itflow.read("networks", network_name="lan")["data"][0]["network_vlan"] == "20"
    assert itflow.read("software", software_name="office")["count"] == 1  # ITFlow: HTTP 500
    assert itflow.read("software", software_type="saas")["count"] == 1  # ITFlow: intval, nothing found
    assert itflow.read("software", software_key="")["count"] == 1


def test_invoices_and_items(itflow: Itflow, world: dict[str, int]):
    row = itflow.read("invoices", invoice_id=world["invoice"])["data"][0]
    assert row["invoice_amount"] == "99.96" and row["invoice_currency_code"] == "USD"
    assert row["invoice_prefix"] == "INV-" and row["invoice_number"] == "1"
    items = itflow.read("invoice_items", invoice_id=world["invoice"])["data"]
    assert [r["item_name"] for r in items] == ["first", "second"]
    assert items[0]["item_quantity"] == "1.00" and items[0]["item_invoice_id"] == str(world["invoice"])
    one = itflow.read("invoice_items", item_id=world["item_second"], invoice_id=world["invoice"])["data"]
    assert [r["item_name"] for r in one] == ["second"]
    response = itflow.get("invoice_items/read")
    assert response.status_code == 400
    assert response.json() == {"success": "False", "message": FILTER_REQUIRED, "count": 0, "data": []}
    scoped = itflow.scoped(world["other"])
    assert scoped.read("invoice_items", invoice_id=world["invoice"])["success"] == "False"
    assert scoped.read("invoices")["data"][0]["invoice_id"] == str(world["foreign_invoice"])


def test_quote_by_id_works_for_all_clients_keys(itflow: Itflow, world: dict[str, int]):
    assert itflow.read("quotes", quote_id=world["quote"])["data"][0]["quote_status"] == "Draft"


@pytest.mark.parametrize("module, key", [("expenses", "expense_id"), ("products", "product_id"),
                                         ("payments", "payment_id")])
def test_unscoped_modules_need_an_all_clients_key_and_no_client_id(itflow: Itflow, world: dict[str, int],
                                                                  module: str, key: str):
    row = itflow.read(module)["data"][0]
    assert row[key] == str(world[module.rstrip("s")])
    assert itflow.read(module, client_id=world["client"]) == {"success": "False", "message": NO_RESOURCE}
    assert itflow.scoped(world["client"]).read(module) == {"success": "False", "message": NO_RESOURCE}


def test_payments_by_invoice_and_products_render(itflow: Itflow, world: dict[str, int]):
    payment = itflow.read("payments", payment_invoice_id=world["invoice"])["data"][0]
    assert payment["payment_amount"] == "50.00" and payment["payment_date"] == "2026-03-02"
    product = itflow.read("products", product_id=world["product"])["data"][0]
    assert product["product_type"] == "service" and product["product_price"] == "120.00"


FILTERS = {"domain_name": "domains", "network_name": "networks", "software_name": "software",
           "asset_name": "assets", "client_name": "clients", "certificate_name": "certificates",
           "contact_email": "contacts", "asset_mac": "assets", "contact_phone_or_mobile": "contacts"}
INJECTIONS = ["' OR '1'='1", "%", "_", "x\\", "1; DROP TABLE account --", "<b>x</b>", "\u00e9\u0000"[:1]]


def test_injection_in_filters_matches_nothing(itflow: Itflow, world: dict[str, int]):
    """Every text filter compares the whole value, wildcards and quotes included (one world for all cases)."""
    for param, module in FILTERS.items():
        for value in INJECTIONS:
            assert itflow.read(module, **{param: value}) == {"success": "False", "message": NO_RESOURCE}, param
    assert itflow.read("clients")["count"] == 2
