"""The InflowCRM rate limit (§3): a budget per API key and client IP, 429 in the documented envelope, the
RateLimit-* headers on every response; shared through Redis by several servers when configured."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid

import pytest
from starlette.testclient import TestClient

from polycrm.app import build_app
from polycrm.dialects.ratelimit import RateLimiter, parse_rate
from tests.inflow.spec import reference
from tests.inflow.test_examples import example

REDIS_URL = os.environ.get("POLYCRM_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="POLYCRM_TEST_REDIS_URL is not set: Redis rate-limit "
                                                       "tests skipped")


def limited_app(config, store, **changes):
    return build_app(dataclasses.replace(config, inflow_rate_limit="3/minute", **changes), store.database)


def test_budget_per_key_and_client(config, store, harness):
    app = limited_app(config, store)
    other_key = harness.directory.create_api_key(harness.admin_id).key
    client = TestClient(app, headers={"x-api-key": harness.admin_key})
    first = client.get("/api/getBundleModuleNames")
    assert first.headers["ratelimit-limit"] == "3" and first.headers["ratelimit-remaining"] == "2"
    reset = int(first.headers["ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61
    assert client.post("/api/searchRecords", json={"module": "nope"}).headers["ratelimit-remaining"] == "1"
    assert client.get("/api/nowhere").headers["ratelimit-remaining"] == "0"  # errors count too
    refused = client.get("/api/getBundleModuleNames")
    assert refused.status_code == 429
    reference("examples")
    assert refused.json() == example("head-a8bc94f.errors.02.rate-limiting.json")
    assert 1 <= int(refused.headers["retry-after"]) <= 60 and refused.headers["ratelimit-remaining"] == "0"
    other = TestClient(app, headers={"x-api-key": other_key})
    assert other.get("/api/getBundleModuleNames").status_code == 200  # another key has its own budget
    elsewhere = TestClient(app, headers={"x-api-key": harness.admin_key}, client=("203.0.113.9", 5000))
    assert elsewhere.get("/api/getBundleModuleNames").status_code == 200  # and so has another address
    espo = TestClient(app, headers={"x-api-key": harness.admin_key})
    assert espo.get("/api/v1/Account").status_code == 200  # the EspoCRM API has no such limit
    for c in (client, other, elsewhere, espo):
        c.close()


def test_default_policy_is_300_per_5_minutes(inflow):
    response = inflow.get("/api/getBundleModuleNames")
    assert response.headers["ratelimit-limit"] == "300" and response.headers["ratelimit-remaining"] == "299"


def test_redis_outage_lets_requests_through():
    limiter = RateLimiter("redis://127.0.0.1:1/0", key_prefix="unreachable")
    rate = parse_rate("1/minute")
    assert all(limiter.hit(rate, "inflow", "k", "ip").allowed for _ in range(3))


@pytest.mark.parametrize("counters", ["memory", pytest.param("redis", marks=needs_redis)])
def test_a_hit_counts_once_and_reads_what_limits_reads(counters):
    """On Redis a hit is one script call: it must count exactly one request in limits' own list, refuse the
    fourth of three, and report what limits' own reading (peek) reports."""
    limiter = RateLimiter(REDIS_URL if counters == "redis" else None, key_prefix=f"test-{uuid.uuid4().hex}")
    rate = parse_rate("3/minute")
    before = time.time()
    decisions = [limiter.hit(rate, "unit", "k") for _ in range(4)]
    assert [(d.allowed, d.remaining) for d in decisions] == [(True, 2), (True, 1), (True, 0), (False, 0)]
    assert all(before + 59 <= d.reset_at <= time.time() + 61 and 1 <= d.retry_after <= 60 for d in decisions)
    peeked = limiter.peek(rate, "unit", "k")
    assert (peeked.allowed, peeked.remaining, peeked.reset_at) == (False, 0, decisions[0].reset_at)
    assert limiter.hit(rate, "unit", "other").remaining == 2


@needs_redis
def test_times_past_the_window_count_for_nothing_on_redis():
    """The one-call hit drops expired times from the list's tail: the window empties as limits' own reading says."""
    limiter = RateLimiter(REDIS_URL, key_prefix=f"test-{uuid.uuid4().hex}")
    rate = parse_rate("2/second")
    assert [limiter.hit(rate, "unit", "k").allowed for _ in range(3)] == [True, True, False]
    time.sleep(1.05)
    assert limiter.peek(rate, "unit", "k").remaining == 2
    decision = limiter.hit(rate, "unit", "k")
    assert (decision.allowed, decision.remaining) == (True, 1)


def test_policy_is_validated():
    with pytest.raises(ValueError):
        parse_rate("often")


@needs_redis
def test_servers_share_one_budget_through_redis(config, store, harness):
    shared = {"redis_url": REDIS_URL, "redis_prefix": f"test-{uuid.uuid4().hex}"}
    first = TestClient(limited_app(config, store, **shared), headers={"x-api-key": harness.admin_key})
    second = TestClient(limited_app(config, store, **shared), headers={"x-api-key": harness.admin_key})
    assert [first.get("/api/getBundleModuleNames").status_code for _ in range(2)] == [200, 200]
    assert second.get("/api/getBundleModuleNames").headers["ratelimit-remaining"] == "0"
    assert first.get("/api/getBundleModuleNames").status_code == 429
    assert second.get("/api/getBundleModuleNames").status_code == 429
    separate = TestClient(limited_app(config, store, redis_url=REDIS_URL, redis_prefix=f"test-{uuid.uuid4().hex}"),
                          headers={"x-api-key": harness.admin_key})
    assert separate.get("/api/getBundleModuleNames").status_code == 200
    for c in (first, second, separate):
        c.close()
