"""`polycrm purge`: the store's upkeep."""

from __future__ import annotations

from datetime import datetime, timezone

import typer

from polycrm.cli.context import CliError, open_core


def purge(deleted_before: str = typer.Option(..., "--deleted-before", help="Date YYYY-MM-DD (UTC), not in the "
                                                                            "future."),
          entity: list[str] = typer.Option([], "--entity", help="Entity type to purge (repeatable; default all)."),
          dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be purged; change nothing.")
          ) -> None:
    """Remove records deleted before a date for good, with their relations and attached files."""
    try:
        before = datetime.strptime(deleted_before, "%Y-%m-%d")
    except ValueError:
        raise CliError("--deleted-before must be a date YYYY-MM-DD") from None
    if before.date() > datetime.now(timezone.utc).date():
        # A typo (2062 for 2026) would take records deleted a minute ago, still within reach of an undelete.
        raise CliError(f"--deleted-before {deleted_before} is in the future")
    purged = open_core().purge(before, entity or None, dry_run=dry_run)
    for name, count in purged.items():
        typer.echo(f"{name}\t{count}")
    verb = "Would purge" if dry_run else "Purged"
    typer.echo(f"{verb} {sum(purged.values())} records deleted before {deleted_before}")


def register(app: typer.Typer) -> None:
    app.command()(purge)
