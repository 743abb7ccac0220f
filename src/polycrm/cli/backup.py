"""`polycrm backup DEST` and `polycrm restore SRC`: a SQLite store's database, attached files and secret key.

A backup is a folder (owner-only) holding `polycrm.db` (a consistent snapshot, safe to take while servers
write), `files/` (the attached files), `secret.key` (unless left out, or the key comes from the environment)
and `manifest.json` (what is there, with the database's checksum). It is written beside DEST and renamed into
place when complete: a folder named DEST is always a whole backup. The secret key is included by default
because without it a restored store's API keys, HMAC secrets and webhook secrets are useless; whoever holds the
backup holds the customer data anyway. PostgreSQL stores are backed up with pg_dump (docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import typer

from polycrm.cli.context import CliError, lock_store, safe_url

if TYPE_CHECKING:
    from polycrm.config import Config

MANIFEST = "manifest.json"
FORMAT = "polycrm-backup/1"
POSTGRESQL_HINT = "see 'Backup and restore' in docs/deployment.md"


@contextlib.contextmanager
def _file_errors(action: str) -> Iterator[None]:
    """A file that cannot be read or written ends the command as one line."""
    try:
        yield
    except OSError as exc:
        raise CliError(f"{action} failed: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
                       ) from None
    except sqlite3.Error as exc:
        raise CliError(f"{action} failed: SQLite: {exc}") from None


def backup(destination: Path = typer.Argument(..., help="Folder to create (must not exist yet)."),
           without_secret_key: bool = typer.Option(False, "--without-secret-key",
                                                   help="Leave the secret key out (keep it elsewhere).")) -> None:
    """Copy the store (database snapshot, attached files, secret key) into a new folder, while it serves."""
    with _file_errors("backup"):
        _backup(destination, without_secret_key)


def _backup(destination: Path, without_secret_key: bool) -> None:
    from polycrm.cli.context import open_store
    from polycrm.store.backup import check_sqlite, sha256_of, snapshot_sqlite, stored_files

    config, database = open_store()
    database.dispose()
    source = _sqlite_path(config.database_url, f"back it up with pg_dump and copy {config.data_dir / 'files'} ({POSTGRESQL_HINT})")
    destination = destination.resolve()
    if destination.exists():
        raise CliError(f"{destination} exists: give a new folder")
    partial = destination.with_name(f".{destination.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)  # a backup interrupted before
    partial.mkdir(mode=0o700, parents=True)
    try:
        snapshot_sqlite(source, partial / "polycrm.db")
        check_sqlite(partial / "polycrm.db")
        # Files after the snapshot: every file it refers to existed when it was taken (content is written
        # before its row commits), unless a purge or replacement removed it since.
        wanted = stored_files(partial / "polycrm.db")
        missing = _copy_files(config.data_dir / "files", partial / "files", wanted)
        key_source = _copy_secret_key(config, partial, without_secret_key)
        manifest = {"format": FORMAT, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "source": safe_url(config.database_url), "database_sha256": sha256_of(partial / "polycrm.db"),
                    "files": len(wanted) - len(missing), "files_removed_during_backup": sorted(missing),
                    "secret_key": key_source}
        _write_private(partial / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        os.replace(partial, destination)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    typer.echo(f"Backed up {safe_url(config.database_url)} to {destination}: {manifest['files']} files, "
               f"secret key {_KEY_NOTES[key_source]}")
    if missing:
        typer.echo(f"note: {len(missing)} files were removed (purged or replaced) while the backup ran; the copy "
                   "lists them in its manifest")


_KEY_NOTES = {"included": "included (keep the backup as secret as the store)",
              "left out": "left out: a restore needs the same key (POLYCRM_SECRET_KEY or secret.key)",
              "environment": "not included: it comes from POLYCRM_SECRET_KEY, which a restore needs too"}


def restore(source: Path = typer.Argument(..., help="A folder `polycrm backup` made."),
            force: bool = typer.Option(False, "--force", help="Replace the store that is there.")) -> None:
    """Check a backup, then make it the store (refused while a server or worker runs on it)."""
    with _file_errors("restore"):
        _restore(source, force)


def _restore(source: Path, force: bool) -> None:
    from polycrm.config import data_dir, database_url, make_private_dir
    from polycrm.store.backup import DamagedCopy, check_sqlite, sha256_of

    os.umask(0o077)
    directory = data_dir()  # the store's paths only: its secret key, if any, comes from the backup
    url = database_url(directory)
    typer.echo(f"store: {safe_url(url)}", err=True)
    target = _sqlite_path(url, f"restore it with pg_restore ({POSTGRESQL_HINT})")
    source = source.resolve()
    manifest = _read_manifest(source)
    database = source / "polycrm.db"
    try:
        if not database.is_file() or sha256_of(database) != manifest.get("database_sha256"):
            raise DamagedCopy(f"{database} is missing or does not match the checksum in its manifest")
        check_sqlite(database)
        _check_files(source / "files", database, set(manifest.get("files_removed_during_backup", [])))
    except DamagedCopy as exc:
        raise CliError(f"not restoring a damaged backup: {exc}") from None
    make_private_dir(directory)
    held = lock_store(directory, exclusive=True)
    if held is None:
        raise CliError(f"the store in {directory} is in use by a running polycrm serve or worker: stop it first")
    try:
        files = directory / "files"
        if not force and (target.exists() or (files.exists() and any(files.iterdir()))):
            raise CliError(f"a store exists at {target}: pass --force to replace it")
        _replace(target, files, source, manifest)
    finally:
        os.close(held)
    typer.echo(f"Restored the backup of {manifest.get('created_at')} into {safe_url(url)}")
    if manifest.get("secret_key") != "included" and not os.environ.get("POLYCRM_SECRET_KEY"):
        typer.echo("note: the backup holds no secret key: set POLYCRM_SECRET_KEY (or write secret.key) to the key "
                   "the store had, or its API keys and stored secrets will not work")


def _sqlite_path(url: str, postgresql_advice: str) -> Path:
    from polycrm.store.database import sqlite_file

    path = sqlite_file(url)
    if path is None:
        raise CliError(f"the store is PostgreSQL ({safe_url(url)}): {postgresql_advice}")
    return path


def _copy_files(files: Path, target: Path, wanted: dict[str, int]) -> list[str]:
    """Copy the files the snapshot refers to; returns the keys of those no longer there."""
    target.mkdir(mode=0o700)
    missing = []
    for key in sorted(wanted):
        source = files / key[:2] / key
        (target / key[:2]).mkdir(mode=0o700, exist_ok=True)
        try:
            shutil.copyfile(source, target / key[:2] / key)
        except FileNotFoundError:
            missing.append(key)
    return missing


def _check_files(files: Path, database: Path, removed: set[str]) -> None:
    from polycrm.store.backup import DamagedCopy, stored_files

    for key, size in stored_files(database).items():
        path = files / key[:2] / key
        if key not in removed and (not path.is_file() or path.stat().st_size != size):
            raise DamagedCopy(f"attached file {path} is missing or not of its recorded size")


def _copy_secret_key(config: Config, target: Path, leave_out: bool) -> str:
    if os.environ.get("POLYCRM_SECRET_KEY"):
        return "environment"
    if leave_out:
        return "left out"
    _write_private(target / "secret.key", config.secret_key + "\n")
    return "included"


def _read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text())
    except FileNotFoundError:
        raise CliError(f"{source} is not a PolyCRM backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {source / MANIFEST}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CliError(f"{source} is not a backup this version of PolyCRM reads (format {FORMAT})")
    return manifest


def _replace(target: Path, files: Path, source: Path, manifest: dict[str, Any]) -> None:
    """Put the backup in place: each part copied beside its destination first, then renamed over it."""
    incoming_files = files.with_name("files.restoring")
    shutil.rmtree(incoming_files, ignore_errors=True)
    shutil.copytree(source / "files", incoming_files)
    incoming = target.with_name(target.name + ".restoring")
    incoming.unlink(missing_ok=True)
    shutil.copyfile(source / "polycrm.db", incoming)
    with open(incoming, "rb") as handle:
        os.fsync(handle.fileno())
    # The old database's write-ahead log and index belong to it: beside the new file they would corrupt it.
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(incoming, target)
    if files.exists():
        shutil.rmtree(files)
    os.replace(incoming_files, files)
    if manifest.get("secret_key") == "included":
        key = files.parent / "secret.key"  # the data directory's
        incoming_key = key.with_name("secret.key.restoring")
        shutil.copyfile(source / "secret.key", incoming_key)
        os.replace(incoming_key, key)


def _write_private(path: Path, text: str) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(text)


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
