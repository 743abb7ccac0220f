"""Failed logins are counted per user name and per client address (in memory, or in Redis shared by several
servers); over budget, password logins are refused with EspoCRM's 403 (specs/espocrm.md §1.3) and a
Retry-After, without checking the password. Tokens and API keys are not throttled.

The counters' clock is a fake one (the `limits` storages read `time.time()`, in memory and for Redis), so
nothing here sleeps."""

from __future__ import annotations

import base64
import dataclasses
import os
import time
import uuid

import limits.storage.memory
import limits.storage.redis
import pytest

import polycrm.dialects.ratelimit
from polycrm.app import build_app
from polycrm.auth.schemes import LoginThrottled
from polycrm.config import load_config
from polycrm.dialects.ratelimit import LoginThrottle, RateLimiter, client_identity, parse_rate

REDIS_URL = os.environ.get("POLYCRM_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="POLYCRM_TEST_REDIS_URL is not set: Redis login "
                                                       "throttling tests skipped")
ADMIN = "admin:admin-password-1"
USER_LIMIT = "Max failed login attempts exceeded for this user name."


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


class FakeTime:
    """`time` as the rate-limit counters see it: frozen until advanced."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    for module in (limits.storage.memory, limits.storage.redis, polycrm.dialects.ratelimit):
        monkeypatch.setattr(module, "time", fake)
    return fake


def throttled_app(config, store, counters: str, prefix: str | None = None):
    """An app allowing 3 failures per user name and 5 per address in 15 minutes."""
    changes = {"login_failures_per_user": "3/15minutes", "login_failures_per_ip": "5/15minutes"}
    if counters == "redis":
        changes.update(redis_url=REDIS_URL, redis_prefix=prefix or f"test-{uuid.uuid4().hex}")
    return build_app(dataclasses.replace(config, **changes), store.database)


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
def logins(request, config, store, harness, clock):
    harness.app = throttled_app(config, store, request.param)
    return harness


def attempt(harness, credentials: str | bytes, *, espo: bool = False, address: str = "testclient",
            token_only: bool = False):
    if espo:
        headers = {"Espo-Authorization": b64(credentials)}
        if token_only:
            headers["Espo-Authorization-By-Token"] = "true"
    else:
        headers = {"Authorization": "Basic " + b64(credentials)}
    return harness.client(headers, address=address).get("/api/v1/App/user")


def test_over_the_user_budget_even_the_right_password_is_refused(logins, clock):
    assert attempt(logins, "admin:wrong-1").status_code == 401
    clock.advance(100)
    assert attempt(logins, "admin:wrong-2", espo=True).status_code == 401  # every password scheme counts
    clock.advance(100)
    assert attempt(logins, "admin:wrong-3", address="203.0.113.9").status_code == 401  # from anywhere
    clock.advance(50)
    refused = attempt(logins, ADMIN)
    assert refused.status_code == 403 and refused.content == b""
    assert refused.headers["x-status-reason"] == USER_LIMIT
    assert refused.headers["retry-after"] == str(900 - 250)  # when the first failure leaves the window
    assert attempt(logins, ADMIN, espo=True, address="198.51.100.1").status_code == 403
    logins.directory.create_user("other", "other-password")
    assert attempt(logins, "other:other-password").status_code == 200  # the address still has budget
    clock.advance(651)
    assert attempt(logins, "admin:wrong-4").status_code == 401  # one slot freed, and used up again
    refused = attempt(logins, ADMIN)
    assert refused.status_code == 403 and refused.headers["retry-after"] == "99"
    clock.advance(100)
    assert attempt(logins, ADMIN).status_code == 200


def test_the_address_budget_counts_every_user_name(logins, clock):
    for name in ("admin", "nobody", "root", "x", "y"):
        assert attempt(logins, f"{name}:guess", address="198.51.100.7").status_code == 401
    logins.directory.create_user("other", "other-password")
    refused = attempt(logins, "other:other-password", address="198.51.100.7")
    assert refused.status_code == 403 and refused.headers["retry-after"] == "900"
    assert refused.headers["x-status-reason"] == "Max failed login attempts exceeded for IP address 198.51.100.7."
    assert attempt(logins, "other:other-password", address="198.51.100.8").status_code == 200
    # API keys are not throttled, from that address either.
    assert logins.client({"X-Api-Key": logins.admin_key}, address="198.51.100.7").get(
        "/api/v1/App/user").status_code == 200


def test_ipv6_clients_are_counted_by_their_64(logins):
    for n in range(5):
        assert attempt(logins, f"u{n}:guess", address=f"2001:db8:0:1::{n + 1}").status_code == 401
    assert attempt(logins, ADMIN, address="2001:db8:0:1:ffff::9").status_code == 403
    assert attempt(logins, ADMIN, address="2001:db8:0:2::1").status_code == 200


def test_a_success_resets_neither_budget(logins):
    logins.directory.create_user("other", "other-password")
    assert [attempt(logins, c).status_code for c in ("admin:wrong", "admin:wrong", ADMIN, "admin:wrong")] == \
        [401, 401, 200, 401]
    assert attempt(logins, ADMIN).status_code == 403
    assert [attempt(logins, "nobody:wrong").status_code for _ in range(2)] == [401, 401]
    refused = attempt(logins, "other:other-password")  # the address's 5 failures, with a success among them
    assert refused.status_code == 403 and "IP address" in refused.headers["x-status-reason"]


def test_over_budget_no_password_is_checked_and_refusals_do_not_count(logins, clock, monkeypatch):
    directory = logins.app.state.directory
    checked = []
    verify = directory.verify_password
    monkeypatch.setattr(directory, "verify_password", lambda *args: checked.append(args) or verify(*args))
    assert [attempt(logins, "admin:wrong").status_code for _ in range(3)] == [401] * 3
    assert len(checked) == 3
    assert [attempt(logins, c, espo=e).status_code for c in (ADMIN, "admin:wrong") for e in (False, True)] == \
        [403] * 4
    assert len(checked) == 3
    clock.advance(901)  # a window after the last counted failure, however many refusals since
    assert attempt(logins, ADMIN).status_code == 200


def test_tokens_and_api_keys_are_not_throttled(logins):
    token = attempt(logins, ADMIN, espo=True).json()["token"]
    assert [attempt(logins, "admin:wrong").status_code for _ in range(3)] == [401] * 3
    assert attempt(logins, ADMIN).status_code == 403
    assert attempt(logins, f"admin:{token}", espo=True).status_code == 200
    assert attempt(logins, f"admin:{token}", espo=True, token_only=True).status_code == 200
    assert attempt(logins, f"admin:{token}").status_code == 200
    assert logins.key_client(logins.admin_key).get("/api/v1/App/user").status_code == 200


def test_wrong_tokens_count_as_failed_logins_of_the_user_name(logins):
    logins.directory.create_user("bob", "bob-password")
    bobs = attempt(logins, "bob:bob-password", espo=True).json()["token"]
    assert attempt(logins, "admin:" + "0" * 32, espo=True, token_only=True).status_code == 401
    assert attempt(logins, "admin:" + "1" * 32, espo=True, token_only=True).status_code == 401
    assert attempt(logins, f"admin:{bobs}", espo=True).status_code == 401  # a token of someone else
    refused = attempt(logins, ADMIN, espo=True)
    assert refused.status_code == 403 and refused.headers["x-status-reason"] == USER_LIMIT
    assert attempt(logins, f"bob:{bobs}", espo=True, token_only=True).status_code == 200


PASSWORD = (401, 403)  # a failed password login, refused once over budget
NO_LOGIN = (401, 401)  # no password tried (nothing counted), or a token (counted, never refused)
MALFORMED = (400, 400)  # cannot be decoded: EspoCRM's 400, no password tried


@pytest.mark.parametrize("headers,statuses", [
    ({"Authorization": "Basic !!!"}, MALFORMED),
    ({"Authorization": "Basic " + b64("no-colon")}, MALFORMED),
    ({"Espo-Authorization": ""}, MALFORMED),
    ({"Espo-Authorization": "%%%"}, MALFORMED),
    ({"Espo-Authorization": b64(b"\xff\xfe:\xff")}, MALFORMED),
    ({"Authorization": "Basic"}, NO_LOGIN),
    ({"Authorization": "Bearer " + "0" * 32}, NO_LOGIN),
    ({"X-Api-Key": "k" * 100_000}, NO_LOGIN),
    ({"Espo-Authorization": b64("admin:" + "0" * 100_000), "Espo-Authorization-By-Token": "true"}, NO_LOGIN),
    ({"Espo-Authorization": b64("admin:")}, PASSWORD),
    ({"Espo-Authorization": b64(":")}, PASSWORD),
    ({"Espo-Authorization": b64(":admin-password-1")}, PASSWORD),
    ({"Authorization": "Basic " + b64("admin:")}, PASSWORD),
    ({"Espo-Authorization": b64("adm\x00in:pass\x00word")}, PASSWORD),
    ({"Espo-Authorization": b64("ädmin/../x:pässwörd")}, PASSWORD),
    ({"Espo-Authorization": b64("admin:" + "x" * 100_000)}, PASSWORD),
    ({"Authorization": "Basic " + b64("u" * 100_000 + ":password")}, PASSWORD),
])
def test_bad_credentials_get_4xx_and_never_a_500(logins, headers, statuses):
    client = logins.client(headers)
    seen = [client.get("/api/v1/App/user") for _ in range(6)]  # past both budgets: refusals must be clean too
    assert seen[0].status_code == statuses[0] and seen[-1].status_code == statuses[1]
    if statuses[1] == 403:
        assert seen[-1].headers["retry-after"].isdigit()


@needs_redis
def test_servers_share_the_counts_through_redis(config, store, harness, clock):
    prefix = f"test-{uuid.uuid4().hex}"
    first, second = (throttled_app(config, store, "redis", prefix) for _ in range(2))
    harness.app = first
    assert [attempt(harness, "admin:wrong").status_code for _ in range(3)] == [401] * 3
    harness.app = second
    assert attempt(harness, ADMIN).status_code == 403
    harness.app = throttled_app(config, store, "redis")  # another instance (prefix) has counts of its own
    assert attempt(harness, ADMIN).status_code == 200


def test_an_unreachable_redis_lets_logins_through():
    throttle = LoginThrottle(RateLimiter("redis://127.0.0.1:1/0", key_prefix="unreachable"),
                             parse_rate("1/minute"), parse_rate("1/minute"))
    for _ in range(3):
        throttle.check("admin", "203.0.113.1")
        throttle.failed("admin", "203.0.113.1")


def test_throttle_refuses_with_the_later_retry_of_both_budgets(clock):
    throttle = LoginThrottle(RateLimiter(), parse_rate("2/hour"), parse_rate("3/10minutes"))
    throttle.failed("a", "192.0.2.1")
    clock.advance(60)
    throttle.failed("b", "192.0.2.1")
    throttle.failed("a", "192.0.2.1")
    throttle.failed("c", "192.0.2.1")
    refusals = {}
    for user, address in (("a", "192.0.2.1"), ("b", "192.0.2.1"), ("a", "192.0.2.2")):
        with pytest.raises(LoginThrottled) as refused:
            throttle.check(user, address)
        refusals[user, address] = (refused.value.retry_after, refused.value.reason)
    address_limit = "Max failed login attempts exceeded for IP address 192.0.2.1."
    # Both over budget: the address is named, and the wait is the longer one (the user name's).
    assert refusals == {("a", "192.0.2.1"): (3540, address_limit), ("b", "192.0.2.1"): (540, address_limit),
                        ("a", "192.0.2.2"): (3540, USER_LIMIT)}
    clock.advance(541)
    throttle.check("b", "192.0.2.1")
    throttle.check("d", "192.0.2.3")


@pytest.mark.parametrize("address,identity", [
    ("192.0.2.7", "192.0.2.7"), ("::ffff:192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("testclient", "testclient"), ("-", "-"),
])
def test_client_identity(address, identity):
    assert client_identity(address) == identity


def test_login_budgets_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLYCRM_SECRET_KEY", "settings-test-secret")  # no store needed to read settings
    config = load_config()
    assert (config.login_failures_per_user, config.login_failures_per_ip) == ("10/15minutes", "50/15minutes")
    monkeypatch.setenv("POLYCRM_LOGIN_FAILURES_PER_IP", "100/hour")
    assert load_config().login_failures_per_ip == "100/hour"
    monkeypatch.setenv("POLYCRM_LOGIN_FAILURES_PER_USER", "often")
    with pytest.raises(ValueError, match="POLYCRM_LOGIN_FAILURES_PER_USER"):
        load_config()


def test_wrong_current_passwords_count_as_failed_logins(logins):
    """Changing one's own password checks the current one against the same budget: a stolen session (a
    token) cannot be used to guess the password faster than a login could."""
    logins.directory.create_user("carl", "carl-password")
    token = attempt(logins, "carl:carl-password", espo=True).json()["token"]
    carl = logins.client({"Espo-Authorization": b64(f"carl:{token}"), "Espo-Authorization-By-Token": "true"})
    change = "/api/v1/User/action/changeOwnPassword"
    for guess in ("guess-one", "guess-two", "guess-three"):
        wrong = carl.post(change, json={"password": "carl-new-password", "currentPassword": guess})
        assert wrong.status_code == 403 and wrong.headers["x-status-reason"] == "The current password is wrong."
    refused = carl.post(change, json={"password": "carl-new-password", "currentPassword": "carl-password"})
    assert refused.status_code == 403 and refused.headers["x-status-reason"] == USER_LIMIT
    assert attempt(logins, "carl:carl-password").status_code == 403  # the user name's budget is spent
    assert carl.get("/api/v1/App/user").status_code == 200  # the session itself goes on
