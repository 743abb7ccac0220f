"""Administration tests: the per-test application of tests/api, and the command line over the same store."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

import polycrm.store.database
from polycrm.cli import app as cli_app
from tests.api.conftest import ApiHarness, api, harness, inflow  # noqa: F401 - the shared per-test application
from tests.conftest import SECRET, Store


@pytest.fixture(autouse=True)
def immediate_column_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    """A removed field's columns go with it: no other server process could still be using them here
    (tests/admin/test_field_manager.py tests the delay itself)."""
    monkeypatch.setattr(polycrm.store.database, "COLUMN_DROP_DELAY", timedelta(0))


def basic(user: str, password: str) -> dict[str, str]:
    return {"Espo-Authorization": base64.b64encode(f"{user}:{password}".encode()).decode()}


class Cli:
    """`polycrm ...` through the real entry point, over the test's store."""

    def __init__(self, store: Store, tmp_path: Any):
        url = store.url if store.schema is None else f"{store.url}?options=-csearch_path%3D{store.schema}"
        self.env = {"POLYCRM_DATA_DIR": str(tmp_path / "cli"), "POLYCRM_DATABASE_URL": url,
                    "POLYCRM_SECRET_KEY": SECRET}
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Any:
        return self.runner.invoke(cli_app, list(args), env=self.env, input=input)

    def fails(self, *args: str, message: str, input: str | None = None) -> None:
        """The command fails with one line `error: ...` holding `message`, status 1, no traceback."""
        result = self(*args, input=input)
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
        assert message in result.stderr, result.stderr


@pytest.fixture
def cli(store: Store, tmp_path: Any) -> Cli:
    return Cli(store, tmp_path)
