"""What every command shares: its one-line errors and the store it acts on, opened on demand."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

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


def open_store(sync: bool = True) -> tuple[Config, Database]:
    """The configuration and the database it names."""
    from polycrm.config import load_config
    from polycrm.store.database import open_database

    try:
        config = load_config()
        return config, open_database(config.database_url, sync=sync)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def open_directory() -> tuple[Config, Database, UserDirectory]:
    """The store with its users, roles and keys."""
    from polycrm.auth.directory import UserDirectory
    from polycrm.auth.secrets import KeyRing

    config, database = open_store(sync=True)
    return config, database, UserDirectory(database, KeyRing(config.secret_key))


def open_core() -> Core:
    """The record services over the store, as the server builds them."""
    from polycrm.app import build_core

    config, database = open_store(sync=True)
    return build_core(config, database)
