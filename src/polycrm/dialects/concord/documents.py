"""Concord's document status routes (specs/concord.md §2 "Documents"): `POST /api/documents/{id}/lost`,
`/accept` and `/draft` change a document's status (core/documents.py holds the rules and Concord's 409s)
and answer the document as `GET /api/documents/{id}` does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from starlette.responses import Response

from polycrm.core.documents import change_status
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer
from polycrm.dialects.concord.records import record_id
from polycrm.dialects.concord.view import ResourceView

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

RESOURCE = "documents"


def _status_change(change: str) -> Callable[[ConcordApi, ConcordRequest], Response]:
    def handler(api: ConcordApi, request: ConcordRequest) -> Response:
        request.resource = api.mapping.resources[RESOURCE]  # a 404 names the document model
        view = ResourceView.of(api, request.resource)
        document_id = record_id(request)
        records = api.core.records(view.entity.name)
        change_status(records, request.user, document_id, change)
        return answer(view.read(request.user, document_id))

    handler.__name__ = handler.__qualname__ = f"mark_{change}"
    return handler


mark_lost = _status_change("lost")
mark_accepted = _status_change("accept")
mark_draft = _status_change("draft")
