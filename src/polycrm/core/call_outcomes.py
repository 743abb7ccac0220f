"""The call outcomes a store starts with: Concord CRM's defaults (its EnsureCallOutcomesArePresent), so that
a Concord client can log a call on a new install, which needs an outcome. Seeded once per store when a server
or command first opens it (app.build_core; core/seeding.py)."""

from __future__ import annotations

from polycrm.core.seeding import seed_rows
from polycrm.core.type_guards import InUseGuard
from polycrm.store.database import Database

SETTING = "callOutcomes"
OUTCOME_ENTITY = "CallOutcome"
CALL_ENTITY = "Call"
# (name, swatch colour) in Concord's order.
DEFAULT_OUTCOMES = (("No Answer", "#f43f5e"), ("Busy", "#f43f5e"), ("Wrong Number", "#8898aa"),
                    ("Unavailable", "#8898aa"), ("Left voice message", "#ffd600"),
                    ("Moved conversation forward", "#a3e635"))


def ensure_default_call_outcomes(database: Database) -> bool:
    """Seed the default outcomes unless this store ever had them; whether this call did."""
    return seed_rows(database, SETTING, OUTCOME_ENTITY,
                     [{"name": name, "swatchColor": color} for name, color in DEFAULT_OUTCOMES])


class CallOutcomeGuard(InUseGuard):
    """An outcome that calls use (trashed ones too) is kept, whatever the protocol deletes it through: a call
    must name an outcome that exists (Concord's rule, its 409 on delete); EspoCRM would leave the calls
    naming a removed outcome."""

    used_by = (CALL_ENTITY, "callOutcomeId", "calls")
    in_use = "The call outcome is already associated with calls, hence, cannot be deleted."  # type: ignore[assignment]


__all__ = ["DEFAULT_OUTCOMES", "CallOutcomeGuard", "ensure_default_call_outcomes"]
