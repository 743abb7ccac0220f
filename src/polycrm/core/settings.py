"""Settings the core needs from configuration, fixed while the server runs. Settings administrators change
while it runs (currencies: core/currency.py) are stored in the database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CoreSettings:
    # The default currency a store starts with (POLYCRM_DEFAULT_CURRENCY); once stored, the stored one rules.
    default_currency: str = "USD"
    max_list_size: int = 200
    files_dir: Path | None = None  # where attached files are kept (`<data dir>/files`)
    text_filter_contains_min_length: int = 4
