"""InflowCRM webhooks (specs/inflowcrm.md §11): `/webhooks` management and the delivery rules: one event
per request as a compact JSON object, `X-Webhook-Signature`, any 2xx a success. Subscriptions, queue,
retries and the log are protocol-neutral (`polycrm.events`).
"""

from __future__ import annotations

import re
import secrets
from typing import Any, Mapping, Sequence

import orjson
from limits import RateLimitItem
from starlette.responses import Response

from polycrm.auth.directory import UserDirectory
from polycrm.core.errors import NotFound
from polycrm.core.service import Core
from polycrm.dialects.http import JSONResponse
from polycrm.dialects.inflow.context import MAX_PAGE, InflowRequest, Reply, positive_int
from polycrm.dialects.inflow.envelope import (VALIDATION_ERROR, VALIDATION_FAILED, InflowError, field_errors,
                                              invalid)
from polycrm.dialects.inflow.ids import encode_id
from polycrm.dialects.inflow.mapping import InflowMapping, Module
from polycrm.dialects.inflow.records import api_field_names, format_timestamp, render_record, wire_value
from polycrm.dialects.ratelimit import parse_rate
from polycrm.dialects.webhooks import delivery_record, readable_events, saved_record
from polycrm.events.addresses import BlockedTarget, parse_target
from polycrm.events.deliveries import RedeliverRefused
from polycrm.events.hub import WebhookHub
from polycrm.events.model import Action, Attempt, Delivery, DeliveryStatus, Event, Outcome, Subscription
from polycrm.events.signing import inflow_signature
from polycrm.events.subscriptions import SubscriptionLimitReached

PROTOCOL = "inflow"
# Every spelling the docs have used (§11.2), case-insensitive; the subscriber's own is stored and echoed.
EVENT_ACTIONS = {"create": "create", "created": "create", "update": "update", "updated": "update",
                 "delete": "delete", "deleted": "delete"}
NAME_PATTERN = re.compile(r"^[\w\-]{1,64}$", re.ASCII)
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SUBSCRIBE_KEYS = frozenset({"event", "hookUrl", "module", "hmacSecret"})
MAX_URL_LENGTH = 512
SECRET_LENGTHS = (32, 128)
MAX_PER_EVENT = 10  # subscriptions per module and event
ALLOWED_PORTS = (80, 443)
DEFAULT_PER_PAGE, MAX_PER_PAGE = 20, 100
BLOCKED_URL = "Invalid hookUrl - must be a valid HTTP/HTTPS URL and not internal/private"
NOT_FOUND = "Webhook subscription not found"
# Management budgets per API key and client IP (§3), by operation group; `POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS`.
DEFAULT_RATES = "subscribe=10/hour,list=100/hour,item=50/hour"


def parse_webhook_rates(text: str) -> dict[str, RateLimitItem]:
    """`subscribe=10/hour,list=100/hour,item=50/hour` (any subset; the rest keep their defaults)."""
    rates: dict[str, str] = dict(item.split("=", 1) for item in DEFAULT_RATES.split(","))
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, rate = item.partition("=")
        if name.strip() not in rates or not rate.strip():
            raise ValueError(f"not a webhook rate limit: {item!r} (use e.g. '{DEFAULT_RATES}')")
        rates[name.strip()] = rate.strip()
    return {name: parse_rate(rate) for name, rate in rates.items()}


class InflowWebhookProtocol:
    """Delivery rules of InflowCRM webhooks."""

    name = PROTOCOL
    batch_size = 1  # one event per POST; the body is an object, never an array
    connect_timeout = 10.0
    read_timeout = 30.0  # "Times out (>30 seconds)"

    def __init__(self, core: Core, directory: UserDirectory, mapping: InflowMapping):
        self.core = core
        self.directory = directory
        self.mapping = mapping

    def render(self, subscription: Subscription, events: Sequence[Event]) -> bytes | None:
        """`{id, event, module, data[, diff]}`, with `event` spelled as subscribed; None when the owner may
        no longer read the record, or an update changed nothing this protocol shows."""
        if subscription.entity_type not in self.core.registry or not events:
            return None
        service = self.core.records(subscription.entity_type)
        module = self.mapping.module_for(service.entity)
        readable = readable_events(self.core, self.directory, subscription, events[:1])
        if module is None or not readable:
            return None
        event = readable[0]
        wire_id = encode_id(module.entity.name, event.record_id)
        payload: dict[str, Any] = {"id": wire_id, "event": subscription.event, "module": module.name}
        if event.action is Action.DELETE:
            payload["data"] = {"deleted": True, "id": wire_id}
        elif event.action is Action.CREATE:
            saved = service.complete_snapshots([saved_record(module.entity, event)], None)[0]
            payload["data"] = render_record(module, saved)
        else:
            try:
                current: dict[str, Any] | None = service.read_without_acl(event.record_id)
            except NotFound:
                current = None
            after = {**(current or {}), **(event.after or {}), "id": event.record_id}
            diff = self._diff(module, {**after, **(event.before or {})}, after, event.after or {})
            if not diff:
                return None
            if current is not None:
                payload["data"] = render_record(module, current)
            else:  # deleted since: what this update set is all there is
                payload["data"] = {"id": wire_id, **{item["path"]: item["to"] for item in diff}}
            payload["diff"] = diff
        # Compact, UTF-8, key order as built: the bytes JavaScript's JSON.stringify would produce (§11.4).
        return orjson.dumps(payload)

    @staticmethod
    def _diff(module: Module, before: Mapping[str, Any], after: Mapping[str, Any],
              changed: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`{path, from, to}` per API field an update changed (file fields are never in payloads)."""
        diff = []
        for name in api_field_names(module, changed):
            old, new = wire_value(module.fields[name], before), wire_value(module.fields[name], after)
            if old != new:
                diff.append({"path": name, "from": old, "to": new})
        return diff

    def signature_headers(self, subscription: Subscription, body: bytes) -> dict[str, str]:
        return {"X-Webhook-Signature": inflow_signature(subscription.secret, body)}

    def outcome(self, status_code: int) -> Outcome:
        """Any 2xx succeeds; anything else is a failure, retried with backoff (§11.5)."""
        return Outcome.SUCCESS if 200 <= status_code < 300 else Outcome.RETRY


class InflowWebhookApi:
    """`/webhooks/subscribe`, `/webhooks`, `/webhooks/{id}`, and PolyCRM's delivery log under
    `/webhooks/{id}/deliveries`. Everyone with a key manages their own subscriptions; admins see all."""

    def __init__(self, hub: WebhookHub, mapping: InflowMapping):
        self.hub = hub
        self.store = hub.subscriptions
        self.mapping = mapping

    # --- subscriptions ----------------------------------------------------------------------------

    def subscribe(self, context: InflowRequest) -> Reply:
        body = context.body
        event, url, module_name, secret = self._subscription_fields(body)
        spec = self.mapping.resolve(module_name)
        if spec is None or not context.actor.can(spec.entity, "read"):
            raise InflowError(400, "MODULE_NOT_FOUND", f"Module '{module_name}' not found")
        self._check_reachable(url)
        action = EVENT_ACTIONS[event.lower()]
        try:
            subscription, _ = self.store.create_once(
                limit=MAX_PER_EVENT, protocol=PROTOCOL, event=event, entity_type=spec.entity, action=action,
                field=None, url=url, secret=secret or secrets.token_hex(32), owner_id=context.actor.user_id,
                created_by_id=context.actor.user_id, settings={"module": spec.name})
        except SubscriptionLimitReached as exc:
            raise InflowError(400, "SUBSCRIPTION_LIMIT_REACHED", f"Subscription limit ({exc.limit}) reached for "
                                                                 f"module '{spec.name}' event '{action}'") from None
        # A repeated subscription answers with the one that exists (§11.1), as a new one would.
        return Reply({"id": subscription.uid}, status=201, meta=False)

    @staticmethod
    def _subscription_fields(body: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
        """(event, hookUrl, module, hmacSecret) of a subscribe request; every bad field named at once."""
        errors: dict[str, list[str]] = {key: [f"property {key} should not exist"]
                                        for key in body if key not in SUBSCRIBE_KEYS}
        event, url, module, secret = (body.get(k) for k in ("event", "hookUrl", "module", "hmacSecret"))
        if not isinstance(event, str) or event.lower() not in EVENT_ACTIONS:
            errors["event"] = ["event must be one of the allowed event types"]
        if not isinstance(url, str) or not url:
            errors["hookUrl"] = ["hookUrl must be a valid URL"]
        elif len(url) > MAX_URL_LENGTH:
            errors["hookUrl"] = [f"hookUrl must be shorter than or equal to {MAX_URL_LENGTH} characters"]
        else:
            try:
                parse_target(url)
            except BlockedTarget:
                errors["hookUrl"] = ["hookUrl must be a valid URL"]
        if not isinstance(module, str) or not NAME_PATTERN.match(module):
            errors["module"] = ["module must match ^[\\w\\-]{1,64}$"]
        if "hmacSecret" in body and (not isinstance(secret, str)
                                     or not SECRET_LENGTHS[0] <= len(secret) <= SECRET_LENGTHS[1]):
            errors["hmacSecret"] = [f"hmacSecret must be a string of {SECRET_LENGTHS[0]} to {SECRET_LENGTHS[1]} "
                                    f"characters"]
        if errors:
            raise InflowError(400, VALIDATION_ERROR, VALIDATION_FAILED, field_errors(errors))
        return event, url, module, secret

    def _check_reachable(self, url: str) -> None:
        """The SSRF rules: public hosts on ports 80 and 443 only, unless the operator allows private
        targets (POLYCRM_WEBHOOK_ALLOW_PRIVATE, which also lifts the port rule for local receivers). A name
        that does not resolve, or has one blocked address, is refused too."""
        guard = self.hub.guard
        try:
            if not guard.allow_private and parse_target(url).port not in ALLOWED_PORTS:
                raise BlockedTarget("not port 80 or 443")
            guard.check_url(url)  # resolves a name: the port is checked first, without a lookup
        except BlockedTarget:
            raise InflowError(400, VALIDATION_ERROR, BLOCKED_URL) from None

    def list(self, context: InflowRequest) -> Response:
        page, per_page = _paging(context)
        owner = None if context.actor.is_admin else context.actor.user_id
        found, total = self.store.list(PROTOCOL, owner_id=owner, offset=(page - 1) * per_page, limit=per_page)
        return _paged([self._item(s) for s in found], page, per_page, total)

    def read(self, context: InflowRequest) -> Reply:
        return Reply(self._item(self._visible(context)), meta=False)

    def delete(self, context: InflowRequest) -> Reply:
        self.store.delete(self._visible(context).id)
        return Reply({"deleted": True}, meta=False)

    @staticmethod
    def missing_id(context: InflowRequest) -> Reply:
        raise InflowError(400, VALIDATION_ERROR, "id param is required")

    def _visible(self, context: InflowRequest) -> Subscription:
        """The subscription of the path, if it is the caller's (or the caller is an admin): else 404."""
        raw = context.path("id").strip().lower()
        if not UUID_PATTERN.match(raw):
            raise invalid("id", "id must be a UUID")
        subscription = self.store.get_by_uid(raw, PROTOCOL)
        if subscription is None or not (context.actor.is_admin or subscription.owner_id == context.actor.user_id):
            raise InflowError(404, "NOT_FOUND", NOT_FOUND)
        return subscription

    def _item(self, subscription: Subscription) -> dict[str, Any]:
        """`WebhookSubscription`, plus whether it still delivers (an optional extra: failing subscriptions
        are switched off, and delete-and-subscribe switches them on again). The secret is never shown."""
        return {"subscriptionId": subscription.uid, "eventName": subscription.event, "hookUrl": subscription.url,
                "module": subscription.settings.get("module")
                or self.mapping.module_name(subscription.entity_type),
                "createdAt": format_timestamp(subscription.created_at),
                "modifiedAt": format_timestamp(subscription.modified_at),
                "isActive": subscription.is_active, "disabledReason": subscription.disabled_reason}

    # --- the delivery log (PolyCRM's own; InflowCRM has none) -------------------------------------

    def deliveries(self, context: InflowRequest) -> Response:
        subscription = self._visible(context)
        page, per_page = _paging(context)
        status = context.request.query_params.get("status") or None
        if status is not None and status not in {s.value for s in DeliveryStatus}:
            raise invalid("status", "status must be pending, sending, succeeded, failed or cancelled")
        found, total = self.hub.queue.list(subscription.id, status=status, offset=(page - 1) * per_page,
                                           limit=per_page)
        log = self.hub.queue.attempts_of([d.id for d in found])
        return _paged([self._delivery(subscription, d, log[d.id]) for d in found], page, per_page, total)

    def redeliver(self, context: InflowRequest) -> Reply:
        subscription = self._visible(context)
        uid = context.path("deliveryId")
        delivery = self.hub.queue.get(uid)
        if delivery is None or delivery.webhook_id != subscription.id:
            raise InflowError(404, "NOT_FOUND", "Delivery not found")
        try:
            requeued = self.hub.queue.redeliver(uid)
        except RedeliverRefused as exc:
            raise InflowError(409, "CONFLICT", str(exc)) from None
        if requeued is None:
            raise InflowError(404, "NOT_FOUND", "Delivery not found")
        return Reply(self._delivery(subscription, requeued, self.hub.queue.attempts_of([requeued.id])[requeued.id]),
                     meta=False)

    @staticmethod
    def _delivery(subscription: Subscription, delivery: Delivery, attempts: list[Attempt]) -> dict[str, Any]:
        record = delivery_record(delivery, attempts)
        record["subscriptionId"] = subscription.uid
        del record["webhookId"]
        return record


def _paging(context: InflowRequest) -> tuple[int, int]:
    """(page, perPage) of a `/webhooks` list: perPage 1..100, 20 by default."""
    params = context.request.query_params
    return positive_int(params, "page", 1, MAX_PAGE), positive_int(params, "perPage", DEFAULT_PER_PAGE, MAX_PER_PAGE)


def _paged(data: list[dict[str, Any]], page: int, per_page: int, total: int) -> Response:
    """A `/webhooks` list: `data` and the webhook pagination (no `deprecation`, unlike `/api/*`)."""
    pages = -(-total // per_page)
    return JSONResponse({"data": data, "meta": {"pagination": {
        "page": page, "perPage": per_page, "total": total, "pages": pages, "hasNext": page < pages,
        "hasPrev": page > 1}}})
