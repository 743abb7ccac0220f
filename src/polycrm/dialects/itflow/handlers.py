"""Which handler answers each module function. Every module's `read` is the generic one unless named here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from polycrm.dialects.itflow import assets, clients, credentials, documents, tickets
from polycrm.dialects.itflow.reads import read

if TYPE_CHECKING:
    from polycrm.dialects.itflow.api import ItflowApi

WRITES = {
    ("assets", "create"): assets.create_asset,
    ("assets", "update"): assets.update_asset,
    ("assets", "delete"): assets.delete_asset,
    ("certificates", "create"): documents.create_certificate,
    ("clients", "create"): clients.create_client,
    ("clients", "update"): clients.update_client,
    ("clients", "archive"): clients.archive_client,
    ("clients", "unarchive"): clients.unarchive_client,
    ("contacts", "create"): clients.create_contact,
    ("credentials", "create"): credentials.create_credential,
    ("credentials", "update"): credentials.update_credential,
    ("contacts", "update"): clients.update_contact,
    ("contacts", "delete"): clients.delete_contact,
    ("contacts", "archive"): clients.archive_contact,
    ("contacts", "unarchive"): clients.unarchive_contact,
    ("documents", "create"): documents.create_document,
    ("documents", "update"): documents.update_document,
    ("locations", "create"): documents.create_location,
    ("tickets", "create"): tickets.create_ticket,
    ("tickets", "resolve"): tickets.resolve_ticket,
}
SPECIAL_READS = {
    "credentials": credentials.read_credentials,
    "tickets": tickets.read_tickets,
    "invoice_items": tickets.read_invoice_items,
}


def register(api: ItflowApi) -> None:
    for module, endpoint in api.mapping.endpoints.items():
        for function in endpoint.functions:
            if function == "read":
                if module not in SPECIAL_READS and any(c.secret for c in api.mapping.table(endpoint.table).columns):
                    raise LookupError(f"{module}/read would show secrets: it needs a read of its own")
                api.add(module, function, SPECIAL_READS.get(module, read))
            else:
                api.add(module, function, WRITES[(module, function)])
