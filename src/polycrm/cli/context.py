"""What every command shares: its one-line errors and the store it acts on, opened on demand."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from polycrm.logs import safe_url  # noqa: F401 - the one password-hiding form of a URL, for messages

if TYPE_CHECKING:
    from polycrm.auth.directory import UserDirectory
    from polycrm.config import Config
    from polycrm.core.service import Core
    from polycrm.store.database import Database


class CliError(Exception):
    """An expected failure, reported as one line on stderr with exit status 1."""


def expected_error_reason(exc: BaseException) -> str | None:
    """The one line an expected failure is reported as; None for a bug, which keeps its traceback. An error
    class whose module is not loaded cannot have been raised, so none is imported here (`--help` stays fast)."""
    errors, directory = sys.modules.get("polycrm.core.errors"), sys.modules.get("polycrm.auth.directory")
    if errors is not None and isinstance(exc, errors.PolyError):
        return exc.reason
    if isinstance(exc, (CliError, ValueError)) or (directory is not None and isinstance(exc, directory.DirectoryError)):
        return str(exc)
    return None


# Files the server creates (database, its -wal and -shm, attached files, keys) are its owner's alone.
PRIVATE_UMASK = 0o077


def open_store(create: bool = False) -> tuple[Config, Database]:
    """The configuration and the database it names, announced as one line on stderr. Only `create` (`init`,
    `serve`) makes a store (data directory, secret key, database) or upgrades its schema; any other command on
    a missing store fails naming where it looked."""
    import typer

    from polycrm.config import MissingStore, load_config
    from polycrm.store.database import StoreNotFound, open_database, sqlite_file

    os.umask(PRIVATE_UMASK)
    config = load_config(create=create)
    database_file = sqlite_file(config.database_url)
    elsewhere = database_file is None or database_file.parent != config.data_dir
    typer.echo(f"store: {safe_url(config.database_url)}" + (f" (data dir {config.data_dir})" if elsewhere else ""),
               err=True)
    try:
        return config, open_database(config.database_url, sync=create, create=create)
    except StoreNotFound:
        raise MissingStore(database_file or safe_url(config.database_url)) from None


LOCK_FILE = "polycrm.lock"


def lock_store(data_dir: Path, *, exclusive: bool) -> int | None:
    """Take `<data dir>/polycrm.lock` without waiting: shared by every running server and worker, exclusive for a
    restore, so that no store is replaced under a running server and no server starts on a half-restored one.
    The lock lasts as long as the returned descriptor stays open (the process, for servers); None if taken."""
    import fcntl

    descriptor = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


@contextlib.contextmanager
def running_on_store(data_dir: Path, command: str) -> Iterator[None]:
    """The store's lock held shared while `init`, `serve` or `worker` runs: a restore refuses to replace the
    store meanwhile, and the command refuses to start while a restore holds it."""
    held = lock_store(data_dir, exclusive=False)
    if held is None:
        raise CliError(f"a restore is replacing the store in {data_dir}; run {command} when it is done")
    try:
        yield
    finally:
        os.close(held)


def open_directory(create: bool = False) -> tuple[Config, Database, UserDirectory]:
    """The store with its users, roles and keys."""
    from polycrm.auth.directory import UserDirectory
    from polycrm.auth.secrets import KeyRing

    config, database = open_store(create)
    return config, database, UserDirectory(database, KeyRing(config.secret_key))


def open_core() -> Core:
    """The record services over the store, as the server builds them."""
    from polycrm.app import build_core

    config, database = open_store()
    return build_core(config, database)
