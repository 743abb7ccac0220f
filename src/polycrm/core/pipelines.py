"""The pipeline a store starts with: Concord CRM's default, "Sales Pipeline" flagged `default` with its five
stages (Concord's EnsureDefaultPipelineIsPresent), so that a Concord client can create deals on a new
install as it could on Concord's own.

Seeded once per store, when a server or command first opens it (app.build_core; core/seeding.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from polycrm.core.seeding import seed_once
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository

SETTING = "pipelines"
PIPELINE_ENTITY = "Pipeline"
STAGE_ENTITY = "PipelineStage"
DEFAULT_PIPELINE = "Sales Pipeline"
DEFAULT_FLAG = "default"  # Concord's Pipeline::PRIMARY_FLAG
# (name, win probability) in display order, as Concord 1.5.1 seeds them.
DEFAULT_STAGES = (("Qualified To Buy", 100), ("Contact Made", 100), ("Presentation Scheduled", 100),
                  ("Proposal Made", 100), ("Appointment Scheduled", 100))


def ensure_default_pipeline(database: Database) -> bool:
    """Seed the default pipeline unless this store ever had it; whether this call did."""
    registry = database.registry
    pipelines = RecordRepository(database, registry.entity(PIPELINE_ENTITY))
    stages = RecordRepository(database, registry.entity(STAGE_ENTITY))

    def prepare(stamp: dict[str, Any]) -> tuple[dict[str, Any], list[list[Any]]]:
        # Every server and test store starts here: the stages go in one statement.
        return stamp, stages.new_rows([{"name": name, "winProbability": probability, "displayOrder": order, **stamp}
                                       for order, (name, probability) in enumerate(DEFAULT_STAGES, start=1)])

    def write(conn: Connection, prepared: tuple[dict[str, Any], list[list[Any]]]) -> None:
        stamp, stage_rows = prepared
        pipeline_id = pipelines.insert(conn, {"name": DEFAULT_PIPELINE, "flag": DEFAULT_FLAG, "displayOrder": 1,
                                              **stamp})
        stages.insert_rows(conn, stage_rows, {"pipelineId": [pipeline_id] * len(stage_rows)})

    return seed_once(database, SETTING, prepare, write)


__all__ = ["DEFAULT_FLAG", "DEFAULT_PIPELINE", "DEFAULT_STAGES", "ensure_default_pipeline"]
