"""Shared fixtures: every storage test runs on SQLite, and on PostgreSQL when POLYCRM_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import text

import polycrm.auth.directory
import polycrm.events.addresses

from polycrm.auth.directory import API_KEY_TTL, UserDirectory
from polycrm.auth.secrets import KeyRing
from polycrm.config import Config
from polycrm.store.database import Database, make_engine, open_database
from tests.support.ssrf import FakeDNS

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


@dataclass
class Store:
    url: str
    schema: str | None
    database: Database


@contextmanager
def open_store(backend: str, directory: Path) -> Iterator[Store]:
    """A fresh, empty, initialised data store on a backend: a SQLite file in `directory`, or a PostgreSQL
    schema of its own (dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'polycrm.db'}"
        database = open_database(url)
        yield Store(url, None, database)
        database.dispose()
        return
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_engine = make_engine(PG_URL)
    with admin_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = open_database(PG_URL, schema=schema)
    try:
        yield Store(PG_URL, schema, database)
    finally:
        database.dispose()
        with admin_engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin_engine.dispose()


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty, initialised data store on the backend under test."""
    with open_store(backend, tmp_path) as opened:
        yield opened


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
    """Moves every directory's clock past `API_KEY_TTL`: what a server process sees that long after another
    process (the CLI, another worker) revoked a key it had found live."""
    def advance() -> None:
        later = polycrm.auth.directory.monotonic() + API_KEY_TTL + 1
        monkeypatch.setattr(polycrm.auth.directory, "monotonic", lambda: later)
    return advance
