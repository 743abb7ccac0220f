"""Currencies: which ones amounts may be in, the default one and the conversion rates.

They are settings stored in the database (store/settings.py), so every server process sharing it uses the same
ones and a change reaches running servers with their next request. Their meaning is EspoCRM's:

- `currencyList`: the codes amounts may be in; any active ISO 4217 code (meta/definitions/iso4217.json).
- `defaultCurrency`: the currency of an amount given without one, and the currency of converted amounts.
- `baseCurrency`: the currency the rates are given in.
- `currencyRates`: {code: the value of one unit of that currency in the base currency}; the base is 1, unlisted.

A converted amount (`amountConverted`) is in the default currency: amount × rate[code] / rate[default], kept to
4 places, computed when the amount is written and again for every record, in bulk SQL, in the transaction that
changes a rate, the default or the base. (EspoCRM computes the same product when it reads, from a table of
rates it rounds to 6 places; PolyCRM keeps the rates as given, so with very small rates its amounts are the
more exact.)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field as dataclass_field
from functools import cache
from importlib import resources
from typing import Any, Callable, Container, Iterable, Mapping

from sqlalchemy.engine import Connection

from polycrm.core.errors import BadRequest, Conflict
from polycrm.meta import Entity, Registry
from polycrm.store.database import Database
from polycrm.store.settings import AmountColumns, SettingStore, count_by_currency, recompute_converted

SETTING = "currency"
# A store that has no currency settings yet starts with these: the currencies and rates (in US dollars)
# PolyCRM used before they were settings, so records saved then keep their meaning. Administrators set their
# own rates (`polycrm currency set-rate`, or PUT /api/v1/Settings).
INITIAL_BASE = "USD"
INITIAL_RATES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.73, "AUD": 0.66, "CHF": 1.13, "JPY": 0.0067}
MAX_RATE = 1e12  # beyond any real exchange rate between two currencies


@dataclass(frozen=True, slots=True)
class IsoCurrency:
    code: str
    name: str
    minor_units: int | None  # None: not a money of account (gold, test codes)
    numeric: str = ""  # the ISO 4217 numeric code ("840")


@cache
def iso_currencies() -> dict[str, IsoCurrency]:
    """The active ISO 4217 currencies by code."""
    data = json.loads((resources.files("polycrm.meta") / "definitions" / "iso4217.json").read_text())
    return {code: IsoCurrency(code, item["name"], item["minorUnits"], item["numeric"])
            for code, item in data["currencies"].items()}


def check_code(code: Any, what: str = "Currency") -> str:
    """An ISO 4217 code, or BadRequest naming what is wrong with it."""
    if not isinstance(code, str):
        raise BadRequest(f"{what} must be a three-letter ISO 4217 code.")
    if code not in iso_currencies():
        shown = code if len(code) <= 12 and code.isprintable() else code[:12].encode("unicode_escape").decode() + "..."
        raise BadRequest(f"{what} '{shown}' is not an ISO 4217 currency code.")
    return code


def check_rate(code: str, rate: Any) -> float:
    """A rate: a positive finite number up to MAX_RATE."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)):
        raise BadRequest(f"The rate of {code} must be a number.")
    if not math.isfinite(rate) or rate <= 0 or rate > MAX_RATE:
        raise BadRequest(f"The rate of {code} must be a positive number up to {MAX_RATE:.0e}.")
    return float(rate)


@dataclass(frozen=True, slots=True)
class CurrencySettings:
    currency_list: tuple[str, ...]
    default: str
    base: str
    rates: Mapping[str, float] = dataclass_field(default_factory=dict)  # in the base currency; base excluded

    @classmethod
    def initial(cls, default: str) -> CurrencySettings:
        """What a store without currency settings starts with, for a default currency from configuration."""
        if default not in iso_currencies():
            raise ValueError(f"POLYCRM_DEFAULT_CURRENCY {default!r} is not an ISO 4217 currency code.")
        if default in INITIAL_RATES:
            return cls(tuple(INITIAL_RATES), default, INITIAL_BASE,
                       {code: rate for code, rate in INITIAL_RATES.items() if code != INITIAL_BASE})
        return cls((default,), default, default, {})

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CurrencySettings:
        return cls(tuple(data["currencyList"]), data["defaultCurrency"], data["baseCurrency"],
                   dict(data["currencyRates"]))

    def to_json(self) -> dict[str, Any]:
        """EspoCRM's four settings, as its `GET Settings` answers them."""
        return {"currencyList": list(self.currency_list), "defaultCurrency": self.default,
                "baseCurrency": self.base, "currencyRates": dict(self.rates)}

    def rate_to_default(self, code: str | None) -> float | None:
        """What one unit of `code` is worth in the default currency; None for a currency not in the list."""
        if code not in self.currency_list:
            return None
        if code == self.default:
            return 1.0
        in_base = 1.0 if code == self.base else self.rates[code]
        default_in_base = 1.0 if self.default == self.base else self.rates[self.default]
        return in_base / default_in_base

    def conversion_rates(self) -> dict[str, float]:
        return {code: rate for code in self.currency_list if (rate := self.rate_to_default(code)) is not None}

    def converted(self, amount: float | None, code: str | None) -> float | None:
        rate = self.rate_to_default(code)
        return None if amount is None or rate is None else round(amount * rate, 4)

    def changed(self, *, currency_list: Iterable[Any] | None = None, default: Any = None, base: Any = None,
                rates: Mapping[str, Any] | None = None) -> CurrencySettings:
        """These settings with some replaced, checked as a whole (BadRequest says what is wrong). A new base
        without new rates keeps every rate's meaning (rates are restated in the new base); rates of currencies
        leaving the list go with them."""
        listed = self.currency_list
        if currency_list is not None:
            listed = tuple(check_code(code) for code in currency_list)
            if not listed:
                raise BadRequest("The currency list must not be empty.")
            if len(set(listed)) != len(listed):
                raise BadRequest("The currency list names a currency twice.")
        new_default = self.default if default is None else check_code(default, "The default currency")
        new_base = self.base if base is None else check_code(base, "The base currency")
        for code, what in ((new_default, "default"), (new_base, "base")):
            if code not in listed:
                raise BadRequest(f"The {what} currency {code} must be in the currency list.")
        if rates is None:
            given = dict(self.rates)
            if new_base != self.base:
                # Restate the kept rates in the new base, whose value in the old base they are divided by.
                old = {**self.rates, self.base: 1.0}
                if new_base not in old:
                    raise BadRequest(f"No rate for {new_base}: give the rates in the new base currency.")
                given = {code: rate / old[new_base] for code, rate in old.items()}
        else:
            if not isinstance(rates, Mapping):
                raise BadRequest("currencyRates must be an object of code: rate.")
            given = {}
            for code, rate in rates.items():
                check_code(code, "A rate's currency")
                if code not in listed:
                    raise BadRequest(f"A rate is given for {code}, which is not in the currency list.")
                given[code] = check_rate(code, rate)
            if given.get(new_base, 1.0) != 1.0:
                raise BadRequest(f"The base currency {new_base} has the rate 1.")
        kept = {code: rate for code, rate in given.items() if code in listed and code != new_base}
        missing = [code for code in listed if code != new_base and code not in kept]
        if missing:
            raise BadRequest(f"No rate for {', '.join(missing)} (in {new_base}).")
        return CurrencySettings(listed, new_default, new_base, kept)


class AmountFields:
    """An entity type's currency fields, settled in the write that saves them: an amount without a currency
    takes the default one, a currency not in the list is refused (`validCurrency`), and the converted amount
    is computed with the settings the write holds (CurrencyService.hold)."""

    def __init__(self, entity: Entity):
        self.fields = [(f.name, f"{f.name}Currency",
                        f"{f.name}Converted" if f"{f.name}Converted" in entity.attributes else None)
                       for f in entity.fields.values() if f.type == "currency"]
        self.keys = frozenset(key for name, code, _ in self.fields for key in (name, code))

    def __bool__(self) -> bool:
        return bool(self.fields)

    def touched(self, keys: Iterable[str]) -> bool:
        """Whether input with these keys sets an amount or its currency."""
        return any(key in self.keys for key in keys)

    def settle(self, values: dict[str, Any], settings: CurrencySettings, fail: Callable[[str, str], Exception],
               only: Container[str] | None = None) -> None:
        """Settle a record's amounts (those whose amount or currency is in `only`, when given)."""
        for name, code_key, converted in self.fields:
            if only is not None and name not in only and code_key not in only:
                continue
            amount, code = values.get(name), values.get(code_key)
            if code is None and amount is not None:
                code = values[code_key] = settings.default
            elif code is not None and code not in settings.currency_list:
                raise fail(name, "validCurrency")
            if converted is not None:
                values[converted] = settings.converted(amount, code)


def amount_columns(registry: Registry) -> list[AmountColumns]:
    """Every currency field of every entity type: where its amount, code and converted amount are stored."""
    found = []
    for entity in registry.entities.values():
        for field in entity.fields.values():
            if field.type == "currency":
                converted = entity.attributes.get(f"{field.name}Converted")
                found.append(AmountColumns(entity.table, _column(entity, field.name),
                                           _column(entity, f"{field.name}Currency"),
                                           converted.column if converted is not None else None))
    return found


def _column(entity: Entity, attribute: str) -> str:
    column = entity.attributes[attribute].column
    assert column is not None, f"{entity.name}.{attribute} is stored"
    return column


class CurrencyService:
    """The stored currency settings: read, held steady through a write, and changed with every converted
    amount made right in the same transaction."""

    def __init__(self, database: Database, initial_default: str):
        self.database = database
        self.initial = CurrencySettings.initial(initial_default)
        self.settings = SettingStore(database)

    def current(self, conn: Connection | None = None) -> CurrencySettings:
        """The settings as stored now (the initial ones while none are)."""
        if conn is None:
            with self.database.connect() as own:
                return self.current(own)
        stored = self.settings.read(conn, SETTING)
        return self.initial if stored is None else CurrencySettings.from_json(stored)

    def hold(self, conn: Connection) -> CurrencySettings:
        """The settings, unchangeable until `conn`'s write transaction ends: what a write that converts
        amounts computes them with. Take it before locking records (a change locks every record that has an
        amount while it holds the settings)."""
        return self._locked(conn, "share")

    def _locked(self, conn: Connection, lock: str) -> CurrencySettings:
        stored = self.settings.read(conn, SETTING, lock=lock)
        if stored is None:
            self.settings.insert_if_missing(conn, SETTING, self.initial.to_json())
            stored = self.settings.read(conn, SETTING, lock=lock)
        return CurrencySettings.from_json(stored)

    def ensure_stored(self) -> None:
        """Store the initial settings if there are none (a new store, or one made before they were settings),
        with the converted amounts they imply."""
        with self.database.connect() as conn:
            if self.settings.read(conn, SETTING) is not None:
                return
        with self.database.transaction() as conn:
            if self.settings.insert_if_missing(conn, SETTING, self.initial.to_json()) and \
                    self.initial.default != INITIAL_BASE:
                # Amounts saved before were converted to US dollars whatever the default currency was.
                recompute_converted(conn, self.database, amount_columns(self.database.registry),
                                    self.initial.conversion_rates())

    def change(self, **changes: Any) -> CurrencySettings:
        """Replace some settings (see CurrencySettings.changed) and recompute converted amounts, all in one
        transaction. A currency that records still use (deleted ones included) cannot leave the list: Conflict."""
        with self.database.transaction() as conn:
            before = self._locked(conn, "update")
            after = before.changed(**changes)
            if after == before:
                return after
            columns = amount_columns(self.database.registry)
            removed = set(before.currency_list) - set(after.currency_list)
            in_use = count_by_currency(conn, self.database, columns, removed)
            if in_use:
                raise Conflict(_in_use_reason(self.database.registry, in_use))
            self.settings.write(conn, SETTING, after.to_json())
            if after.conversion_rates() != before.conversion_rates():
                recompute_converted(conn, self.database, columns, after.conversion_rates())
        return after

    def set_rate(self, code: str, rate: Any) -> CurrencySettings:
        return self.change(rates={**self.current().rates, check_code(code): check_rate(code, rate)})

    def enable(self, code: str, rate: Any) -> CurrencySettings:
        current = self.current()
        if check_code(code) in current.currency_list:
            raise BadRequest(f"{code} is already enabled.")
        return self.change(currency_list=[*current.currency_list, code], rates={**current.rates, code: rate})

    def disable(self, code: str) -> CurrencySettings:
        current = self.current()
        if check_code(code) not in current.currency_list:
            raise BadRequest(f"{code} is not enabled.")
        if code in (current.default, current.base):
            raise BadRequest(f"{code} is the {'default' if code == current.default else 'base'} currency: "
                             "choose another first.")
        return self.change(currency_list=[c for c in current.currency_list if c != code])


def _in_use_reason(registry: Registry, in_use: dict[tuple[str, str], dict[str, int]]) -> str:
    tables = {entity.table: entity for entity in registry.entities.values()}
    parts, codes = [], set()
    for (table, column), counts in sorted(in_use.items()):
        entity = tables[table]
        field = next(a.field for a in entity.attributes.values() if a.column == column)
        for code, count in sorted(counts.items()):
            codes.add(code)
            parts.append(f"{count} {entity.name} record(s) have {field} in {code}")
    return (f"Currency {', '.join(sorted(codes))} is still used: {'; '.join(parts)} (deleted records included). "
            "Change those amounts to another currency, or purge the deleted records, first.")


__all__ = ["AmountFields", "CurrencyService", "CurrencySettings", "IsoCurrency", "amount_columns", "check_code", "check_rate",
           "iso_currencies"]
