"""`POST /api/{resource}/{id}/clone` (specs/concord.md §2 "misc"): Concord's Cloneable resources, products and
documents, copied through the record service; Concord CRM 1.4.1's answer (200, the new record as shown)."""

from __future__ import annotations

import re

import pytest

from polycrm.dialects.concord.clones import copy_title
from tests.concord.conftest import Concord

COPY = re.compile(r"^(.*) - Copy\([A-Za-z0-9]{6}\)$")


def test_a_product_is_copied_without_its_sku(concord: Concord) -> None:
    product = concord.create("products", {"name": "Widget", "sku": "W-1", "unit_price": 12.5, "direct_cost": 3,
                                          "tax_rate": 10, "tax_label": "VAT", "unit": "kg", "description": "d"})
    response = concord.post(f"products/{product['id']}/clone")
    assert response.status_code == 200, response.content  # Concord answers 200, not 201
    copy = response.json()
    assert list(copy) == list(product) and copy["id"] != product["id"]
    assert COPY.match(copy["name"]).group(1) == "Widget" and copy["display_name"] == copy["name"]
    assert copy["sku"] is None and copy["was_recently_created"] is False
    same = ("unit_price", "direct_cost", "tax_rate", "tax_label", "unit", "description", "is_active")
    assert {k: copy[k] for k in same} == {k: product[k] for k in same}
    again = concord.post(f"products/{copy['id']}/clone").json()  # a copy of a copy: one mark
    assert COPY.match(again["name"]).group(1) == "Widget"
    itflow_view = concord.harness.key_client(concord.harness.admin_key, validate=False).get(
        f"/api/v1/Product/{copy['id']}").json()
    assert itflow_view["name"] == copy["name"] and itflow_view["price"] == 12.5


def test_a_document_is_copied_as_a_draft_of_the_caller_with_its_associations(concord: Concord) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    brand_id = int(espo.get("/api/v1/Brand").json()["list"][0]["id"])
    contact = concord.create("contacts", {"first_name": "Ann"})
    owner = concord.as_user("owner", {"Document": True})
    document = concord.create("documents", {"title": "Proposal", "brand_id": brand_id, "user_id": owner.user_id,
                                            "content": "<p>Hi</p>", "contacts": [contact["id"]]})
    assert concord.post(f"documents/{document['id']}/accept").status_code == 200
    copy = concord.post(f"documents/{document['id']}/clone").json()
    assert COPY.match(copy["title"]).group(1) == "Proposal"
    assert (copy["status"], copy["user_id"], copy["content"], copy["brand_id"]) == \
           ("draft", concord.user_id, "<p>Hi</p>", brand_id)
    assert copy["accepted_at"] is None and copy["marked_accepted_by"] is None
    assert [c["id"] for c in copy["contacts"]] == [contact["id"]]


def test_resources_concord_does_not_clone_are_404(concord: Concord) -> None:
    contact = concord.create("contacts", {"first_name": "Ann"})
    assert concord.post(f"contacts/{contact['id']}/clone").json() == {"message": ""}
    assert concord.post(f"contacts/{contact['id']}/clone").status_code == 404
    assert concord.post("nosuch/1/clone").status_code == 404
    assert concord.get(f"contacts/{contact['id']}/clone").status_code == 404  # an association list there
    refused = concord.put("products/1/clone", {})
    assert refused.status_code == 405 and refused.headers["Allow"] == "GET, HEAD, POST"  # as Concord 1.4.1


@pytest.mark.parametrize("raw", ["999999", "0", "abc", "1%20OR%201=1"])
def test_missing_records_are_404_naming_the_model(concord: Concord, raw: str) -> None:
    response = concord.post(f"products/{raw}/clone")
    assert response.status_code == 404
    assert response.json()["message"].startswith("No query results for model [Modules\\Billable\\App\\Models\\Product]")


def test_cloning_needs_read_and_create_rights_and_a_token(concord: Concord) -> None:
    product = concord.create("products", {"name": "Widget", "unit_price": 1})
    reader = concord.as_user("reader", {"Product": {"create": "no", "read": "all", "edit": "no", "delete": "no"}})
    assert reader.post(f"products/{product['id']}/clone").status_code == 403
    nobody = concord.as_user("nobody", {"Contact": True})
    assert nobody.post(f"products/{product['id']}/clone").status_code == 403
    maker = concord.as_user("maker", {"Product": {"create": "yes", "read": "all", "edit": "no", "delete": "no"}})
    assert maker.post(f"products/{product['id']}/clone").status_code == 200
    anonymous = concord.harness.client(validate=False)
    assert anonymous.post(f"/api/products/{product['id']}/clone",
                          headers={"Accept": "application/json", "Authorization": "Bearer 1|x"}).status_code == 401
    assert concord.get("products").json()["meta"]["total"] == 2


def test_a_long_title_still_fits() -> None:
    title = copy_title("x" * 191 + " - Copy(abcdef)", 191)
    assert len(title) == 191 and COPY.match(title)
