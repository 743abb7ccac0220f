"""`/api/associations/{resource}/{id}` (specs/concord.md §5, §9 "§5 Associations"): list, attach (PUT), sync
(POST) and detach (DELETE) records of other resources; each change answers the full record.

The body maps association keys to ids (or a comma string, or names). A key the resource cannot associate is
409; when every id of an attach is unknown or unreadable, 403; attaching one id that is already attached, 409.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import (ALREADY_ASSOCIATED, NOT_PERMITTED, answer, conflict, forbidden,
                                               invalid)
from polycrm.dialects.concord.records import record_id, resource_of
from polycrm.dialects.concord.field_readers import Parsed
from polycrm.dialects.concord.view import ResourceView
from polycrm.dialects.concord.writes import resolve

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi


def singular(resource: str) -> str:
    """A resource's model in words, as Concord's 409 names it: `contact`, `company`, `activity`."""
    return resource[:-3] + "y" if resource.endswith("ies") else resource.removesuffix("s")


def listing(api: ConcordApi, request: ConcordRequest) -> Response:
    view = ResourceView.of(api, resource_of(request))
    owner_id = record_id(request)
    api.core.records(view.entity.name).read(request.user, owner_id)
    return answer(view.associations_of(request.user, owner_id))


def attach(api: ConcordApi, request: ConcordRequest) -> Response:
    return _change(api, request, "attach")


def sync(api: ConcordApi, request: ConcordRequest) -> Response:
    return _change(api, request, "sync")


def detach(api: ConcordApi, request: ConcordRequest) -> Response:
    return _change(api, request, "detach")


def _asked(view: ResourceView, request: ConcordRequest) -> dict[str, list[Any]]:
    """Association key -> ids or names, from the body; 409 for a key the resource cannot associate."""
    body = request.body if isinstance(request.body, dict) else {}
    parsed = Parsed()
    for key, value in body.items():
        if key not in view.resource.associations:
            raise conflict(f'The provided resource name "{key}" cannot be associated to '
                           f'{singular(view.resource.name)}.')
        view.reader.association(parsed, key, value)
    if parsed.errors:
        raise invalid(parsed.errors)
    return parsed.associations


def _change(api: ConcordApi, request: ConcordRequest, how: str) -> Response:
    view = ResourceView.of(api, resource_of(request))
    actor, owner_id = request.user, record_id(request)
    records = api.core.records(view.entity.name)
    records.read(actor, owner_id)  # 404 / 403 for the record first
    asked = _asked(view, request)
    if not asked or (how != "sync" and not any(asked.values())):
        raise forbidden(NOT_PERMITTED)
    resolved = {key: resolve(api, request, view, key, items) for key, items in asked.items()}
    if how == "attach" and not any(resolved.values()):
        raise forbidden(NOT_PERMITTED)  # every id unknown or unreadable
    relations = api.core.relations(view.entity.name)
    links = {key: view.resource.associations[key].link for key in resolved}
    if how == "attach" and sum(len(ids) for ids in resolved.values()) == 1:
        (key, ids), = ((k, v) for k, v in resolved.items() if v)
        current = relations.related_ids([owner_id], [links[key]])[links[key]].get(owner_id, [])
        if ids[0] in current:
            raise conflict(ALREADY_ASSOCIATED, pretty=False)
    with api.core.transaction() as conn:
        for key, ids in resolved.items():
            if how == "sync":
                relations.sync_within(conn, actor, owner_id, links[key], ids)
            else:
                relations.change_within(conn, actor, owner_id, links[key],
                                        added=ids if how == "attach" else (), removed=ids if how == "detach" else ())
    records.committed()
    return answer(view.read(actor, owner_id))
