"""tickets (specs/itflow.md §8.16) and invoice_items (§8.18): Cases as ITFlow creates, resolves and reads
them, and an invoice's items."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from starlette.responses import Response

from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.itflow.clients import now_text
from polycrm.dialects.itflow.context import ItflowRequest
from polycrm.dialects.itflow.envelope import FILTER_REQUIRED, Failure, changed, created, no_resource, rows, update_failed
from polycrm.dialects.itflow.php import intval
from polycrm.dialects.itflow.reads import client_scope, fetch, read
from polycrm.dialects.itflow.writes import (body_values, check_required, create_record, entity_of, load_in_scope,
                                            LogRow, log_rows, to_attributes, update_record)
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi

def url_key() -> str:
    """32 URL-safe random characters, as ITFlow's `randomString(32)` (base64 of random bytes, `+/` as `-_`)."""
    return secrets.token_urlsafe(24)


def create_ticket(api: ItflowApi, request: ItflowRequest) -> Response:
    """A Case numbered from the shared ticket counter (the core takes the number atomically), source API,
    status New. Without a contact, the client's primary contact is filled in."""
    endpoint, table = api.mapping.endpoints["tickets"], api.mapping.table("tickets")
    check_required(request, endpoint)
    client = request.write_client()
    values = body_values(request, endpoint, creating=True)
    details = request.body.get("ticket_details")
    values["ticket_details"] = (values["ticket_details"] if details is not None else "< blank >") + "<br>"
    values["ticket_priority"] = values["ticket_priority"] if request.given("ticket_priority") else "Low"
    if values["ticket_contact_id"] == 0 and client > 0:
        values["ticket_contact_id"] = _primary_contact(api, request, client)
    data = to_attributes(table, entity_of(api, table), values, request)
    data.update(accountId=client or None, source="API", status="New", urlKey=url_key())
    def logged(record: dict) -> list[LogRow]:
        text = f"Created ticket {record.get('numberPrefix') or ''}{record['number']} {record['name']}"
        return log_rows(request, "Ticket", "Create", text, client_id=client, entity_id=record["id"], success=text)

    return created(create_record(api, request, table, data, logged)["id"])


def _primary_contact(api: ItflowApi, request: ItflowRequest, client: int) -> int:
    query = SearchQuery(where=conjunction([Compare("accountId", Op.EQ, client), Compare("isPrimary", Op.EQ, True)]),
                        limit=1, select=["id"], total=TotalMode.NONE)
    found = api.core.records("Contact").search_visible(request.actor, query).records
    return found[0]["id"] if found else 0


def resolve_ticket(api: ItflowApi, request: ItflowRequest) -> Response:
    """Only an unresolved ticket of exactly the resolved client (an all-clients key without client_id: client
    0's tickets). Sets the first response if there was none; `closedAt` is left alone, as ITFlow does."""
    ticket_id = intval(request.body.get("ticket_id"))
    table = api.mapping.table("tickets")
    current = load_in_scope(api, request, table, ticket_id, request.write_client())
    if current is None or current.get("resolvedAt") is not None:
        raise update_failed(f"no unresolved ticket {ticket_id} for this key and client")
    now = now_text()
    data = {"status": "Resolved", "resolvedAt": now}
    if current.get("firstResponseAt") is None:
        data["firstResponseAt"] = now
    number = f"{current.get('numberPrefix') or ''}{current['number']}"
    update_record(api, request, table, current, data, log_rows(
        request, "Ticket", "Resolved", f"{number} ticket", client_id=request.write_client(),
        entity_id=current["id"], success=f"Resolved ticket {number}"))
    return changed(1)


def read_tickets(api: ItflowApi, request: ItflowRequest) -> Response:
    """Reads by ticket_id join the ticket's status row (§8.16); lists do not."""
    if "ticket_id" not in request.query:
        return read(api, request)
    found = fetch(api, request, api.mapping.endpoints["tickets"], api.mapping.table("tickets"))
    if not found:
        raise no_resource("no ticket matched")
    statuses = {s["ticket_status_id"]: s for s in api.mapping.ticket_statuses}
    for row in found:
        row.update(statuses.get(row["ticket_status"]) or dict.fromkeys(api.mapping.ticket_statuses[0]))
    return rows(found)


def read_invoice_items(api: ItflowApi, request: ItflowRequest) -> Response:
    """By item_id or invoice_id, the invoice's client checked against the key's scope; neither is HTTP 400."""
    endpoint, table = api.mapping.endpoints["invoice_items"], api.mapping.table("invoice_items")
    if "item_id" not in request.query and "invoice_id" not in request.query:
        raise Failure(FILTER_REQUIRED, "item_id or invoice_id is required", status=400,
                      extra={"count": 0, "data": []})
    invoices = api.mapping.table("invoices")
    if "item_id" in request.query:
        found = fetch(api, request, endpoint, table, Compare("id", Op.EQ, intval(request.query["item_id"])))[:1]
        invoice_ids = [intval(r["item_invoice_id"]) for r in found]
    else:
        invoice_ids = [intval(request.query["invoice_id"])]
        found = None
    scope = client_scope(api, request, api.mapping.endpoints["invoices"], invoices)
    query = SearchQuery(where=conjunction([scope, Compare("id", Op.IN, tuple(invoice_ids))]), limit=len(invoice_ids),
                        select=["id"], total=TotalMode.NONE)
    if not api.core.records(invoices.entity_name).search(request.actor, query).records:
        raise no_resource("no invoice of this key's clients matched")
    if found is None:
        found = fetch(api, request, endpoint, table, Compare("invoiceId", Op.EQ, invoice_ids[0]),
                      sorts=[Sort("sortOrder"), Sort("id")])
    if not found:
        raise no_resource("no item matched")
    return rows(found)
