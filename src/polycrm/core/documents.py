"""Documents as Concord CRM keeps them (specs/concord.md §2 "Documents"): the document types and the brand a
store starts with, the status changes Concord offers (`POST /api/documents/{id}/lost|accept|draft`), and the
deletes its document types and brands refuse.

A document's status is one enum for every protocol (Document.json): Concord's four (Draft, Sent, Accepted,
Lost) joined EspoCRM's options (Draft was already one), and EspoCRM's Active, Canceled and Expired stay for
its clients.

The defaults are seeded once per store, when a server or command first opens it (app.build_core), as the
default pipeline is (core/seeding.py).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.errors import Conflict
from polycrm.core.seeding import seed_once
from polycrm.core.type_guards import TypeGuard
from polycrm.query.tree import Compare, Op
from polycrm.store.database import Database, utcnow
from polycrm.store.records import RecordRepository

SETTING = "documents"
DOCUMENT_ENTITY = "Document"
TYPE_ENTITY = "DocumentType"
BRAND_ENTITY = "Brand"
# Concord's EnsureDocumentTypesArePresent: (name, swatch colour); each is flagged with its lower-case name
# (a "primary" type) and the first is the default type of documents created without one.
DEFAULT_TYPES = (("Proposal", "#a3e635"), ("Quote", "#64748b"), ("Contract", "#ffd600"))
TYPE_ICON = "DocumentText"  # every type's icon in Concord 1.4.1
# Concord's EnsureDefaultBrandIsPresent names the brand after the application.
DEFAULT_BRAND = "PolyCRM"
DEFAULT_BRAND_COLOR = "#4f46e5"

DRAFT, SENT, ACCEPTED, LOST = "Draft", "Sent", "Accepted", "Lost"


def ensure_default_documents(database: Database) -> bool:
    """Seed Concord's document types and default brand unless this store ever had them; whether this call
    did."""
    registry = database.registry
    types = RecordRepository(database, registry.entity(TYPE_ENTITY))
    brands = RecordRepository(database, registry.entity(BRAND_ENTITY))

    def prepare(stamp: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
        return stamp, types.new_rows([{"name": name, "swatchColor": color, "flag": name.lower(), "icon": TYPE_ICON,
                                       "isDefault": position == 0, **stamp}
                                      for position, (name, color) in enumerate(DEFAULT_TYPES)])

    def write(conn: Connection, prepared: tuple[dict[str, Any], list[list[Any]]]) -> None:
        stamp, type_rows = prepared
        types.insert_rows(conn, type_rows)
        brands.insert(conn, {"name": DEFAULT_BRAND, "displayName": DEFAULT_BRAND, "isDefault": True,
                             "primaryColor": DEFAULT_BRAND_COLOR, **stamp})

    return seed_once(database, SETTING, prepare, write)


# --- status changes ----------------------------------------------------------------------------------

def _to_lost(document: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    if document.get("status") == LOST:
        raise Conflict("This document is already marked as lost.")
    if document.get("status") == ACCEPTED:
        raise Conflict("You cannot mark accepted document as lost.")
    return {"status": LOST}


def _to_accepted(document: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    if document.get("status") == ACCEPTED:
        raise Conflict("This document is already accepted.")
    return {"status": ACCEPTED, "acceptedAt": utcnow().strftime("%Y-%m-%d %H:%M:%S"),
            "markedAcceptedById": actor.user_id}


def _to_draft(document: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    # A user may take back an acceptance they marked; one a customer gave (no marking user) stays.
    if document.get("status") == ACCEPTED and not document.get("markedAcceptedById"):
        raise Conflict("Documents signed/accepted by customers cannot be marked as draft.")
    return {"status": DRAFT, "markedAcceptedById": None}


# Concord's DocumentStateController, by the status asked: the values a change writes, or its 409.
STATUS_CHANGES: dict[str, Callable[[Mapping[str, Any], Actor], dict[str, Any]]] = {
    "lost": _to_lost, "accept": _to_accepted, "draft": _to_draft}


def change_status(records: Any, actor: Actor, document_id: int, change: str) -> None:
    """Apply one of STATUS_CHANGES to a document through its record service (edit access required), the
    check and the write in one transaction with the row locked, so two changes cannot both pass it."""
    with records.database.transaction() as conn:
        current = records.load_record(conn, document_id, not_found="Record {id} not found.", lock=True)
        records.check_record(conn, actor, "edit", current)
        records.update_within(conn, actor, document_id, STATUS_CHANGES[change](current, actor))
    records.committed()


# --- deletes refused ---------------------------------------------------------------------------------

class DocumentTypeGuard(TypeGuard):
    """Concord keeps its primary (seeded) types, the default type and types documents use, trashed ones too."""

    noun = "document type"
    used_by = (DOCUMENT_ENTITY, "documentTypeId", "documents")


class BrandGuard:
    """Concord keeps at least one brand (one default at most: the definition's `oneDefault`)."""

    def __init__(self, database: Database, repository: RecordRepository):
        self.repository = repository

    def check_delete(self, conn: Connection, actor: Actor, records: Sequence[Mapping[str, Any]]) -> None:
        leaving = tuple(record["id"] for record in records)
        if not self.repository.count(conn, Compare("id", Op.NOT_IN, leaving)):
            raise Conflict("There must be at least one brand.")


GUARDS = {TYPE_ENTITY: DocumentTypeGuard, BRAND_ENTITY: BrandGuard}
