"""The activity types a store starts with: Concord CRM's five (its EnsureActivityTypesArePresent), each
flagged with its lower-cased name, "Task" the default type a new activity gets when none is given.

Seeded once per store, as the default pipeline is (core/pipelines.py): a stored setting says it was done, so
types an administrator removed or renamed do not come back at the next start, and of several processes
starting at once exactly one seeds them.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from polycrm.core.seeding import seed_rows
from polycrm.core.type_guards import TypeGuard
from polycrm.query.tree import Compare, Op, Sort
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


class ActivityTypeGuard(TypeGuard):
    """Activity types: one is the default (Concord keeps its id in one setting); seeded, default and used
    ones stay."""

    noun = "activity type"
    used_by = (TASK_ENTITY, "activityTypeId", "activities")


def default_type_id(conn: Connection, types: RecordRepository) -> int | None:
    """The live type flagged default (the oldest, should several be), or None."""
    rows = types.fetch_rows(conn, Compare("isDefault", Op.EQ, True), attributes=["id"], sorts=[Sort("id")], limit=1)
    return rows[0]["id"] if rows else None


__all__ = ["DEFAULT_FLAG", "DEFAULT_TYPES", "TASK_ENTITY", "TYPE_ENTITY", "ActivityTypeGuard", "default_type_id",
           "ensure_activity_types"]
