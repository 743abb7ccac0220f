"""The generic resource endpoints (specs/concord.md §2): index, show, store, update, destroy, search, rules
and associated lists, for every resource of `resources/`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.billables import shown_billable
from polycrm.dialects.concord.context import MAX_PER_PAGE, ConcordRequest
from polycrm.dialects.concord.envelope import answer, conflict, forbidden, invalid, no_content, not_found, record_not_found
from polycrm.dialects.concord.filters import FilterError, parse_filters, rules_listing
from polycrm.dialects.concord.listing import SearchFieldsRejected, parse_order, parse_search, parse_select
from polycrm.dialects.concord.mapping import Resource
from polycrm.dialects.concord.media_view import shown_media
from polycrm.dialects.concord.pages import PageLinks, page_number, page_size, paginated, take_count
from polycrm.dialects.concord.saved_filters import saved_rules
from polycrm.dialects.concord.view import ResourceView
from polycrm.dialects.concord.writes import save
from polycrm.query.tree import Compare, Node, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

# Concord reads a path id as MySQL casts a string: its leading digits (`1abc` is 1).
_LEADING_DIGITS = re.compile(r"\d{1,18}")


def record_id(request: ConcordRequest, model: str | None = None) -> int:
    """The path's id; 404 naming `model` (by default the resource's) when it has none."""
    assert model is not None or request.resource is not None
    return path_number(request.record_id, model or request.resource.model)


def path_number(raw: str, model: str) -> int:
    """A path segment as MySQL casts a string to an id (its leading digits); 404 naming `model` without."""
    match = _LEADING_DIGITS.match(raw)
    number = int(match.group(0)) if match else 0
    if number < 1:
        raise record_not_found(model, raw)
    return number


def resource_of(request: ConcordRequest) -> Resource:
    assert request.resource is not None, "a resource route"
    return request.resource


def search_condition(request: ConcordRequest, view: ResourceView) -> Node:
    """`q` (with `search_fields`, `search_match`) alone as a canonical condition (TRUE without one): what a
    list whose parts are of several resources (the timeline) can search them all by."""
    return list_condition(None, request, view)


def list_condition(api: ConcordApi | None, request: ConcordRequest, view: ResourceView) -> Node:
    """`q` (with `search_fields`, `search_match`) and `filters` (not read without `api`), as one canonical
    condition."""
    conditions: list[Node] = []
    try:
        q = request.text("q")
        if q:
            conditions.append(parse_search(q, request.text("search_fields"), request.text("search_match"),
                                           view.search_columns, view.entity))
        filters = request.query.get("filters") if api is not None else None
        if api is not None and filters in (None, ""):  # a saved filter only for a list without rules of its own
            filters = saved_rules(api, request, view.resource.name)
        if api is not None and filters not in (None, ""):
            conditions.append(parse_filters(filters, view.rules_for(request.user), view.entity,
                                            user_id=request.user.user_id, registry=api.core.registry))
    except FilterError as error:
        raise invalid({error.key: [error.message]}) from None
    except SearchFieldsRejected as error:
        raise forbidden("None of the search fields were accepted. Acceptable search fields are: "
                        + ",".join(error.accepted)) from None
    return conjunction(conditions)


def list_order(request: ConcordRequest, view: ResourceView, order: str | None = None) -> list[Sort]:
    """`order` asked, else `order` given (an association's own), else the resource's default."""
    default = [Sort(order or view.resource.order)]
    try:
        sorts = parse_order(request.query.get("order"), view.sortable(), default)
    except FilterError as error:
        raise invalid({error.key: [error.message]}) from None
    return [*sorts, Sort("id")]  # a stable order across pages


def selected_keys(request: ConcordRequest, view: ResourceView) -> list[str] | None:
    try:
        return parse_select(request.text("select"), view.keys())
    except FilterError as error:
        raise invalid({error.key: [error.message]}) from None


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    return answer(page_of(api, request, view, list_condition(api, request, view)))


def page_of(api: ConcordApi, request: ConcordRequest, view: ResourceView, where: Node,
            order: str | None = None) -> dict[str, Any]:
    """One page of records matching `where`, in the paginator envelope."""
    per_page, page = page_size(request), page_number(request)
    select = selected_keys(request, view)
    query = SearchQuery(where=where, sorts=list_order(request, view, order), offset=(page - 1) * per_page,
                        limit=per_page, select=view.attributes(), total=TotalMode.COUNT,
                        related=view.counted_links)
    result = api.core.records(view.entity.name).search(request.user, query)
    rows = view.index_rows(request.user, result.records, select=select, with_=request.text("with"),
                           related_ids=result.related)
    return paginated(rows, total=result.total or 0, page=page, per_page=per_page, links=PageLinks(request))


def search(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/{resource}/search?q=`: every match (up to `take`), a bare array of index rows."""
    view = ResourceView.of(api, resource_of(request))
    limit = take_count(request, MAX_PER_PAGE, MAX_PER_PAGE)
    where = list_condition(api, request, view) if request.text("q") or request.query.get("filters") else None
    if where is None:
        return answer([])
    query = SearchQuery(where=where, sorts=list_order(request, view), limit=limit, select=view.attributes(),
                        total=TotalMode.NONE, related=view.counted_links)
    result = api.core.records(view.entity.name).search(request.user, query)
    return answer(view.index_rows(request.user, result.records, with_=request.text("with"),
                                  related_ids=result.related))


def rules(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    return answer(rules_listing(view.rules_for(request.user), view.rule_labels(),
                                options=view.rule_choices(request.user)))


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    return answer(_single(api, request, view, record_id(request)))


def _single(api: ConcordApi, request: ConcordRequest, view: ResourceView, shown_id: Any,
            created: bool = False) -> dict[str, Any]:
    shown = view.read(request.user, shown_id, created=created, with_=request.text("with"))
    shown_billable(api, request, shown)
    shown_media(api, request, shown)
    return shown


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    new_id = save(api, request, view, None)
    return answer(_single(api, request, view, new_id, True), 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    save(api, request, view, record_id(request))
    return answer(_single(api, request, view, record_id(request)))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    records = api.core.records(view.entity.name)
    shape = view.resource.shape
    if shape is not None and shape.primary_kept is not None:  # Concord keeps its primary pipeline
        if records.read(request.user, record_id(request)).get(shape.primary) is not None:
            raise conflict(shape.primary_kept)
    records.delete(request.user, record_id(request))
    return no_content()


def associated(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/{resource}/{id}/{associated}`: the associated records, paginated."""
    resource = resource_of(request)
    association = resource.associations.get(request.params["associated"])
    if association is None:
        raise not_found()
    owner_id = record_id(request)
    api.core.records(resource.entity_name).read(request.user, owner_id)  # 404/403 for the owner first
    target = ResourceView.of(api, api.mapping.resources[association.resource])
    related = api.core.relations(resource.entity_name).related_ids([owner_id], [association.link])
    ids = tuple(related[association.link].get(owner_id, []))
    where = conjunction([Compare("id", Op.IN, ids), list_condition(api, request, target)])
    return answer(page_of(api, request, target, where, association.order))
