"""`polycrm user`, `role`, `apikey` and `token`: who may use the APIs, and with which rights."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, time
from typing import Optional

import typer

from polycrm.cli.context import CliError, open_directory, open_store

user_app = typer.Typer(no_args_is_help=True, help="Manage users.")
role_app = typer.Typer(no_args_is_help=True, help="Manage roles.")
apikey_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
token_app = typer.Typer(no_args_is_help=True, help="Manage App CRM (Concord CRM) API tokens.")


@user_app.command("create")
def user_create(username: str = typer.Option(..., "--username", help="Login name."),
                password: Optional[str] = typer.Option(None, "--password",
                                                       help="8 to 150 characters; asked without echo if not given."),
                password_stdin: bool = typer.Option(False, "--password-stdin",
                                                    help="Read the password from the first line of stdin."),
                admin: bool = typer.Option(False, "--admin", help="Administrator (full access)."),
                api: bool = typer.Option(False, "--api", help="API user (no password login)."),
                role: list[str] = typer.Option([], "--role", help="Role name to assign (repeatable)."),
                email: Optional[str] = typer.Option(None, "--email",
                                                    help="Email address, unique among users: the login on the "
                                                         "App CRM API."),
                api_access: bool = typer.Option(True, "--api-access/--no-api-access",
                                                help="May use the App CRM API (else it answers 403).")) -> None:
    """Create a user."""
    if admin and api:
        raise CliError("--admin and --api exclude each other")
    if api and (password is not None or password_stdin):
        raise CliError("API users have no password: they authenticate with API keys")
    if password is not None and password_stdin:
        raise CliError("--password and --password-stdin exclude each other")
    if password is None and not api:
        password = _new_password(password_stdin)
    _, _, directory = open_directory()
    user_id = directory.create_user(username, None if api else password,
                                    user_type="admin" if admin else "api" if api else "regular", email=email,
                                    api_access=api_access)
    for name in role:
        directory.assign_role(user_id, name)
    typer.echo(f"Created user {username} (id {user_id})")


@user_app.command("list")
def user_list() -> None:
    """List users: id, name, type, active or not, whether they have a password, roles."""
    _, _, directory = open_directory()
    for user in directory.list_users():
        typer.echo(f"{user.id}\t{user.user_name}\t{user.type}\t{'active' if user.is_active else 'inactive'}\t"
                   f"{'password' if user.has_password else 'no password'}\t{','.join(user.roles) or '-'}")


def _new_password(password_stdin: bool) -> str:
    """The new password: the first line of stdin, or asked twice on the terminal without echo."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on stdin")
        return password
    return typer.prompt("New password", hide_input=True, confirmation_prompt=True)


@user_app.command("passwd")
def user_passwd(user: str = typer.Argument(..., help="User name."),
                password_stdin: bool = typer.Option(False, "--password-stdin",
                                                    help="Read the password from the first line of stdin."),
                keep_sessions: bool = typer.Option(False, "--keep-sessions",
                                                   help="Leave the user's auth tokens (logins) valid.")) -> None:
    """Set a user's password (asked without echo unless --password-stdin); ends their logins' auth tokens."""
    _, _, directory = open_directory()
    user_id = directory.user_id(user)
    directory.set_password(user_id, _new_password(password_stdin))
    ended = 0 if keep_sessions else directory.destroy_user_tokens(user_id)
    typer.echo(f"Password of {user} changed" + (f"; {ended} auth token(s) ended" if ended else ""))


def _set_active(user: str, active: bool) -> None:
    from polycrm.core.users import set_user_active

    _, database = open_store()
    changed = set_user_active(database, user, active)
    state = "active" if active else "inactive"
    typer.echo(f"User {user} is now {state}" if changed else f"User {user} already was {state}")


@user_app.command("deactivate")
def user_deactivate(user: str = typer.Argument(..., help="User name.")) -> None:
    """Deactivate a user: every credential of theirs is refused (the last active administrator stays)."""
    _set_active(user, False)


@user_app.command("activate")
def user_activate(user: str = typer.Argument(..., help="User name.")) -> None:
    """Activate a user again."""
    _set_active(user, True)


@role_app.command("list")
def role_list() -> None:
    """List roles: id, name, number of users, mass-update permission."""
    _, _, directory = open_directory()
    for role in directory.roles():
        typer.echo(f"{role.id}\t{role.name}\t{len(role.users)} user(s)\t"
                   f"mass update {'yes' if role.mass_update else 'no'}")


@role_app.command("show")
def role_show(name: str = typer.Argument(..., help="Role name.")) -> None:
    """Print a role as JSON: its access levels by entity type and its users."""
    _, _, directory = open_directory()
    role = directory.roles(directory.role_id(name))[0]
    typer.echo(json.dumps({"id": role.id, "name": role.name, "scopes": role.scopes,
                           "massUpdate": role.mass_update, "users": sorted(role.users.values())}, indent=2))


@role_app.command("unassign")
def role_unassign(role: str = typer.Argument(...), user: str = typer.Option(..., "--user")) -> None:
    """Take a role from a user."""
    _, _, directory = open_directory()
    if not directory.unassign_role(directory.user_id(user), role):
        raise CliError(f"{user} does not have the role {role}")
    typer.echo(f"Role {role} taken from {user}")


@role_app.command("delete")
def role_delete(name: str = typer.Argument(..., help="Role name.")) -> None:
    """Delete a role; its users lose its rights."""
    _, _, directory = open_directory()
    directory.delete_role(directory.role_id(name))
    typer.echo(f"Deleted role {name}")


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


def _expiry_date(expires: str | None) -> date | None:
    if expires is None:
        return None
    try:
        day = datetime.strptime(expires, "%Y-%m-%d").date()
    except ValueError:
        raise CliError("--expires must be a date YYYY-MM-DD") from None
    if day <= date.today():
        raise CliError("--expires must be in the future")
    return day


@apikey_app.command("create")
def apikey_create(user: str = typer.Option(..., "--user", help="User name the key acts as."),
                  name: Optional[str] = typer.Option(None, "--name", help="A label for the key."),
                  expires: Optional[str] = typer.Option(None, "--expires", help="Expiry date YYYY-MM-DD."),
                  hmac: bool = typer.Option(False, "--hmac", help="Also issue an HMAC secret; requests must sign."),
                  itflow: bool = typer.Option(False, "--itflow",
                                              help="A key for the ITFlow API only, with a credential decrypt "
                                                   "password; refused from 00:00 (server local time) on --expires."),
                  client: Optional[int] = typer.Option(None, "--client",
                                                       help="With --itflow: the one client (Account id) the key "
                                                            "may reach; 0 or none: all clients."),
                  as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create an API key; the key (and HMAC secret or decrypt password) are printed exactly once."""
    if itflow and hmac:
        raise CliError("--itflow and --hmac exclude each other: ITFlow keys are not signed")
    if client is not None and not itflow:
        raise CliError("--client needs --itflow")
    if client is not None and client < 0:
        raise CliError("--client must be 0 (all clients) or an account's id")
    expires_on = _expiry_date(expires)
    _, _, directory = open_directory()
    user_id = directory.user_id(user)
    payload: dict[str, object] = {"user": user, "name": name,
                                  "expiresAt": expires_on.isoformat() if expires_on else None}
    if itflow:
        issued_itflow = directory.create_itflow_key(user_id, client_id=client or 0, expires_on=expires_on, name=name)
        payload.update(id=issued_itflow.info.id, key=issued_itflow.key, protocol="itflow", clientId=client or 0,
                       decryptPassword=issued_itflow.decrypt_password)
    else:
        expires_at = datetime.combine(expires_on, time()) if expires_on else None
        issued = directory.create_api_key(user_id, name=name, expires_at=expires_at, with_hmac=hmac)
        payload.update(id=issued.info.id, key=issued.key)
        if issued.hmac_secret:
            payload["hmacSecret"] = issued.hmac_secret
    if as_json:
        typer.echo(json.dumps(payload))
        return
    typer.echo(f"API key (id {payload['id']}): {payload['key']}")
    if "hmacSecret" in payload:
        typer.echo(f"HMAC secret: {payload['hmacSecret']}")
    if itflow:
        typer.echo(f"Decrypt password (api_key_decrypt_password): {payload['decryptPassword']}")
        typer.echo(f"ITFlow API only; client {client or 'all'}")
    typer.echo("Store them now: they cannot be shown again.")


@apikey_app.command("list")
def apikey_list(as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List API keys (never the keys themselves): id, user, name, prefix, kind (key, hmac, itflow, concord:
    App CRM tokens), ITFlow client, expiry, state."""
    _, _, directory = open_directory()
    for key in directory.list_api_keys():
        state = "revoked" if key.revoked_at else "active"
        expires = key.expires_on or (key.expires_at.date() if key.expires_at else None)
        kind = key.protocol or ("hmac" if key.hmac else "key")
        client = (key.client_id or "all") if key.protocol == "itflow" else "-"
        if as_json:
            typer.echo(json.dumps({"id": key.id, "user": key.user_name, "name": key.name, "prefix": key.prefix,
                                   "kind": kind, "clientId": key.client_id,
                                   "expiresAt": expires.isoformat() if expires else None, "state": state}))
            continue
        typer.echo(f"{key.id}\t{key.user_name}\t{key.name or '-'}\t{key.prefix}…\t{kind}\tclient {client}\t"
                   f"expires {expires.isoformat() if expires else '-'}\t{state}")


@apikey_app.command("revoke")
def apikey_revoke(key_id: int = typer.Argument(..., help="Key id from `polycrm apikey list`.")) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    _, _, directory = open_directory()
    if not directory.revoke_api_key(key_id):
        raise CliError(f"no active API key with id {key_id}")
    typer.echo(f"Revoked API key {key_id}")


@token_app.command("create")
def token_create(user: str = typer.Option(..., "--user", help="User name the token acts as."),
                 name: str = typer.Option(..., "--name", help="A label for the token (Concord requires one)."),
                 as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Create a personal access token for the App CRM API; it is printed exactly once."""
    _, _, directory = open_directory()
    user_id = directory.user_id(user)
    issued = directory.create_concord_token(user_id, name)
    if as_json:
        typer.echo(json.dumps({"id": issued.info.id, "name": issued.info.name, "userId": user_id,
                               "plainTextToken": issued.plain_text}))
        return
    typer.echo(f"App CRM token (id {issued.info.id}): {issued.plain_text}")
    typer.echo("Store it now: it cannot be shown again. Send it as 'Authorization: Bearer <token>'.")


@token_app.command("list")
def token_list(user: Optional[str] = typer.Option(None, "--user", help="Only this user's tokens."),
               as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List live App CRM tokens (never the tokens themselves): id, user, name, created, last used."""
    _, _, directory = open_directory()
    names = {u.id: u.user_name for u in directory.list_users()}
    for token in directory.list_concord_tokens(None if user is None else directory.user_id(user)):
        created, used = token.created_at.isoformat(), token.last_used_at.isoformat() if token.last_used_at else None
        if as_json:
            typer.echo(json.dumps({"id": token.id, "user": names.get(token.user_id), "userId": token.user_id,
                                   "name": token.name, "createdAt": created, "lastUsedAt": used}))
            continue
        typer.echo(f"{token.id}\t{names.get(token.user_id, token.user_id)}\t{token.name}\tcreated {created}\t"
                   f"last used {used or 'never'}")


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(..., help="Token id from `polycrm token list`.")) -> None:
    """Revoke an App CRM token, whoever's it is; requests with it get 401 from then on."""
    _, _, directory = open_directory()
    if not directory.revoke_concord_token(token_id, owner_id=None):
        raise CliError(f"no live App CRM token with id {token_id}")
    typer.echo(f"Revoked App CRM token {token_id}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(apikey_app, name="apikey")
    app.add_typer(role_app, name="role")
    app.add_typer(token_app, name="token")
