"""tickets, with their numbers (specs/itflow.md §8.16), and the PowerShell create and resolve bodies (§10)."""

from __future__ import annotations

from tests.itflow.conftest import Itflow
from tests.itflow.test_clients import CONTACT

TICKET = {"ticket_subject": "Printer on fire", "ticket_details": "It <b>burns</b>", "ticket_priority": "Low",
          "ticket_assigned_to": "0", "ticket_contact_id": "0"}


def test_create_numbers_and_defaults(itflow: Itflow, client_id: int):
    primary = itflow.create("contacts", CONTACT | {"client_id": str(client_id), "contact_primary": "1"})
    first = itflow.create("tickets", TICKET | {"client_id": str(client_id)})
    second = itflow.create("tickets", {"ticket_subject": "Second", "ticket_vendor_ticket_id": "ABC123"})
    by_id = {r["ticket_id"]: r for r in itflow.read("tickets")["data"]}
    one, two = by_id[str(first)], by_id[str(second)]
    assert one["ticket_prefix"] == "TCK-" and int(two["ticket_number"]) == int(one["ticket_number"]) + 1
    assert one["ticket_details"] == "It <b>burns</b><br>" and two["ticket_details"] == "< blank ><br>"
    assert one["ticket_source"] == "API" and one["ticket_status"] == "1" and one["ticket_priority"] == "Low"
    assert one["ticket_contact_id"] == str(primary) and one["ticket_client_id"] == str(client_id)
    assert two["ticket_client_id"] == "0" and two["ticket_vendor_ticket_number"] == "0"
    assert len(one["ticket_url_key"]) == 32
    assert "ticket_status_name" not in one


def test_read_by_id_joins_the_status(itflow: Itflow, client_id: int):
    ticket_id = itflow.create("tickets", TICKET | {"client_id": str(client_id)})
    row = itflow.read("tickets", ticket_id=ticket_id)["data"][0]
    assert list(row)[-5:] == ["ticket_status_id", "ticket_status_name", "ticket_status_color", "ticket_status_active",
                              "ticket_status_order"]
    assert row["ticket_status_name"] == "New"


def test_priority_values(itflow: Itflow):
    ticket_id = itflow.create("tickets", {"ticket_subject": "x", "ticket_priority": "medium"})
    assert itflow.read("tickets", ticket_id=ticket_id)["data"][0]["ticket_priority"] == "Medium"
    refused = itflow.post("tickets/create", {"ticket_subject": "x", "ticket_priority": "Whenever"})
    assert refused.json()["success"] == "False" and "ticket_priority" in refused.headers["x-polycrm-reason"]


def test_resolve_needs_the_exact_client(itflow: Itflow, client_id: int):
    ticket_id = itflow.create("tickets", TICKET | {"client_id": str(client_id)})
    assert itflow.post("tickets/resolve", {"ticket_id": str(ticket_id)}).json()["success"] == "False"
    body = {"ticket_id": str(ticket_id), "client_id": str(client_id)}
    assert itflow.post("tickets/resolve", body).json() == {"success": "True", "count": 1}
    row = itflow.read("tickets", ticket_id=ticket_id)["data"][0]
    assert row["ticket_status"] == "4" and row["ticket_resolved_at"] and row["ticket_first_response_at"]
    assert row["ticket_closed_at"] is None
    assert itflow.post("tickets/resolve", body).json()["success"] == "False"
    global_ticket = itflow.create("tickets", {"ticket_subject": "global"})
    assert itflow.post("tickets/resolve", {"ticket_id": global_ticket}).json()["success"] == "True"


def test_scoped_key_creates_in_its_own_client(itflow: Itflow, client_id: int):
    other = itflow.create("clients", {"client_name": "Other"})
    scoped = itflow.scoped(client_id)
    ticket_id = scoped.create("tickets", {"ticket_subject": "mine", "client_id": str(other)})
    assert itflow.read("tickets", ticket_id=ticket_id)["data"][0]["ticket_client_id"] == str(client_id)
    theirs = itflow.create("tickets", {"ticket_subject": "theirs", "client_id": str(other)})
    assert scoped.read("tickets", ticket_id=theirs)["success"] == "False"
    assert scoped.post("tickets/resolve", {"ticket_id": theirs, "client_id": other}).json()["success"] == "False"


def test_audit_rows_name_the_ticket_and_the_key(itflow: Itflow, client_id: int):
    from polycrm.core.audit import AuditQuery
    itflow.create("tickets", {"ticket_subject": "Logged", "client_id": client_id})
    entries = itflow.harness.app.state.core.audit.entries(AuditQuery())
    texts = [(e["type"], e["action"], e["description"]) for e in entries]
    number = itflow.read("tickets")["data"][-1]["ticket_number"]
    assert ("Ticket", "Create", f"Created ticket TCK-{number} Logged via API (psa-sync)") in texts
    assert ("API", "Success", f"Created ticket TCK-{number} Logged via API (psa-sync)") in texts


def test_fifty_concurrent_creates_take_fifty_numbers_without_a_gap(itflow: Itflow, client_id: int):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(lambda n: itflow.create("tickets", {"ticket_subject": f"t{n}", "client_id": client_id}),
                            range(50)))
    numbers = sorted(int(r["ticket_number"]) for r in itflow.read("tickets", limit=100)["data"])
    assert len(set(ids)) == 50 and numbers == list(range(numbers[0], numbers[0] + 50))


def test_an_unknown_client_is_refused_not_moved_to_client_0(itflow: Itflow):
    response = itflow.post("tickets/create", {"ticket_subject": "orphan", "client_id": "999"})
    assert response.json()["success"] == "False" and response.headers["x-polycrm-reason"]
    assert itflow.read("tickets")["success"] == "False"
