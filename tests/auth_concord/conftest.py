"""App CRM (Concord) auth tests: users' emails and API access, personal access tokens, `polycrm token`; the
directory alone where it is enough, the per-test application of tests/api where a record is read back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ApiHarness, api, harness  # noqa: F401 - the shared per-test application
from tests.conftest import Store
from tests.support.cli import Cli


@pytest.fixture
def cli(store: Store, tmp_path: Any) -> Cli:
    return Cli(store, tmp_path)
