"""`polycrm backup` copies a SQLite store while it is being written (a consistent snapshot, its files, its secret
key) and `polycrm restore` puts one back after checking it, never over a store in use or, without --force, over
one that exists. PostgreSQL stores are backed up with pg_dump: the commands say so in one line."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest
from polycrm.auth.acl import Actor
from polycrm.cli.context import lock_store
from polycrm.core.service import Core
from polycrm.store.backup import sha256_of
from polycrm.store.database import open_database
from tests.api.conftest import harness, inflow  # noqa: F401 - the shared per-test application
from tests.conftest import SECRET
from tests.ops.conftest import error_line, invoke, store_env

ADMIN = Actor(user_id=1, user_name="admin", is_admin=True, user_type="admin")


def sqlite_only(store) -> None:
    if store.schema is not None:
        pytest.skip("a PostgreSQL store is backed up with pg_dump (test_postgresql_stores_point_to_pg_dump)")


def accounts(path: Path) -> int:
    """Accounts in a database file, read without changing it (opening it as a store would set WAL mode)."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT count(*) FROM account").fetchone()[0]


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) in (0o600, 0o700)


@pytest.fixture
def data(store, tmp_path) -> dict[str, str]:
    """The environment of a store whose secret key is in its data directory (the fixture's store folder)."""
    sqlite_only(store)
    (tmp_path / "secret.key").write_text(SECRET + "\n")
    return store_env(store, tmp_path, secret_in_env=False)


def test_a_backup_taken_during_writes_is_a_consistent_store_that_restores(data, store, tmp_path, inflow, harness):
    harness.app.state.core.add_field("Account", "cContract", "file", {}, {"inflow": "contract"})
    uploaded = inflow.post("/api/createRecord", data={"module": "customer", "name": "Signed"},
                           files=[("contract", ("contract.pdf", b"%PDF-1.4 signed", "application/pdf"))])
    assert uploaded.status_code == 201, uploaded.text
    writer_database = open_database(store.url, sync=False)
    service = Core(writer_database).records("Account")
    stop, written = threading.Event(), []

    def write() -> None:  # another connection committing all along, as a server would
        while not stop.is_set() or len(written) < 20:
            written.append(service.create(ADMIN, {"name": f"Busy {len(written)}"})["id"])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 5:
            stop.wait(0.01)
        result = invoke(data, "backup", str(tmp_path / "copy"))
    finally:
        stop.set()
        writer.join()
        writer_database.dispose()
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Backed up {store.url} to {tmp_path / 'copy'}: 1 files, secret key included")
    copy = tmp_path / "copy"
    assert sorted(p.name for p in copy.iterdir()) == ["files", "manifest.json", "polycrm.db", "secret.key"]
    assert all(private(p) for p in [copy, *copy.rglob("*")])
    manifest = json.loads((copy / "manifest.json").read_text())
    assert (manifest["format"], manifest["files"], manifest["secret_key"]) == ("polycrm-backup/1", 1, "included")
    backed_up = accounts(copy / "polycrm.db")
    with contextlib.closing(sqlite3.connect(f"{(copy / 'polycrm.db').as_uri()}?mode=ro", uri=True)) as conn:
        busy = {name for name, in conn.execute("SELECT name FROM account WHERE name LIKE 'Busy %'")}
    # One moment's state: the writes committed before it, in order, with none missing in between.
    assert len(busy) >= 5 and busy == {f"Busy {n}" for n in range(len(busy))} and backed_up == 1 + len(busy)

    restored_dir = tmp_path / "restored"
    restored = invoke({"POLYCRM_DATA_DIR": str(restored_dir), "POLYCRM_DATABASE_URL": None,
                       "POLYCRM_SECRET_KEY": None}, "restore", str(copy))
    assert restored.exit_code == 0, restored.stderr
    assert restored.stdout.startswith(f"Restored the backup of {manifest['created_at']} into sqlite:///")
    assert accounts(restored_dir / "polycrm.db") == backed_up
    assert (restored_dir / "secret.key").read_text().strip() == SECRET
    content, = [p for p in (restored_dir / "files").rglob("*") if p.is_file()]
    assert content.read_bytes() == b"%PDF-1.4 signed"
    assert all(private(p) for p in [restored_dir, *restored_dir.rglob("*")])
    listed = invoke({"POLYCRM_DATA_DIR": str(restored_dir), "POLYCRM_DATABASE_URL": None,
                     "POLYCRM_SECRET_KEY": None}, "apikey", "list")
    assert listed.exit_code == 0 and listed.stdout.count("\tadmin\t") == 1, listed.stderr  # the key still verifies


def test_backup_never_writes_into_an_existing_folder(data, tmp_path):
    (tmp_path / "taken").mkdir()
    assert error_line(invoke(data, "backup", str(tmp_path / "taken"))) == \
        f"error: {tmp_path / 'taken'} exists: give a new folder"
    assert list((tmp_path / "taken").iterdir()) == []


def test_the_secret_key_is_left_out_when_asked_or_not_the_store_s(data, tmp_path):
    left_out = invoke(data, "backup", str(tmp_path / "a"), "--without-secret-key")
    assert left_out.exit_code == 0 and "secret key left out" in left_out.stdout
    from_env = invoke({**data, "POLYCRM_SECRET_KEY": SECRET}, "backup", str(tmp_path / "b"))
    assert from_env.exit_code == 0 and "it comes from POLYCRM_SECRET_KEY" in from_env.stdout
    for name, how in (("a", "left out"), ("b", "environment")):
        assert not (tmp_path / name / "secret.key").exists()
        assert json.loads((tmp_path / name / "manifest.json").read_text())["secret_key"] == how
    restored = invoke({"POLYCRM_DATA_DIR": str(tmp_path / "r"), "POLYCRM_DATABASE_URL": None,
                       "POLYCRM_SECRET_KEY": None}, "restore", str(tmp_path / "a"))
    assert restored.exit_code == 0 and "note: the backup holds no secret key" in restored.stdout


@pytest.fixture
def backup(data, tmp_path) -> Path:
    assert invoke(data, "backup", str(tmp_path / "copy")).exit_code == 0
    return tmp_path / "copy"


def test_restore_refuses_to_replace_a_store_without_force(data, backup, store, tmp_path):
    refused = invoke(data, "restore", str(backup))
    assert error_line(refused) == f"error: a store exists at {Path(store.url.removeprefix('sqlite:///'))}: pass " \
                                  "--force to replace it"
    assert invoke(data, "restore", str(backup), "--force").exit_code == 0
    assert accounts(Path(store.url.removeprefix("sqlite:///"))) == 0


def test_restore_refuses_a_store_in_use(data, backup, tmp_path):
    held = lock_store(tmp_path, exclusive=False)  # what a running `polycrm serve` holds
    assert held is not None
    try:
        assert error_line(invoke(data, "restore", str(backup), "--force")) == \
            f"error: the store in {tmp_path} is in use by a running polycrm serve or worker: stop it first"
    finally:
        os.close(held)
    assert invoke(data, "restore", str(backup), "--force").exit_code == 0


def test_a_server_cannot_start_during_a_restore(tmp_path):
    held = lock_store(tmp_path, exclusive=True)
    try:
        assert lock_store(tmp_path, exclusive=False) is None
        for command in ("serve", "init"):
            result = invoke({"POLYCRM_DATA_DIR": str(tmp_path)}, command)
            assert error_line(result) == f"error: a restore is replacing the store in {tmp_path}; run polycrm " \
                                         f"{command} when it is done"
        assert list(tmp_path.iterdir()) == [tmp_path / "polycrm.lock"]  # nothing made meanwhile
    finally:
        os.close(held)


def damage_database(copy: Path) -> None:
    with open(copy / "polycrm.db", "r+b") as handle:
        handle.seek(5000)
        handle.write(b"\xff" * 64)


def damage_manifest_and_database(copy: Path) -> None:
    """A database damaged together with its checksum: SQLite's integrity check still finds it."""
    with open(copy / "polycrm.db", "r+b") as handle:
        handle.seek(4096)  # the second page's b-tree header: a table's root
        handle.write(b"\x07" * 64)
    rewrite_checksum(copy)


def rewrite_checksum(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["database_sha256"] = sha256_of(copy / "polycrm.db")
    (copy / "manifest.json").write_text(json.dumps(manifest))


def remove_a_file(copy: Path) -> None:
    with contextlib.closing(sqlite3.connect(copy / "polycrm.db")) as conn, conn:
        conn.execute("INSERT INTO stored_file (entity, record_id, name, size, mime_type, storage_key, created_at) "
                     "VALUES ('Account', 1, 'gone.pdf', 3, 'application/pdf', 'abcdef', '2026-01-01 00:00:00')")
    rewrite_checksum(copy)


@pytest.mark.parametrize("damage,message", [
    (damage_database, "does not match the checksum in its manifest"),
    (damage_manifest_and_database, "SQLite"),
    (lambda copy: (copy / "polycrm.db").unlink(), "is missing or does not match"),
    (remove_a_file, "attached file"),
])
def test_a_damaged_backup_is_refused_and_nothing_changes(backup, tmp_path, damage, message):
    damage(backup)
    target = tmp_path / "target"
    line = error_line(invoke({"POLYCRM_DATA_DIR": str(target), "POLYCRM_DATABASE_URL": None}, "restore",
                             str(backup)))
    assert line.startswith("error: not restoring a damaged backup: ") and message in line, line
    assert not target.exists()


@pytest.mark.parametrize("manifest,message", [
    (None, "is not a PolyCRM backup (no manifest.json)"),
    ("{not json", "cannot read"),
    ('{"format": "other/9"}', "is not a backup this version of PolyCRM reads"),
    ("[1, 2]", "is not a backup this version of PolyCRM reads"),
])
def test_a_folder_that_is_no_backup_is_refused(backup, tmp_path, manifest, message):
    if manifest is None:
        (backup / "manifest.json").unlink()
    else:
        (backup / "manifest.json").write_text(manifest)
    line = error_line(invoke({"POLYCRM_DATA_DIR": str(tmp_path / "t"), "POLYCRM_DATABASE_URL": None}, "restore",
                             str(backup)))
    assert message in line, line


def test_postgresql_stores_point_to_pg_dump(store, tmp_path):
    if store.schema is None:
        pytest.skip("PostgreSQL only")
    env = store_env(store, tmp_path)
    assert error_line(invoke(env, "backup", str(tmp_path / "copy"))).startswith(
        "error: the store is PostgreSQL (postgresql://")
    assert "pg_dump" in error_line(invoke(env, "backup", str(tmp_path / "copy")))
    assert "pg_restore" in error_line(invoke(env, "restore", str(tmp_path)))
    assert not (tmp_path / "copy").exists()


def test_files_that_cannot_be_written_end_in_one_line(data, tmp_path):
    (tmp_path / "a-file").write_text("")
    line = error_line(invoke(data, "backup", str(tmp_path / "a-file" / "copy")))
    assert line.startswith("error: backup failed: Not a directory: ") and "a-file" in line
