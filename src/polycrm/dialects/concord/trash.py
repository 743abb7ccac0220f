"""`/api/trashed/{resource}` (specs/concord.md §2, §9 "DELETE"): deleted records listed, read, restored
(the same id, live again) and deleted for good."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.trash import TrashService
from polycrm.dialects.concord.context import MAX_PER_PAGE, ConcordRequest
from polycrm.dialects.concord.envelope import answer, no_content
from polycrm.dialects.concord.pages import PageLinks, page_number, page_size, paginated
from polycrm.dialects.concord.records import list_condition, list_order, record_id, resource_of
from polycrm.dialects.concord.view import ResourceView

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    per_page, page = page_size(request), page_number(request)
    query = SearchQuery(where=list_condition(api, request, view), sorts=list_order(request, view),
                        offset=(page - 1) * per_page, limit=per_page, select=view.attributes())
    result = api.core.trash(view.entity.name).search(request.user, query)
    rows = view.index_rows(request.user, result.records)
    return answer(paginated(rows, total=result.total or 0, page=page, per_page=per_page, links=PageLinks(request)))


def search(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    if not request.text("q"):
        return answer([])
    query = SearchQuery(where=list_condition(api, request, view), sorts=list_order(request, view),
                        limit=MAX_PER_PAGE, select=view.attributes(), total=TotalMode.NONE)
    result = api.core.trash(view.entity.name).search(request.user, query)
    return answer(view.index_rows(request.user, result.records))


def _trash(api: ConcordApi, request: ConcordRequest) -> tuple[ResourceView, TrashService]:
    view = ResourceView.of(api, resource_of(request))
    return view, api.core.trash(view.entity.name)


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    view, trash = _trash(api, request)
    return answer(view.single(request.user, trash.read(request.user, record_id(request))))


def restore(api: ConcordApi, request: ConcordRequest) -> Response:
    view, trash = _trash(api, request)
    return answer(view.single(request.user, trash.restore(request.user, record_id(request))))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    _trash(api, request)[1].destroy(request.user, record_id(request))
    return no_content()


def empty(api: ConcordApi, request: ConcordRequest) -> Response:
    _trash(api, request)[1].empty(request.user)
    return no_content()
