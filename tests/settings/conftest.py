"""The per-test application of tests/api, and a client of one over a store whose configured default currency
is the euro (POLYCRM_DEFAULT_CURRENCY=EUR)."""

from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest
from anyio.from_thread import BlockingPortal
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.auth.directory import UserDirectory
from polycrm.config import Config
from tests.api.conftest import ApiHarness, api, harness, harness_for  # noqa: F401 - shared fixtures
from tests.conftest import Store


@pytest.fixture
def euro_harness(config: Config, store: Store, directory: UserDirectory,
                 portal: BlockingPortal) -> Iterator[ApiHarness]:
    with harness_for(build_app(dataclasses.replace(config, default_currency="EUR"), store.database), directory,
                     portal) as h:
        yield h


@pytest.fixture
def euro_api(euro_harness: ApiHarness) -> TestClient:
    return euro_harness.key_client(euro_harness.admin_key)
