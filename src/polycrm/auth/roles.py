"""Roles in the store: their per-entity levels, their users, and the assignments `load_actor` merges into a
user's rights. The role half of `auth.directory.UserDirectory` (its base)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import delete, false, insert, select, update
from sqlalchemy.engine import Connection

from polycrm.auth.acl import InvalidRole, validate_scopes
from polycrm.auth.errors import DirectoryError, NameTaken, UnknownName
from polycrm.store.database import utcnow

if TYPE_CHECKING:
    from polycrm.auth.directory import UserDirectory


@dataclass(frozen=True, slots=True)
class RoleInfo:
    id: int
    name: str
    scopes: dict[str, dict[str, str]]
    mass_update: bool
    created_at: datetime
    users: dict[int, str]  # id -> user name


class RoleAdministration:
    """Creating, changing, assigning and deleting roles; a change reaches users' rights at their next request
    (in this process at once, in others within the directory's ACTOR_TTL)."""

    def _scope_table(self: UserDirectory, scopes: Any) -> dict[str, dict[str, str]]:
        try:
            table = validate_scopes(scopes)
        except InvalidRole as exc:
            raise DirectoryError(str(exc)) from None
        for entity in table:
            if entity not in self.database.registry:
                raise DirectoryError(f"Unknown entity '{entity}' in role.")
        return table

    @staticmethod
    def _check_role_name(name: Any) -> str:
        if not isinstance(name, str) or not name.strip() or len(name) > 100 or "\x00" in name:
            raise DirectoryError("Role name must be 1-100 characters.")
        return name

    def create_role(self: UserDirectory, name: str, scopes: dict[str, Any], *, mass_update: bool = True,
                    user_ids: list[int] | None = None) -> int:
        table = self._scope_table(scopes)
        role = self.database.table("role")
        with self.database.transaction() as conn:
            if conn.execute(select(role.c.id).where(role.c.name == self._check_role_name(name))).first():
                raise NameTaken(f"Role '{name}' already exists.")
            role_id = int(conn.execute(insert(role).values(name=name, scopes=orjson.dumps(table).decode(),
                                                           mass_update=mass_update, created_at=utcnow())
                                       .returning(role.c.id)).scalar_one())
            if user_ids:
                self._set_role_users(conn, role_id, user_ids)
        if user_ids:
            self.forget_actors()
        return role_id

    def roles(self: UserDirectory, role_id: int | None = None) -> list[RoleInfo]:
        """Every role by name, or the one with `role_id` (an empty list if there is none)."""
        role, role_user, users = self.database.table("role"), self.database.table("role_user"), self.users.table
        query = select(role).order_by(role.c.name)
        if role_id is not None:
            query = query.where(role.c.id == role_id)
        with self.database.connect() as conn:
            rows = conn.execute(query).all()
            members: dict[int, dict[int, str]] = {}
            for member_role, user_id, user_name in conn.execute(
                    select(role_user.c.role_id, users.c.id, users.c.user_name)
                    .join(users, users.c.id == role_user.c.user_id)
                    .where(role_user.c.role_id.in_([r.id for r in rows]), users.c.deleted == false())
                    .order_by(users.c.user_name)):
                members.setdefault(int(member_role), {})[int(user_id)] = user_name
        return [RoleInfo(int(r.id), r.name, orjson.loads(r.scopes), bool(r.mass_update), r.created_at,
                         members.get(int(r.id), {})) for r in rows]

    def role_id(self: UserDirectory, name: str) -> int:
        role = self.database.table("role")
        with self.database.connect() as conn:
            found = conn.execute(select(role.c.id).where(role.c.name == name)).scalar()
        if found is None:
            raise UnknownName(f"No role '{name}'.")
        return int(found)

    def update_role(self: UserDirectory, role_id: int, *, name: str | None = None, scopes: dict[str, Any] | None = None,
                    mass_update: bool | None = None, user_ids: list[int] | None = None) -> None:
        """Change a role; its users' rights change with their next request (in this process at once, in
        others within `ACTOR_TTL`). `user_ids` replaces the role's users."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = self._check_role_name(name)
        if scopes is not None:
            values["scopes"] = orjson.dumps(self._scope_table(scopes)).decode()
        if mass_update is not None:
            values["mass_update"] = mass_update
        role = self.database.table("role")
        with self.database.transaction() as conn:
            if conn.execute(select(role.c.id).where(role.c.id == role_id).with_for_update()).first() is None:
                raise UnknownName(f"No role with id {role_id}.")
            if name is not None and conn.execute(select(role.c.id).where(role.c.name == name,
                                                                         role.c.id != role_id)).first():
                raise NameTaken(f"Role '{name}' already exists.")
            if values:
                conn.execute(update(role).where(role.c.id == role_id).values(**values))
            if user_ids is not None:
                self._set_role_users(conn, role_id, user_ids)
        self.forget_actors()

    def _set_role_users(self: UserDirectory, conn: Connection, role_id: int, user_ids: list[int]) -> None:
        users = self.users.table
        wanted = set(user_ids)
        found = {int(i) for i in conn.execute(select(users.c.id).where(users.c.id.in_(wanted),
                                                                        users.c.deleted == false())).scalars()}
        if wanted - found:
            raise UnknownName(f"No user with id {min(wanted - found)}.")
        self._replace_assignments(conn, "role_id", role_id, "user_id", wanted)

    def _replace_assignments(self: UserDirectory, conn: Connection, side: str, side_id: int, other: str, wanted: set[int]) -> bool:
        """Make the role_user rows whose `side` column is `side_id` name exactly `wanted` in `other`; True if
        they changed."""
        role_user = self.database.table("role_user")
        current = {int(i) for i in conn.execute(select(role_user.c[other])
                                                .where(role_user.c[side] == side_id)).scalars()}
        if current - wanted:
            conn.execute(delete(role_user).where(role_user.c[side] == side_id,
                                                 role_user.c[other].in_(current - wanted)))
        for other_id in sorted(wanted - current):
            conn.execute(insert(role_user).values({side: side_id, other: other_id}))
        return current != wanted

    def delete_role(self: UserDirectory, role_id: int) -> bool:
        """Remove a role and its assignments; its users lose its rights with their next request."""
        role, role_user = self.database.table("role"), self.database.table("role_user")
        with self.database.transaction() as conn:
            conn.execute(delete(role_user).where(role_user.c.role_id == role_id))
            removed = conn.execute(delete(role).where(role.c.id == role_id)).rowcount
        self.forget_actors()
        return bool(removed)

    def assign_role(self: UserDirectory, user_id: int, role_name: str) -> None:
        role, role_user = self.database.table("role"), self.database.table("role_user")
        with self.database.transaction() as conn:
            role_id = conn.execute(select(role.c.id).where(role.c.name == role_name)).scalar()
            if role_id is None:
                raise UnknownName(f"No role '{role_name}'.")
            exists = conn.execute(select(role_user.c.role_id).where(role_user.c.role_id == role_id,
                                                                    role_user.c.user_id == user_id)).first()
            if not exists:
                conn.execute(insert(role_user).values(role_id=role_id, user_id=user_id))
        self.forget_actors()

    def unassign_role(self: UserDirectory, user_id: int, role_name: str) -> bool:
        """Take a role from a user; False if they did not have it."""
        role_id = self.role_id(role_name)
        role_user = self.database.table("role_user")
        with self.database.transaction() as conn:
            removed = conn.execute(delete(role_user).where(role_user.c.role_id == role_id,
                                                           role_user.c.user_id == user_id)).rowcount
        self.forget_actors()
        return bool(removed)

    def set_user_roles(self: UserDirectory, conn: Connection, user_id: int, role_ids: list[int]) -> bool:
        """Replace a user's roles in the caller's transaction (EspoCRM's `rolesIds`); True if they changed.
        The caller drops cached actors after the commit."""
        role = self.database.table("role")
        wanted = set(role_ids)
        found = {int(i) for i in conn.execute(select(role.c.id).where(role.c.id.in_(wanted))).scalars()}
        if wanted - found:
            raise UnknownName(f"No role with id {min(wanted - found)}.")
        return self._replace_assignments(conn, "user_id", user_id, "role_id", wanted)
