"""Webhook tests: an API harness whose webhooks may reach 127.0.0.1 (no in-process worker: tests drive
one), and a local receiver."""

from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest

from polycrm.app import build_app
from polycrm.auth.directory import UserDirectory
from polycrm.config import Config
from polycrm.events.settings import WebhookSettings
from polycrm.events.worker import DeliveryWorker
from anyio.from_thread import BlockingPortal

from tests.api.conftest import ApiHarness, harness_for
from tests.conftest import Store
from tests.events.receiver import Receiver

TEST_SETTINGS = WebhookSettings(allow_private=True, workers=0, concurrency=4, poll_interval=0.02,
                                backoff_base=0.05, backoff_max=0.2, max_attempts=3, disable_after=3)


@pytest.fixture
def webhook_settings() -> WebhookSettings:
    return TEST_SETTINGS


@pytest.fixture
def harness(config: Config, store: Store, directory: UserDirectory, webhook_settings: WebhookSettings,
            portal: BlockingPortal) -> Iterator[ApiHarness]:
    with harness_for(build_app(dataclasses.replace(config, webhooks=webhook_settings), store.database), directory,
                     portal) as h:
        yield h


@pytest.fixture
def api(harness: ApiHarness):  # noqa: ANN201 - TestClient
    return harness.key_client(harness.admin_key)


@pytest.fixture
def worker(harness: ApiHarness) -> Iterator[DeliveryWorker]:
    """A delivery worker the test steps with `run_until_idle`."""
    delivery_worker = harness.app.state.webhooks.new_worker()
    yield delivery_worker
    delivery_worker.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()
