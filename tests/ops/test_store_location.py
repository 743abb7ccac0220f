"""Every command acts on one store whatever folder it runs in, says which on stderr, and only `init` and
`serve` create one: any other command on a missing store fails in one line naming where it looked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from polycrm.config import MissingStore, data_dir, load_config
from polycrm.store.database import make_engine
from tests.conftest import PG_URL
from tests.ops.conftest import error_line, invoke, store_env

UNSET = {"POLYCRM_DATA_DIR": None, "POLYCRM_DATABASE_URL": None, "POLYCRM_SECRET_KEY": None}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_default_store_does_not_depend_on_the_current_folder(monkeypatch, tmp_path):
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    expected = tmp_path / "home" / ".local" / "share" / "polycrm"
    for folder in (tmp_path, tmp_path / "elsewhere"):
        folder.mkdir(exist_ok=True)
        monkeypatch.chdir(folder)
        assert data_dir() == expected
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "polycrm"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/xdg")  # ignored, as the XDG specification says
    assert data_dir() == expected
    monkeypatch.setenv("POLYCRM_DATA_DIR", "~/crm")
    assert data_dir() == tmp_path / "home" / "crm"


def test_commands_on_a_missing_store_fail_in_one_line_and_create_nothing(tmp_path):
    absent = tmp_path / "absent"
    for args in (["apikey", "list"], ["user", "create", "--username", "x", "--password", "long-password-1"],
                 ["field", "add", "Account", "x", "--type", "varchar"], ["webhook", "list"],
                 ["purge", "--deleted-before", "2000-01-01"], ["backup", str(tmp_path / "copy")], ["worker"]):
        line = error_line(invoke({**UNSET, "POLYCRM_DATA_DIR": str(absent)}, *args))
        assert line == f"error: no PolyCRM store at {absent}: run 'polycrm init' first (or set POLYCRM_DATA_DIR)"
    assert not absent.exists() and not (tmp_path / "copy").exists()


def test_a_data_dir_without_its_database_is_no_store(tmp_path):
    """A key found (or given), but no database: the command names the database file and does not make it."""
    (tmp_path / "secret.key").write_text("a-key\n")
    for env in ({**UNSET, "POLYCRM_DATA_DIR": str(tmp_path)},
                {**UNSET, "POLYCRM_DATA_DIR": str(tmp_path / "other"), "POLYCRM_SECRET_KEY": "from-env"}):
        result = invoke(env, "apikey", "list")
        database = Path(env["POLYCRM_DATA_DIR"]) / "polycrm.db"
        assert error_line(result) == f"error: no PolyCRM store at {database}: run 'polycrm init' first " \
                                     "(or set POLYCRM_DATA_DIR)"
        assert result.stderr.splitlines()[0] == f"store: sqlite:///{database}"
        assert not database.exists()


@pytest.mark.skipif(not PG_URL, reason="POLYCRM_TEST_DATABASE_URL is not set: PostgreSQL storage tests skipped")
def test_a_postgresql_database_without_the_schema_is_no_store(tmp_path):
    engine = make_engine(PG_URL)
    schema = f"empty_{tmp_path.name[-20:].lower().replace('-', '_')}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        result = invoke({**UNSET, "POLYCRM_DATA_DIR": str(tmp_path), "POLYCRM_DATABASE_URL": url,
                          "POLYCRM_SECRET_KEY": "k"}, "apikey", "list")
        assert error_line(result).startswith("error: no PolyCRM store at postgresql://")
        assert f"(data dir {tmp_path})" in result.stderr.splitlines()[0]
        with engine.connect() as conn:
            tables = conn.execute(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s"),
                                  {"s": schema}).scalar()
        assert tables == 0
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_each_command_names_its_store_on_stderr(store, tmp_path):
    env = store_env(store, tmp_path / "data")
    listed = invoke(env, "apikey", "list")
    assert listed.exit_code == 0, listed.stderr
    line, = listed.stderr.splitlines()
    assert line.startswith("store: ")
    if store.schema is None:
        assert line == f"store: {store.url} (data dir {tmp_path / 'data'})"  # the database is not in the data dir
    assert not (tmp_path / "data").exists()  # a command that creates nothing


def test_the_database_url_is_named_without_its_password(tmp_path):
    url = "postgresql://crm:s3cret@127.0.0.1:1/none"
    result = invoke({**UNSET, "POLYCRM_DATA_DIR": str(tmp_path), "POLYCRM_DATABASE_URL": url,
                      "POLYCRM_SECRET_KEY": "k"}, "apikey", "list")
    assert result.stderr.splitlines()[0] == f"store: postgresql://crm:***@127.0.0.1:1/none (data dir {tmp_path})"
    assert "s3cret" not in result.stderr + result.stdout


def test_init_creates_a_private_store_and_other_commands_find_it_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    env = {**UNSET, "POLYCRM_LOG_LEVEL": "warning"}
    monkeypatch.chdir(tmp_path)
    initialised = invoke(env, "init")
    assert initialised.exit_code == 0, initialised.stderr
    store = tmp_path / "home" / ".local" / "share" / "polycrm"
    assert initialised.stderr == f"store: sqlite:///{store / 'polycrm.db'}\n"
    assert mode(store) == 0o700
    for name in ("polycrm.db", "secret.key", "initial-admin.txt"):
        assert mode(store / name) == 0o600, name
    assert not (tmp_path / "polycrm-data").exists()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    listed = invoke(env, "apikey", "list")
    assert listed.exit_code == 0 and "bootstrap" in listed.stdout, listed.stderr
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_init_tightens_a_data_dir_left_open(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    assert invoke({**UNSET, "POLYCRM_DATA_DIR": str(data)}, "init").exit_code == 0
    assert mode(data) == 0o700


def test_settings_are_checked_before_the_store_is_looked_for(monkeypatch, tmp_path):
    monkeypatch.setenv("POLYCRM_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.delenv("POLYCRM_SECRET_KEY", raising=False)
    with pytest.raises(MissingStore):
        load_config()
    monkeypatch.setenv("POLYCRM_INFLOW_RATE_LIMIT", "lots")
    with pytest.raises(ValueError, match="POLYCRM_INFLOW_RATE_LIMIT: not a rate limit"):
        load_config()
    assert not (tmp_path / "none").exists()


def test_a_data_dir_that_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    line = error_line(invoke({**UNSET, "POLYCRM_DATA_DIR": str(tmp_path / "a-file" / "data")}, "init"))
    assert line == f"error: cannot make the data directory {tmp_path / 'a-file' / 'data'} (owner-only): Not a directory"
