"""Settings the core needs (currencies); loaded by the app from configuration."""

from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CoreSettings:
    default_currency: str = "USD"
    # Rate of one unit of each currency in the default currency (amountConverted = amount * rate).
    currency_rates: dict[str, float] = dataclass_field(default_factory=lambda: {"USD": 1.0, "EUR": 1.08,
                                                                                "GBP": 1.27, "CAD": 0.73,
                                                                                "AUD": 0.66, "CHF": 1.13,
                                                                                "JPY": 0.0067})
    max_list_size: int = 200
    files_dir: Path | None = None  # where attached files are kept (`<data dir>/files`)
    text_filter_contains_min_length: int = 4

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(self.currency_rates)
