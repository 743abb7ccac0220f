"""`GET /api/search?q=` (specs/concord.md §9 "§2 Resource endpoints"): one group per resource the caller may
read, each with its matches as `{id, path, display_name, created_at, resourceName}`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer
from polycrm.dialects.concord.listing import parse_search
from polycrm.dialects.concord.pages import take_count
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.view import ResourceView
from polycrm.query.tree import Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

PER_GROUP = 5  # matches per resource unless `take` says otherwise
MAX_PER_GROUP = 100


def global_search(api: ConcordApi, request: ConcordRequest) -> Response:
    q = (request.text("q") or "").strip()
    if not q:  # Concord answers no groups at all without a query
        return answer([])
    limit = take_count(request, PER_GROUP, MAX_PER_GROUP)
    only = _only(request.query.get("only"))
    groups = []
    for name, resource in sorted(api.mapping.resources.items(), key=lambda item: item[1].label_plural):
        view = ResourceView.of(api, resource)
        if not resource.global_search or not request.user.can(view.entity.name, "read") \
                or (only and name not in only):
            continue
        where = parse_search(q, None, None, view.search_columns, view.entity)
        query = SearchQuery(where=where, sorts=[Sort(resource.order), Sort("id")], limit=limit,
                            select=["id", resource.title, "createdAt"], total=TotalMode.NONE)
        found = api.core.records(view.entity.name).search(request.user, query).records
        groups.append({"title": resource.label_plural, "resource_name": name, "icon": resource.icon,
                       "action": resource.search_action,
                       "data": [{"id": r["id"], "path": resource.path(r["id"]), "display_name": r.get(resource.title),
                                 "created_at": concord_datetime(r.get("createdAt")), "resourceName": name}
                                for r in found]})
    return answer(groups)


def _only(value: object) -> set[str]:
    """`only` (`only=contacts`, `only[]=contacts&only[]=deals`): the resources to search, all when empty."""
    if isinstance(value, str):
        return {value}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return {item for item in items if isinstance(item, str)}
