"""Core services over a per-test application, so a test can also look through a protocol's API."""

from __future__ import annotations

from tests.api.conftest import api, harness  # noqa: F401 - the shared per-test application
