"""The call outcomes a store starts with: Concord CRM's defaults (its EnsureCallOutcomesArePresent), so that
a Concord client can log a call on a new install, which needs an outcome. Seeded once per store when a server
or command first opens it (app.build_core; core/seeding.py)."""

from __future__ import annotations

from polycrm.core.seeding import seed_rows
from polycrm.store.database import Database

SETTING = "callOutcomes"
OUTCOME_ENTITY = "CallOutcome"
# (name, swatch colour) in Concord's order.
DEFAULT_OUTCOMES = (("No Answer", "#f43f5e"), ("Busy", "#f43f5e"), ("Wrong Number", "#8898aa"),
                    ("Unavailable", "#8898aa"), ("Left voice message", "#ffd600"),
                    ("Moved conversation forward", "#a3e635"))


def ensure_default_call_outcomes(database: Database) -> bool:
    """Seed the default outcomes unless this store ever had them; whether this call did."""
    return seed_rows(database, SETTING, OUTCOME_ENTITY,
                     [{"name": name, "swatchColor": color} for name, color in DEFAULT_OUTCOMES])


__all__ = ["DEFAULT_OUTCOMES", "ensure_default_call_outcomes"]
