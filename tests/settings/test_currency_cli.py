"""`polycrm currency`: the same settings as the API, through the real command line, against the store under
test (both backends); one-line errors for bad input."""

from __future__ import annotations

import json

import pytest
from polycrm.core.service import Core
from tests.support.cli import Cli


@pytest.fixture
def cli(store, tmp_path):
    return Cli(store, tmp_path, POLYCRM_DEFAULT_CURRENCY="EUR")


@pytest.fixture
def currency(cli):
    return lambda *args: cli("currency", *args)


def settings(currency) -> dict:
    result = currency("list", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_the_command_line_changes_what_every_process_sees(currency, store):
    assert settings(currency)["defaultCurrency"] == "EUR"  # a store without settings starts from the configuration
    assert currency("enable", "PLN", "--rate", "0.25").exit_code == 0
    assert currency("set-rate", "pln", "0.2").exit_code == 0
    listed = currency("list")
    assert "PLN\t1 PLN = 0.2 USD\tZloty" in listed.stdout and "EUR\t1 EUR = 1.08 USD\tEuro\t(default)" in listed.stdout
    assert Core(store.database).currency.current().rates["PLN"] == 0.2
    assert currency("default", "PLN").exit_code == 0 and currency("base", "PLN").exit_code == 0
    after = settings(currency)
    assert after["defaultCurrency"] == after["baseCurrency"] == "PLN" and after["currencyRates"]["USD"] == 5
    assert currency("disable", "GBP").exit_code == 0 and "GBP" not in settings(currency)["currencyList"]
    assert "XCG\tCaribbean Guilder" in currency("list", "--all").stdout


@pytest.mark.parametrize("args, message", [
    (["enable", "ZZZ", "--rate", "1"], "Currency 'ZZZ' is not an ISO 4217 currency code."),
    (["enable", "EUR", "--rate", "1"], "EUR is already enabled."),
    (["enable", "PLN", "--rate", "-2"], "The rate of PLN must be a positive number"),
    (["enable", "PLN", "--rate", "nan"], "The rate of PLN must be a positive number"),
    (["set-rate", "PLN", "1"], "A rate is given for PLN, which is not in the currency list."),
    (["set-rate", "USD", "2"], "The base currency USD has the rate 1."),
    (["disable", "EUR"], "EUR is the default currency: choose another first."),
    (["disable", "PLN"], "PLN is not enabled."),
    (["default", "PLN"], "The default currency PLN must be in the currency list."),
    (["default", "€"], "is not an ISO 4217 currency code."),
])
def test_bad_input_is_one_line_and_changes_nothing(cli, currency, args, message):
    before = settings(currency)
    cli.fails("currency", *args, message=message)
    assert settings(currency) == before


def test_a_currency_that_records_use_stays(currency, api):
    assert api.post("/api/v1/Opportunity", json={"name": "D", "amount": 5, "amountCurrency": "CHF",
                                                 "closeDate": "2030-01-01"}).status_code == 200
    result = currency("disable", "CHF")
    assert result.exit_code == 1
    assert "CHF is still used: 1 Opportunity record(s) have amount in CHF" in result.stderr
    assert "CHF" in settings(currency)["currencyList"]
