"""Concord's per-user budget (specs/concord.md §1 "Rate limiting", §9): `X-RateLimit-*` on authenticated
answers, 429 `Too Many Attempts.` with `Retry-After` and `X-RateLimit-Reset`, one bucket per user, shared by
servers through Redis; `POST /api/token` counted per client address."""

from __future__ import annotations

import dataclasses
import os
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.config import Config
from tests.api.conftest import ApiHarness
from tests.concord.conftest import JSON_HEADERS, Concord
from tests.support.stores import Store

REDIS_URL = os.environ.get("POLYCRM_TEST_REDIS_URL")


@pytest.fixture(params=["memory", "redis"])
def counters(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Where the counters live: this process, or a Redis every server of a deployment shares."""
    if request.param == "memory":
        return {}
    if not REDIS_URL:
        pytest.skip("POLYCRM_TEST_REDIS_URL is not set: Redis rate-limit tests skipped")
    return {"redis_url": REDIS_URL, "redis_prefix": f"test-{uuid.uuid4().hex}"}


def limited(concord: Concord, config: Config, store: Store, counters: dict[str, Any], token: str | None = None,
            **changes: Any) -> TestClient:
    app = build_app(dataclasses.replace(config, concord_rate_limit="3/minute", **counters, **changes), store.database)
    headers = {**JSON_HEADERS, **({"Authorization": f"Bearer {token or concord.token}"} if token != "" else {})}
    return ApiHarness(app, concord.harness.directory, concord.user_id, "", concord.harness.portal).client(
        headers, validate=False)


def test_headers_and_429(concord: Concord, config: Config, store: Store, counters: dict[str, Any]) -> None:
    client = limited(concord, config, store, counters)
    answers = [client.get("/api/contacts"), client.get("/api/nosuch"), client.post("/api/contacts", json={})]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0"]  # errors count too
    assert all(a.headers["x-ratelimit-limit"] == "3" for a in answers)
    refused = client.get("/api/contacts")
    assert refused.status_code == 429
    assert refused.json() == {"message": "Too Many Attempts."}
    assert refused.content.startswith(b'{\n    "message"')
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert int(refused.headers["x-ratelimit-reset"]) > 0 and refused.headers["x-ratelimit-remaining"] == "0"
    other = concord.as_user("other", {"Contact": True})
    assert limited(concord, config, store, counters, token=other.token).get("/api/contacts").status_code == 200


def test_servers_share_one_budget_through_redis(concord: Concord, config: Config, store: Store,
                                                counters: dict[str, Any]) -> None:
    if not counters:
        pytest.skip("in-memory counters are per process by design")
    first, second = limited(concord, config, store, counters), limited(concord, config, store, counters)
    assert [first.get("/api/contacts").status_code for _ in range(2)] == [200, 200]
    assert second.get("/api/contacts").headers["x-ratelimit-remaining"] == "0"
    assert first.get("/api/contacts").status_code == 429


def test_unauthenticated_calls_spend_nothing(concord: Concord, config: Config, store: Store,
                                            counters: dict[str, Any]) -> None:
    client = limited(concord, config, store, counters)
    anonymous = limited(concord, config, store, counters, token="")
    for _ in range(5):
        response = anonymous.get("/api/contacts")
        assert response.status_code == 401 and "x-ratelimit-limit" not in response.headers
    assert client.get("/api/contacts").headers["x-ratelimit-remaining"] == "2"


def test_token_requests_are_counted_per_address(concord: Concord, config: Config, store: Store,
                                                counters: dict[str, Any]) -> None:
    client = limited(concord, config, store, counters, token="", concord_token_rate_limit="2/minute")
    body = {"email": "nobody@example.com", "password": "wrong-password", "device_name": "n8n"}
    assert [client.post("/api/token", json=body).status_code for _ in range(2)] == [422, 422]
    refused = client.post("/api/token", json=body)
    assert refused.status_code == 429 and refused.json() == {"message": "Too Many Attempts."}
