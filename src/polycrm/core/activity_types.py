"""The activity types a store starts with: Concord CRM's five (its EnsureActivityTypesArePresent), each
flagged with its lower-cased name, "Task" the default type a new activity gets when none is given.

Seeded once per store, as the default pipeline is (core/pipelines.py): a stored setting says it was done, so
types an administrator removed or renamed do not come back at the next start, and of several processes
starting at once exactly one seeds them.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from polycrm.auth.acl import Actor
from polycrm.core.errors import Conflict
from polycrm.query.tree import Compare, Not, Op, Sort, conjunction
from polycrm.core.seeding import seed_rows
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository

SETTING = "activityTypes"
TYPE_ENTITY = "ActivityType"
TASK_ENTITY = "Task"
# (name, swatch colour, icon) in Concord 1.4.1's order; its default type is the one flagged "task".
DEFAULT_TYPES = (("Call", "#a3e635", "Phone"), ("Meeting", "#64748b", "Users"), ("Task", "#ffd600", "CheckCircle"),
                 ("Email", "#818cf8", "Mail"), ("Deadline", "#f43f5e", "Clock"))
DEFAULT_FLAG = "task"


def ensure_activity_types(database: Database) -> bool:
    """Seed Concord's activity types unless this store ever had them; whether this call did (core/seeding.py)."""
    return seed_rows(database, SETTING, TYPE_ENTITY, [
        {"name": name, "swatchColor": color, "icon": icon, "flag": name.lower(), "isDefault": name.lower() == DEFAULT_FLAG}
        for name, color, icon in DEFAULT_TYPES])


class ActivityTypeGuard:
    """Concord's rules for activity types, checked in their write transaction whatever the protocol: one type
    is the default (Concord keeps its id in one setting), and a type stays while anything needs it (409)."""

    def __init__(self, database: Database, types: RecordRepository):
        self.types = types
        self.tasks = RecordRepository(database, database.registry.entity(TASK_ENTITY))

    def check_update(self, conn: Connection, actor: Actor, before: Mapping[str, Any], after: Mapping[str, Any]) -> None:
        """A type made the default takes the mark from the others."""
        if after.get("isDefault") and not before.get("isDefault"):
            others = self.types.fetch_rows(conn, conjunction([Compare("isDefault", Op.EQ, True),
                                                              Not(Compare("id", Op.EQ, before["id"]))]),
                                           attributes=["id"])
            for row in others:
                self.types.update(conn, row["id"], {"isDefault": False})

    def check_delete(self, conn: Connection, actor: Actor, types: Sequence[Mapping[str, Any]]) -> None:
        """Concord's refusals, in its order: a seeded (flagged) type, the default one, one activities use
        (deleted ones too: they can be restored)."""
        for item in types:
            if item.get("flag"):
                raise Conflict("You cannot delete primary activity type.")
            if item.get("isDefault"):
                raise Conflict("This is a default activity type, hence, cannot be deleted.")
        if self.tasks.matching_ids(conn, Compare("activityTypeId", Op.IN, tuple(item["id"] for item in types)),
                                   deleted=None):
            raise Conflict("The type is already associated with activities, hence, cannot be deleted.")


def default_type_id(conn: Connection, types: RecordRepository) -> int | None:
    """The live type flagged default (the oldest, should several be), or None."""
    rows = types.fetch_rows(conn, Compare("isDefault", Op.EQ, True), attributes=["id"], sorts=[Sort("id")], limit=1)
    return rows[0]["id"] if rows else None


__all__ = ["DEFAULT_FLAG", "DEFAULT_TYPES", "TASK_ENTITY", "TYPE_ENTITY", "ActivityTypeGuard", "default_type_id",
           "ensure_activity_types"]
