"""Vault, ITFlow key and audit log tests: the per-test application of tests/api and the command line over
the same store."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiHarness, api, harness  # noqa: F401 - the shared per-test application
from tests.conftest import Store
from tests.support.cli import Cli


@pytest.fixture
def cli(store: Store, tmp_path: Any) -> Cli:
    return Cli(store, tmp_path)


def new_account(api: Any, name: str = "Acme") -> int:
    response = api.post("/api/v1/Account", json={"name": name})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])
