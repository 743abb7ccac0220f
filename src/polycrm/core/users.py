"""Rules that keep an instance administrable, checked on every write to users whatever the protocol: nobody
deletes or deactivates themselves, and nobody demotes, deactivates or deletes the last active
administrator (only the command line could recover from that).

Which user fields only administrators may change (`type`, `isActive`, `teams`, `defaultTeam`) is metadata
(`onlyAdmin`, EspoCRM's entityAcl), enforced by the record service for any entity.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import ACTIONS, CREATE_LEVELS, LEVELS, Actor
from polycrm.core.activity_types import TYPE_ENTITY, ActivityTypeGuard
from polycrm.core.call_outcomes import OUTCOME_ENTITY, CallOutcomeGuard
from polycrm.core.documents import GUARDS as DOCUMENT_GUARDS
from polycrm.core.errors import Forbidden, NotFound
from polycrm.events.outbox import Outbox
from polycrm.query.tree import Compare, Op, conjunction
from polycrm.store.database import Database, utcnow
from polycrm.store.records import RecordRepository

USER_ENTITY = "User"
TEAM_ENTITY = "Team"
ADMIN = "admin"
# The counter whose row lock makes removals of administrators take turns.
ADMIN_GUARD = "user.admin_guard"


def is_active_admin(user: Mapping[str, Any]) -> bool:
    return user.get("type") == ADMIN and bool(user.get("isActive"))


class UserGuard:
    """Checks writes to user records before they are made, inside their transaction."""

    def __init__(self, database: Database, users: RecordRepository):
        self.database = database
        self.users = users

    def check_update(self, conn: Connection, actor: Actor, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """An update of one user, its values `before` and `after` it."""
        if before["id"] == actor.user_id and before.get("isActive") and not after.get("isActive"):
            raise Forbidden("You cannot deactivate yourself.")
        if is_active_admin(before) and not is_active_admin(after):
            self._keep_an_admin(conn, [before["id"]])

    def check_delete(self, conn: Connection, actor: Actor, users: Sequence[Mapping[str, Any]]) -> None:
        if any(user["id"] == actor.user_id for user in users):
            raise Forbidden("You cannot delete yourself.")
        leaving = [user["id"] for user in users if is_active_admin(user)]
        if leaving:
            self._keep_an_admin(conn, leaving)

    def _keep_an_admin(self, conn: Connection, leaving: Sequence[int]) -> None:
        """Forbidden unless an active administrator outside `leaving` remains. Transactions that may remove
        one take turns (each holds a counter row's lock until it commits), so two of them each demoting one
        of the last two cannot both count the other: the second counts after the first committed. A lock of
        the administrators' rows instead would deadlock against the row each already holds."""
        self.database.next_value(conn, ADMIN_GUARD)
        admins = self.users.fetch_rows(conn, conjunction([Compare("type", Op.EQ, ADMIN),
                                                          Compare("isActive", Op.EQ, True)]), attributes=["id"])
        if not [row for row in admins if row["id"] not in leaving]:
            raise Forbidden("The last active administrator cannot be removed, deactivated or demoted.")


# What a product lets every user do with records of their own (comments, saved filters, imports): make them,
# and read, change and delete those they made.
AUTHOR_LEVELS: Mapping[str, str] = {"create": "yes", "read": "own", "edit": "own", "delete": "own"}


def with_levels(actor: Actor, entity: str, minimum: Mapping[str, str]) -> Actor:
    """The actor with at least these levels (action -> level) on one entity type, nothing else widened: how a
    protocol gives what its product gives every user whatever their roles (administrators are unchanged)."""
    if actor.is_admin:
        return actor
    levels = dict(actor.scopes.get(entity, {}))
    for action, level in minimum.items():
        ranks = CREATE_LEVELS if action == "create" else LEVELS
        if ranks.index(levels.get(action, "no")) < ranks.index(level):
            levels[action] = level
    return replace(actor, scopes={**actor.scopes, entity: {action: levels.get(action, "no") for action in ACTIONS}})


def directory_reader(actor: Actor) -> Actor:
    """The caller as it reads users through a protocol whose product shows every user to every user (Concord
    CRM's UserPolicy allows viewAny and view to all): read of every user record, nothing else widened."""
    return with_levels(actor, USER_ENTITY, {"read": "all"})


def team_directory_reader(actor: Actor) -> Actor:
    """The caller as it reads the teams users are in or manage through a protocol whose product shows a user's
    teams to every user (Concord CRM's UserResource): read of every team record, nothing else widened."""
    return with_levels(actor, TEAM_ENTITY, {"read": "all"})


def profile_editor(actor: Actor) -> Actor:
    """The caller as it changes its own user record through a protocol whose product lets every user edit
    their profile (Concord CRM's `PUT /api/profile`): read and edit of their own user record at least; the
    fields only administrators change (`onlyAdmin`) stay theirs, nothing else is widened."""
    return with_levels(actor, USER_ENTITY, {"read": "own", "edit": "own"})


# Who acts in the command line's changes of users: an administrator who is no user (so never "yourself").
COMMAND_LINE = Actor(user_id=0, user_name="(command line)", is_admin=True, user_type="admin")


def set_user_active(database: Database, user_name: str, active: bool) -> bool:
    """Activate or deactivate a user from the command line, under the rules the APIs follow (the last
    active administrator stays active); records the change and its webhook event as an update through an
    API would. False if the user already was so."""
    users = RecordRepository(database, database.registry.entity(USER_ENTITY))
    with database.transaction() as conn:
        rows = users.fetch_rows(conn, conjunction([Compare("userName", Op.EQ, user_name),
                                                   Compare("deleted", Op.EQ, False)]),
                                attributes=["id", "type", "isActive", "versionNumber"], lock=True)
        if not rows:
            raise NotFound(f"No user '{user_name}'.")
        before = rows[0]
        if bool(before.get("isActive")) == active:
            return False
        UserGuard(database, users).check_update(conn, COMMAND_LINE, before, dict(before, isActive=active))
        users.update(conn, before["id"], {"isActive": active, "modifiedAt": utcnow(),
                                          "versionNumber": (before.get("versionNumber") or 0) + 1})
        Outbox(database).updated(conn, USER_ENTITY, None, before["id"], before, {"isActive": active})
    return True


# The guards of entity types whose records need more than access levels to change, by entity name.
WRITE_GUARDS: dict[str, Any] = {USER_ENTITY: UserGuard, TYPE_ENTITY: ActivityTypeGuard,
                                OUTCOME_ENTITY: CallOutcomeGuard, **DOCUMENT_GUARDS}
# Attributes no two live records of a type share, by entity name: users log in by name (auth.directory
# refuses a taken one as users are made), so restoring a deleted user must not bring back a second one.
LIVE_UNIQUE_ATTRIBUTES = {USER_ENTITY: ("userName",)}
# Entity types whose records make up users' rights (type, activity, teams): a change of one drops the rights
# a server process caches (at once in the process that made it, within `ACTOR_TTL` in the others).
RIGHTS_ENTITIES = frozenset({USER_ENTITY, "Team"})
