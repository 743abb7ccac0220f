"""A deal's and a document's products (specs/concord.md §2 `GET/POST /api/{resource}/{id}/billable`, §4 the
`billable` key and the read-only `amount`): the shapes are those a Concord CRM 1.4.1 answered for the same
requests (the JSON below is its answer's, ids, timestamps and product ids aside)."""

from __future__ import annotations

import re

import pytest

from tests.concord.conftest import Concord

WIDGET = {"name": "Widget A", "unit_price": 1000, "qty": 2, "tax_label": "VAT", "tax_rate": 10, "unit": "kg",
          "discount_type": "percent", "discount_total": 10, "note": "n1"}
SERVICE = {"name": "Service B", "unit_price": "99.999", "qty": "1.5", "tax_rate": 20, "discount_type": "fixed",
           "discount_total": 5.5}
# Concord 1.4.1's GET /api/deals/1/billable after the deal was created with these two lines, exclusive tax.
PEER_BILLABLE = {
    "tax_type": "exclusive", "subtotal": 1944.5, "total": 2153.4, "total_tax": 208.9,
    "taxes": [{"key": "VAT10", "rate": 10, "label": "VAT", "raw_total": 180, "total": 180},
              {"key": "TAX20", "rate": 20, "label": "TAX", "raw_total": 28.899699999999996, "total": 28.9}],
    "has_discount": True, "total_discount": 205.5}
PEER_LINES = [
    {"name": "Widget A", "description": None, "unit_price": 1000, "qty": "2.00", "unit": "kg", "tax_rate": 10,
     "tax_label": "VAT", "discount_type": "percent", "discount_total": "10.00", "sku": None, "amount": 1800,
     "note": "n1", "display_order": 1},
    {"name": "Service B", "description": None, "unit_price": 100, "qty": "1.50", "unit": None, "tax_rate": 20,
     "tax_label": "TAX", "discount_type": "fixed", "discount_total": "5.50", "sku": None, "amount": 144.5,
     "note": None, "display_order": 2}]
# Its raw answer, ids and timestamps masked: compared byte for byte (key order, number and decimal forms).
PEER_RAW = (
    '{"id":N,"tax_type":"exclusive","subtotal":1944.5,"total":2153.4,"total_tax":208.9,"taxes":[{"key":"V'
    'AT10","rate":10,"label":"VAT","raw_total":180,"total":180},{"key":"TAX20","rate":20,"label":"TAX","r'
    'aw_total":28.899699999999996,"total":28.9}],"has_discount":true,"total_discount":205.5,"products":[{'
    '"id":N,"product_id":N,"name":"Widget A","description":null,"unit_price":1000,"qty":"2.00","unit":"kg'
    '","tax_rate":10,"tax_label":"VAT","discount_type":"percent","discount_total":"10.00","sku":null,"amo'
    'unt":1800,"note":"n1","display_order":1,"created_at":"T","updated_at":"T","was_recently_created":fal'
    'se},{"id":N,"product_id":N,"name":"Service B","description":null,"unit_price":100,"qty":"1.50","unit'
    '":null,"tax_rate":20,"tax_label":"TAX","discount_type":"fixed","discount_total":"5.50","sku":null,"a'
    'mount":144.5,"note":null,"display_order":2,"created_at":"T","updated_at":"T","was_recently_created":'
    'false}],"was_recently_created":false}')
BILLABLE_KEYS = ["id", "tax_type", "subtotal", "total", "total_tax", "taxes", "has_discount", "total_discount",
                 "products", "was_recently_created"]
LINE_KEYS = ["id", "product_id", "name", "description", "unit_price", "qty", "unit", "tax_rate", "tax_label",
             "discount_type", "discount_total", "sku", "amount", "note", "display_order", "created_at",
             "updated_at", "was_recently_created"]


@pytest.fixture
def stage_id(concord: Concord) -> int:
    pipeline = concord.get("pipelines").json()["data"][0]
    return concord.get(f"pipelines/{pipeline['id']}/stages").json()["data"][0]["id"]


def deal_with_lines(concord: Concord, stage_id: int, **extra) -> dict:
    return concord.create("deals", {"name": "Bill deal", "stage_id": stage_id, "amount": 500, "billable": {
        "tax_type": "exclusive", "products": [WIDGET, SERVICE]}, **extra})


def test_a_deal_created_with_products_has_their_total_as_amount(concord: Concord, stage_id: int) -> None:
    deal = deal_with_lines(concord, stage_id)
    assert deal["amount"] == 2153.398 and "billable" not in deal  # Concord's decimal(15,3) of the total
    billable = concord.get(f"deals/{deal['id']}/billable").json()
    assert list(billable) == BILLABLE_KEYS
    assert {k: v for k, v in billable.items() if k in PEER_BILLABLE} == PEER_BILLABLE
    assert billable["was_recently_created"] is False and isinstance(billable["id"], int)
    assert [list(line) for line in billable["products"]] == [LINE_KEYS, LINE_KEYS]
    assert [{k: v for k, v in line.items() if k in PEER_LINES[0]} for line in billable["products"]] == PEER_LINES
    # each line without a product got the catalogue's product of its name, made with its price and tax
    products = {p["name"]: p for p in concord.get("products").json()["data"]}
    assert [line["product_id"] for line in billable["products"]] == [products["Widget A"]["id"],
                                                                      products["Service B"]["id"]]
    assert products["Service B"]["unit_price"] == 99.999 and products["Service B"]["tax_rate"] == 20
    shown = concord.get(f"deals/{deal['id']}", **{"with": "billable.products"}).json()
    assert shown["billable"] == billable and "billable" not in concord.get(f"deals/{deal['id']}").json()


def masked(raw: bytes) -> str:
    text = re.sub(r'"(id|product_id)":\d+', r'"\1":N', raw.decode())
    return re.sub(r'"(created_at|updated_at)":"[^"]*"', r'"\1":"T"', text)


def test_the_billable_is_concords_byte_for_byte(concord: Concord, stage_id: int) -> None:
    deal = deal_with_lines(concord, stage_id)
    assert masked(concord.get(f"deals/{deal['id']}/billable").content) == PEER_RAW


def test_a_deal_created_without_products_keeps_its_amount(concord: Concord, stage_id: int) -> None:
    deal = concord.create("deals", {"name": "Plain", "stage_id": stage_id, "amount": 500,
                                    "billable": {"tax_type": "inclusive", "products": []}})
    assert deal["amount"] == 500
    assert concord.get(f"deals/{deal['id']}/billable").json() == {
        "id": None, "tax_type": "no_tax", "subtotal": 0, "total": 0, "total_tax": 0, "taxes": [],
        "has_discount": False, "total_discount": 0, "products": [], "was_recently_created": False}


def test_posting_products_makes_the_billable_and_the_amount_follows(concord: Concord, stage_id: int) -> None:
    deal = concord.create("deals", {"name": "Later", "stage_id": stage_id, "amount": 500})
    saved = concord.post(f"deals/{deal['id']}/billable", {"tax_type": "inclusive", "products": [
        {"name": "Widget A", "unit_price": 110, "qty": 1, "tax_rate": 10}]})
    assert saved.status_code == 200
    body = saved.json()
    assert {k: body[k] for k in ("tax_type", "subtotal", "total", "total_tax", "taxes", "has_discount",
                                 "total_discount", "was_recently_created")} == {
        "tax_type": "inclusive", "subtotal": 110, "total": 110, "total_tax": 10,
        "taxes": [{"key": "TAX10", "rate": 10, "label": "TAX", "raw_total": 10.000000000000014, "total": 10}],
        "has_discount": False, "total_discount": 0, "was_recently_created": True}
    line = body["products"][0]
    assert {k: line[k] for k in ("unit_price", "qty", "tax_rate", "tax_label", "discount_type", "discount_total",
                                 "amount", "display_order")} == {
        "unit_price": 110, "qty": "1.00", "tax_rate": 10, "tax_label": "TAX", "discount_type": "percent",
        "discount_total": "0.00", "amount": 110, "display_order": 1}
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 110
    # the amount is read-only while the deal has products: a write of it is overruled
    assert concord.put(f"deals/{deal['id']}", {"amount": 7}).json()["amount"] == 110


def test_lines_change_by_id_and_go_by_removed_products(concord: Concord, stage_id: int) -> None:
    deal = deal_with_lines(concord, stage_id)
    lines = concord.get(f"deals/{deal['id']}/billable").json()["products"]
    saved = concord.post(f"deals/{deal['id']}/billable", {
        "products": [{"id": lines[0]["id"], "name": "Widget A2", "unit_price": 10, "qty": 3}],
        "removed_products": [lines[1]["id"]]}).json()
    # as Concord: the tax type stays, the line's unset defaults come back (tax rate 0, label TAX), the rest stays
    assert saved["tax_type"] == "exclusive" and saved["subtotal"] == 27 and saved["total"] == 27
    assert saved["taxes"] == [] and saved["total_discount"] == 3 and saved["has_discount"] is True
    [line] = saved["products"]
    assert line["id"] == lines[0]["id"] and line["name"] == "Widget A2" and line["unit"] == "kg"
    assert (line["tax_rate"], line["tax_label"], line["discount_total"], line["note"]) == (0, "TAX", "10.00", "n1")
    assert line["product_id"] != lines[0]["product_id"]  # the product of the new name
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 27
    # every line removed: the amount is 0 again and free to change
    emptied = concord.post(f"deals/{deal['id']}/billable", {"removed_products": [line["id"]]}).json()
    assert emptied["products"] == [] and concord.get(f"deals/{deal['id']}").json()["amount"] == 0
    assert concord.put(f"deals/{deal['id']}", {"amount": 70}).json()["amount"] == 70


def test_null_keys_take_concords_defaults_and_amounts_round_half_up(concord: Concord, stage_id: int) -> None:
    deal = concord.create("deals", {"name": "Mixed", "stage_id": stage_id, "amount": 0})
    saved = concord.post(f"deals/{deal['id']}/billable", {"products": [
        {"name": "Mixed", "unit_price": "12.5", "qty": 3, "discount_type": None, "discount_total": "1.5",
         "tax_rate": None, "display_order": 7, "extra": "x"}]})
    assert "products.*.extra" in saved.headers["X-PolyCRM-Warning"]
    body = saved.json()  # Concord 1.4.1's answer to the same line:
    assert {k: body[k] for k in ("tax_type", "subtotal", "total", "total_discount", "has_discount")} == {
        "tax_type": "no_tax", "subtotal": 36.94, "total": 36.94, "total_discount": 0.56, "has_discount": True}
    line = body["products"][0]
    assert {k: line[k] for k in ("unit_price", "qty", "tax_rate", "tax_label", "discount_type", "discount_total",
                                 "amount", "display_order")} == {
        "unit_price": 12.5, "qty": "3.00", "tax_rate": 0, "tax_label": "TAX", "discount_type": "percent",
        "discount_total": "1.50", "amount": 36.94, "display_order": 7}
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 36.938  # 36.9375, half up


def test_a_line_may_name_a_catalogue_product_only(concord: Concord, stage_id: int) -> None:
    product = concord.create("products", {"name": "Catalogued", "unit_price": 12, "sku": "CAT-1"})
    deal = concord.create("deals", {"name": "Cat", "stage_id": stage_id})
    saved = concord.post(f"deals/{deal['id']}/billable", {"products": [
        {"product_id": product["id"], "unit_price": 12, "qty": 2}]}).json()
    assert saved["products"][0]["name"] == "Catalogued" and saved["products"][0]["sku"] == "CAT-1"
    assert saved["tax_type"] == "no_tax" and saved["total"] == 24


def test_the_tax_type_reprices_the_lines(concord: Concord, stage_id: int) -> None:
    deal = deal_with_lines(concord, stage_id)
    inclusive = concord.post(f"deals/{deal['id']}/billable", {"tax_type": "inclusive"}).json()
    assert inclusive["total"] == inclusive["subtotal"] == 1944.5
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 1944.499  # 1800 + 144.499 kept to 3 places
    untaxed = concord.post(f"deals/{deal['id']}/billable", {"tax_type": "no_tax"}).json()
    assert untaxed["taxes"] == [] and [line["tax_rate"] for line in untaxed["products"]] == [0, 0]


def test_a_document_shows_its_billable_and_amount(concord: Concord) -> None:
    brand = concord.get("brands").json()[0]["id"]
    document = concord.create("documents", {"title": "Doc bill", "brand_id": brand, "user_id": concord.user_id,
                                            "billable": {"tax_type": "no_tax", "products": [
                                                {"name": "Widget A", "unit_price": 50, "qty": 2, "tax_rate": 10}]}})
    assert document["amount"] == 100 and document["billable"]["tax_type"] == "no_tax"
    assert document["billable"]["products"][0]["tax_rate"] == 0 and document["billable"]["total"] == 100
    assert concord.get(f"documents/{document['id']}").json()["billable"] == concord.get(
        f"documents/{document['id']}/billable").json()


BAD = [
    ({"tax_type": "bogus"}, {"tax_type": ["The selected tax type is invalid."]}),
    ({"tax_type": 123}, {"tax_type": ["The tax type field must be a string.", "The selected tax type is invalid."]}),
    ({"products": [{"name": "", "qty": "1.234", "discount_type": "x", "tax_rate": -1, "product_id": "abc",
                    "display_order": "z", "unit": ["a"], "tax_label": 5}]},
     {"products.0.name": ["The Product field is required."],
      "products.0.discount_type": ["The selected products.0.discount_type is invalid."],
      "products.0.display_order": ["The products.0.display_order field must be an integer."],
      "products.0.qty": ["The products.0.qty field format is invalid."],
      "products.0.unit": ["The products.0.unit field must be a string."],
      "products.0.tax_label": ["The products.0.tax_label field must be a string."],
      "products.0.tax_rate": ["The products.0.tax_rate field must be at least 0."],
      "products.0.product_id": ["The products.0.product_id field must be an integer."]}),
    ({"products": [{"name": "x", "qty": -1, "tax_rate": "1.2345"}]},
     {"products.0.qty": ["The products.0.qty field format is invalid."],
      "products.0.tax_rate": ["The products.0.tax_rate field must have 0-3 decimal places."]}),
    ({"products": [{"name": "a" * 192}]},
     {"products.0.name": ["The products.0.name field must not be greater than 191 characters."]}),
    # where Concord answers a 500: a clear 422
    ({"products": "nope"}, {"products": ["The products field must be an array."]}),
    ({"products": [{"unit_price": 1}]}, {"products.0.name": ["The Product field is required."]}),
    ({"products": [{"name": "x", "unit_price": "1; DROP TABLE billable_product"}]},
     {"products.0.unit_price": ["The products.0.unit_price field must be a number."]}),
    ({"products": [{"name": "x", "unit_price": 1e300}]},
     {"products.0.unit_price": ["The products.0.unit_price field must be less than 1000000000000."]}),
    ({"products": ["x"]}, {"products.0": ["The products.0 field must be an array."]}),
    ({"products": [{"name": "x"}] * 501}, {"products": ["The products field must not have more than 500 items."]}),
    ({"removed_products": "1"}, {"removed_products": ["The removed products field must be an array of ids."]}),
    ({"products": [{"id": 999999, "name": "ghost"}]}, {"products.0.id": ["The selected products.0.id is invalid."]}),
    ({"products": [{"product_id": 999999}]},
     {"products.0.product_id": ["The selected products.0.product_id is invalid."]}),
]


@pytest.mark.parametrize("body, errors", BAD)
def test_bad_input_is_concords_422_and_nothing_is_written(concord: Concord, stage_id: int, body: dict,
                                                          errors: dict) -> None:
    deal = concord.create("deals", {"name": "Bad", "stage_id": stage_id, "amount": 5,
                                    "billable": {"products": [{"name": "Kept", "unit_price": 3}]}})
    before = concord.get(f"deals/{deal['id']}/billable").json()
    response = concord.post(f"deals/{deal['id']}/billable", body)
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == errors
    assert concord.get(f"deals/{deal['id']}/billable").json() == before
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 3


def test_bad_billable_in_a_deal_write_is_a_422_under_its_key(concord: Concord, stage_id: int) -> None:
    response = concord.post("deals", {"name": "X", "stage_id": stage_id, "billable": {"products": [{"qty": "x",
                                                                                                  "name": "a"}]}})
    assert response.status_code == 422
    assert response.json()["errors"] == {"billable.products.0.qty": ["The billable.products.0.qty field format is "
                                                                     "invalid."]}
    assert concord.get("deals", q="X").json()["data"] == []
    assert concord.post("deals", {"name": "Y", "stage_id": stage_id, "billable": "x"}).status_code == 422


def test_other_resources_have_no_billable_and_unknown_deals_404(concord: Concord, stage_id: int) -> None:
    contact = concord.create("contacts", {"first_name": "No"})
    assert concord.get(f"contacts/{contact['id']}/billable").status_code == 404
    missing = concord.get("deals/999999/billable")
    assert missing.status_code == 404
    assert missing.json() == {"message": "No query results for model [Modules\\Deals\\App\\Models\\Deal] 999999"}


def test_a_limited_user_needs_edit_access_to_the_deal(concord: Concord, stage_id: int) -> None:
    deal = deal_with_lines(concord, stage_id)
    reader = concord.as_user("deal-reader", {"Opportunity": {"create": "no", "read": "all", "edit": "no",
                                                             "delete": "no"}})
    assert reader.get(f"deals/{deal['id']}/billable").status_code == 200  # reading takes read access
    refused = reader.post(f"deals/{deal['id']}/billable", {"products": [{"name": "Sneaky", "unit_price": 1}]})
    assert refused.status_code == 403
    assert len(concord.get(f"deals/{deal['id']}/billable").json()["products"]) == 2
    stranger = concord.as_user("stranger", {"Opportunity": {"create": "yes", "read": "own", "edit": "own",
                                                            "delete": "no"}})
    assert stranger.get(f"deals/{deal['id']}/billable").status_code == 403
    # an editor of its own deal writes its lines without any role on the line items themselves
    own = stranger.create("deals", {"name": "Mine", "stage_id": stage_id})
    saved = stranger.post(f"deals/{own['id']}/billable", {"products": [{"name": "Fine", "unit_price": 4}]})
    assert saved.status_code == 200 and saved.json()["total"] == 4


def test_lines_are_records_of_every_protocol(concord: Concord, stage_id: int) -> None:
    """Items through /api/v1 are the same records; writing them there moves the deal's amount too."""
    deal = deal_with_lines(concord, stage_id)
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    listed = espo.get("/api/v1/BillableProduct", params={"where[0][type]": "equals",
                                                          "where[0][attribute]": "opportunityId",
                                                          "where[0][value]": str(deal["id"])}).json()
    assert listed["total"] == 2 and [r["name"] for r in listed["list"]] == ["Widget A", "Service B"]
    assert espo.get(f"/api/v1/Opportunity/{deal['id']}").json()["amount"] == 2153.398
    made = espo.post("/api/v1/BillableProduct", json={"name": "Espo line", "unitPrice": 100, "quantity": 1,
                                                      "taxRate": 10, "opportunityId": str(deal["id"])})
    assert made.status_code == 200, made.content
    assert made.json()["amount"] == 100
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 2263.398
    assert espo.get(f"/api/v1/Opportunity/{deal['id']}").json()["amount"] == 2263.398
    assert espo.delete(f"/api/v1/BillableProduct/{made.json()['id']}").status_code == 200
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 2153.398
    # the amount written through /api/v1 is overruled while the deal has lines
    espo.put(f"/api/v1/Opportunity/{deal['id']}", json={"amount": 1})
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 2153.398
    orphan = espo.post("/api/v1/BillableProduct", json={"name": "Orphan", "unitPrice": 1})
    assert orphan.status_code == 400
    # Lines made by a mass create reprice the deal as single ones do.
    mass = espo.post("/api/v1/BillableProduct/action/massCreate", json={"list": [
        {"name": f"Mass {n}", "unitPrice": 10, "quantity": 1, "opportunityId": str(deal["id"])} for n in range(2)]})
    assert mass.status_code == 200, mass.content
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 2173.398


def test_a_tax_type_changed_through_api_v1_reprices_the_deal(concord: Concord, stage_id: int) -> None:
    deal = deal_with_lines(concord, stage_id)
    billable_id = concord.get(f"deals/{deal['id']}/billable").json()["id"]
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.put(f"/api/v1/Billable/{billable_id}", json={"taxType": "inclusive"}).status_code == 200
    assert concord.get(f"deals/{deal['id']}").json()["amount"] == 1944.499
    assert concord.get(f"deals/{deal['id']}/billable").json()["tax_type"] == "inclusive"
    refused = espo.put(f"/api/v1/Billable/{billable_id}", json={"taxType": "sometimes"})
    assert refused.status_code == 400 and concord.get(f"deals/{deal['id']}").json()["amount"] == 1944.499


def test_a_document_reader_cannot_change_its_products(concord: Concord) -> None:
    brand = concord.get("brands").json()[0]["id"]
    document = concord.create("documents", {"title": "Read only", "brand_id": brand, "user_id": concord.user_id})
    reader = concord.as_user("doc-reader", {"Document": {"create": "no", "read": "all", "edit": "no",
                                                         "delete": "no"}})
    assert reader.get(f"documents/{document['id']}/billable").json()["products"] == []
    assert reader.post(f"documents/{document['id']}/billable", {"products": [{"name": "X"}]}).status_code == 403
    assert concord.get(f"documents/{document['id']}/billable").json()["id"] is None



def test_a_line_changed_through_api_v1_locks_its_deal_first(concord: Concord, stage_id: int, backend: str) -> None:
    """A Concord save locks the deal, then its lines; a change of a line through /api/v1 must take the same
    order (deal first), or the two could deadlock on PostgreSQL. Held here: with the deal locked elsewhere,
    the line's update waits without having locked the line."""
    if backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's: SQLite runs one write transaction at a time")
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    deal = deal_with_lines(concord, stage_id)
    line = concord.get(f"deals/{deal['id']}/billable").json()["products"][0]
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    database = concord.harness.app.state.core.database
    table = database.table("billable_product").name
    with ThreadPoolExecutor(max_workers=1) as pool:
        with database.engine.connect() as holder, holder.begin():
            holder.execute(text("SELECT id FROM opportunity WHERE id = :id FOR UPDATE"), {"id": deal["id"]})
            pending = pool.submit(espo.put, f"/api/v1/BillableProduct/{line['id']}", json={"unitPrice": 7})
            time.sleep(0.5)  # the update is waiting for the deal now
            with database.engine.connect() as probe, probe.begin():
                free = probe.execute(text(f"SELECT id FROM {table} WHERE id = :id FOR UPDATE SKIP LOCKED"),
                                     {"id": line["id"]}).all()
            assert free == [(line["id"],)] and not pending.done()
        assert pending.result(timeout=10).status_code == 200


def test_a_deal_counts_its_products_where_concord_shows_them(concord: Concord, stage_id: int) -> None:
    """Concord 1.4.1 shows `products_count` right after `calls_count` on a deal's create answer, single record
    and index rows, and on its board cards after `expected_close_date`; removed lines no longer count."""
    deal = deal_with_lines(concord, stage_id)
    assert list(deal)[:4] == ["id", "notes_count", "calls_count", "products_count"] and deal["products_count"] == 2
    bare = concord.create("deals", {"name": "Bare deal", "stage_id": stage_id})
    assert bare["products_count"] == 0
    rows = {row["id"]: row for row in concord.get("deals").json()["data"]}
    assert rows[deal["id"]]["products_count"] == 2 and rows[bare["id"]]["products_count"] == 0
    lines = concord.get(f"deals/{deal['id']}/billable").json()["products"]
    concord.post(f"deals/{deal['id']}/billable", {"removed_products": [lines[0]["id"]]})
    assert concord.get(f"deals/{deal['id']}").json()["products_count"] == 1
    pipeline = concord.get(f"deals/{deal['id']}").json()["pipeline_id"]
    cards = {card["id"]: card for stage in concord.get(f"deals/board/{pipeline}").json() for card in stage["cards"]}
    assert list(cards[deal["id"]])[7:10] == ["expected_close_date", "products_count", "user_id"]
    assert cards[deal["id"]]["products_count"] == 1 and cards[bare["id"]]["products_count"] == 0
