"""`polycrm init`, `serve` and `worker`: the store's first start, the API server and webhook workers."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import typer

from polycrm.cli.context import CliError, open_directory, running_on_store, safe_url

if TYPE_CHECKING:
    from polycrm.auth.directory import UserDirectory
    from polycrm.config import Config

INITIAL_ADMIN_FILE = "initial-admin.txt"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"


def init() -> None:
    """Create the store, or upgrade its schema (idempotent); create the first admin and API key if there are
    no users."""
    with running_on_store(private_data_dir(), "polycrm init"):
        config, _, directory = open_directory(create=True)
        bootstrap(config, directory)
    typer.echo(f"Schema ready at {safe_url(config.database_url)}")


def private_data_dir() -> Path:
    """The data directory, made (owner-only) if missing: where `init` and `serve` take the store's lock."""
    from polycrm.config import data_dir, make_private_dir

    path = data_dir()
    make_private_dir(path)
    return path


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def bootstrap(config: Config, directory: UserDirectory, base_url: str = DEFAULT_BASE_URL) -> None:
    """First start: an admin user with a random password and an API key, shown once. On a terminal they are
    printed; otherwise stdout is a log (a service, a file, CI) where secrets must not go, so they are written to
    an owner-only file in the data directory and the log says where."""
    if directory.has_users():
        return
    terminal = stdout_is_terminal()
    path = config.data_dir / INITIAL_ADMIN_FILE
    # Opened before the admin exists: if it cannot be written, nothing is created whose password is lost.
    handle = None if terminal else _open_private(path)
    password = secrets.token_urlsafe(12)
    admin_id = directory.create_user("admin", password, user_type="admin", first_name="Admin", last_name="User")
    issued = directory.create_api_key(admin_id, name="bootstrap")
    credentials = (f"  admin password : {password}\n"
                   f"  API key        : {issued.key}\n"
                   "Call the EspoCRM-compatible API with it, for example:\n"
                   f"  curl -H 'X-Api-Key: {issued.key}' {base_url}/api/v1/Account\n"
                   "For ITFlow scripts, make an ITFlow key (and its credential decrypt password):\n"
                   "  polycrm apikey create --user admin --itflow\n"
                   f"Interactive API docs: {base_url}/docs\n")
    if handle is None:
        typer.echo("\nFirst start: created user 'admin' and an API key. They are shown only now; keep them safe.")
        typer.echo(credentials)
        return
    with handle:
        handle.write("Created on first start: user 'admin' and an API key. Store them safely, then delete this "
                     "file.\n" + credentials)
    typer.echo(f"First start: created user 'admin' and an API key; they are in {path} (readable by its owner "
               "only). Store them safely, then delete that file.")


def _open_private(path: Path) -> TextIO:
    """A new file only its owner may read. One left there is replaced, not reused: it would keep its mode (or
    be a symlink placed by someone else)."""
    try:
        path.unlink(missing_ok=True)
        return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w")
    except OSError as exc:
        raise CliError(f"cannot write the first admin's credentials to {path}: {exc.strerror}") from None


def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8080, min=1, max=65535, help="Port to listen on."),
          workers: int = typer.Option(1, min=1, max=64, help="Worker processes.")) -> None:
    """Initialise the store if needed and serve the APIs."""
    import uvicorn

    from polycrm.affinity import SERVE_WORKERS_ENV
    from polycrm.logs import configure_logging

    with running_on_store(private_data_dir(), "polycrm serve"):  # held while serving
        config, database, directory = open_directory(create=True)
        base_url = served_url(host, port)
        bootstrap(config, directory, base_url)
        database.dispose()
        typer.echo(f"PolyCRM on {base_url}  (EspoCRM API: /api/v1, InflowCRM API: /api, "
                   "ITFlow API: /api/v1/{module}/{function}.php, docs: /docs)")
        os.environ[SERVE_WORKERS_ENV] = str(workers)  # read by each worker process (polycrm.affinity)
        configure_logging(config.log_level, config.log_format)  # this process's lines: uvicorn's supervisor
        # uvicorn configures no logging of its own (log_config=None): its lines go through PolyCRM's handler, and
        # its access log stays off for PolyCRM's access line (dialects/http.py), which knows the user.
        uvicorn.run("polycrm.app:create_app", factory=True, host=host, port=port, workers=workers,
                    log_level=config.log_level, log_config=None, access_log=False,
                    **proxy_options(config.trusted_proxies))


def served_url(host: str, port: int) -> str:
    """The URL clients on this machine reach the server at (a wildcard address is reached on loopback)."""
    reachable = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{reachable}]:{port}" if ":" in reachable else f"http://{reachable}:{port}"


def proxy_options(trusted: tuple[str, ...]) -> dict[str, object]:
    """uvicorn's reverse-proxy settings: X-Forwarded-For and -Proto are believed only from the trusted
    addresses and networks (POLYCRM_TRUSTED_PROXIES), so that the client address that rate limits and login
    throttles count by is the real client's behind a proxy, and no client can choose its own."""
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted)}


def worker() -> None:
    """Deliver webhooks in this process until SIGTERM or Ctrl-C (start several on PostgreSQL)."""
    import signal

    from polycrm.cli.webhooks import open_webhooks
    from polycrm.config import data_dir

    hub = open_webhooks()
    with running_on_store(data_dir(), "polycrm worker"):  # held while delivering
        delivery_worker = hub.new_worker()
        for signal_number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signal_number, lambda *_: delivery_worker.request_stop())
        typer.echo(f"PolyCRM webhook worker ({hub.database.dialect})")
        try:
            delivery_worker.run()
        finally:
            delivery_worker.close()


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
    app.command()(worker)
