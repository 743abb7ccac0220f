"""The `polycrm` command line: init, serve, users, API keys, roles and custom fields."""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Optional, TextIO

import click
import typer
from typer.core import TyperGroup

from polycrm.affinity import SERVE_WORKERS_ENV
from polycrm.app import build_core, build_webhooks
from polycrm.auth.directory import DirectoryError, UserDirectory
from polycrm.auth.secrets import KeyRing
from polycrm.config import Config, load_config
from polycrm.core.errors import PolyError
from polycrm.core.fields import custom_field_name
from polycrm.dialects.webhooks import delivery_record
from polycrm.events.deliveries import RedeliverRefused
from polycrm.events.hub import WebhookHub
from polycrm.store.database import Database, open_database


class CliError(Exception):
    """An expected failure, reported as one line on stderr with exit status 1."""


EXPECTED_ERRORS = (CliError, DirectoryError, PolyError, ValueError)


class OneLineErrors(TyperGroup):
    """The command line's group: an expected failure of any command ends as one line on stderr and exit
    status 1, whether `main` runs the command or a test's CliRunner does."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EXPECTED_ERRORS as exc:
            typer.echo(f"error: {exc.reason if isinstance(exc, PolyError) else exc}", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(cls=OneLineErrors, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="PolyCRM: one CRM server, four wire protocols.")
user_app = typer.Typer(no_args_is_help=True, help="Manage users.")
apikey_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
field_app = typer.Typer(no_args_is_help=True, help="Manage custom fields.")
role_app = typer.Typer(no_args_is_help=True, help="Manage roles.")
webhook_app = typer.Typer(no_args_is_help=True, help="Inspect webhooks, their delivery log; redeliver.")
app.add_typer(user_app, name="user")
app.add_typer(apikey_app, name="apikey")
app.add_typer(field_app, name="field")
app.add_typer(role_app, name="role")
app.add_typer(webhook_app, name="webhook")


def _open(sync: bool = False) -> tuple[Config, Database]:
    try:
        config = load_config()
        return config, open_database(config.database_url, sync=sync)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _directory() -> tuple[Config, Database, UserDirectory]:
    config, database = _open(sync=True)
    return config, database, UserDirectory(database, KeyRing(config.secret_key))


@app.command()
def init() -> None:
    """Create or upgrade the schema (idempotent); create the first admin and API key if there are no users."""
    config, database, directory = _directory()
    _bootstrap(config, directory)
    typer.echo(f"Schema ready at {_safe_url(config.database_url)}")


def _safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':')[0]}:***@{host}" if ":" in credentials else url
    return url


INITIAL_ADMIN_FILE = "initial-admin.txt"


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _bootstrap(config: Config, directory: UserDirectory) -> None:
    """First start: an admin user with a random password and an API key, shown once. On a terminal they are
    printed; otherwise stdout is a log (a service, a file, CI) where secrets must not go, so they are written to
    an owner-only file in the data directory and the log says where."""
    if directory.has_users():
        return
    terminal = _stdout_is_terminal()
    path = config.data_dir / INITIAL_ADMIN_FILE
    # Opened before the admin exists: if it cannot be written, nothing is created whose password is lost.
    handle = None if terminal else _open_private(path)
    password = secrets.token_urlsafe(12)
    admin_id = directory.create_user("admin", password, user_type="admin", first_name="Admin", last_name="User")
    issued = directory.create_api_key(admin_id, name="bootstrap")
    credentials = (f"  admin password : {password}\n"
                   f"  API key        : {issued.key}\n"
                   "Call the EspoCRM-compatible API with it, for example:\n"
                   f"  curl -H 'X-Api-Key: {issued.key}' http://127.0.0.1:8080/api/v1/Account\n"
                   "Interactive API docs: http://127.0.0.1:8080/docs\n")
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


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8080, min=1, max=65535, help="Port to listen on."),
          workers: int = typer.Option(1, min=1, max=64, help="Worker processes.")) -> None:
    """Initialise the store if needed and serve the APIs."""
    import uvicorn

    config, database, directory = _directory()
    _bootstrap(config, directory)
    database.dispose()
    typer.echo(f"PolyCRM on http://{host}:{port}  (EspoCRM API: /api/v1, InflowCRM API: /api, docs: /docs)")
    os.environ[SERVE_WORKERS_ENV] = str(workers)  # read by each worker process (polycrm.affinity)
    uvicorn.run("polycrm.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=config.log_level, access_log=False, proxy_headers=False)


@user_app.command("create")
def user_create(username: str = typer.Option(..., "--username", help="Login name."),
                password: Optional[str] = typer.Option(None, "--password", help="At least 8 characters."),
                admin: bool = typer.Option(False, "--admin", help="Administrator (full access)."),
                api: bool = typer.Option(False, "--api", help="API user (no password login)."),
                role: list[str] = typer.Option([], "--role", help="Role name to assign (repeatable).")) -> None:
    """Create a user."""
    if admin and api:
        raise CliError("--admin and --api exclude each other")
    if password is None and not api:
        raise CliError("--password is required unless --api is given")
    _, _, directory = _directory()
    user_id = directory.create_user(username, None if api else password,
                                    user_type="admin" if admin else "api" if api else "regular")
    for name in role:
        directory.assign_role(user_id, name)
    typer.echo(f"Created user {username} (id {user_id})")


@role_app.command("create")
def role_create(name: str = typer.Argument(..., help="Role name."),
                scopes: str = typer.Option(..., "--scopes",
                                           help='JSON: {"Account": {"create": "yes", "read": "team", '
                                                '"edit": "own", "delete": "no"}}'),
                mass_update: bool = typer.Option(True, help="Allow mass update.")) -> None:
    """Create a role with per-entity access levels."""
    try:
        table = json.loads(scopes)
    except json.JSONDecodeError as exc:
        raise CliError(f"--scopes is not valid JSON: {exc.msg}") from None
    _, _, directory = _directory()
    role_id = directory.create_role(name, table, mass_update=mass_update)
    typer.echo(f"Created role {name} (id {role_id})")


@role_app.command("assign")
def role_assign(role: str = typer.Argument(...), user: str = typer.Option(..., "--user")) -> None:
    """Give a user a role."""
    _, _, directory = _directory()
    directory.assign_role(directory.user_id(user), role)
    typer.echo(f"Role {role} assigned to {user}")


@apikey_app.command("create")
def apikey_create(user: str = typer.Option(..., "--user", help="User name the key acts as."),
                  name: Optional[str] = typer.Option(None, "--name", help="A label for the key."),
                  expires: Optional[str] = typer.Option(None, "--expires", help="Expiry date YYYY-MM-DD."),
                  hmac: bool = typer.Option(False, "--hmac", help="Also issue an HMAC secret; requests must sign."),
                  as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create an API key; the key (and HMAC secret) are printed exactly once."""
    expires_at = None
    if expires is not None:
        try:
            expires_at = datetime.strptime(expires, "%Y-%m-%d")
        except ValueError:
            raise CliError("--expires must be a date YYYY-MM-DD") from None
        if expires_at <= datetime.now():
            raise CliError("--expires must be in the future")
    _, _, directory = _directory()
    issued = directory.create_api_key(directory.user_id(user), name=name, expires_at=expires_at, with_hmac=hmac)
    if as_json:
        payload = {"id": issued.info.id, "user": user, "name": name, "key": issued.key,
                   "expiresAt": expires_at.strftime("%Y-%m-%d") if expires_at else None}
        if issued.hmac_secret:
            payload["hmacSecret"] = issued.hmac_secret
        typer.echo(json.dumps(payload))
        return
    typer.echo(f"API key (id {issued.info.id}): {issued.key}")
    if issued.hmac_secret:
        typer.echo(f"HMAC secret: {issued.hmac_secret}")
    typer.echo("Store them now: they cannot be shown again.")


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never the keys themselves)."""
    _, _, directory = _directory()
    for key in directory.list_api_keys():
        state = "revoked" if key.revoked_at else "active"
        expiry = key.expires_at.strftime("%Y-%m-%d") if key.expires_at else "-"
        typer.echo(f"{key.id}\t{key.user_name}\t{key.name or '-'}\t{key.prefix}…\t"
                   f"{'hmac' if key.hmac else 'key'}\texpires {expiry}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: int = typer.Argument(..., help="Key id from `polycrm apikey list`.")) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    _, _, directory = _directory()
    if not directory.revoke_api_key(key_id):
        raise CliError(f"no active API key with id {key_id}")
    typer.echo(f"Revoked API key {key_id}")


@field_app.command("add")
def field_add(entity: str = typer.Argument(..., help="Entity type, e.g. Contact."),
              name: str = typer.Argument(..., help="Field name; stored as c<Name> like EspoCRM."),
              field_type: str = typer.Option(..., "--type", help="varchar, int, float, bool, enum, ..."),
              options: Optional[str] = typer.Option(None, "--options", help="Comma-separated enum options."),
              inflow_name: Optional[str] = typer.Option(None, "--inflow-name", help="InflowCRM API field name.")) -> None:
    """Add a custom field (a real, indexed column)."""
    config, database = _open(sync=True)
    params = {"options": [o.strip() for o in options.split(",") if o.strip()]} if options else {}
    field = build_core(config, database).add_field(entity, custom_field_name(name), field_type, params,
                                                   {"inflow": inflow_name} if inflow_name else {})
    typer.echo(f"Added {entity}.{field.name} ({field.type})")


@field_app.command("api-name")
def field_api_name(entity: str = typer.Argument(..., help="Entity type, e.g. Account."),
                   field: str = typer.Argument(..., help="Custom field name, e.g. cLoyalty."),
                   inflow: Optional[str] = typer.Option(None, "--inflow", help="InflowCRM API field name."),
                   clear: bool = typer.Option(False, "--clear", help="Remove the InflowCRM API name.")) -> None:
    """Set, change or remove a custom field's InflowCRM API name (unique per entity)."""
    if (inflow is None) == (not clear):
        raise CliError("give exactly one of --inflow NAME and --clear")
    config, database = _open(sync=True)
    build_core(config, database).set_api_name(entity, field, "inflow", None if clear else inflow)
    typer.echo(f"{entity}.{field}: InflowCRM API name " + ("removed" if clear else f"set to {inflow}"))


@app.command()
def purge(deleted_before: str = typer.Option(..., "--deleted-before", help="Date YYYY-MM-DD (UTC)."),
          entity: list[str] = typer.Option([], "--entity", help="Entity type to purge (repeatable; default all).")
          ) -> None:
    """Remove records deleted before a date for good, with their relations and attached files."""
    try:
        before = datetime.strptime(deleted_before, "%Y-%m-%d")
    except ValueError:
        raise CliError("--deleted-before must be a date YYYY-MM-DD") from None
    config, database = _open(sync=True)
    purged = build_core(config, database).purge(before, entity or None)
    for name, count in purged.items():
        typer.echo(f"{name}\t{count}")
    typer.echo(f"Purged {sum(purged.values())} records deleted before {deleted_before}")


def _webhooks(sync: bool = False) -> WebhookHub:
    config, database = _open(sync=sync)
    directory = UserDirectory(database, KeyRing(config.secret_key))
    return build_webhooks(config, database, build_core(config, database), directory)


@app.command()
def worker() -> None:
    """Deliver webhooks in this process until SIGTERM or Ctrl-C (start several on PostgreSQL)."""
    hub = _webhooks(sync=True)
    delivery_worker = hub.new_worker()
    logging.getLogger("polycrm").setLevel(logging.INFO)
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda *_: delivery_worker.request_stop())
    typer.echo(f"PolyCRM webhook worker ({hub.database.dialect})")
    try:
        delivery_worker.run()
    finally:
        delivery_worker.close()


@webhook_app.command("list")
def webhook_list() -> None:
    """Subscriptions of every protocol: id, protocol, event, state, URL (never the secret)."""
    hub = _webhooks()
    for protocol in sorted(hub.protocols):
        for subscription in hub.subscriptions.list(protocol, limit=10_000)[0]:
            state = "active" if subscription.is_active else f"disabled ({subscription.disabled_reason or 'by a user'})"
            public = f"\t{subscription.uid}" if protocol == "inflow" else ""  # the id InflowCRM clients know
            typer.echo(f"{subscription.id}\t{protocol}\t{subscription.event}\t{state}\t{subscription.url}{public}")


def _subscription_id(hub: WebhookHub, given: str | None) -> int | None:
    """A subscription by its id or, for InflowCRM subscriptions, its UUID."""
    if given is None:
        return None
    subscription = hub.subscriptions.get(int(given)) if given.isdigit() and len(given) <= 18 else \
        hub.subscriptions.get_by_uid(given.strip().lower(), "inflow")
    if subscription is None:
        raise CliError(f"no webhook subscription {given}")
    return subscription.id


@webhook_app.command("deliveries")
def webhook_deliveries(webhook: Optional[str] = typer.Option(None, "--webhook",
                                                             help="Only this subscription (id, or InflowCRM UUID)."),
                       status: Optional[str] = typer.Option(None, "--status",
                                                            help="pending, sending, succeeded, failed, cancelled"),
                       limit: int = typer.Option(20, "--limit", min=1, max=10_000),
                       as_json: bool = typer.Option(False, "--json", help="Print JSON, attempts included.")) -> None:
    """The delivery log, newest first: every attempt's time, status, duration and error."""
    hub = _webhooks()
    found, total = hub.queue.list(_subscription_id(hub, webhook), status=status, limit=limit)
    log = hub.queue.attempts_of([d.id for d in found])
    records = [delivery_record(d, log[d.id]) for d in found]
    if as_json:
        typer.echo(json.dumps({"total": total, "list": records}))
        return
    for record in records:
        typer.echo(f"{record['id']}  webhook {record['webhookId']}  {record['status']}  "
                   f"{len(record['eventIds'])} event(s)  created {record['createdAt']}")
        for attempt in record["attempts"]:
            typer.echo(f"    #{attempt['number']} {attempt['startedAt']}  {attempt['statusCode'] or '-'}  "
                       f"{attempt['durationMs']:.0f} ms  {attempt['outcome']}  {attempt['error'] or ''}")


@webhook_app.command("redeliver")
def webhook_redeliver(delivery_id: str = typer.Argument(..., help="Delivery id (X-PolyCRM-Delivery).")) -> None:
    """Queue a finished delivery again, with the same delivery id and events."""
    hub = _webhooks()
    try:
        delivery = hub.queue.redeliver(delivery_id)
    except RedeliverRefused as exc:
        raise CliError(str(exc)) from None
    if delivery is None:
        raise CliError(f"no delivery {delivery_id}")
    typer.echo(f"Delivery {delivery_id} queued again")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app()  # expected errors end as one line on stderr (OneLineErrors)
