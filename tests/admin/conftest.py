"""Administration tests: the per-test application of tests/api, and the command line over the same store."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

import polycrm.store.database
from tests.api.conftest import ApiHarness, api, harness, inflow  # noqa: F401 - the shared per-test application
from tests.conftest import Store
from tests.support.cli import Cli


@pytest.fixture(autouse=True)
def immediate_column_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    """A removed field's columns go with it: no other server process could still be using them here
    (tests/admin/test_field_manager.py tests the delay itself)."""
    monkeypatch.setattr(polycrm.store.database, "COLUMN_DROP_DELAY", timedelta(0))


def basic(user: str, password: str) -> dict[str, str]:
    return {"Espo-Authorization": base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.fixture
def cli(store: Store, tmp_path: Any) -> Cli:
    return Cli(store, tmp_path)
