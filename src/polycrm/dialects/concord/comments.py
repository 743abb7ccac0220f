"""Concord's comments (CommentController, specs/concord.md §2): `GET/POST /api/{resource}/{id}/comments` on the
resources whose mapping has `comments` (activities, calls, notes: their entities' `comments` link) and
`GET/PUT/DELETE /api/comments/{id}`, over the Comment entity (also `/api/v1/Comment`), with the rights of
core.comments: the caller must read the record to list or add its comments; a comment's author (or an
administrator) reads it alone, changes and deletes it (403 otherwise, as Concord's CommentPolicy).

A body is Concord's: `body` (a string, required), and `via_resource`/`via_resource_id`, the record the comment
is made from (one of the resources Concord pipes comments through; required for calls and notes, which are
always made from one): it must exist and be readable (403).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.core.comments import COMMENT_ENTITY, commenter, thread_reader
from polycrm.core.errors import Forbidden, NotFound
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import (answer, forbidden, invalid, no_content, not_found,
                                               record_not_found)
from polycrm.dialects.concord.mapping import Resource
from polycrm.dialects.concord.records import record_id, resource_of
from polycrm.dialects.concord.render import authored, comment_json
from polycrm.dialects.concord.users import render_user
from polycrm.dialects.concord.values import VIA_ID, VIA_RESOURCE, via_errors
from polycrm.query.tree import Compare, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Comments\\App\\Models\\Comment"
NOT_COMMENTABLE = "Comments cannot be added to the provided resource."
VIA_RESOURCES = ("contacts", "companies", "deals", "activities")  # Concord's PipesComments resources
MAX_BODY = 65_535  # a MySQL TEXT column
MAX_THREAD = 1000  # the most comments a record's list shows


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = resource_of(request)
    if not resource.comments:
        raise not_found()
    parent_id = _parent(api, request, resource)
    _via(api, request, resource, request.query)
    query = SearchQuery(where=conjunction([Compare("parentType", Op.EQ, resource.entity_name),
                                           Compare("parentId", Op.EQ, parent_id)]),
                        sorts=[Sort("createdAt"), Sort("id")], limit=MAX_THREAD, total=TotalMode.NONE)
    found = api.core.records(COMMENT_ENTITY).search(thread_reader(request.user), query).records
    return answer(_render_all(api, request, found))


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    resource = resource_of(request)
    if not resource.comments:
        raise not_found(NOT_COMMENTABLE)
    parent_id = _parent(api, request, resource)
    body = _body(request, resource)
    _via(api, request, resource, request.body)
    comment = api.core.records(COMMENT_ENTITY).create(commenter(request.user), {
        "body": body, "parentType": resource.entity_name, "parentId": parent_id})
    return answer(_render_all(api, request, [comment], created=True)[0], 201)


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    return answer(_render_all(api, request, [_comment(api, request)])[0])


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    current = _comment(api, request)
    if not _authored(request, current):
        raise forbidden()
    parent = api.mapping.by_entity.get(current.get("parentType") or "")
    body = _body(request, parent)
    if parent is not None:
        _via(api, request, parent, request.body)
    comment, _ = api.core.records(COMMENT_ENTITY).update(commenter(request.user), current["id"], {"body": body})
    return answer(_render_all(api, request, [comment])[0])


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    current = _comment(api, request)
    if not _authored(request, current):
        raise forbidden()
    api.core.records(COMMENT_ENTITY).delete(commenter(request.user), current["id"])
    return no_content()


def _parent(api: ConcordApi, request: ConcordRequest, resource: Resource) -> int:
    """The commented record's id, once the caller was found to read it (404 naming its model, 403)."""
    parent_id = record_id(request)
    api.core.records(resource.entity_name).read(request.user, parent_id)
    return parent_id


def _comment(api: ConcordApi, request: ConcordRequest) -> dict[str, Any]:
    try:
        return api.core.records(COMMENT_ENTITY).read(commenter(request.user), record_id(request, MODEL))
    except NotFound:
        raise record_not_found(MODEL, request.record_id) from None
    except Forbidden:
        raise forbidden() from None


def _authored(request: ConcordRequest, comment: dict[str, Any]) -> bool:
    return authored(request.user, comment)


def _body(request: ConcordRequest, resource: Resource | None) -> str:
    """The `body` a write sends; 422 in Concord's words (with the via keys' errors, when any)."""
    values = request.body if isinstance(request.body, dict) else {}
    errors = _via_errors(values, resource)
    body = values.get("body")
    if isinstance(body, str):
        body = body.strip()  # Laravel trims input and reads "" as missing
    if body is None or body == "":
        errors = {"body": ["The body field is required."], **errors}
    elif not isinstance(body, str):
        errors = {"body": ["The body field must be a string."], **errors}
    elif len(body) > MAX_BODY:
        errors = {"body": [f"The body field must not be greater than {MAX_BODY} characters."], **errors}
    if not isinstance(request.body, dict):
        errors = {"body": ["The request body must be a JSON object."]}
    if errors:
        raise invalid(errors)
    return body


def _via_errors(values: Any, resource: Resource | None) -> dict[str, list[str]]:
    """Concord's CommentController rules on the via keys: each `required_with` the other, the id also required
    for a resource whose records are always made from another (calls, notes)."""
    if not isinstance(values, dict):
        return {}
    return via_errors(values, VIA_RESOURCES, resource_required=False, worded_with=True,
                      id_required=resource is not None and resource.via_required)


def _via(api: ConcordApi, request: ConcordRequest, resource: Resource, values: Any) -> None:
    """422 for bad via keys; 403 when the via record does not exist or the caller may not read it."""
    errors = _via_errors(values, resource)
    if errors:
        raise invalid(errors)
    if not isinstance(values, dict) or values.get(VIA_RESOURCE) in (None, ""):
        return
    target = api.mapping.resources[values[VIA_RESOURCE]]
    try:
        api.core.records(target.entity_name).read(request.user, int(values[VIA_ID]))
    except (NotFound, Forbidden):
        raise forbidden() from None


def _render_all(api: ConcordApi, request: ConcordRequest, comments: list[dict[str, Any]], *,
                created: bool = False) -> list[dict[str, Any]]:
    """Comments as Concord's CommentResource shows them, each with its author as UserResource."""
    users = api.core.records("User")
    authors: dict[int, dict[str, Any] | None] = {}
    for author_id in {c.get("createdById") for c in comments if c.get("createdById") is not None}:
        try:
            authors[author_id] = render_user(api, request.user, users.read_without_acl(author_id))
        except NotFound:
            authors[author_id] = None
    shown = []
    for comment in comments:
        row = comment_json(comment, request.user, created=created)
        shown.append({key: row[key] for key in ("id", "body", "created_by")}
                     | {"creator": authors.get(comment.get("createdById"))} | row)
    return shown
