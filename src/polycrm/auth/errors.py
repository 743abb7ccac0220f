"""Why a user-management request (users, roles, keys, tokens) cannot be carried out; each caller (a dialect,
the command line) shows it in its own form."""

from __future__ import annotations

from sqlalchemy import false, select
from sqlalchemy.engine import Connection

from polycrm.store.database import Database


class DirectoryError(ValueError):
    """A user-management request cannot be carried out (duplicate name, unknown user, bad input)."""


class NameTaken(DirectoryError):
    """A user or role of that name exists already."""


class UnknownName(DirectoryError):
    """No user or role of that name or id."""


def require_live_user(conn: Connection, database: Database, user_id: int) -> None:
    """Refuse (UnknownName) a credential for a user who does not exist or was deleted, in `conn`'s transaction."""
    users = database.table(database.registry.entity("User").table)
    if conn.execute(select(users.c.id).where(users.c.id == user_id, users.c.deleted == false())).first() is None:
        raise UnknownName(f"No user with id {user_id}.")
