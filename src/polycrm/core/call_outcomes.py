"""The call outcomes a store starts with: Concord CRM's defaults (its EnsureCallOutcomesArePresent), so that
a Concord client can log a call on a new install, which needs an outcome. Seeded once per store when a server
or command first opens it (app.build_core; core/seeds.py)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from polycrm.core.seeds import new_stamp, seed_once
from polycrm.store.database import Database
from polycrm.store.records import RecordRepository

SETTING = "callOutcomes"
OUTCOME_ENTITY = "CallOutcome"
# (name, swatch colour) in Concord's order.
DEFAULT_OUTCOMES = (("No Answer", "#f43f5e"), ("Busy", "#f43f5e"), ("Wrong Number", "#8898aa"),
                    ("Unavailable", "#8898aa"), ("Left voice message", "#ffd600"),
                    ("Moved conversation forward", "#a3e635"))


def ensure_default_call_outcomes(database: Database) -> bool:
    """Seed the default outcomes unless this store ever had them; whether this call did. Written straight to
    the table, as a new install's data: no creator and no change events."""
    outcomes = RecordRepository(database, database.registry.entity(OUTCOME_ENTITY))
    stamp = new_stamp()
    rows = outcomes.new_rows([{"name": name, "swatchColor": color, **stamp} for name, color in DEFAULT_OUTCOMES])

    def write(conn: Connection) -> None:
        outcomes.insert_rows(conn, rows)

    return seed_once(database, SETTING, write)


__all__ = ["DEFAULT_OUTCOMES", "ensure_default_call_outcomes"]
