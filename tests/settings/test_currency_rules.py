"""Currency settings as values: conversion into the default currency from rates given in the base currency,
and the checks a change passes (no store needed)."""

from __future__ import annotations

import pytest

from polycrm.core.currency import CurrencySettings, iso_currencies
from polycrm.core.errors import BadRequest

USD_BASE = CurrencySettings(("USD", "EUR", "PLN", "JPY"), "EUR", "USD", {"EUR": 1.08, "PLN": 0.25, "JPY": 0.0067})


def test_amounts_convert_into_the_default_currency():
    assert USD_BASE.converted(1000, "EUR") == 1000
    assert USD_BASE.converted(108, "USD") == 100
    assert USD_BASE.converted(432, "PLN") == 100
    assert USD_BASE.converted(None, "EUR") is None
    assert USD_BASE.converted(5, "GBP") is None  # not enabled: no rate, no converted amount


def test_a_new_store_starts_from_its_configured_default():
    euro = CurrencySettings.initial("EUR")
    assert euro.default == "EUR" and euro.base == "USD" and euro.converted(1000, "EUR") == 1000
    zloty = CurrencySettings.initial("PLN")  # not among the initial rates: it alone, as its own base
    assert zloty.currency_list == ("PLN",) and zloty.base == "PLN" and zloty.rates == {}
    with pytest.raises(ValueError, match="ISO 4217"):
        CurrencySettings.initial("ZZZ")


def test_a_new_base_restates_the_rates_and_keeps_their_meaning():
    rebased = USD_BASE.changed(base="EUR")
    assert rebased.base == "EUR" and "EUR" not in rebased.rates
    assert rebased.rates["USD"] == pytest.approx(1 / 1.08)
    for code in USD_BASE.currency_list:
        assert rebased.converted(1234.5, code) == pytest.approx(USD_BASE.converted(1234.5, code), abs=1e-3)


def test_rates_of_currencies_leaving_the_list_go_with_them():
    smaller = USD_BASE.changed(currency_list=["USD", "EUR"])
    assert smaller.rates == {"EUR": 1.08}


def test_every_active_iso_code_is_known_with_its_minor_units():
    known = iso_currencies()
    assert {"PLN", "EUR", "CHF", "XCG", "ZWG"} <= set(known) and "HRK" not in known
    assert known["JPY"].minor_units == 0 and known["KWD"].minor_units == 3 and known["XAU"].minor_units is None


@pytest.mark.parametrize("changes, reason", [
    ({"currency_list": ["USD", "ZZZ"]}, "'ZZZ' is not an ISO 4217"),
    ({"currency_list": ["usd", "EUR"]}, "'usd' is not an ISO 4217"),
    ({"currency_list": [1]}, "must be a three-letter"),
    ({"currency_list": []}, "must not be empty"),
    ({"currency_list": ["USD", "EUR", "USD"]}, "twice"),
    ({"currency_list": ["USD", "EUR", "GBP"]}, "No rate for GBP"),
    ({"currency_list": ["USD", "PLN"]}, "default currency EUR must be in the currency list"),
    ({"default": "GBP"}, "default currency GBP must be in"),
    ({"base": "' OR 1=1 --"}, "is not an ISO 4217"),
    ({"rates": {"EUR": -1, "PLN": 0.25, "JPY": 0.0067}}, "positive number"),
    ({"rates": {"EUR": float("nan"), "PLN": 0.25, "JPY": 0.0067}}, "positive number"),
    ({"rates": {"EUR": float("inf"), "PLN": 0.25, "JPY": 0.0067}}, "positive number"),
    ({"rates": {"EUR": 1e13, "PLN": 0.25, "JPY": 0.0067}}, "positive number"),
    ({"rates": {"EUR": True, "PLN": 0.25, "JPY": 0.0067}}, "must be a number"),
    ({"rates": {"EUR": "1.08", "PLN": 0.25, "JPY": 0.0067}}, "must be a number"),
    ({"rates": {"EUR": 1.08, "PLN": 0.25}}, "No rate for JPY"),
    ({"rates": {"EUR": 1.08, "PLN": 0.25, "JPY": 0.0067, "GBP": 1.2}}, "GBP, which is not in the currency list"),
    ({"rates": {"EUR": 1.08, "PLN": 0.25, "JPY": 0.0067, "USD": 2}}, "base currency USD has the rate 1"),
    ({"rates": ["EUR"]}, "must be an object"),
    ({"currency_list": ["USD", "EUR", "PLN", "JPY", "GBP"], "base": "GBP"}, "No rate for GBP: give the rates"),
])
def test_bad_changes_are_refused_with_the_reason(changes, reason):
    with pytest.raises(BadRequest, match=reason.replace("(", r"\(")):
        USD_BASE.changed(**changes)
