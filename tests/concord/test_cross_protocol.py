"""One store, four protocols (specs/concord.md; the issue's cross-protocol list): a company and a contact
written through Concord are the same Account and Contact, with the same integer ids, through `/api/v1`,
InflowCRM and ITFlow; a delete elsewhere is a 404 here; webhooks fire whichever protocol wrote."""

from __future__ import annotations

from polycrm.dialects.inflow.ids import encode_id
from tests.concord.conftest import Concord
from tests.support.espo import subscribe_and_last_event


def test_concord_records_are_the_other_protocols_records(concord: Concord) -> None:
    harness = concord.harness
    company = concord.create("companies", {"name": "Contoso", "email": "hq@contoso.test"})
    contact = concord.create("contacts", {"first_name": "Jo", "last_name": "Bloggs", "email": "jo@contoso.test",
                                          "companies": [company["id"]], "phones": [{"number": "555-0100"}]})
    espo = harness.key_client(harness.admin_key, validate=False)
    account = espo.get(f"/api/v1/Account/{company['id']}").json()
    assert account["name"] == "Contoso" and account["emailAddress"] == "hq@contoso.test"
    espo_contact = espo.get(f"/api/v1/Contact/{contact['id']}").json()
    assert espo_contact["firstName"] == "Jo" and espo_contact["accountsIds"] == [str(company["id"])]
    assert espo_contact["phoneNumber"] == "555-0100"
    inflow = harness.client({"x-api-key": harness.admin_key}, validate=False)
    assert "Bloggs" in inflow.get(f"/api/contacts/{encode_id('Contact', contact['id'])}").text
    key = harness.directory.create_itflow_key(harness.admin_id)
    client = harness.client(validate=False).get("/api/v1/clients/read.php",
                                                params={"api_key": key.key, "client_id": company["id"]}).json()
    assert client["data"][0]["client_name"] == "Contoso" and client["data"][0]["client_id"] == str(company["id"])


def test_writes_elsewhere_show_here(concord: Concord) -> None:
    harness = concord.harness
    espo = harness.key_client(harness.admin_key, validate=False)
    created = espo.post("/api/v1/Contact", json={"firstName": "Espo", "lastName": "Made"}).json()
    shown = concord.get(f"contacts/{created['id']}").json()
    assert shown["display_name"] == "Espo Made"
    espo.put(f"/api/v1/Contact/{created['id']}", json={"lastName": "Changed"})
    assert concord.get(f"contacts/{created['id']}").json()["last_name"] == "Changed"
    assert espo.delete(f"/api/v1/Contact/{created['id']}").status_code == 200
    assert concord.get(f"contacts/{created['id']}").status_code == 404


def test_webhooks_fire_for_concord_writes(concord: Concord) -> None:
    last, contact_id = subscribe_and_last_event(
        concord.harness, "Contact.create", lambda: concord.create("contacts", {"first_name": "Hooked"})["id"])
    assert last == ("Contact", contact_id)
