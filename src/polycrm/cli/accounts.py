"""`polycrm user`, `role` and `apikey`: who may use the APIs, and with which rights."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

import typer

from polycrm.cli.context import CliError, open_directory

user_app = typer.Typer(no_args_is_help=True, help="Manage users.")
role_app = typer.Typer(no_args_is_help=True, help="Manage roles.")
apikey_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")


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
    _, _, directory = open_directory()
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
    _, _, directory = open_directory()
    role_id = directory.create_role(name, table, mass_update=mass_update)
    typer.echo(f"Created role {name} (id {role_id})")


@role_app.command("assign")
def role_assign(role: str = typer.Argument(...), user: str = typer.Option(..., "--user")) -> None:
    """Give a user a role."""
    _, _, directory = open_directory()
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
    _, _, directory = open_directory()
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
    _, _, directory = open_directory()
    for key in directory.list_api_keys():
        state = "revoked" if key.revoked_at else "active"
        expiry = key.expires_at.strftime("%Y-%m-%d") if key.expires_at else "-"
        typer.echo(f"{key.id}\t{key.user_name}\t{key.name or '-'}\t{key.prefix}…\t"
                   f"{'hmac' if key.hmac else 'key'}\texpires {expiry}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: int = typer.Argument(..., help="Key id from `polycrm apikey list`.")) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    _, _, directory = open_directory()
    if not directory.revoke_api_key(key_id):
        raise CliError(f"no active API key with id {key_id}")
    typer.echo(f"Revoked API key {key_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(role_app, name="role")
