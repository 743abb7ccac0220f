"""Zapier's REST hooks on the Concord API (specs/concord.md §2): `POST /api/zapier/hooks/{resource}/{action}`
subscribes a URL to the records of a resource `created` or `updated`, `DELETE /api/zapier/hooks/{id}` takes
the subscription back. Deliveries are PolyCRM webhooks (queue, retries, delivery log, `X-PolyCRM-Signature`)
in Concord's shape: a JSON array of up to 50 records as Concord shows them to the hook's owner, read when
sent; a 410 answer removes the hook, as Zapier asks. Concord sends once and drops a failed delivery; PolyCRM
retries a 429, a 5xx or a network error as its other webhooks do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import orjson
from starlette.responses import Response

from polycrm.auth.directory import UserDirectory
from polycrm.core.search import SearchQuery, TotalMode
from polycrm.core.service import Core
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import answer, invalid, no_content, not_found, record_not_found
from polycrm.dialects.concord.mapping import ConcordMapping
from polycrm.dialects.concord.media_view import add_media
from polycrm.dialects.concord.view import ResourceView
from polycrm.dialects.webhooks import readable_events, subscription_reader
from polycrm.events.addresses import BlockedTarget, PrivateTarget, parse_target
from polycrm.events.model import Action, Event, Outcome, Subscription
from polycrm.query.tree import Compare, Op

if TYPE_CHECKING:
    from polycrm.dialects.concord.api import ConcordApi

PROTOCOL = "zapier"
# Concord's actions (Zapier::$supportedActions) and the events they follow.
ACTIONS = {"created": Action.CREATE, "updated": Action.UPDATE}
HOOK_MODEL = "Modules\\Core\\App\\Models\\ZapierHook"
MAX_URL_LENGTH = 2048
MAX_HOOKS_PER_USER = 200
GONE = 410
# What Concord's records leave out for Zapier: the UI's keys.
UI_KEYS = ("authorizations", "was_recently_created", "actions", "associations_count")


@dataclass
class ConcordViews:
    """What rendering a resource's records takes (view.ResourceView): the core, the mapping, the views made."""

    core: Core
    directory: UserDirectory
    mapping: ConcordMapping
    views: dict[str, ResourceView] = field(default_factory=dict)


class ZapierWebhookProtocol:
    """Delivery rules of Zapier hooks: JSON arrays of up to 50 Concord records (ProcessZapHookAction)."""

    name = PROTOCOL
    batch_size = 50
    connect_timeout = 5.0
    read_timeout = 10.0

    def __init__(self, core: Core, directory: UserDirectory, mapping: ConcordMapping):
        self.source = ConcordViews(core, directory, mapping)
        self.directory = directory

    def render(self, subscription: Subscription, events: Sequence[Event]) -> bytes | None:
        """The hook's records, in the order of their first event, as its owner may read them now; with a
        `triggerWhen`, those whose values are the asked ones (and, for `updated`, whose update changed one)."""
        resource = self.source.mapping.resource(subscription.event.split(".")[0])
        reader = subscription_reader(self.directory, subscription)
        if resource is None or reader is None:
            return None
        action = ACTIONS.get(subscription.settings.get("action", ""))
        events = [e for e in readable_events(self.source.core, self.directory, subscription, events)
                  if e.action is action]
        if not events:
            return None
        view = ResourceView.of(self.source, resource)
        ids = tuple(dict.fromkeys(e.record_id for e in events))
        query = SearchQuery(where=Compare("id", Op.IN, ids), limit=len(ids), select=view.attributes(),
                            total=TotalMode.NONE)
        service = self.source.core.records(resource.entity_name)
        found = {r["id"]: r for r in service.search_visible(reader, query).records}
        wanted = trigger_values(subscription.settings.get("data"))
        items = []
        for record_id in ids:
            if record_id not in found:
                continue
            shown = view.single(reader, found[record_id])
            if resource.media == "always":  # Concord's display query loads them
                add_media(self.source, resource, shown, subscription.settings.get("baseUrl", ""))
            if wanted and not (_matches(shown, wanted) and (action is Action.CREATE or _changed(
                    view, wanted, [e for e in events if e.record_id == record_id]))):
                continue
            items.append({k: v for k, v in shown.items() if k not in UI_KEYS})
        return orjson.dumps(items) if items else None

    def signature_headers(self, subscription: Subscription, body: bytes) -> dict[str, str]:
        """None of Zapier's own: the worker's `X-PolyCRM-Signature` signs every delivery."""
        return {}

    def outcome(self, status_code: int) -> Outcome:
        if 200 <= status_code < 300:
            return Outcome.SUCCESS
        if status_code == GONE:
            return Outcome.GONE
        if status_code == 429 or status_code >= 500:
            return Outcome.RETRY
        return Outcome.FAIL


def trigger_values(data: Any) -> dict[str, Any]:
    """A hook's `data.triggerWhen` without its empty values (PHP's array_filter): key -> asked value."""
    when = data.get("triggerWhen") if isinstance(data, dict) else None
    if not isinstance(when, dict):
        return {}
    return {key: value for key, value in when.items() if value not in (None, "", "0", 0, False, [], {})}


def _loosely_equal(shown: Any, asked: Any) -> bool:
    """PHP's `==` as Concord compares them: "5" is 5, true is 1."""
    if shown == asked:
        return True
    if isinstance(shown, (list, dict)) or isinstance(asked, (list, dict)):
        return False
    return str(int(shown) if isinstance(shown, bool) else shown) == str(int(asked) if isinstance(asked, bool)
                                                                         else asked)


def _matches(shown: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(key in shown and _loosely_equal(shown[key], value) for key, value in wanted.items())


def _changed(view: ResourceView, wanted: Mapping[str, Any], events: Sequence[Event]) -> bool:
    """Whether the updates changed one of the asked keys (Eloquent's isDirty of them)."""
    attributes = {spec.attribute for key, spec in view.resource.by_key.items() if key in wanted}
    attributes |= {item.field for item in view.custom if item.key in wanted}
    return any(name in (event.after or {}) for event in events for name in attributes)


# --- routes ---------------------------------------------------------------------------------------

def _hook(subscription: Subscription) -> dict[str, Any]:
    """A hook as Concord's ZapierHook model shows it."""
    settings = subscription.settings
    return {"hook": subscription.url, "resource_name": subscription.event.split(".")[0],
            "action": settings.get("action"), "user_id": subscription.owner_id, "zap_id": settings.get("zapId"),
            "data": settings.get("data"), "id": subscription.id}


def _zap_id(value: Any) -> int | str | None:
    """Zapier's zap id; `subscription:123` is 123 (Concord keeps what follows the prefix, as a number when
    it is one)."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).split("subscription:")[-1]
    return int(text) if text.isdigit() and len(text) < 19 else text


def subscribe_created(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/zapier/hooks/{resource}/created`."""
    return _subscribe(api, request, "created")


def subscribe_updated(api: ConcordApi, request: ConcordRequest) -> Response:
    """`POST /api/zapier/hooks/{resource}/updated`."""
    return _subscribe(api, request, "updated")


def _subscribe(api: ConcordApi, request: ConcordRequest, action: str) -> Response:
    """201 with the hook. PolyCRM checks what Concord stores unchecked (a missing `targetUrl` or `zapId` is a
    500 there; another action is a 404 here, where Concord takes it and fails each delivery)."""
    resource, actor = request.resource, request.user
    assert resource is not None
    body = request.body if isinstance(request.body, dict) else None
    if body is None:
        raise invalid({"targetUrl": ["The target url field is required."]})
    errors: dict[str, list[str]] = {}
    url = body.get("targetUrl")
    if not isinstance(url, str) or not url.strip():
        errors["targetUrl"] = ["The target url field is required."]
    elif (problem := _url_problem(api, url)) is not None:
        errors["targetUrl"] = [problem]
    zap_id = _zap_id(body.get("zapId"))
    if zap_id is not None and len(str(zap_id)) > 191:
        errors["zapId"] = ["The zap id field must not be greater than 191 characters."]
    data = body.get("data")
    if data is not None and not isinstance(data, (dict, list)):
        errors["data"] = ["The data field must be an array."]
    if errors:
        raise invalid(errors)
    if not actor.can(resource.entity_name, "read"):
        raise not_found()  # a resource the caller cannot read does not exist for them
    if api.webhooks.subscriptions.count_owned(PROTOCOL, actor.user_id) >= MAX_HOOKS_PER_USER:
        raise invalid({"targetUrl": [f"A user may have at most {MAX_HOOKS_PER_USER} Zapier hooks."]})
    subscription = api.webhooks.subscriptions.create(
        protocol=PROTOCOL, event=f"{resource.name}.{action}", entity_type=resource.entity_name,
        action=ACTIONS[action].value, field=None, url=url, secret=secrets.token_hex(16), owner_id=actor.user_id,
        created_by_id=actor.user_id, settings={"action": action, "zapId": zap_id, "data": data,
                                                  "baseUrl": request.base_url})  # for payloads' media URLs
    return answer(_hook(subscription), 201)


def _url_problem(api: ConcordApi, url: str) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"The target url field must not be greater than {MAX_URL_LENGTH} characters."
    try:
        parse_target(url)
        api.webhooks.guard.check_url(url)
    except PrivateTarget:
        return ("The target url must reach a public address (the server allows private ones with "
                "POLYCRM_WEBHOOK_ALLOW_PRIVATE=1).")
    except BlockedTarget:
        return "The target url field must be a valid URL."
    return None


def unsubscribe(api: ConcordApi, request: ConcordRequest) -> Response:
    """`DELETE /api/zapier/hooks/{id}`: the caller's own hook only (404 for any other, as Concord)."""
    raw = request.params["id"]
    hook_id = int(raw) if raw.isdigit() and len(raw) < 19 else None
    subscription = api.webhooks.subscriptions.get(hook_id, PROTOCOL) if hook_id is not None else None
    if subscription is None or subscription.owner_id != request.user.user_id:
        raise record_not_found(HOOK_MODEL, raw)
    api.webhooks.subscriptions.delete(subscription.id)
    return no_content()
