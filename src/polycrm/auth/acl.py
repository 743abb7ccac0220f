"""Access control as in EspoCRM: per-entity create/read/edit/delete levels (all/team/own/no) from roles.

A user's levels are the most permissive over their roles; admins have `all` everywhere. A user with no
role has no access (EspoCRM's default), so API users get their rights from the roles they are given.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Iterable, Mapping

from polycrm.query.tree import FALSE, TRUE, Compare, LinkMode, Linked, Node, Op, disjunction

ACTIONS = ("create", "read", "edit", "delete")
LEVELS = ("no", "own", "team", "all")  # ascending
CREATE_LEVELS = ("no", "yes")


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
        if self.is_admin:
            return "yes" if action == "create" else "all"
        return self.scopes.get(entity, {}).get(action, "no")

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


def ownership_condition(actor: Actor, owner_attribute: str | None) -> Node:
    """Records the actor owns (see `Entity.owner_attribute`): none where records have no owner."""
    return FALSE if owner_attribute is None else Compare(owner_attribute, Op.EQ, actor.user_id)


def read_filter(actor: Actor, entity_name: str, owner_attribute: str | None, has_teams: bool,
                action: str = "read") -> Node:
    """The filter that limits a list to what the actor may see (or edit/delete) at their level."""
    level = actor.level(entity_name, action)
    if level == "all":
        return TRUE
    if level == "no":
        return FALSE
    own = ownership_condition(actor, owner_attribute)
    if level == "own" or not has_teams:
        return own
    return disjunction([own, Linked("teams", LinkMode.ANY, tuple(sorted(actor.team_ids)))])


def record_allowed(actor: Actor, entity_name: str, action: str, record: Mapping[str, Any],
                   owner_attribute: str | None, record_team_ids: Iterable[int]) -> bool:
    """Whether the actor may do `action` (read/edit/delete) on this record."""
    level = actor.level(entity_name, action)
    if level == "all":
        return True
    if level == "no":
        return False
    if owner_attribute is not None and record.get(owner_attribute) == actor.user_id:
        return True
    return level == "team" and bool(actor.team_ids.intersection(record_team_ids))
