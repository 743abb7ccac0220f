"""Access control as in EspoCRM: per-entity create/read/edit/delete levels (all/team/own/no) from roles.

A user's levels are the most permissive over their roles; admins have `all` everywhere. A user with no
role has no access (EspoCRM's default), so API users get their rights from the roles they are given, with
two exceptions EspoCRM makes too: everyone reads their own user record and the teams they are in; and one
Concord makes: everyone reads the lists a record names (entities defined `readByEveryone`, e.g. pipelines). Nobody
may edit or delete more than they may read. This module decides levels and conditions; `core.access`
applies them to stored records on every path.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Iterable, Mapping

from polycrm.meta import Entity
from polycrm.query.tree import FALSE, TRUE, Compare, LinkMode, Linked, Node, Op, disjunction

ACTIONS = ("create", "read", "edit", "delete")
LEVELS = ("no", "own", "team", "all")  # ascending
CREATE_LEVELS = ("no", "yes")
# Read levels every user has whatever their roles (EspoCRM's mandatory scope levels): their own user record
# ("own" of User is oneself) and the teams they are in.
MANDATORY_READ = {"User": "own", "Team": "team"}
# The actions roles may grant on these entity types (EspoCRM's `aclActionList`): creating and deleting users
# and changing teams are for administrators.
ACTION_LISTS = {"User": ("read", "edit"), "Team": ("read",), "AuditLogEntry": ()}
# What administrators may do where it is not everything: the audit log is written by the core alone, and
# read by administrators only.
ADMIN_ACTION_LISTS = {"AuditLogEntry": ("read",)}


def _rank(action: str, level: str) -> int:
    return (CREATE_LEVELS if action == "create" else LEVELS).index(level)


class InvalidRole(ValueError):
    """A role's scope table is malformed."""


def validate_scopes(scopes: Any) -> dict[str, dict[str, str]]:
    """Check a role's scope table: {Entity: {create: yes|no, read|edit|delete: all|team|own|no}} or bool."""
    if not isinstance(scopes, dict):
        raise InvalidRole("Role scopes must be an object.")
    table: dict[str, dict[str, str]] = {}
    for entity, levels in scopes.items():
        if isinstance(levels, bool):
            levels = {a: ("yes" if a == "create" else "all") if levels else "no" for a in ACTIONS}
        if not isinstance(levels, dict) or set(levels) - set(ACTIONS):
            raise InvalidRole(f"Bad levels for '{entity}'.")
        for action, level in levels.items():
            allowed = CREATE_LEVELS if action == "create" else LEVELS
            if level not in allowed:
                raise InvalidRole(f"Bad level '{level}' for '{entity}.{action}'.")
        table[entity] = {a: levels.get(a, "no") for a in ACTIONS}
    return table


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an operation: the authenticated user with their teams and merged role levels."""

    user_id: int
    user_name: str
    is_admin: bool
    user_type: str = "regular"
    team_ids: frozenset[int] = frozenset()
    scopes: Mapping[str, Mapping[str, str]] = dataclass_field(default_factory=dict)
    mass_update: bool = False

    def level(self, entity: str, action: str) -> str:
        """The actor's level for an action on an entity type: edit and delete never exceed read."""
        if self.is_admin:
            if action not in ADMIN_ACTION_LISTS.get(entity, ACTIONS):
                return "no"
            return "yes" if action == "create" else "all"
        if action not in ACTION_LISTS.get(entity, ACTIONS):
            return "no"
        levels = self.scopes.get(entity, {})
        if action == "create":
            return levels.get("create", "no")
        read = max(levels.get("read", "no"), MANDATORY_READ.get(entity, "no"), key=LEVELS.index)
        if action == "read":
            return read
        return min(levels.get(action, "no"), read, key=LEVELS.index)

    def can(self, entity: str, action: str) -> bool:
        return self.level(entity, action) != "no"

    def acl_table(self, entities: Iterable[str]) -> dict[str, dict[str, str]]:
        return {e: {a: self.level(e, a) for a in ACTIONS} for e in entities}


def merge_roles(roles: Iterable[Mapping[str, Mapping[str, str]]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for scopes in roles:
        for entity, levels in scopes.items():
            current = merged.setdefault(entity, {a: "no" for a in ACTIONS})
            for action in ACTIONS:
                level = levels.get(action, "no")
                if _rank(action, level) > _rank(action, current[action]):
                    current[action] = level
    return merged


def everyone_reads(entities: Iterable[Entity]) -> dict[str, dict[str, str]]:
    """The levels every user has on lists defined `readByEveryone`, to merge with their roles': read all."""
    return {entity.name: {"read": "all"} for entity in entities if entity.read_by_everyone}


def ownership_condition(actor: Actor, entity: Entity) -> Node:
    """Records the actor owns (see `Entity.owner_attribute`): none where records have no owner."""
    owner = entity.owner_attribute
    return FALSE if owner is None else Compare(owner, Op.EQ, actor.user_id)


def team_condition(actor: Actor, entity: Entity) -> Node:
    """Records in one of the actor's teams: through their `teams` link, or being such a team."""
    teams = tuple(sorted(actor.team_ids))
    if entity.team_attribute is not None:
        return Compare(entity.team_attribute, Op.IN, teams)
    return Linked("teams", LinkMode.ANY, teams) if entity.teams_link is not None else FALSE


def access_condition(actor: Actor, entity: Entity, action: str = "read") -> Node:
    """The filter that limits records to those the actor may `action` (read/edit/delete) at their level."""
    level = actor.level(entity.name, action)
    if level == "all":
        return TRUE
    if level == "no":
        return FALSE
    own = ownership_condition(actor, entity)
    return own if level == "own" else disjunction([own, team_condition(actor, entity)])


def record_allowed(actor: Actor, entity: Entity, action: str, record: Mapping[str, Any],
                   record_team_ids: Iterable[int]) -> bool:
    """Whether the actor may do `action` (read/edit/delete) on this record; `record_team_ids` are the teams
    it is in (needed at the "team" level only)."""
    level = actor.level(entity.name, action)
    if level == "all":
        return True
    if level == "no":
        return False
    owner = entity.owner_attribute
    if owner is not None and record.get(owner) == actor.user_id:
        return True
    if level != "team":
        return False
    if entity.team_attribute is not None:
        return record.get(entity.team_attribute) in actor.team_ids
    return bool(actor.team_ids.intersection(record_team_ids))


def is_own(actor: Actor, entity: Entity, record_id: int) -> bool:
    """Whether the id names the actor's own user record or one of their teams: records they may always
    read, and know to exist (an actor is loaded with them)."""
    return ((entity.owner_attribute == "id" and record_id == actor.user_id)
            or (entity.team_attribute == "id" and record_id in actor.team_ids))


def surely_readable(actor: Actor, entity: Entity, record_id: int) -> bool:
    """Whether the actor may read the record of this id, if it exists, whatever it holds: spares a query
    for the names a record shows of its creator, assignee and teams."""
    return actor.is_admin or actor.level(entity.name, "read") == "all" or is_own(actor, entity, record_id)
