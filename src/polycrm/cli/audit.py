"""`polycrm audit`: read the audit log (what was done through the ITFlow API, failed authentications)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Optional

import typer

from polycrm.cli.context import CliError, open_core

MAX_LIMIT = 10_000


def audit(client: Optional[int] = typer.Option(None, "--client",
                                               help="Only entries of this client (Account id); 0: of no client."),
          type_: Optional[str] = typer.Option(None, "--type", help="Only entries of this type (API, Credential…)."),
          since: Optional[str] = typer.Option(None, "--since", help="Only entries from this date YYYY-MM-DD (UTC)."),
          limit: int = typer.Option(50, "--limit", help=f"At most this many entries, newest first (1-{MAX_LIMIT})."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON lines.")) -> None:
    """List audit log entries, newest first."""
    from polycrm.core.audit import AuditQuery

    if client is not None and client < 0:
        raise CliError("--client must be 0 or an account's id")
    if not 1 <= limit <= MAX_LIMIT:
        raise CliError(f"--limit must be 1 to {MAX_LIMIT}")
    start = None
    if since is not None:
        try:
            start = datetime.strptime(since, "%Y-%m-%d")
        except ValueError:
            raise CliError("--since must be a date YYYY-MM-DD") from None
    entries = open_core().audit.entries(AuditQuery(client_id=client, type=type_, since=start, limit=limit))
    for entry in entries:
        created = entry["createdAt"].strftime("%Y-%m-%d %H:%M:%S")
        if as_json:
            typer.echo(json.dumps({"id": entry["id"], "type": entry["type"], "action": entry["action"],
                                   "description": entry["description"], "ipAddress": entry["ipAddress"],
                                   "userAgent": entry["userAgent"], "createdAt": created,
                                   "clientId": entry["accountId"] or 0, "userId": entry["userId"] or 0,
                                   "entityId": entry["entityId"] or 0}))
            continue
        typer.echo(f"{entry['id']}\t{created}\t{entry['type']}\t{entry['action']}\tclient {entry['accountId'] or 0}\t"
                   f"{entry['ipAddress'] or '-'}\t{entry['description']}")


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
