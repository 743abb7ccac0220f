"""Concord's rules for a list of types that records use (activity types, document types, call outcomes),
checked in the types' write transaction whatever the protocol writes them."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.errors import Conflict
from polycrm.query.tree import Compare, Op
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository


class InUseGuard:
    """A write guard (core/users.WRITE_GUARDS) keeping a record that other records use (deleted ones too:
    they can be restored, and would then name a record that is gone): 409 with `in_use`. Subclasses name
    the using entity and the message."""

    used_by: tuple[str, str, str]  # the entity using it, its attribute naming the record, the users in messages

    def __init__(self, database: Database, types: RecordRepository):
        self.types = types
        entity, self._attribute, self._users_noun = self.used_by
        self._users = RecordRepository(database, database.registry.entity(entity))

    @property
    def in_use(self) -> str:
        return f"The type is already associated with {self._users_noun}, hence, cannot be deleted."

    def check_delete(self, conn: Connection, actor: Actor, types: Sequence[Mapping[str, Any]]) -> None:
        if self._users.matching_ids(conn, Compare(self._attribute, Op.IN, tuple(item["id"] for item in types)),
                                    deleted=None):
            raise Conflict(self.in_use)


class TypeGuard(InUseGuard):
    """A list of types: a seeded (flagged) type, the default one and one that records use are kept, with
    Concord's 409s (one default at most is the definition's `oneDefault`). Subclasses name the type and its
    users."""

    noun: str  # the type in messages: "activity type"

    def check_delete(self, conn: Connection, actor: Actor, types: Sequence[Mapping[str, Any]]) -> None:
        """Concord's refusals, in its order: a seeded type, the default one, one in use."""
        if any(item.get("flag") for item in types):
            raise Conflict(f"You cannot delete primary {self.noun}.")
        if any(item.get("isDefault") for item in types):
            raise Conflict(f"This is a default {self.noun}, hence, cannot be deleted.")
        super().check_delete(conn, actor, types)


__all__ = ["InUseGuard", "TypeGuard"]
