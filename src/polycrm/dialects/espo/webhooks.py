"""EspoCRM webhooks (specs/espocrm.md §9): the `Webhook` endpoints and the payloads, signatures and status
rules of EspoCRM deliveries. Subscriptions, queue and worker are protocol-neutral (`polycrm.events`).
"""

from __future__ import annotations

import secrets
from typing import Any, Sequence

import orjson

from polycrm.auth.acl import Actor
from polycrm.auth.directory import UserDirectory
from polycrm.core.errors import BadRequest, Conflict, Forbidden, NotFound, ValidationFailure
from polycrm.core.records import RecordService
from polycrm.core.service import Core
from polycrm.core.values import parse_id, parse_non_negative
from polycrm.dialects.espo.context import EspoContext, espo_response
from polycrm.dialects.php_query import INT64_MAX
from polycrm.dialects.espo.render import RecordRenderer, format_datetime
from polycrm.dialects.webhooks import delivery_record, readable_events, saved_record, subscription_reader
from polycrm.events.addresses import BlockedTarget, PrivateTarget, parse_target
from polycrm.events.deliveries import RedeliverRefused
from polycrm.events.hub import WebhookHub
from polycrm.events.model import Action, DeliveryStatus, Event, Outcome, Subscription
from polycrm.events.signing import espo_legacy_signature, espo_signature
from polycrm.meta import Entity

PROTOCOL = "espo"
MAX_PER_USER = 50  # webhookMaxCountPerUser
MAX_LIST_SIZE = 200
RECORD_ACTIONS = ("create", "update", "delete")
# Statuses that are retried (spec §9.3), plus 429 and every 5xx: a proxy in front of a restarting receiver
# answers 502/504, and dropping those events would lose data. 410 removes the webhook; 2xx/3xx succeed;
# any other status fails at once. Network errors and timeouts always retry (events.sender).
RETRY_STATUSES = frozenset({401, 403, 404, 405, 408, 429})
GONE = 410


# Why a URL was refused, in X-Status-Reason: what the client can act on, never the address a name resolved to
# (that would let API users map the server's internal network).
PRIVATE_URL = ("Its host is or resolves to a loopback, private, link-local or other non-public address: webhooks "
               "reach only public addresses unless the server sets POLYCRM_WEBHOOK_ALLOW_PRIVATE=1.")
UNRESOLVED_URL = "Its host name does not resolve."


def _webhook_failure(field: str, kind: str = "valid", detail: str = "") -> ValidationFailure:
    return ValidationFailure("Webhook", field, kind, detail)


class EspoWebhookProtocol:
    """Delivery rules of EspoCRM webhooks: a JSON array of up to 50 items, `Signature` + `X-Signature`."""

    name = PROTOCOL
    connect_timeout = 5.0  # webhookConnectTimeout
    read_timeout = 10.0  # webhookTimeout

    def __init__(self, core: Core, directory: UserDirectory, batch_size: int = 50):
        self.core = core
        self.directory = directory
        self.batch_size = batch_size  # webhookBatchSize

    # --- payload ----------------------------------------------------------------------------------

    def render(self, subscription: Subscription, events: Sequence[Event]) -> bytes | None:
        """The items, in commit order, that the webhook's owner may read now (re-checked at send time)."""
        if subscription.entity_type not in self.core.registry:
            return None
        service = self.core.records(subscription.entity_type)
        entity = service.entity
        events = readable_events(self.core, self.directory, subscription, events)
        if not events:
            return None
        reader = subscription_reader(self.directory, subscription)
        renderer = RecordRenderer(entity)
        created = [e for e in events if e.action is Action.CREATE]
        items: dict[int, dict[str, Any]] = {}
        if created and subscription.action == "create":
            snapshots = service.complete_snapshots([saved_record(entity, e) for e in created], None, reader)
            items.update((e.id, renderer.render(s)) for e, s in zip(created, snapshots))
        for event in events:
            if event.action is Action.DELETE and subscription.action == "delete":
                items[event.id] = {"id": renderer.render({"id": event.record_id})["id"]}
            elif event.action is Action.UPDATE and subscription.action in ("update", "fieldUpdate"):
                field = subscription.field if subscription.action == "fieldUpdate" else None
                items[event.id] = renderer.render(self._changes(service, entity, event, field, reader))
        ordered = [items[e.id] for e in events if e.id in items]
        return orjson.dumps(ordered) if ordered else None

    @staticmethod
    def _changes(service: RecordService, entity: Entity, event: Event, field: str | None,
                 reader: Actor | None) -> dict[str, Any]:
        """An update item: the changed attributes (of `field` only, for fieldUpdate), the derived
        attributes of their fields (e.g. `assignedUserName`, blank where `reader` may not read the record it
        names), and the id."""
        after = {k: v for k, v in (event.after or {}).items() if k in entity.attributes
                 and (field is None or entity.attributes[k].field == field)}
        fields = {entity.attributes[k].field for k in after}
        derived = {a.name for a in entity.attributes.values() if a.column is None and a.field in fields}
        wanted = set(after) | derived | {"id"}
        return service.complete_snapshots([dict(after, id=event.record_id)], wanted, reader)[0]

    # --- signature and statuses -------------------------------------------------------------------

    def signature_headers(self, subscription: Subscription, body: bytes) -> dict[str, str]:
        webhook_id = str(subscription.id)
        return {"Signature": espo_signature(webhook_id, subscription.secret, body),
                "X-Signature": espo_legacy_signature(webhook_id, subscription.secret, body)}

    def outcome(self, status_code: int) -> Outcome:
        if 200 <= status_code < 400:
            return Outcome.SUCCESS
        if status_code == GONE:
            return Outcome.GONE
        if status_code in RETRY_STATUSES or status_code >= 500:
            return Outcome.RETRY
        return Outcome.FAIL


class EspoWebhookApi:
    """`/api/v1/Webhook` (admins and API users), its delivery log and redelivery."""

    def __init__(self, core: Core, directory: UserDirectory, hub: WebhookHub):
        self.core = core
        self.directory = directory
        self.hub = hub
        self.store = hub.subscriptions

    # --- access -----------------------------------------------------------------------------------

    @staticmethod
    def _require_access(actor: Actor) -> None:
        if not actor.is_admin and actor.user_type != "api":
            raise Forbidden("No access to 'Webhook'.")

    def _visible(self, context: EspoContext) -> Subscription:
        """The webhook of the path, if the actor may see it (admins: all; API users: their own)."""
        self._require_access(context.actor)
        raw = context.request.path_params["id"]
        webhook_id = parse_id(raw)
        subscription = self.store.get(webhook_id, PROTOCOL) if webhook_id is not None else None
        if subscription is None:
            raise NotFound(f"Record {raw} not found.")
        if not context.actor.is_admin and subscription.owner_id != context.actor.user_id:
            raise Forbidden("No access to this webhook.")
        return subscription

    # --- records ----------------------------------------------------------------------------------

    def _records(self, subscriptions: list[Subscription]) -> list[dict[str, Any]]:
        names = self.store.user_names({s.owner_id for s in subscriptions} | {s.created_by_id for s in subscriptions})

        def record(s: Subscription) -> dict[str, Any]:
            return {"id": str(s.id), "event": s.event, "url": s.url, "isActive": s.is_active,
                    "userId": None if s.owner_id is None else str(s.owner_id), "userName": names.get(s.owner_id),
                    "entityType": s.entity_type, "type": s.action, "field": s.field, "secretKey": s.secret,
                    "skipOwn": s.skip_own, "description": s.description,
                    "createdAt": format_datetime(s.created_at.replace(microsecond=0) if s.created_at else None),
                    "modifiedAt": format_datetime(s.modified_at.replace(microsecond=0) if s.modified_at else None),
                    "createdById": None if s.created_by_id is None else str(s.created_by_id),
                    "createdByName": names.get(s.created_by_id), "disabledReason": s.disabled_reason}

        return [record(s) for s in subscriptions]

    # --- input ------------------------------------------------------------------------------------

    def _parse_event(self, event: Any, owner: Actor) -> tuple[str, str, str | None]:
        """(entity type, action, field) of an event name, with EspoCRM's 403 reasons."""
        if event is None or event == "":
            raise Forbidden("Event is empty.")
        if not isinstance(event, str) or len(event) > 255:
            raise _webhook_failure("event")
        parts = event.split(".")
        if len(parts) == 2 and parts[1] in RECORD_ACTIONS:
            entity_type, action, field = parts[0], parts[1], None
        elif len(parts) == 3 and parts[1] == "fieldUpdate":
            entity_type, action, field = parts
        else:
            raise Forbidden("Not supported event.")
        if entity_type not in self.core.registry:
            raise Forbidden("Entity type is not available for Webhooks.")
        if not owner.can(entity_type, "read"):
            raise Forbidden("Entity type is forbidden.")
        if action == "fieldUpdate":
            if not field:
                raise Forbidden("Field is empty.")
            if field not in self.core.registry.entity(entity_type).fields:
                raise Forbidden("Field does not exist.")
        return entity_type, action, field

    def _check_url(self, url: Any) -> str:
        if url is None or url == "":
            raise _webhook_failure("url", "required")
        try:
            parse_target(url)
        except BlockedTarget as exc:
            raise _webhook_failure("url", detail=f"Not a webhook URL: {exc}.") from None
        try:
            self.hub.guard.check_url(url)
        except PrivateTarget:
            raise _webhook_failure("url", detail=PRIVATE_URL) from None
        except BlockedTarget:  # the rest of the guard's refusals: a name that does not resolve
            raise _webhook_failure("url", detail=UNRESOLVED_URL) from None
        return url

    @staticmethod
    def _flags(body: dict[str, Any]) -> dict[str, Any]:
        """The editable values of a body, type-checked (unknown and read-only keys are ignored, as EspoCRM
        ignores them)."""
        values: dict[str, Any] = {}
        for key, column in (("isActive", "is_active"), ("skipOwn", "skip_own")):
            if key in body:
                if not isinstance(body[key], bool):
                    raise _webhook_failure(key)
                values[column] = body[key]
        if "description" in body:
            description = body["description"]
            if description is not None and (not isinstance(description, str) or len(description) > 10_000
                                            or "\x00" in description):
                raise _webhook_failure("description")
            values["description"] = description
        return values

    def _owner(self, context: EspoContext) -> tuple[int | None, Actor]:
        """Whose webhook it is: an API user's own; an admin's choice of API user (`userId`) or nobody."""
        actor = context.actor
        if not actor.is_admin:
            return actor.user_id, actor
        user_id = context.body.get("userId")
        if user_id is None:
            return None, actor
        owner_id = parse_id(user_id)
        if owner_id is None:
            raise _webhook_failure("userId")
        owner = self.directory.actor(owner_id)
        if owner is None or owner.user_type != "api":
            raise Forbidden("User must be an API User.")
        return owner.user_id, owner

    # --- handlers ---------------------------------------------------------------------------------

    def create(self, context: EspoContext) -> Any:
        self._require_access(context.actor)
        body = context.body
        owner_id, owner = self._owner(context)
        entity_type, action, field = self._parse_event(body.get("event"), owner)
        url = self._check_url(body.get("url"))
        flags = self._flags(body)
        if not context.actor.is_admin and self.store.count_owned(PROTOCOL, context.actor.user_id) >= MAX_PER_USER:
            raise Forbidden("Webhook number per user exceeded the limit.")
        subscription = self.store.create(
            protocol=PROTOCOL, event=body["event"], entity_type=entity_type, action=action, field=field, url=url,
            secret=secrets.token_hex(16), owner_id=owner_id, created_by_id=context.actor.user_id,
            skip_own=flags.get("skip_own", False), is_active=flags.get("is_active", True),
            description=flags.get("description"))
        return espo_response(self._records([subscription])[0], status=201)

    def list(self, context: EspoContext) -> dict[str, Any]:
        self._require_access(context.actor)
        offset, limit = self._page(context)
        owner = None if context.actor.is_admin else context.actor.user_id
        found, total = self.store.list(PROTOCOL, owner_id=owner, offset=offset, limit=limit)
        return {"total": total, "list": self._records(found)}

    @staticmethod
    def _page(context: EspoContext) -> tuple[int, int]:
        params = context.request.query_params
        values = []
        for name, default, upper in (("offset", 0, None), ("maxSize", MAX_LIST_SIZE, MAX_LIST_SIZE)):
            raw = params.get(name, "")
            if raw == "":
                values.append(default)
                continue
            number = parse_non_negative(raw)
            if number is None or (upper is not None and number > upper):
                raise BadRequest(f"'{name}' must be an integer from 0 to {upper if upper is not None else INT64_MAX}.")
            values.append(number)
        return values[0], values[1]

    def read(self, context: EspoContext) -> dict[str, Any]:
        return self._records([self._visible(context)])[0]

    def update(self, context: EspoContext) -> dict[str, Any]:
        subscription = self._visible(context)
        body = context.body
        if "event" in body and body["event"] != subscription.event and context.actor.is_admin:
            raise Forbidden("Event can't be changed.")
        changes = self._flags(body)
        if "url" in body:
            changes["url"] = self._check_url(body["url"])
        updated = self.store.update(subscription.id, changes) if changes else subscription
        if updated is None:
            raise NotFound(f"Record {subscription.id} not found.")
        return self._records([updated])[0]

    def delete(self, context: EspoContext) -> bool:
        subscription = self._visible(context)
        return self.store.delete(subscription.id)

    # --- delivery log -----------------------------------------------------------------------------

    def deliveries(self, context: EspoContext) -> dict[str, Any]:
        subscription = self._visible(context)
        offset, limit = self._page(context)
        status = context.request.query_params.get("status") or None
        if status is not None and status not in {s.value for s in DeliveryStatus}:
            raise BadRequest("'status' must be pending, sending, succeeded, failed or cancelled.")
        found, total = self.hub.queue.list(subscription.id, status=status, offset=offset, limit=limit)
        log = self.hub.queue.attempts_of([d.id for d in found])
        return {"total": total, "list": [delivery_record(d, log[d.id]) for d in found]}

    def redeliver(self, context: EspoContext) -> dict[str, Any]:
        subscription = self._visible(context)
        uid = context.request.path_params["deliveryId"]
        delivery = self.hub.queue.get(uid)
        if delivery is None or delivery.webhook_id != subscription.id:
            raise NotFound(f"Delivery {uid} not found.")
        try:
            requeued = self.hub.queue.redeliver(uid)
        except RedeliverRefused as exc:
            raise Conflict(str(exc)) from None
        assert requeued is not None
        return delivery_record(requeued, self.hub.queue.attempts_of([requeued.id])[requeued.id])

