"""Shared by the operations tests: the command line on a test's store, and the process's umask kept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from typer.testing import CliRunner, Result

from polycrm.cli import app as cli_app
from tests.conftest import SECRET, Store


def store_env(store: Store, data_dir: Path, *, secret_in_env: bool = True) -> dict[str, str]:
    """The environment a command needs to act on `store` (its PostgreSQL schema pinned in the URL)."""
    url = store.url if store.schema is None else f"{store.url}?options=-csearch_path%3D{store.schema}"
    env = {"POLYCRM_DATA_DIR": str(data_dir), "POLYCRM_DATABASE_URL": url}
    if secret_in_env:
        env["POLYCRM_SECRET_KEY"] = SECRET
    return env


def invoke(env: dict[str, str | None], *args: str) -> Result:
    """`polycrm ARGS` through the real entry point, in this process."""
    return CliRunner().invoke(cli_app, list(args), env=env)


def error_line(result: Result) -> str:
    """The one `error: ...` line of a failed command (after the line naming its store, if it got that far)."""
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert lines and lines[-1].startswith("error: ") and all(line.startswith("store: ") for line in lines[:-1]), \
        result.stderr
    return lines[-1]


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """Commands set the process's umask (owner-only files); the test process gets its own back."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
