"""Concord's saved filters (FilterController, specs/concord.md §3 "Saved filters"): `GET /api/filters/{identifier}`,
`POST /api/filters`, `PUT/DELETE /api/filters/{id}`, `PUT/DELETE /api/filters/{id}/{view}/default`, and the list
parameters `filter_id` and `with_default_filter` that apply one (records.list_condition).

A filter is a SavedFilter record (core/saved_filters.py: who sees and changes which), its default marks
SavedFilterDefault records of the user who set them. Its rules are Concord's query-builder group, checked when
saved with the list's filter parser against the rules of the resource it names (422 for what a list would
refuse) and parsed again when applied, for the caller (`me`), as a `filters` parameter is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from starlette.responses import Response

from polycrm.auth.acl import Actor
from polycrm.core.saved_filters import (FILTER_DEFAULT, SAVED_FILTER, filter_author, filter_reader,
                                        visible_filters)
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import ConcordError, answer, forbidden, invalid, no_content, record_not_found
from polycrm.dialects.concord.filters import FilterError, parse_filters
from polycrm.dialects.concord.render import concord_datetime
from polycrm.dialects.concord.view import ResourceView
from polycrm.query.tree import Compare, Node, Op, Sort, conjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MODEL = "Modules\\Core\\App\\Models\\Filter"
MAX_FILTERS = 1000  # a resource's filters one user sees, listed at once
MAX_NAME = 191
MAX_VIEW = 100
_TRUE = frozenset({True, 1, "1", "true", "on", "yes"})
_BOOLEANS = {True: True, False: False, 1: True, 0: False, "1": True, "0": False, "true": True, "false": False}
_ATTRIBUTES = ["id", "name", "identifier", "rules", "isShared", "createdById", "createdAt", "modifiedAt"]


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    """`GET /api/filters/{identifier}`: the filters of a resource the caller sees, by name (a bare array)."""
    identifier = request.params["id"]
    rows = _search(api, request.user, Compare("identifier", Op.EQ, identifier[:MAX_VIEW]), MAX_FILTERS)
    defaults = _defaults(api, request.user, [row["id"] for row in rows])
    return answer([_shown(row, request.user, defaults) for row in rows])


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    body = _object(request.body)
    values = _checked(api, request, body, None)
    made = api.core.records(SAVED_FILTER).create(filter_author(request.user), values)
    return answer(_shown(made, request.user, {}, created=True), 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    current = _visible(api, request)
    values = _checked(api, request, _object(request.body), current)  # a FormRequest: before the policy
    _may_change(request.user, current, "updated")
    records = api.core.records(SAVED_FILTER)
    records.update(filter_author(request.user), current["id"], values)
    changed = records.read_without_acl(current["id"], request.user)
    return answer(_shown(changed, request.user, _defaults(api, request.user, [current["id"]])))


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    current = _visible(api, request)
    _may_change(request.user, current, "deleted")
    author = filter_author(request.user)
    for mark in _marks(api, request.user, Compare("savedFilterId", Op.EQ, current["id"])):
        api.core.records(FILTER_DEFAULT).delete(author, mark["id"])
    api.core.records(SAVED_FILTER).delete(author, current["id"])
    return no_content()


def mark_default(api: ConcordApi, request: ConcordRequest) -> Response:
    """`PUT /api/filters/{id}/{view}/default`: the caller's default filter of the view, in place of the one they
    had for it among the resource's filters."""
    current = _visible(api, request)
    view = _view_name(request)
    author = filter_author(request.user)
    same_resource = {row["id"] for row in _search(api, request.user, Compare(
        "identifier", Op.EQ, current["identifier"]), MAX_FILTERS)}
    for mark in _marks(api, request.user, Compare("view", Op.EQ, view)):
        if mark["savedFilterId"] in same_resource:
            api.core.records(FILTER_DEFAULT).delete(author, mark["id"])
    # Linking to a filter shared by another user takes reading it: it was found among those the caller sees.
    api.core.records(FILTER_DEFAULT).create(filter_reader(author), {"savedFilterId": current["id"], "view": view})
    return answer(_shown(current, request.user, _defaults(api, request.user, [current["id"]])))


def unmark_default(api: ConcordApi, request: ConcordRequest) -> Response:
    current = _visible(api, request)
    view = _view_name(request)
    author = filter_author(request.user)
    for mark in _marks(api, request.user, conjunction([Compare("savedFilterId", Op.EQ, current["id"]),
                                                       Compare("view", Op.EQ, view)])):
        api.core.records(FILTER_DEFAULT).delete(author, mark["id"])
    return answer(_shown(current, request.user, _defaults(api, request.user, [current["id"]])))


def saved_rules(api: ConcordApi, request: ConcordRequest, resource: str,
                given: Mapping[str, Any] | None = None) -> Any:
    """The rules a list applies when it has no `filters`: those of `filter_id` (a filter of the resource the
    caller sees: 422 otherwise), else with `with_default_filter` the caller's default filter of the resource's
    view; None for neither. `given`: where the two are read (the query string, or an export's body)."""
    given = request.query if given is None else given
    raw = given.get("filter_id")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw not in (None, ""):
        number = int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 19 else None
        rows = _search(api, request.user, conjunction([
            Compare("id", Op.EQ, number), Compare("identifier", Op.EQ, resource)]), 1) if number else []
        if not rows:
            raise invalid({"filter_id": ["The selected filter id is invalid."]})
        return rows[0].get("rules")
    flag = given.get("with_default_filter")
    if isinstance(flag, (bool, int, str)) and flag in _TRUE:
        marks = _marks(api, request.user, Compare("view", Op.EQ, resource))
        ids = tuple(mark["savedFilterId"] for mark in marks)
        rows = _search(api, request.user, conjunction([Compare("id", Op.IN, ids),
                                                       Compare("identifier", Op.EQ, resource)]), 1) if ids else []
        return rows[0].get("rules") if rows else None
    return None


# --- reading -------------------------------------------------------------------------------------------

def _search(api: ConcordApi, actor: Actor, where: Node, limit: int) -> list[dict[str, Any]]:
    query = SearchQuery(where=conjunction([where, visible_filters(actor)]), sorts=[Sort("name"), Sort("id")],
                        limit=limit, select=_ATTRIBUTES, total=TotalMode.NONE)
    return api.core.records(SAVED_FILTER).search_visible(filter_reader(actor), query).records


def _marks(api: ConcordApi, actor: Actor, where: Node) -> list[dict[str, Any]]:
    """The caller's own default marks matching `where`."""
    query = SearchQuery(where=conjunction([where, Compare("createdById", Op.EQ, actor.user_id)]),
                        sorts=[Sort("id")], limit=MAX_FILTERS, select=["id", "savedFilterId", "view"],
                        total=TotalMode.NONE)
    return api.core.records(FILTER_DEFAULT).search_visible(filter_author(actor), query).records


def _defaults(api: ConcordApi, actor: Actor, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Filter id -> the caller's default marks on it (Concord loads the caller's only)."""
    shown: dict[int, list[dict[str, Any]]] = {}
    if ids:
        for mark in _marks(api, actor, Compare("savedFilterId", Op.IN, tuple(ids))):
            shown.setdefault(mark["savedFilterId"], []).append({"user_id": actor.user_id, "view": mark["view"]})
    return shown


def _visible(api: ConcordApi, request: ConcordRequest) -> dict[str, Any]:
    raw = request.record_id
    number = int(raw) if raw.isdigit() and len(raw) < 19 else 0
    rows = _search(api, request.user, Compare("id", Op.EQ, number), 1) if number else []
    if not rows:
        raise record_not_found(MODEL, raw)
    return rows[0]


def _shown(row: dict[str, Any], actor: Actor, defaults: dict[int, list[dict[str, Any]]], *,
           created: bool = False) -> dict[str, Any]:
    """Concord's FilterResource."""
    author = row.get("createdById")
    system = author is None
    shared = bool(row.get("isShared"))
    owner = author is not None and int(author) == actor.user_id
    rules = row.get("rules")
    return {"id": row["id"], "name": row.get("name"), "identifier": row.get("identifier"),
            "rules": rules if rules is not None else [], "user_id": int(author) if author is not None else None,
            "is_shared": shared, "is_shared_from_another_user": shared and not system and not owner,
            "is_system_default": system, "is_readonly": False, "defaults": defaults.get(row["id"], []),
            "created_at": concord_datetime(row.get("createdAt")), "updated_at": concord_datetime(row.get("modifiedAt")),
            "authorizations": {"update": owner or actor.is_admin, "delete": owner or actor.is_admin},
            "was_recently_created": created}


# --- writing -------------------------------------------------------------------------------------------

def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid({"body": ["The request body must be a JSON object."]})
    return body


def _may_change(actor: Actor, current: dict[str, Any], done: str) -> None:
    """Concord's FilterPolicy (the author; a super admin passes every gate), then its controller's refusals."""
    author = current.get("createdById")
    if not actor.is_admin and (author is None or int(author) != actor.user_id):
        raise forbidden()
    if author is None:
        raise ConcordError(403, {"message": f"Application default filters cannot be {done}."})


def _checked(api: ConcordApi, request: ConcordRequest, body: dict[str, Any],
             current: dict[str, Any] | None) -> dict[str, Any]:
    """Concord's FilterRequest (`name`, `identifier` on create, `is_shared`: required), then the rules, parsed as
    the list of the resource would parse them."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    name = body.get("name")
    name = name.strip() if isinstance(name, str) else name
    if name in (None, ""):
        errors["name"] = ["The name field is required."]
    elif not isinstance(name, str):
        errors["name"] = ["The name field must be a string."]
    elif len(name) > MAX_NAME:
        errors["name"] = [f"The name field must not be greater than {MAX_NAME} characters."]
    else:
        values["name"] = name
    identifier = current["identifier"] if current is not None else body.get("identifier")  # fixed once saved
    if current is None:
        if identifier in (None, ""):
            errors["identifier"] = ["The identifier field is required."]
        elif not isinstance(identifier, str):
            errors["identifier"] = ["The identifier field must be a string."]
        elif api.mapping.resource(identifier) is None:
            errors["identifier"] = ["The selected identifier is invalid."]
        else:
            values["identifier"] = identifier
    shared = body.get("is_shared")
    if shared is None:
        errors["is_shared"] = ["The is shared field is required."]
    elif not isinstance(shared, (bool, int, str)) or shared not in _BOOLEANS:
        errors["is_shared"] = ["The is shared field must be true or false."]
    else:
        values["isShared"] = _BOOLEANS[shared]
    if errors:
        raise invalid(errors)
    if "rules" in body or current is None:
        values["rules"] = _rules(api, request, identifier, body.get("rules"))
    return values


def _rules(api: ConcordApi, request: ConcordRequest, identifier: str, raw: Any) -> dict[str, Any] | None:
    """The rules as stored: one group (a list of rules is its children, as Concord's model keeps it), checked."""
    if raw in (None, "", [], {}):
        return None
    if isinstance(raw, list):
        raw = {"condition": "and", "children": raw}
    if not isinstance(raw, dict):
        raise invalid({"rules": ["The rules must be a query-builder group {condition, children}."]})
    resource = api.mapping.resource(identifier)
    assert resource is not None, "a checked identifier"
    view = ResourceView.of(api, resource)
    try:
        parse_filters(raw, view.rules_for(request.user), view.entity, user_id=request.user.user_id,
                      registry=api.core.registry)
    except FilterError as error:
        raise invalid({"rules" + error.key.removeprefix("filters"): [error.message]}) from None
    return raw


def _view_name(request: ConcordRequest) -> str:
    view = request.params["view"]
    if len(view) > MAX_VIEW:
        raise invalid({"view": [f"The view must not be greater than {MAX_VIEW} characters."]})
    return view
