"""Tasks as Concord CRM keeps its activities, whichever protocol writes them (specs/concord.md §4
"Activities"):

- a task whose status becomes Completed gets its completion time (`dateCompleted`, Concord's `completed_at`),
  one that leaves Completed loses it: EspoCRM sets it so too;
- a new task without an activity type gets the default type, as Concord's ActivityObserver gives it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy.engine import Connection

from polycrm.core.activity_types import TASK_ENTITY, TYPE_ENTITY, default_type_id
from polycrm.meta import Entity
from polycrm.store.records import RecordRepository

COMPLETED = "Completed"


class TaskRules:
    """Completes a task's values in its create or update transaction (core/records.py calls it)."""

    def __init__(self, entity: Entity, repositories: Callable[[str], RecordRepository]):
        self.entity = entity
        self.types = repositories(TYPE_ENTITY)

    def complete(self, conn: Connection, current: Mapping[str, Any], record: dict[str, Any],
                 given: Mapping[str, Any], now: datetime) -> None:
        """Complete `record` (the task as it will be saved) in place; `current` is the stored task ({} for a
        new one), `given` what the write names."""
        if record.get("status") != COMPLETED:
            record["dateCompleted"] = None
        elif current.get("status") != COMPLETED or not record.get("dateCompleted"):
            record["dateCompleted"] = now
        if not current and record.get("activityTypeId") is None:
            record["activityTypeId"] = default_type_id(conn, self.types)


__all__ = ["COMPLETED", "TASK_ENTITY", "TaskRules"]
