"""The lookup lists a store starts with: Concord CRM's default sources, industries and contact tags (its
EnsureSourcesArePresent, EnsureIndustriesArePresent and EnsureDefaultContactTagsArePresent seeders), from
`meta/definitions/lookups.json`, in Concord's order so that a Concord client finds the ids it knows.

Each list is seeded once per store, when a server or command first opens it (app.build_core), as the default
pipeline is (core.pipelines): a stored setting per list says it was done, so rows an administrator removed do
not come back at the next start, and of several processes starting at once exactly one seeds a list.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from polycrm.core.seeding import seed_rows
from polycrm.query.tree import Compare, Op
from polycrm.store.database import Database

SETTING_PREFIX = "lookups:"  # + the entity's name


def default_rows() -> dict[str, list[dict[str, Any]]]:
    """Entity name -> the rows a new store has, in id order."""
    data = json.loads((resources.files("polycrm.meta") / "definitions" / "lookups.json").read_text())
    return {name: rows for name, rows in data.items() if not name.startswith("_")}


# Records that stand for a list's rows: Concord's contacts tags are seeded only into a store without any.
PRESENT = {"Tag": Compare("type", Op.EQ, "contacts")}


def ensure_default_lookups(database: Database) -> list[str]:
    """Seed each lookup list this store never had; the entities this call seeded (core/seeding.py)."""
    return [name for name, rows in default_rows().items()
            if seed_rows(database, SETTING_PREFIX + name, name, rows, unless=PRESENT.get(name))]


__all__ = ["default_rows", "ensure_default_lookups"]
