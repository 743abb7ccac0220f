"""`polycrm currency`: the currencies amounts may be in, the default one and the conversion rates;
`polycrm tickets`: the prefix and the next number of new tickets.

They are stored in the database, so a change reaches every running server at once; converted amounts are
recomputed in the same transaction (see docs/currencies-and-settings.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

import typer

from polycrm.cli.context import open_core

if TYPE_CHECKING:
    from polycrm.core.currency import CurrencySettings

currency_app = typer.Typer(no_args_is_help=True, help="List and change currencies and their rates.")


def _show(settings: CurrencySettings) -> None:
    from polycrm.core.currency import iso_currencies

    names = iso_currencies()
    for code in settings.currency_list:
        rate = 1.0 if code == settings.base else settings.rates[code]
        marks = [mark for mark, on in (("default", code == settings.default), ("base", code == settings.base)) if on]
        name = names[code].name if code in names else "?"
        typer.echo(f"{code}\t1 {code} = {rate:g} {settings.base}\t{name}" + (f"\t({', '.join(marks)})" if marks else ""))


@currency_app.command("list")
def currency_list(as_json: bool = typer.Option(False, "--json", help="Print EspoCRM's four settings as JSON."),
                  known: bool = typer.Option(False, "--all", help="List every ISO 4217 code that can be enabled.")
                  ) -> None:
    """The enabled currencies with their rates in the base currency; the default and base are marked."""
    if known:
        from polycrm.core.currency import iso_currencies

        for currency in iso_currencies().values():
            typer.echo(f"{currency.code}\t{currency.name}")
        return
    settings = open_core().currency.current()
    if as_json:
        typer.echo(json.dumps(settings.to_json(), indent=2))
    else:
        _show(settings)


@currency_app.command("set-rate")
def currency_set_rate(code: str = typer.Argument(..., help="An enabled currency, e.g. EUR."),
                      rate: float = typer.Argument(..., help="What one unit of it is worth in the base currency.")
                      ) -> None:
    """Set a rate; every converted amount is recomputed."""
    _show(open_core().currency.set_rate(code.upper(), rate))


@currency_app.command("enable")
def currency_enable(code: str = typer.Argument(..., help="An ISO 4217 code, e.g. PLN."),
                    rate: float = typer.Option(..., "--rate", help="What one unit is worth in the base currency.")
                    ) -> None:
    """Let amounts be in one more currency."""
    _show(open_core().currency.enable(code.upper(), rate))


@currency_app.command("disable")
def currency_disable(code: str = typer.Argument(..., help="An enabled currency that no record uses.")) -> None:
    """Stop offering a currency. Refused while records (deleted ones included) have amounts in it."""
    _show(open_core().currency.disable(code.upper()))


@currency_app.command("default")
def currency_default(code: str = typer.Argument(..., help="An enabled currency.")) -> None:
    """Choose the default currency: amounts given without one are in it, and converted amounts are."""
    _show(open_core().currency.change(default=code.upper()))


@currency_app.command("base")
def currency_base(code: str = typer.Argument(..., help="An enabled currency.")) -> None:
    """Choose the currency rates are given in; the rates are restated in it (their meaning is kept)."""
    _show(open_core().currency.change(base=code.upper()))


def tickets(prefix: Optional[str] = typer.Option(None, "--prefix", help="The number prefix of new tickets."),
            next_number: Optional[int] = typer.Option(
                None, "--next-number", help="The number the next ticket gets: above every number already used.")
            ) -> None:
    """Show the ticket numbering settings, after changing those given."""
    core = open_core()
    settings = (core.tickets.change(prefix=prefix, next_number=next_number)
                if prefix is not None or next_number is not None else core.tickets.current())
    typer.echo(json.dumps(settings.to_json(), indent=2))


def register(app: typer.Typer) -> None:
    app.add_typer(currency_app, name="currency")
    app.command("tickets")(tickets)
