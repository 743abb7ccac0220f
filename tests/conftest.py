"""Shared fixtures: every storage test runs on SQLite, and on PostgreSQL when POLYCRM_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from argon2 import PasswordHasher

import polycrm.auth.directory
import polycrm.auth.trusted
import polycrm.events.addresses

from polycrm.auth.directory import API_KEY_TTL, UserDirectory
from polycrm.auth.secrets import KeyRing
from polycrm.config import Config
from tests.support.ssrf import FakeDNS
from tests.support.stores import PostgresqlSchemas, SqliteTemplate, Store

# Tests hash passwords with argon2's cheapest parameters: how slow a hash is, is the library's business, not
# what a test checks, and the default's tenth of a second per user made up a third of a test's set-up.
# Servers the live tests start hash with the real parameters.
polycrm.auth.directory._PASSWORDS = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

PG_URL = os.environ.get("POLYCRM_TEST_DATABASE_URL")
SECRET = "test-secret-key-not-for-production"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.skipif(
        not PG_URL, reason="POLYCRM_TEST_DATABASE_URL is not set: PostgreSQL storage tests skipped")),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@contextmanager
def open_store(backend: str, directory: Path) -> Iterator[Store]:
    """A data store of its own, built afresh (a SQLite file in `directory`, or a PostgreSQL schema dropped
    afterwards), for fixtures that keep one for a whole module; tests use `store`."""
    if backend == "sqlite":
        with SqliteTemplate(directory).store(directory) as opened:
            yield opened
        return
    assert PG_URL is not None
    schemas = PostgresqlSchemas(PG_URL)
    try:
        with schemas.store() as opened:
            yield opened
    finally:
        schemas.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    return SqliteTemplate(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def postgresql_schemas() -> Iterator[PostgresqlSchemas]:
    assert PG_URL is not None
    schemas = PostgresqlSchemas(PG_URL)
    yield schemas
    schemas.close()


@pytest.fixture
def store(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """An empty, initialised data store on the backend under test, as new (see tests/support/stores.py)."""
    if backend == "sqlite":
        with request.getfixturevalue("sqlite_template").store(tmp_path) as opened:
            yield opened
    else:
        with request.getfixturevalue("postgresql_schemas").store() as opened:
            yield opened


@pytest.fixture(scope="session")
def portal() -> Iterator[BlockingPortal]:
    """One event loop, in a thread of its own, for every test client of a test process: a Starlette
    TestClient used outside `with` starts a thread and a loop for each request, a quarter of a simple
    request's time. Requests from several threads at once still run concurrently on it."""
    with start_blocking_portal() as shared:
        yield shared


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """The webhook guard's name lookups, answered from a table: no test depends on the network."""
    dns = FakeDNS()
    monkeypatch.setattr(polycrm.events.addresses, "system_resolver", dns)
    return dns


@pytest.fixture
def config(tmp_path: Path, store: Store) -> Config:
    return Config(data_dir=tmp_path, database_url=store.url, secret_key=SECRET)


@pytest.fixture
def directory(store: Store) -> UserDirectory:
    return UserDirectory(store.database, KeyRing(SECRET))


@pytest.fixture
def pass_key_trust(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Moves the clock of every process's trusted credentials past `API_KEY_TTL`: what a server process sees
    that long after another process (the CLI, another worker) revoked a key it had found live."""
    def advance() -> None:
        later = polycrm.auth.trusted.monotonic() + API_KEY_TTL + 1
        monkeypatch.setattr(polycrm.auth.trusted, "monotonic", lambda: later)
    return advance
