"""The `polycrm` command line: init, serve, users, API keys and tokens, roles, custom fields, webhooks, maintenance.

Each command group lives in a module of its own. Those modules import only Typer at their top and the server
(SQLAlchemy, the dialects, argon2) inside the commands that need it, so `polycrm --help` and a mistyped
command answer without loading the server.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import typer
from typer._click import Context  # Typer vendors click; its classes are public only there
from typer._click.exceptions import ClickException, UsageError
from typer.core import TyperGroup

from polycrm.cli.context import CliError, expected_error_reason


class OneLineErrors(TyperGroup):
    """The command line's group: an expected failure of any command ends as one line on stderr and exit
    status 1, a usage error as one line and status 2, whether `main` runs the command or a test's CliRunner
    does. Anything else is a bug and keeps its traceback."""

    def make_context(self, info_name: str | None, args: list[str], parent: Context | None = None,
                     **extra: Any) -> Context:
        with _one_line():  # `polycrm --unknown`
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _one_line():  # a subcommand's errors, its usage errors included
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except Exception as exc:
        reason = expected_error_reason(exc)
        if reason is None:
            raise
        typer.echo(f"error: {reason}", err=True)
        raise typer.Exit(1) from None


app = typer.Typer(cls=OneLineErrors, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="PolyCRM: one CRM server, four wire protocols.")


def _register() -> None:
    from polycrm.cli import accounts, audit, backup, fields, maintenance, server, settings, webhooks

    server.register(app)
    accounts.register(app)
    fields.register(app)
    webhooks.register(app)
    maintenance.register(app)
    backup.register(app)
    settings.register(app)
    audit.register(app)


_register()


def main() -> None:
    from polycrm.logs import configure_on_first_record

    configure_on_first_record()  # POLYCRM_LOG_LEVEL / _FORMAT; structlog is imported only if a line is logged
    app()  # expected errors end as one line on stderr (OneLineErrors)


__all__ = ["CliError", "app", "main"]
