"""clients and contacts (specs/itflow.md §8.3, §8.4, §10's PowerShell bodies), and their client scope."""

from __future__ import annotations

import re

from polycrm.dialects.itflow.envelope import INSERT_FAILED, UPDATE_FAILED
from tests.itflow.conftest import Itflow

CLIENT_COLUMNS = ["client_id", "client_lead", "client_name", "client_type", "client_website", "client_referral",
                  "client_rate", "client_currency_code", "client_net_terms", "client_tax_id_number",
                  "client_abbreviation", "client_notes", "client_favorite", "client_created_at", "client_updated_at",
                  "client_archived_at", "client_accessed_at"]
DATETIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def test_create_answers_php_bytes_and_reads_back_as_strings(itflow: Itflow, client_id: int):
    response = itflow.post("clients/create", {"client_name": "Fabrikam"})
    assert response.content == b'{"success":"True","count":"1","data":[{"insert_id":%d}]}' % (client_id + 1)
    body = itflow.read("clients", client_name="contoso")
    assert body["success"] == "True" and body["count"] == 1
    row = body["data"][0]
    assert list(row) == CLIENT_COLUMNS
    assert row["client_id"] == str(client_id) and row["client_name"] == "Contoso"
    assert row["client_website"] == "contoso.org" and row["client_rate"] == "250.00"
    assert row["client_net_terms"] == "30" and row["client_lead"] == "0" and row["client_abbreviation"] == "CTS"
    assert DATETIME.match(row["client_created_at"]) and row["client_archived_at"] is None


def test_create_rules(itflow: Itflow):
    new_id = itflow.create("clients", {"client_name": " <b>Acme</b> Ltd ", "client_website": "https://acme.test/x",
                                       "client_abbreviation": "ABCDEFGHIJ", "client_rate": "12.5abc"})
    row = itflow.read("clients", client_id=new_id)["data"][0]
    assert row["client_name"] == "Acme Ltd" and row["client_website"] == "acme.test/x"
    assert row["client_abbreviation"] == "ABCDEF" and row["client_rate"] == "12.50"


def test_create_refusals(itflow: Itflow, client_id: int):
    for body in ({}, {"client_name": ""}, {"client_name": "0"}, {"client_name": "X", "client_id": "5"},
                 {"client_name": ["a"]}, {"client_name": "x" * 5000}):
        response = itflow.post("clients/create", body)
        assert response.json() == {"success": "False", "message": INSERT_FAILED}, body
        assert response.headers["x-polycrm-reason"]
    scoped = itflow.scoped(client_id)
    assert scoped.post("clients/create", {"client_name": "Y"}).json()["success"] == "False"


def test_update_keeps_what_is_not_sent_and_reports_no_change(itflow: Itflow, client_id: int):
    response = itflow.post("clients/update", {"client_id": str(client_id), "client_notes": "New notes"})
    assert response.json() == {"success": "True", "count": 1}  # without client_is_lead: no HTTP 500
    row = itflow.read("clients", client_id=client_id)["data"][0]
    assert row["client_notes"] == "New notes" and row["client_rate"] == "250.00"
    again = itflow.post("clients/update", {"client_id": str(client_id), "client_notes": "New notes"})
    assert again.json() == {"success": "False", "message": UPDATE_FAILED}
    missing = itflow.post("clients/update", {"client_id": "999", "client_notes": "x"})
    assert missing.json()["success"] == "False"


def test_scoped_key_sees_and_updates_only_its_client(itflow: Itflow, client_id: int):
    other = itflow.create("clients", {"client_name": "Other"})
    scoped = itflow.scoped(client_id)
    body = scoped.read("clients")
    assert [r["client_id"] for r in body["data"]] == [str(client_id)]
    assert scoped.read("clients", client_id=other)["data"][0]["client_id"] == str(client_id)
    assert scoped.read("clients", client_name="Other")["success"] == "False"
    scoped.post("clients/update", {"client_id": str(other), "client_notes": "moved?"})
    assert itflow.read("clients", client_id=other)["data"][0]["client_notes"] == ""
    assert itflow.read("clients", client_id=client_id)["data"][0]["client_notes"] == "moved?"


def test_archive_and_unarchive(itflow: Itflow, client_id: int):
    assert itflow.post("clients/archive", {"client_id": client_id}).json() == {"success": "True", "count": 1}
    assert itflow.read("clients", client_id=client_id)["data"][0]["client_archived_at"] is not None
    assert itflow.post("clients/archive", {"client_id": client_id}).json()["success"] == "False"
    assert itflow.post("clients/unarchive", {"client_id": client_id}).json() == {"success": "True", "count": 1}
    assert itflow.post("clients/unarchive", {"client_id": client_id}).json()["success"] == "False"
    assert itflow.post("clients/archive", {}).json()["success"] == "False"  # client 0


CONTACT = {"contact_name": "Jo Doe", "contact_title": "CTO", "contact_department": "IT",
           "contact_email": "jo@contoso.org", "contact_phone": "+1 (555) 123-456", "contact_extension": "",
           "contact_mobile": "", "contact_notes": "n", "contact_auth_method": "local", "contact_primary": "0",
           "contact_important": "1", "contact_billing": "1", "contact_technical": "0", "contact_location_id": "0"}


def test_contact_create_read_and_duplicate_email(itflow: Itflow, client_id: int):
    contact_id = itflow.create("contacts", CONTACT | {"client_id": str(client_id)})
    row = itflow.read("contacts", contact_id=contact_id)["data"][0]
    assert row["contact_name"] == "Jo Doe" and row["contact_phone"] == "1555123456"
    assert row["contact_important"] == "1" and row["contact_client_id"] == str(client_id)
    by_email = itflow.read("contacts", contact_email="JO@contoso.org")
    assert [r["contact_id"] for r in by_email["data"]] == [str(contact_id)]
    duplicate = itflow.post("contacts/create", CONTACT | {"client_id": str(client_id), "contact_email": "Jo@Contoso.org"})
    assert duplicate.json()["success"] == "False"
    other = itflow.create("clients", {"client_name": "Other"})
    assert itflow.create("contacts", CONTACT | {"client_id": str(other)}) > contact_id  # per client
    assert itflow.post("contacts/create", CONTACT).json()["success"] == "False"  # client 0


def test_contact_phone_or_mobile_stays_in_scope(itflow: Itflow, client_id: int):
    other = itflow.create("clients", {"client_name": "Other"})
    itflow.create("contacts", CONTACT | {"client_id": str(other), "contact_mobile": "999", "contact_email": "a@b.c"})
    scoped = itflow.scoped(client_id)
    assert scoped.read("contacts", contact_phone_or_mobile="999")["success"] == "False"
    assert itflow.read("contacts", contact_phone_or_mobile="999")["count"] == 1


def test_primary_contact_is_unique_per_client(itflow: Itflow, client_id: int):
    first = itflow.create("contacts", CONTACT | {"client_id": str(client_id), "contact_primary": "1"})
    second = itflow.create("contacts", CONTACT | {"client_id": str(client_id), "contact_primary": "1",
                                                  "contact_email": "second@contoso.org"})
    flags = {r["contact_id"]: r["contact_primary"] for r in itflow.read("contacts", client_id=client_id)["data"]}
    assert flags == {str(first): "0", str(second): "1"}


def test_contact_update_delete_archive(itflow: Itflow, client_id: int):
    contact_id = itflow.create("contacts", CONTACT | {"client_id": str(client_id)})
    body = {"contact_id": str(contact_id), "client_id": str(client_id)}
    assert itflow.post("contacts/update", body | {"contact_title": "CEO"}).json() == {"success": "True", "count": 1}
    assert itflow.post("contacts/update", body | {"contact_title": "CEO"}).json()["success"] == "False"
    # An all-clients key without client_id acts on client 0: it neither finds nor moves the contact.
    assert itflow.post("contacts/update", {"contact_id": str(contact_id), "contact_title": "X"}).json()[
        "success"] == "False"
    assert itflow.read("contacts", contact_id=contact_id)["data"][0]["contact_client_id"] == str(client_id)
    assert itflow.post("contacts/archive", body).json() == {"success": "True", "count": 1}
    row = itflow.read("contacts", contact_id=contact_id)["data"][0]
    assert row["contact_archived_at"] and row["contact_important"] == "0" and row["contact_billing"] == "0"
    assert itflow.post("contacts/unarchive", body).json() == {"success": "True", "count": 1}
    assert itflow.post("contacts/delete", body).json() == {"success": "True", "count": 1}
    assert itflow.post("contacts/delete", body).json()["success"] == "False"
    assert itflow.read("contacts", contact_id=contact_id)["success"] == "False"
