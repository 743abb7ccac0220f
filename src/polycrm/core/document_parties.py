"""A document's signers and recipients (Concord's DocumentSigner rows and its `recipients`), written with the
document in its transaction, by the rules of Concord CRM 1.4.1's DocumentService:

- on create, the signers given are made only when the document requires a signature (a create that gives
  signers and no true `requiresSignature` requires one);
- on update, a document that does not require a signature (any more) loses its signers; otherwise signers
  given are synced by e-mail address: those whose address is not given are deleted, one whose address is
  given is changed (an accepted document's only in `sendEmail`), a new address is added unless the document
  is accepted; removing a signer of an accepted document makes it a draft again (its acceptance undone);
- recipients given replace the document's (none: no recipients).

Signers and recipients are DocumentSigner and DocumentRecipient records (`/api/v1`), parts of their document
(`partOf`): written whatever the caller's rights on their own types, with edit access to the document (the
caller's write of it). PolyCRM sends no e-mail: `sendEmail` is kept as asked and nothing is sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.query.tree import Compare, Op, Sort

SIGNER_ENTITY, RECIPIENT_ENTITY = "DocumentSigner", "DocumentRecipient"
ACCEPTED, DRAFT = "Accepted", "Draft"
_ALL = {"create": "yes", "read": "all", "edit": "all", "delete": "all"}


@dataclass
class PartiesInput:
    """What a write gives: canonical values (`name`, `email`, `sendEmail`) of each signer and recipient;
    None for a list not given (left alone)."""

    signers: list[dict[str, Any]] | None = None
    recipients: list[dict[str, Any]] | None = None


def _parts_actor(actor: Actor) -> Actor:
    return dataclasses.replace(actor, scopes={**actor.scopes, SIGNER_ENTITY: _ALL, RECIPIENT_ENTITY: _ALL})


def parties_of(conn: Connection, services: Callable[[str], Any], entity: str, document_ids: Sequence[int]
               ) -> dict[int, list[dict[str, Any]]]:
    """Document id -> its live signers (SIGNER_ENTITY) or recipients, oldest first: one read for them all."""
    if not document_ids:
        return {}
    rows = services(entity).repository.fetch_rows(
        conn, Compare("documentId", Op.IN, tuple(sorted(set(document_ids)))), sorts=[Sort("id")])
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["documentId"], []).append(row)
    return found


def save_parties_within(conn: Connection, actor: Actor, services: Callable[[str], Any], document_id: int,
                        given: PartiesInput, *, creating: bool) -> None:
    """Write the signers and recipients given, in the caller's transaction, after the document's own write."""
    parts = _parts_actor(actor)
    documents = services("Document")
    document = documents.repository.fetch(conn, document_id, ["id", "status", "requiresSignature"]) or {}
    accepted = document.get("status") == ACCEPTED
    signers = services(SIGNER_ENTITY)
    current = parties_of(conn, services, SIGNER_ENTITY, [document_id]).get(document_id, [])
    if creating:
        if document.get("requiresSignature"):
            for values in given.signers or ():
                signers.create_within(conn, parts, {**values, "documentId": document_id})
    elif not document.get("requiresSignature"):
        for row in current:
            signers.delete_within(conn, parts, row["id"])
    elif given.signers is not None:
        if _sync_signers(conn, parts, signers, document_id, given.signers, current, accepted) and accepted:
            # A signer removed from an accepted document: its acceptance no longer stands (Concord's rule).
            documents.update_within(conn, actor, document_id,
                                    {"status": DRAFT, "acceptedAt": None, "markedAcceptedById": None})
    if given.recipients is not None:
        recipients = services(RECIPIENT_ENTITY)
        for row in parties_of(conn, services, RECIPIENT_ENTITY, [document_id]).get(document_id, []):
            recipients.delete_within(conn, parts, row["id"])
        for values in given.recipients:
            recipients.create_within(conn, parts, {**values, "documentId": document_id})


def _sync_signers(conn: Connection, parts: Actor, signers: Any, document_id: int, given: list[dict[str, Any]],
                  current: list[dict[str, Any]], accepted: bool) -> bool:
    """Sync the signers by address; whether some were removed."""
    merged: dict[str, dict[str, Any]] = {}  # an address given twice is one signer (Concord: updateOrCreate)
    for values in given:
        merged.setdefault(values["email"], {}).update(values)
    by_email: dict[str, Mapping[str, Any]] = {}
    for row in current:
        by_email.setdefault(row["email"], row)
    removed = [row for row in current if row["email"] not in merged]
    for row in removed:
        signers.delete_within(conn, parts, row["id"])
    for email, values in merged.items():
        row = by_email.get(email)
        if row is not None:
            changed = {"sendEmail": bool(values.get("sendEmail"))} if accepted else values
            signers.update_within(conn, parts, row["id"], changed)
        elif not accepted:
            signers.create_within(conn, parts, {**values, "documentId": document_id})
    return bool(removed)
