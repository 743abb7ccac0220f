"""The `polycrm` command line through its real entry point (Typer's CliRunner), over a test's store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from polycrm.cli import app as cli_app
from tests.conftest import SECRET
from tests.support.stores import Store


def cli_env(store: Store, tmp_path: Path) -> dict[str, str]:
    """The environment that points the command line at `store` (a PostgreSQL store by its schema)."""
    url = store.url if store.schema is None else f"{store.url}?options=-csearch_path%3D{store.schema}"
    return {"POLYCRM_DATA_DIR": str(tmp_path / "cli"), "POLYCRM_DATABASE_URL": url, "POLYCRM_SECRET_KEY": SECRET}


class Cli:
    """`polycrm ...` over a test's store."""

    def __init__(self, store: Store, tmp_path: Path, **env: str):
        self.env = dict(cli_env(store, tmp_path), **env)
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return self.runner.invoke(cli_app, list(args), env=self.env, input=input)

    def fails(self, *args: str, message: str, input: str | None = None) -> Any:
        """The command fails as an expected error: status 1, no traceback, nothing on stdout, and on stderr one
        line `error: ...` holding `message`, after the line naming the store if it got that far."""
        result = self(*args, input=input)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.stdout, result.stderr)
        *store_line, error = result.stderr.splitlines()
        assert result.stdout == "" and all(line.startswith("store: ") for line in store_line) and len(store_line) < 2, \
            result.stderr
        assert error.startswith("error: ") and message in error, result.stderr
        return result
