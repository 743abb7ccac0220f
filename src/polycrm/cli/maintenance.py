"""`polycrm purge`: the store's upkeep."""

from __future__ import annotations

from datetime import datetime

import typer

from polycrm.cli.context import CliError, open_core


def purge(deleted_before: str = typer.Option(..., "--deleted-before", help="Date YYYY-MM-DD (UTC)."),
          entity: list[str] = typer.Option([], "--entity", help="Entity type to purge (repeatable; default all).")
          ) -> None:
    """Remove records deleted before a date for good, with their relations and attached files."""
    try:
        before = datetime.strptime(deleted_before, "%Y-%m-%d")
    except ValueError:
        raise CliError("--deleted-before must be a date YYYY-MM-DD") from None
    purged = open_core().purge(before, entity or None)
    for name, count in purged.items():
        typer.echo(f"{name}\t{count}")
    typer.echo(f"Purged {sum(purged.values())} records deleted before {deleted_before}")


def register(app: typer.Typer) -> None:
    app.command()(purge)
