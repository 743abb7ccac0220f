"""Auth tokens of EspoCRM's Espo-Authorization flow (specs/espocrm.md §1.3) expire: after an idle time that
use refreshes (written at most once a minute), after an absolute lifetime, and beyond a number per user."""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

import polycrm.auth.directory
from polycrm.app import build_app
from polycrm.auth.directory import TokenLifetime
from polycrm.config import load_config
from polycrm.store.database import utcnow


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def login(client_factory, user: str = "admin", password: str = "admin-password-1") -> str:
    response = client_factory({"Espo-Authorization": b64(f"{user}:{password}")}).get("/api/v1/App/user")
    assert response.status_code == 200
    return response.json()["token"]


def with_token(harness, token: str, user: str = "admin") -> int:
    client = harness.client({"Espo-Authorization": b64(f"{user}:{token}"), "Espo-Authorization-By-Token": "true"})
    return client.get("/api/v1/App/user").status_code


def tokens(store) -> list:
    table = store.database.table("auth_token")
    with store.database.engine.connect() as conn:
        return conn.execute(select(table).order_by(table.c.id)).all()


@pytest.fixture
def clock(monkeypatch):
    """Moves the directory's clock (the server's and the test's) by the given time."""
    def advance(by: timedelta) -> datetime:
        later = utcnow() + by
        monkeypatch.setattr(polycrm.auth.directory, "utcnow", lambda: later)
        return later
    return advance


def test_an_idle_token_expires_and_is_removed(harness, store, clock):
    token = login(harness.client)
    assert with_token(harness, token) == 200
    clock(timedelta(hours=48, seconds=1))
    assert with_token(harness, token) == 401
    assert tokens(store) == []


def test_use_refreshes_the_idle_limit_at_most_once_a_minute(harness, store, clock):
    token = login(harness.client)
    issued = tokens(store)[0].last_access
    clock(timedelta(seconds=30))
    assert with_token(harness, token) == 200
    assert tokens(store)[0].last_access == issued  # no write for a use within the minute
    used = clock(timedelta(hours=47))
    assert with_token(harness, token) == 200
    assert tokens(store)[0].last_access == used
    clock(timedelta(hours=47 + 47))  # 47 hours after that use: still alive
    assert with_token(harness, token) == 200


def test_a_used_token_still_ends_after_its_lifetime(harness, store, clock):
    token = login(harness.client)
    for day in range(1, 30):
        clock(timedelta(days=day))
        assert with_token(harness, token) == 200
    clock(timedelta(days=30))
    assert with_token(harness, token) == 401
    assert tokens(store) == []


def test_lifetimes_are_configurable(config, store, harness, clock):
    short = TokenLifetime(max_idle=timedelta(hours=1), lifetime=timedelta(hours=2))
    app = build_app(dataclasses.replace(config, auth_tokens=short), store.database)
    harness.app = app
    idle, used = login(harness.client), login(harness.client)
    clock(timedelta(minutes=50))
    assert with_token(harness, used) == 200
    clock(timedelta(minutes=70))
    assert with_token(harness, idle) == 401 and with_token(harness, used) == 200
    clock(timedelta(minutes=120))
    assert with_token(harness, used) == 401


def test_login_removes_expired_tokens_and_keeps_a_number_per_user(config, store, harness, clock):
    harness.app = build_app(dataclasses.replace(config, auth_tokens=TokenLifetime(per_user=3)), store.database)
    harness.directory.create_user("other", "other-password")
    others = login(harness.client, "other", "other-password")
    first = [login(harness.client) for _ in range(3)]
    assert len(tokens(store)) == 4
    clock(timedelta(minutes=5))
    assert with_token(harness, first[0]) == 200  # now the most recently used
    newer = [login(harness.client) for _ in range(2)]
    # The user keeps three: the one just used and the two new ones; the others' tokens are left alone.
    assert [with_token(harness, t) for t in first] == [200, 401, 401]
    assert all(with_token(harness, t) == 200 for t in newer)
    assert with_token(harness, others, "other") == 200
    assert len(tokens(store)) == 4
    clock(timedelta(days=3))  # everything idle past 48 hours
    latest = login(harness.client)
    assert [row.user_id for row in tokens(store)] == [harness.directory.user_id("other"), harness.admin_id]
    assert with_token(harness, latest) == 200


def test_many_logins_leave_a_bounded_number_of_tokens(harness, store):
    for _ in range(30):
        harness.directory.create_token(harness.admin_id)
    table = store.database.table("auth_token")
    with store.database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == TokenLifetime().per_user


def test_logged_out_tokens_of_older_versions_are_removed_at_login(harness, store):
    token = harness.directory.create_token(harness.admin_id)
    table = store.database.table("auth_token")
    with store.database.engine.begin() as conn:  # before, logging out only marked the row inactive
        conn.execute(table.update().values(is_active=False))
    assert with_token(harness, token) == 401
    harness.directory.create_token(harness.admin_id)
    assert len(tokens(store)) == 1


@pytest.mark.parametrize("name,value", [
    ("POLYCRM_AUTH_TOKEN_MAX_IDLE_HOURS", "0"), ("POLYCRM_AUTH_TOKEN_MAX_IDLE_HOURS", "soon"),
    ("POLYCRM_AUTH_TOKEN_LIFETIME_HOURS", "-1"), ("POLYCRM_AUTH_TOKENS_PER_USER", "0"),
])
def test_bad_token_settings_are_refused(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        load_config()


def test_token_settings_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("POLYCRM_SECRET_KEY", "settings-test-secret")  # no store needed to read settings
    assert load_config().auth_tokens == TokenLifetime(timedelta(hours=48), timedelta(days=30), 20)
    monkeypatch.setenv("POLYCRM_AUTH_TOKEN_MAX_IDLE_HOURS", "0.5")
    monkeypatch.setenv("POLYCRM_AUTH_TOKEN_LIFETIME_HOURS", "24")
    monkeypatch.setenv("POLYCRM_AUTH_TOKENS_PER_USER", "5")
    assert load_config().auth_tokens == TokenLifetime(timedelta(minutes=30), timedelta(hours=24), 5)
