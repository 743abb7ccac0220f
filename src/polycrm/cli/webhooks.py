"""`polycrm webhook`: subscriptions of every protocol, the delivery log, redelivery."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Optional

import typer

from polycrm.cli.context import CliError, open_directory

if TYPE_CHECKING:
    from polycrm.events.hub import WebhookHub

webhook_app = typer.Typer(no_args_is_help=True, help="Inspect webhooks, their delivery log; redeliver.")


def open_webhooks() -> WebhookHub:
    """Subscriptions, queue and workers over the store, as the server builds them."""
    from polycrm.app import build_core, build_webhooks

    config, database, directory = open_directory()
    return build_webhooks(config, database, build_core(config, database), directory)


@webhook_app.command("list")
def webhook_list() -> None:
    """Subscriptions of every protocol: id, protocol, event, state, URL (never the secret)."""
    hub = open_webhooks()
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
    from polycrm.dialects.webhooks import delivery_record

    hub = open_webhooks()
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
    from polycrm.events.deliveries import RedeliverRefused

    hub = open_webhooks()
    try:
        delivery = hub.queue.redeliver(delivery_id)
    except RedeliverRefused as exc:
        raise CliError(str(exc)) from None
    if delivery is None:
        raise CliError(f"no delivery {delivery_id}")
    typer.echo(f"Delivery {delivery_id} queued again")


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")
