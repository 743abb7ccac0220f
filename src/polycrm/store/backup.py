"""Copies of a SQLite store: a consistent snapshot taken while servers go on writing, and the checks a copy
must pass before it replaces a store.

The snapshot uses SQLite's online backup API in one step: it reads the database as of one moment (in WAL mode
writers are not blocked meanwhile, and what they commit later is not in the copy), so the copy is never a mix
of two states, as a plain file copy of a database being written can be.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from polycrm.store.sqlite_writes import LOCK_TIMEOUT

CHUNK = 1024 * 1024


class DamagedCopy(ValueError):
    """A database copy that fails its checks."""


def snapshot_sqlite(source: Path, target: Path) -> None:
    """Copy the database at `source` into the new file `target` (owner-only), as one consistent snapshot."""
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with closing(sqlite3.connect(source, timeout=LOCK_TIMEOUT)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)  # pages=-1: every page in one step, under one read snapshot
        # A copy is one self-contained file: no -wal beside it to lose.
        copy.execute("PRAGMA journal_mode=DELETE")


def check_sqlite(path: Path) -> None:
    """DamagedCopy unless `path` is an intact SQLite database holding a PolyCRM store. Opened read-only: a
    check changes nothing, and never creates a file."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            verdict = [row[0] for row in conn.execute("PRAGMA integrity_check")]
            if verdict != ["ok"]:
                raise DamagedCopy(f"{path} fails SQLite's integrity check: {'; '.join(verdict[:3])}")
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sequence_counter'"
                            ).fetchone() is None:
                raise DamagedCopy(f"{path} is an SQLite database but not a PolyCRM store")
    except sqlite3.DatabaseError as exc:
        raise DamagedCopy(f"{path} is not a readable SQLite database: {exc}") from None


def stored_files(path: Path) -> dict[str, int]:
    """The files a store's rows refer to: storage key -> size in bytes."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        return {key: int(size) for key, size in conn.execute("SELECT storage_key, size FROM stored_file")}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = ["DamagedCopy", "check_sqlite", "sha256_of", "snapshot_sqlite", "stored_files"]
