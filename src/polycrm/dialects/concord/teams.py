"""Concord's `/api/teams` (its Users module's TeamController: `Route::apiResource('teams')`, the writes behind
the super-admin middleware) over the Team entity, the teams EspoCRM shows at `/api/v1/Team`.

A team's `user_id` is its manager (Team's `manager` link, the team's owner, so a manager reads the team as
Concord lets them) and its `members` the users of Team's `users` link: EspoCRM's team membership, the one a
user's `teams` shows and team-level access reads. Not a generic resource: the index is a bare array by name
(the teams the caller may read: a user without a role on teams reads those they are in or manage, as Concord's
`userTeams` scope), a team is Concord's TeamResource (users as UserResource, the description for super admins
only), PATCH changes one as PUT does, and a write is checked in Laravel's order: the team (404), the caller
(403), the body (422).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from polycrm.auth.acl import Actor
from polycrm.core.errors import Forbidden
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.users import TEAM_ENTITY
from polycrm.dialects.concord.context import MAX_PER_PAGE, ConcordRequest
from polycrm.dialects.concord.envelope import admin_only, answer, forbidden, invalid, no_content
from polycrm.dialects.concord.records import record_id
from polycrm.dialects.concord.user_teams import MANAGER, team_resource
from polycrm.dialects.concord.users import render_user, users_by_id
from polycrm.dialects.concord.field_readers import MAX_IDS, Parsed, as_integer
from polycrm.dialects.concord.values import BodyReader
from polycrm.query.tree import Sort

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MEMBERS, MEMBERS_LINK = "members", "users"  # the request key and Team's link it writes
# Keys a team shows that a client may send back; not written, not named in a warning.
_ECHOED = frozenset({"manager"})


def _team_id(api: ConcordApi, request: ConcordRequest) -> int:
    """The path's team id; its errors are then worded for it (404 naming Concord's Team model)."""
    request.resource = api.mapping.teams
    return record_id(request)


# --- reads ------------------------------------------------------------------------------------------


def index(api: ConcordApi, request: ConcordRequest) -> Response:
    request.resource = api.mapping.teams
    query = SearchQuery(sorts=[Sort("name"), Sort("id")], limit=MAX_PER_PAGE, total=TotalMode.NONE)
    teams = api.core.records(TEAM_ENTITY).search(request.user, query).records
    return answer(_render(api, request.user, teams))


def show(api: ConcordApi, request: ConcordRequest) -> Response:
    team_id = _team_id(api, request)
    try:
        team = api.core.records(TEAM_ENTITY).read(request.user, team_id)
    except Forbidden:
        raise forbidden("") from None  # Concord's bare `abort(403)` for a team the user is not in
    return answer(_render(api, request.user, [team])[0])


def _render(api: ConcordApi, viewer: Actor, teams: list[dict[str, Any]], *, created: bool = False
            ) -> list[dict[str, Any]]:
    """Teams as Concord's TeamResource shows them, their users read in two queries whatever their number."""
    members = api.core.relations(TEAM_ENTITY).related_ids([team["id"] for team in teams], [MEMBERS_LINK])[
        MEMBERS_LINK]
    users = users_by_id(api, viewer, [*(team.get(MANAGER) for team in teams if team.get(MANAGER)),
                                      *(user for ids in members.values() for user in ids)])
    shown = []
    for team in teams:
        manager = users.get(team.get(MANAGER))
        shown.append(team_resource(viewer, team, {
            "manager": render_user(api, viewer, manager) if manager is not None else None,
            "members": [render_user(api, viewer, users[user]) for user in sorted(members.get(team["id"], []))
                        if user in users]}, created=created))
    return shown


# --- writes -----------------------------------------------------------------------------------------


def store(api: ConcordApi, request: ConcordRequest) -> Response:
    request.resource = api.mapping.teams
    team_id = _save(api, request, None)
    return answer(_render(api, request.user, [_stored(api, team_id)], created=True)[0], 201)


def update(api: ConcordApi, request: ConcordRequest) -> Response:
    team_id = _existing(api, request)
    _save(api, request, team_id)
    return answer(_render(api, request.user, [_stored(api, team_id)])[0])


def destroy(api: ConcordApi, request: ConcordRequest) -> Response:
    team_id = _existing(api, request)
    _require_admin(request)
    api.core.records(TEAM_ENTITY).delete(request.user, team_id)
    return no_content()


def _existing(api: ConcordApi, request: ConcordRequest) -> int:
    """The path's team, which must exist whoever asks: Laravel binds it (404) before the super-admin check."""
    team_id = _team_id(api, request)
    _stored(api, team_id)
    return team_id


def _stored(api: ConcordApi, team_id: int) -> dict[str, Any]:
    return api.core.records(TEAM_ENTITY).read_without_acl(team_id)


def _require_admin(request: ConcordRequest) -> None:
    """Concord's `admin` middleware: only super admins (PolyCRM administrators) write teams."""
    if not request.user.is_admin:
        raise admin_only()


def _save(api: ConcordApi, request: ConcordRequest, team_id: int | None) -> int:
    """Create or change a team from the body (TeamRequest: `name` and `user_id` required on PUT too), its
    members replaced when `members` is sent; the team and its membership in one transaction."""
    _require_admin(request)
    actor = request.user
    records = api.core.records(TEAM_ENTITY)
    body = request.body
    if isinstance(body, dict):  # Laravel trims every string of a request (TrimStrings): "  " is no name
        body = {key: value.strip() if isinstance(value, str) else value for key, value in body.items()}
    parsed = BodyReader(api.mapping, api.mapping.teams, records.entity).read(body, creating=True)
    members = _members(parsed, body)
    _check_users(api, actor, parsed, members)
    if parsed.errors:
        raise invalid(parsed.errors)
    ignored = [key for key in parsed.ignored if key != MEMBERS and key not in _ECHOED]
    if ignored:
        request.warnings.append(f"keys ignored (not fields of teams): {', '.join(ignored)}")
    relations = api.core.relations(TEAM_ENTITY)
    with api.core.transaction() as conn:
        if team_id is None:
            team_id = int(records.create_within(conn, actor, parsed.data)["id"])
            relations.change_within(conn, actor, team_id, MEMBERS_LINK, added=members or [])
        else:
            records.update_within(conn, actor, team_id, parsed.data)
            if members is not None:
                relations.sync_within(conn, actor, team_id, MEMBERS_LINK, members)
    records.committed()  # members' rights follow their teams
    return team_id


def _members(parsed: Parsed, body: Any) -> list[int] | None:
    """`members` as TeamRequest checks it (`array`, each `numeric`): user ids, None when not sent."""
    if not isinstance(body, dict) or MEMBERS not in body:
        return None
    value = body[MEMBERS]
    if not isinstance(value, list):
        parsed.fail(MEMBERS, "The members field must be an array.")
        return None
    if len(value) > MAX_IDS:
        parsed.fail(MEMBERS, f"The members field must not have more than {MAX_IDS} items.")
        return None
    ids = []
    for position, item in enumerate(value):
        number = as_integer(item)
        if number is None:
            parsed.fail(f"{MEMBERS}.{position}", f"The members.{position} field must be a number.")
        else:
            ids.append(number)
    return ids


def _check_users(api: ConcordApi, actor: Actor, parsed: Parsed, members: list[int] | None) -> None:
    """The manager and members must be users (Concord 1.4.1 answers 500 for an unknown id, leaving the team
    made without its members); checked once the body is well formed, in one query."""
    if parsed.errors:
        return
    manager = parsed.data.get(MANAGER)
    known = users_by_id(api, actor, [*([manager] if manager is not None else []), *(members or [])])
    if manager is not None and manager not in known:
        parsed.fail("user_id", "The selected user id is invalid.")
    for position, user in enumerate(members or []):
        if user not in known:
            parsed.fail(f"{MEMBERS}.{position}", f"The selected members.{position} is invalid.")
