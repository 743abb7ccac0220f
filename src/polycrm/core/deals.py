"""Deals: Opportunity records as Concord CRM keeps them, whichever protocol writes them (specs/concord.md §4
"Deals", §9). A deal sits on a stage of a pipeline and is open, won or lost:

- its pipeline is its stage's (Concord derives `pipeline_id` from `stage_id`); naming another pipeline in the
  same write is refused;
- its probability follows its stage's win probability when the stage changes (or the deal reopens), unless
  the write gives one;
- won and lost set the time of it and EspoCRM's `stage` ("Closed Won", "Closed Lost") and probability
  (100, 0); open clears them. EspoCRM's `stage` set to a closed stage sets the status too, so both protocols
  read the same deal;
- a lost deal has a lost reason (Concord's default setting), and only a lost one keeps it;
- a won deal cannot become lost, nor a lost one won, without being opened first: Concord's 409.

The last two are Concord's rules for a status a client sets: a deal EspoCRM closes through `stage` may be
lost without a reason and may go from won to lost at once, as EspoCRM allows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy.engine import Connection

from polycrm.core.errors import Conflict, ValidationFailure
from polycrm.core.pipelines import STAGE_ENTITY
from polycrm.meta import Entity
from polycrm.store.records import RecordRepository

DEAL_ENTITY = "Opportunity"
OPEN, WON, LOST = "open", "won", "lost"
# EspoCRM's stage of a closed deal, and the probability closing gives it.
CLOSED_STAGES = {WON: "Closed Won", LOST: "Closed Lost"}
CLOSED_PROBABILITY = {WON: 100, LOST: 0}
STATUS_OF_STAGE = {stage: status for status, stage in CLOSED_STAGES.items()}


def locked_status(status: str) -> Conflict:
    """Concord's answer (409) to a won deal marked lost or a lost one marked won."""
    return Conflict(f'The deal first must be marked as open in order to apply the "{status}" status.')


class DealRules:
    """Completes a deal's values in its create or update transaction (core/records.py calls it)."""

    def __init__(self, entity: Entity, repositories: Callable[[str], RecordRepository]):
        self.entity = entity
        self.stages = repositories(STAGE_ENTITY)
        # Where a reopened deal goes back to when EspoCRM's stage says closed: the stage new deals get.
        self.open_stage = entity.fields["stage"].params.get("default")

    def complete(self, conn: Connection, current: Mapping[str, Any], record: dict[str, Any],
                 given: Mapping[str, Any], now: datetime) -> None:
        """Complete `record` (the deal as it will be saved) in place. `current` is the stored deal ({} for a
        new one), `given` what the write names: only what it changes counts as asked (a client may send a
        whole record back). ValidationFailure or Conflict when the write cannot be."""
        asked = {name for name, value in given.items() if value != current.get(name)}
        # A deal saved before deals had a status has the one EspoCRM's stage implies.
        before = current.get("status") or STATUS_OF_STAGE.get(current.get("stage") or "", OPEN)
        after = self._status(record, before, asked)
        record["status"] = after
        if after != before:
            self._close_or_open(record, after, asked, now)
        if after != LOST:
            record["lostReason"] = None
        elif asked & {"status", "lostReason"} and not record.get("lostReason"):
            raise self._fail("lostReason", "required")
        if "pipelineStageId" in asked and current:
            record["stageChangedAt"] = now
        reopened = after == OPEN != before
        if record.get("pipelineStageId") is not None and (asked & {"pipelineStageId", "pipelineId"} or reopened):
            self._follow_stage(conn, record, asked, reopened)

    def _status(self, record: dict[str, Any], before: str, asked: set[str]) -> str:
        """The status the deal will have: the one the write sets (not straight from won to lost or back), or
        else the one EspoCRM's stage implies when the write changes the stage."""
        stage_status = STATUS_OF_STAGE.get(record.get("stage") or "", OPEN)
        if "status" not in asked:
            return stage_status if "stage" in asked else before
        after = record.get("status") or OPEN
        if before != OPEN and after not in (OPEN, before):
            raise locked_status(after)
        if "stage" in asked and stage_status != after:
            raise self._fail("stage", "valid", f"The stage does not agree with the status '{after}'.")
        return after

    def _close_or_open(self, record: dict[str, Any], status: str, asked: set[str], now: datetime) -> None:
        """What a change of status changes with it (Concord's DealObserver::saving)."""
        if status == OPEN:
            record.update(wonDate=None, lostDate=None)
            if record.get("stage") in STATUS_OF_STAGE:
                record["stage"] = self.open_stage
            return
        record.update(stage=CLOSED_STAGES[status], wonDate=now if status == WON else None,
                      lostDate=now if status == LOST else None)
        if "probability" not in asked:
            record["probability"] = CLOSED_PROBABILITY[status]

    def _follow_stage(self, conn: Connection, record: dict[str, Any], asked: set[str], reopened: bool) -> None:
        """The deal's pipeline is its stage's; its probability the stage's when it moves there open (or
        reopens there). A stage that does not exist is left to the reference check, which names it."""
        stage = self.stages.fetch(conn, record["pipelineStageId"], ["pipelineId", "winProbability"])
        if stage is None:
            return
        moved = "pipelineStageId" in asked
        if "pipelineId" in asked and record.get("pipelineId") != stage["pipelineId"]:
            raise self._fail("pipelineStage" if moved else "pipeline", "valid",
                             "The stage belongs to another pipeline.")
        record["pipelineId"] = stage["pipelineId"]
        if (moved or reopened) and record["status"] == OPEN and "probability" not in asked:
            record["probability"] = stage["winProbability"]

    def _fail(self, field: str, kind: str, detail: str = "") -> ValidationFailure:
        return ValidationFailure(self.entity.name, field, kind, detail)


__all__ = ["DEAL_ENTITY", "DealRules", "LOST", "OPEN", "WON", "locked_status"]
