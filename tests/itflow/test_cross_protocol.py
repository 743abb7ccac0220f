"""One record, four protocols: what ITFlow writes is what EspoCRM and InflowCRM show, and the reverse."""

from __future__ import annotations

from tests.itflow.conftest import Itflow
from tests.support.espo import subscribe_and_last_event


def test_client_written_through_itflow_is_the_same_account_everywhere(itflow: Itflow, client_id: int):
    espo = itflow.harness.key_client(itflow.harness.admin_key)
    account = espo.get(f"/api/v1/Account/{client_id}").json()
    assert account["name"] == "Contoso" and account["website"] == "contoso.org"
    assert account["netTerms"] == 30 and account["abbreviation"] == "CTS"
    inflow = itflow.harness.client({"x-api-key": itflow.harness.admin_key}, validate=False)
    customers = inflow.post("/api/searchRecords", json={"module": "customer", "filters": {}}).json()
    assert "Contoso" in str(customers)
    itflow.post("clients/update", {"client_id": client_id, "client_name": "Contoso Ltd", "client_is_lead": "0"})
    assert espo.get(f"/api/v1/Account/{client_id}").json()["name"] == "Contoso Ltd"


def test_records_written_through_espo_appear_in_itflow_reads(itflow: Itflow, client_id: int):
    espo = itflow.harness.key_client(itflow.harness.admin_key)
    contact = espo.post("/api/v1/Contact", json={"firstName": "Ann", "lastName": "Lee", "accountId": client_id,
                                                 "emailAddress": "ann@contoso.org"}).json()
    case = espo.post("/api/v1/Case", json={"name": "VPN down", "accountId": client_id,
                                           "contactId": contact["id"]}).json()
    contacts = itflow.read("contacts", client_id=client_id)["data"]
    assert [(c["contact_id"], c["contact_name"], c["contact_email"]) for c in contacts] == [
        (str(contact["id"]), "Ann Lee", "ann@contoso.org")]
    tickets = itflow.read("tickets", client_id=client_id)["data"]
    assert [(t["ticket_id"], t["ticket_subject"], t["ticket_contact_id"]) for t in tickets] == [
        (str(case["id"]), "VPN down", str(contact["id"]))]
    assert tickets[0]["ticket_number"] == str(case["number"])


def test_espo_webhooks_fire_whichever_protocol_wrote(itflow: Itflow):
    last, client = subscribe_and_last_event(itflow.harness, "Account.create",
                                            lambda: itflow.create("clients", {"client_name": "Hooked"}))
    assert last == ("Account", client)