"""The store's files are its owner's alone, whatever the umask of the process that writes them: the database
and its -wal and -shm files 0600, attached files 0600 in folders 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from polycrm.store.database import open_database
from tests.api.conftest import harness, inflow  # noqa: F401 - the shared per-test application
from tests.inflow.conftest import create


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_log_files_are_private(tmp_path):
    os.umask(0o022)  # a permissive umask: the modes must not depend on it
    path = tmp_path / "polycrm.db"
    database = open_database(f"sqlite:///{path}")
    try:
        with database.transaction() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        with database.connect() as conn:  # a reader keeps the log files in place
            conn.execute(text("SELECT 1")).all()
            for name in ("polycrm.db", "polycrm.db-wal", "polycrm.db-shm"):
                assert mode(tmp_path / name) == 0o600, name
    finally:
        database.dispose()


def test_attached_files_and_their_folders_are_private(inflow, harness, config):
    os.umask(0o022)
    harness.app.state.core.add_field("Account", "cContract", "file", {}, {"inflow": "contract"})
    response = inflow.post("/api/createRecord", data={"module": "customer", "name": "Signed"},
                           files=[("contract", ("contract.pdf", b"%PDF-1.4", "application/pdf"))])
    assert response.status_code == 201, response.text
    create(inflow, "customer", {"name": "No file"})
    files = config.data_dir / "files"
    contents = [p for p in files.rglob("*") if p.is_file()]
    assert len(contents) == 1 and mode(contents[0]) == 0o600
    folders = [files, *(p for p in files.rglob("*") if p.is_dir())]
    assert {p.name for p in folders} >= {"files", ".staging", contents[0].parent.name}
    assert all(mode(p) == 0o700 for p in folders), {p.name: oct(mode(p)) for p in folders}
