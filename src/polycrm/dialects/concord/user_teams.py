"""Teams as Concord's TeamResource shows them, and a user's `teams` as its UserResource shows them
(HasTeams::allTeams): the live teams the user is in (EspoCRM's team membership, User's `teams` link) or
manages (Team's `manager`), by name, each without its users (Concord loads none there). Every user sees a
user's teams whatever their rights on teams, as Concord shows them (core.users.team_directory_reader); the
description only super admins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from polycrm.auth.acl import Actor
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.users import TEAM_ENTITY, USER_ENTITY, team_directory_reader
from polycrm.dialects.concord.render import concord_datetime
from polycrm.query.tree import Compare, Op, Sort, disjunction

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

MANAGER = "managerId"  # the attribute a team's `user_id` is (teams.json)
MEMBERSHIP = "teams"  # User's link to the teams a user is in
MAX_TEAMS = 10_000  # teams the users of one page are in or manage, read at once
_SHOWN = ["id", "name", "description", MANAGER, "createdAt", "modifiedAt"]


def team_resource(viewer: Actor, team: dict[str, Any], users: dict[str, Any] | None = None, *,
                  created: bool = False) -> dict[str, Any]:
    """One team in TeamResource's key order; `users` (`manager`, `members`) go after `user_id` when loaded."""
    shown: dict[str, Any] = {"id": team["id"], "name": team.get("name")}
    if viewer.is_admin:
        shown["description"] = team.get("description")
    shown["user_id"] = team.get(MANAGER)
    shown.update(users or {})
    shown.update({"created_at": concord_datetime(team.get("createdAt")),
                  "updated_at": concord_datetime(team.get("modifiedAt")), "was_recently_created": created})
    return shown


def teams_of(api: ConcordApi, viewer: Actor, user_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each user's teams (those they are in or manage) as TeamResource rows, by name then id; two queries
    whatever the number of users."""
    wanted = tuple(sorted({int(user) for user in user_ids}))
    if not wanted:
        return {}
    membership = api.core.relations(USER_ENTITY).related_ids(list(wanted), [MEMBERSHIP])[MEMBERSHIP]
    member_of = {team for teams in membership.values() for team in teams}
    where = disjunction([Compare(MANAGER, Op.IN, wanted), *([Compare("id", Op.IN, tuple(sorted(member_of)))]
                                                            if member_of else [])])
    query = SearchQuery(where=where, sorts=[Sort("name"), Sort("id")], limit=MAX_TEAMS, select=_SHOWN,
                        total=TotalMode.NONE)
    teams = api.core.records(TEAM_ENTITY).search_visible(team_directory_reader(viewer), query).records
    members: dict[int, set[int]] = {}
    for user, teams_in in membership.items():
        for team_id in teams_in:
            members.setdefault(team_id, set()).add(user)
    shown: dict[int, list[dict[str, Any]]] = {user: [] for user in wanted}
    for team in sorted(teams, key=lambda item: (item.get("name") or "", item["id"])):  # PHP's sortBy: by code point
        row = team_resource(viewer, team)
        holders = set(members.get(team["id"], ()))
        if team.get(MANAGER) in shown:
            holders.add(team[MANAGER])
        for user in holders:
            shown[user].append(row)
    return shown
