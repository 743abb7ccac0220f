"""CSV imports (the Import entity: the uploaded file's name, the resource it fills, its `status` (`mapping`,
`finished`), the counts, `data` (the headings, the rows not yet imported, the column mappings, the ids of the
records it created, the rows it skipped and why) and its author in `createdBy`), with the rights Concord CRM
gives them whatever a user's roles: every user who may create records of a resource imports into it and
reads their own imports, an administrator reads all; only the author runs, reverts or deletes one (Concord's
ImportPolicy: administrators included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.users import AUTHOR_LEVELS, with_levels
from polycrm.query.tree import Compare, Op

if TYPE_CHECKING:
    from polycrm.core.records import RecordService

IMPORT_ENTITY = "Import"


def import_author(actor: Actor) -> Actor:
    """The caller as an imports' author: keeps imports, changes and deletes their own."""
    return with_levels(actor, IMPORT_ENTITY, AUTHOR_LEVELS)


def import_finder(actor: Actor) -> Actor:
    """The caller looking an import up by id: found whoever its author (Concord's findOrFail), the author
    check comes after (403, not 404)."""
    return with_levels(actor, IMPORT_ENTITY, {"read": "all"})


def claim_within(service: RecordService, conn: Connection, import_id: int, position: int) -> dict[str, Any] | None:
    """Lock the import's row for the transaction that runs its next batch, and return it if that batch still
    starts at `position` (None otherwise): two calls running one batch at once would otherwise both write its
    rows; the second finds the import moved on or finished."""
    rows = service.repository.fetch_rows(conn, Compare("id", Op.EQ, import_id),
                                         attributes=["id", "status", "duplicates", "data"], lock=True)
    if not rows or rows[0]["status"] == "finished" or (rows[0]["data"] or {}).get("position", 0) != position:
        return None
    return rows[0]
