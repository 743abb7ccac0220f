"""EspoCRM-compatible REST API (`/api/v1`), specs/espocrm.md. Routes, parsing and response shaping only:
business rules live in the core."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from polycrm.auth.directory import UserDirectory
from polycrm.auth.schemes import CredentialVerifier, FailedLogins, LoginThrottled
from polycrm.core.errors import BadRequest, Forbidden, NotFound, PolyError, Unauthorized
from polycrm.core.fields import custom_field_name
from polycrm.core.leads import convert_attributes, convert_lead
from polycrm.core.search import SearchResult, TotalMode
from polycrm.core.service import Core
from polycrm.core.values import parse_non_negative
from polycrm.dialects.espo.admin import EspoAdminApi, admin_routes, api_names_of
from polycrm.dialects.espo.context import (API_BASE, EspoContext, authenticate, error_response, espo_response,
                                           parse_body)
from polycrm.dialects.espo.metadata import app_user, metadata
from polycrm.dialects.espo.openapi import build_openapi
from polycrm.dialects.espo.params import WARNING_HEADER, SearchParamsParser
from polycrm.dialects.espo.render import RecordRenderer
from polycrm.dialects.espo.routing import ResourceRoute
from polycrm.dialects.espo.stream import render_note, stream_page
from polycrm.dialects.espo.system import EspoSystemApi
from polycrm.dialects.espo.webhooks import EspoWebhookApi
from polycrm.dialects.espo.where import RelationScope
from polycrm.dialects.http import (BodyTooLarge, bind_user, client_address, log_auth_failure, read_body,
                                   refusal_fields)

log = logging.getLogger("polycrm.espo")
Handler = Callable[[EspoContext], Any]


class EspoApi:
    """The handlers; each takes an authenticated EspoContext and returns a JSON value or a Response."""

    def __init__(self, core: Core, directory: UserDirectory, *, max_body_bytes: int, webhooks: EspoWebhookApi,
                 failed_logins: FailedLogins | None = None):
        self.core = core
        self.directory = directory
        self.webhooks = webhooks
        self.verifier = CredentialVerifier(directory, failed_logins)
        self.admin = EspoAdminApi(core, directory, self.verifier)
        self.max_body_bytes = max_body_bytes
        self._renderers: dict[str, tuple[Any, RecordRenderer]] = {}

    # --- plumbing ---------------------------------------------------------------------------------

    def renderer(self, entity_name: str) -> RecordRenderer:
        entity = self.core.records(entity_name).entity
        cached = self._renderers.get(entity_name)
        # A custom field added or removed gives the entity new attributes: a new renderer.
        if cached is None or cached[0] is not entity.attributes:
            cached = self._renderers[entity_name] = (entity.attributes, RecordRenderer(entity))
        return cached[1]

    def route(self, path: str, handlers: Mapping[str, Handler], *, public: bool = False) -> Route:
        """The one route of `path`, its handler chosen by method (HEAD by GET's). One route per path, because
        a 405 names the methods of the first route whose path matches in its Allow header; the route takes only
        paths naming a resource (`resource_methods`)."""
        async def endpoint(request: Request) -> Response:
            handler = handlers["GET" if request.method == "HEAD" else request.method]
            try:
                raw = await read_body(request, self.max_body_bytes)
            except BodyTooLarge:
                log.debug("request refused", extra={"status": 413, "reason": "Request body is too large."})
                return Response(status_code=413, headers={"X-Status-Reason": "Request body is too large."})
            return await run_in_threadpool(self._run, handler, request, raw, public)

        return ResourceRoute(API_BASE + path, endpoint, handlers, self.resource_methods)

    def resource_methods(self, params: Mapping[str, Any], methods: frozenset[str]) -> frozenset[str]:
        """The methods the resource a path names takes: its route's, or its action's. NotFound, whatever the
        method, for an entity type, link or action that does not exist."""
        entity_name = params.get("entity")
        if entity_name is None:
            return methods
        if entity_name not in self.core.registry:
            raise NotFound(f"Controller '{entity_name}' does not exist.")
        if "link" in params:
            self.core.relations(entity_name).link(params["link"])
        if "action" in params:
            handlers = self._entity_actions(entity_name).get(params["action"])
            if handlers is None:
                raise NotFound(f"Action '{params['action']}' does not exist.")
            return frozenset(handlers)
        return methods

    def _run(self, handler: Handler, request: Request, raw: bytes, public: bool) -> Response:
        entity_name = request.path_params.get("entity")
        render = None
        try:
            if entity_name is not None and entity_name in self.core.registry:
                render = self.renderer(entity_name).render
            query = request.scope.get("query_string", b"").decode("utf-8", errors="replace")
            if public:  # no credentials needed; a handler that answers callers differently checks them itself
                context = EspoContext(request, None, None, parse_body(request, raw), query)  # type: ignore[arg-type]
                return espo_response(handler(context))
            login = authenticate(request, self.verifier)
            actor = self.directory.actor(login.user_id)
            if actor is None:
                log_auth_failure(f"authentication failed: user {login.user_id} is inactive", "espo", None,
                                 client_address(request))
                raise Unauthorized()
            bind_user(request.scope, actor.user_name, actor.user_id)
            context = EspoContext(request, actor, login, parse_body(request, raw), query)
            result = handler(context)
            return result if isinstance(result, Response) else espo_response(result)
        except (PolyError, LoginThrottled) as exc:
            response = error_response(exc, request, render)
            if log.isEnabledFor(logging.DEBUG) and not isinstance(exc, (Unauthorized, LoginThrottled)):
                log.debug("request refused", extra={"status": response.status_code, "reason": exc.reason,
                                                    **refusal_fields(exc)})
            return response
        except Exception:  # noqa: BLE001 - last line of defence: log it, never leak internals
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return error_response(RuntimeError(), request)

    def _entity(self, context: EspoContext) -> str:
        name = context.request.path_params["entity"]
        if name not in self.core.registry:
            raise NotFound(f"Controller '{name}' does not exist.")
        return name

    def _list_response(self, entity_name: str, result: SearchResult, total_mode: TotalMode,
                       parser: SearchParamsParser) -> Response:
        """`{total, list}`, with what the request asked for and EspoCRM ignores named in X-PolyCRM-Warning."""
        body = {"total": list_total(result, total_mode), "list": self.renderer(entity_name).render_many(result.records)}
        return espo_response(body, headers={WARNING_HEADER: "; ".join(parser.ignored)} if parser.ignored else None)

    # --- root, app, metadata ----------------------------------------------------------------------

    def root(self, context: EspoContext) -> str:
        return "EspoCRM REST API"

    def app_user(self, context: EspoContext) -> dict[str, Any]:
        # Users may always read their own user record, whatever their roles say about User.
        user = self.core.records("User").read(context.actor, context.actor.user_id)
        return app_user(self.core, context.actor, self.renderer("User").render(user), context.login.token)

    def destroy_token(self, context: EspoContext) -> bool:
        token = context.body.get("token")
        if not isinstance(token, str) or not token:
            raise BadRequest("No token.")
        # Users log out their own sessions; only an admin may end someone else's.
        owner = None if context.actor.is_admin else context.actor.user_id
        return self.directory.destroy_token(token, owner_id=owner)

    def metadata(self, context: EspoContext) -> Any:
        key = context.request.query_params.get("key")
        return metadata(self.core, context.actor, key)

    def openapi(self, context: EspoContext) -> dict[str, Any]:
        return build_openapi(self.core.registry)

    # --- CRUD -------------------------------------------------------------------------------------

    def list(self, context: EspoContext) -> Response:
        entity_name = self._entity(context)
        service = self.core.records(entity_name)
        parser = SearchParamsParser(self.core.registry, service.entity, context.actor)
        query = parser.parse(context.query, no_total=context.header_true("x-no-total"))
        return self._list_response(entity_name, service.search(context.actor, query), query.total, parser)

    def read(self, context: EspoContext) -> dict[str, Any]:
        entity_name = self._entity(context)
        record = self.core.records(entity_name).read(context.actor, context.request.path_params["id"])
        select = context.request.query_params.get("select")
        rendered = self._render(context, entity_name, record)
        if select:
            wanted = set(select.split(",")) | {"id"}
            rendered = {k: v for k, v in rendered.items() if k in wanted}
        return rendered

    def create(self, context: EspoContext) -> dict[str, Any]:
        entity_name = self._entity(context)
        skip = context.header_true("x-skip-duplicate-check") or context.body.get("_skipDuplicateCheck") is True
        body, attach = self.admin.user_input(context, entity_name)
        record = self.core.records(entity_name).create(context.actor, body, skip_duplicate_check=skip, attach=attach)
        return self._render(context, entity_name, record)

    def update(self, context: EspoContext) -> Response:
        entity_name = self._entity(context)
        version_header = context.request.headers.get("x-version-number")
        expected = None
        if version_header is not None:
            expected = parse_non_negative(version_header.strip())
            if expected is None:
                raise BadRequest("X-Version-Number must be an integer.")
        body, attach = self.admin.user_input(context, entity_name)
        record, links_changed = self.core.records(entity_name).update(
            context.actor, context.request.path_params["id"], body, expected_version=expected, attach=attach)
        headers = {"X-Record-Link-Updated": "true"} if links_changed else None
        return espo_response(self._render(context, entity_name, record), headers=headers)

    def _render(self, context: EspoContext, entity_name: str, record: dict[str, Any]) -> dict[str, Any]:
        """A record as this caller reads it (a User with its roles for administrators)."""
        return self.admin.with_roles(context, entity_name, self.renderer(entity_name).render(record))

    def delete(self, context: EspoContext) -> bool:
        self.core.records(self._entity(context)).delete(context.actor, context.request.path_params["id"])
        return True

    # --- relationships ----------------------------------------------------------------------------

    def list_related(self, context: EspoContext) -> Response:
        relations = self.core.relations(self._entity(context))
        link = relations.link(context.request.path_params["link"])
        target = self.core.records(link.entity or "")
        relation = RelationScope.through(link, target.entity, context.request.path_params["id"])
        parser = SearchParamsParser(self.core.registry, target.entity, context.actor, relation=relation)
        query = parser.parse(context.query, no_total=context.header_true("x-no-total"))
        result = relations.related(context.actor, context.request.path_params["id"], link.name, query)
        return self._list_response(target.entity.name, result, query.total, parser)

    def _foreign_ids(self, context: EspoContext) -> list[Any]:
        body = context.body
        ids: list[Any] = []
        if "id" in body:
            ids.append(body["id"])
        if "ids" in body:
            if not isinstance(body["ids"], list):
                raise BadRequest("'ids' must be an array.")
            ids.extend(body["ids"])
        for key in ("id", "ids"):  # the seed docs pass the id in the query string for DELETE
            if not ids and key in context.query:
                value = context.query[key]
                ids.extend(value if isinstance(value, list) else [value])
        if "relatedId" in context.request.path_params:
            ids.append(context.request.path_params["relatedId"])
        if any(not isinstance(i, (str, int)) or isinstance(i, bool) for i in ids):
            raise BadRequest("Ids must be strings.")
        return ids

    def relate(self, context: EspoContext) -> bool:
        relations = self.core.relations(self._entity(context))
        record_id, link_name = context.request.path_params["id"], context.request.path_params["link"]
        if context.body.get("massRelate"):
            link = relations.link(link_name)
            if not context.actor.is_admin and not context.actor.mass_update:
                raise Forbidden("No mass-update permission.")
            body = context.body
            if "where" not in body:  # EspoCRM requires it: without, every record would be related
                raise BadRequest("Bad search params for mass relate: 'where' is required.")
            parser = SearchParamsParser(self.core.registry, self.core.records(link.entity or "").entity,
                                        context.actor)
            query = parser.parse_criteria(body, append_where=True)
            ids = relations.relatable_ids(context.actor, link_name, query.where)
            return bool(ids) and relations.relate(context.actor, record_id, link_name, ids)
        ids = self._foreign_ids(context)
        if not ids:
            return False
        return relations.relate(context.actor, record_id, link_name, ids)

    def unrelate(self, context: EspoContext) -> bool:
        relations = self.core.relations(self._entity(context))
        ids = self._foreign_ids(context)
        if not ids:
            return False
        return relations.unrelate(context.actor, context.request.path_params["id"],
                                  context.request.path_params["link"], ids)

    # --- followers (core/follows.py) ---------------------------------------------------------------

    def follow(self, context: EspoContext) -> bool:
        self.core.follows(self._entity(context)).follow(context.actor, context.request.path_params["id"])
        return True

    def unfollow(self, context: EspoContext) -> bool:
        self.core.follows(self._entity(context)).unfollow(context.actor, context.request.path_params["id"])
        return True

    def list_followers(self, context: EspoContext) -> Response:
        follows = self.core.follows(self._entity(context))
        parser = SearchParamsParser(self.core.registry, follows.users.entity, context.actor)
        query = parser.parse(context.query, no_total=context.header_true("x-no-total"))
        result = follows.followers(context.actor, context.request.path_params["id"], query)
        return self._list_response(follows.users.entity.name, result, query.total, parser)

    def add_followers(self, context: EspoContext) -> bool:
        follows = self.core.follows(self._entity(context))
        follows.add_followers(context.actor, context.request.path_params["id"], follower_ids(context.body))
        return True

    def remove_followers(self, context: EspoContext) -> bool:
        follows = self.core.follows(self._entity(context))
        follows.remove_followers(context.actor, context.request.path_params["id"], follower_ids(context.body))
        return True

    # --- stream (core/stream.py) ------------------------------------------------------------------

    def stream(self, context: EspoContext) -> dict[str, Any]:
        return self._stream(context, posts_only=False)

    def posts(self, context: EspoContext) -> dict[str, Any]:
        return self._stream(context, posts_only=True)

    def _stream(self, context: EspoContext, *, posts_only: bool) -> dict[str, Any]:
        entity_name = self._entity(context)
        page = stream_page(context.query, no_total=context.header_true("x-no-total"))
        result = self.core.stream.stream(context.actor, entity_name, context.request.path_params["id"],
                                         posts_only=posts_only, after=page.after, offset=page.offset,
                                         limit=page.limit, total=page.total)
        return {"total": list_total(result, page.total), "list": [render_note(n) for n in result.records]}

    def note_create(self, context: EspoContext) -> dict[str, Any]:
        return render_note(self.core.stream.post(context.actor, context.body))

    def note_read(self, context: EspoContext) -> dict[str, Any]:
        return render_note(self.core.stream.read(context.actor, context.request.path_params["id"]))

    def note_update(self, context: EspoContext) -> dict[str, Any]:
        return render_note(self.core.stream.update_post(context.actor, context.request.path_params["id"],
                                                        context.body))

    def note_delete(self, context: EspoContext) -> bool:
        self.core.stream.delete(context.actor, context.request.path_params["id"])
        return True

    # --- mass actions -----------------------------------------------------------------------------

    def _target_ids(self, service: Any, context: EspoContext, params: dict[str, Any], action: str, *,
                    mass_permission: bool = True) -> tuple[list[Any], bool]:
        """(ids, given_by_ids) from `ids`, or from `where`/`searchParams` criteria (which need the mass-update
        permission where `mass_permission` says so)."""
        has_ids = "ids" in params
        search = params.get("searchParams", params.get("selectData"))
        has_where = "where" in params or search is not None
        if has_ids and has_where and not params.get("byWhere"):
            raise BadRequest("Bad search params for mass action.")
        if has_ids and not params.get("byWhere"):
            if not isinstance(params["ids"], list):
                raise BadRequest("'ids' must be an array.")
            return params["ids"], True
        if not has_where:
            raise BadRequest("Bad search params for mass action.")
        parser = SearchParamsParser(self.core.registry, service.entity, context.actor)
        query = parser.parse_criteria(params)
        if mass_permission and not context.actor.is_admin and not context.actor.mass_update:
            raise Forbidden("No mass-update permission.")
        return service.matching_ids(context.actor, query.where, action), False

    def mass_action(self, context: EspoContext) -> dict[str, Any]:
        body = context.body
        for key in ("entityType", "action", "params"):
            if key not in body:
                raise BadRequest(f"'{key}' is required.")
        entity_name, action, params = body["entityType"], body["action"], body["params"]
        if not isinstance(entity_name, str) or entity_name not in self.core.registry:
            raise NotFound(f"Controller '{entity_name}' does not exist.")
        if not isinstance(params, dict):
            raise BadRequest("'params' must be an object.")
        service = self.core.records(entity_name)
        if action == "update":
            data = body.get("data") or {}
            if not isinstance(data, dict):
                raise BadRequest("'data' must be an object.")
            values = data.get("values", data)
            if not isinstance(values, dict):
                raise BadRequest("'data.values' must be an object.")
            ids, by_ids = self._target_ids(service, context, params, "edit")
            done = service.mass_update(context.actor, ids, values)
        elif action == "delete":
            ids, by_ids = self._target_ids(service, context, params, "delete")
            done = service.mass_delete(context.actor, ids)
        elif action in ("follow", "unfollow"):
            # EspoCRM asks no mass-update permission to follow: it changes no record.
            follows = self.core.follows(entity_name)
            ids, by_ids = self._target_ids(service, context, params, "read", mass_permission=False)
            done = (follows.mass_follow if action == "follow" else follows.mass_unfollow)(context.actor, ids)
        else:
            raise BadRequest(f"Mass action '{action}' is not supported.")
        return mass_result(done, by_ids)

    def _entity_actions(self, entity_name: str) -> dict[str, dict[str, Callable[[EspoContext, str], Any]]]:
        """`/{Entity}/action/{action}` by action and method: legacy mass actions, mass create, lead conversion."""
        actions: dict[str, dict[str, Callable[[EspoContext, str], Any]]] = {
            "massCreate": {"POST": self._mass_create},
            "massUpdate": {"PUT": self._legacy_mass_update, "POST": self._legacy_mass_update},
            "massDelete": {"POST": self._legacy_mass_delete, "DELETE": self._legacy_mass_delete},
        }
        if entity_name == "Lead":
            actions.update(convert={"POST": self._convert}, getConvertAttributes={"POST": self._convert_attributes})
        return actions

    def entity_action(self, context: EspoContext) -> Any:
        """An action of `_entity_actions` (its route takes no other action or method)."""
        entity_name = self._entity(context)
        handlers = self._entity_actions(entity_name)[context.request.path_params["action"]]
        return handlers[context.request.method](context, entity_name)

    def _mass_create(self, context: EspoContext, entity_name: str) -> dict[str, Any]:
        items = context.body.get("list")
        if not isinstance(items, list):
            raise BadRequest("'list' must be an array of records.")
        ids = self.core.records(entity_name).create_many(context.actor, items)
        return {"count": len(ids), "ids": [str(i) for i in ids]}

    def _legacy_mass_update(self, context: EspoContext, entity_name: str) -> dict[str, Any]:
        values = context.body.get("attributes", context.body.get("data"))
        if not isinstance(values, dict):
            raise BadRequest("'attributes' is required.")
        service = self.core.records(entity_name)
        ids, by_ids = self._target_ids(service, context, context.body, "edit")
        done = service.mass_update(context.actor, ids, values)
        return mass_result(done, by_ids)

    def _legacy_mass_delete(self, context: EspoContext, entity_name: str) -> dict[str, Any]:
        service = self.core.records(entity_name)
        ids, by_ids = self._target_ids(service, context, context.body, "delete")
        done = service.mass_delete(context.actor, ids)
        return mass_result(done, by_ids)

    def _convert_attributes(self, context: EspoContext, _entity: str) -> dict[str, Any]:
        lead_id = context.body.get("id")
        if lead_id is None:
            raise BadRequest("No id.")
        attributes = convert_attributes(self.core, context.actor, lead_id)
        return {name: self.renderer(name).render(values) for name, values in attributes.items()}

    def _convert(self, context: EspoContext, _entity: str) -> dict[str, Any]:
        lead_id = context.body.get("id", context.request.path_params.get("id"))
        if lead_id is None:
            raise BadRequest("No id.")
        records = context.body.get("records")
        if records is None:
            records = self._seed_convert_records(context, lead_id)
        skip = context.body.get("skipDuplicateCheck") is True
        lead = convert_lead(self.core, context.actor, lead_id, records, skip_duplicate_check=skip)
        return self.renderer("Lead").render(lead)

    def _seed_convert_records(self, context: EspoContext, lead_id: Any) -> dict[str, Any]:
        """The older form `{createAccount, accountName, createContact, createOpportunity, opportunityName}`:
        records start from the lead's convert attributes, overridden by the given names."""
        body = context.body
        flags = {"Account": "createAccount", "Contact": "createContact", "Opportunity": "createOpportunity"}
        if not any(body.get(flag) for flag in flags.values()):
            raise BadRequest("Nothing to convert: give 'records' or createAccount/createContact/createOpportunity.")
        defaults = convert_attributes(self.core, context.actor, lead_id)
        records: dict[str, Any] = {}
        for name, flag in flags.items():
            if body.get(flag):
                records[name] = dict(defaults.get(name, {}))
        if "Account" in records and isinstance(body.get("accountName"), str):
            records["Account"]["name"] = body["accountName"]
        if "Opportunity" in records and isinstance(body.get("opportunityName"), str):
            records["Opportunity"]["name"] = body["opportunityName"]
        return records

    def lead_convert(self, context: EspoContext) -> Any:
        """`POST Lead/{id}/convert` and `POST Lead/{id}/action/convert` (seed documents)."""
        return self._convert(context, "Lead")

    # --- field manager ----------------------------------------------------------------------------

    def add_field(self, context: EspoContext) -> dict[str, Any]:
        if not context.actor.is_admin:
            raise Forbidden("Only administrators may add fields.")
        entity_name = context.request.path_params["entity"]
        if entity_name not in self.core.registry:
            raise NotFound(f"Entity type '{entity_name}' does not exist.")
        body = dict(context.body)
        name, field_type = body.pop("name", None), body.pop("type", None)
        if not isinstance(name, str) or not isinstance(field_type, str):
            raise BadRequest("'name' and 'type' are required strings.")
        api_names = api_names_of(body)
        field = self.core.add_field(entity_name, custom_field_name(name), field_type, body, api_names)
        return {"name": field.name, **field.params}

    # --- webhooks (dialects/espo/webhooks.py) -----------------------------------------------------

    def webhook_list(self, context: EspoContext) -> Any:
        return self.webhooks.list(context)

    def webhook_create(self, context: EspoContext) -> Any:
        return self.webhooks.create(context)

    def webhook_read(self, context: EspoContext) -> Any:
        return self.webhooks.read(context)

    def webhook_update(self, context: EspoContext) -> Any:
        return self.webhooks.update(context)

    def webhook_delete(self, context: EspoContext) -> Any:
        return self.webhooks.delete(context)

    def webhook_deliveries(self, context: EspoContext) -> Any:
        return self.webhooks.deliveries(context)

    def webhook_redeliver(self, context: EspoContext) -> Any:
        return self.webhooks.redeliver(context)


def follower_ids(body: dict[str, Any]) -> list[Any]:
    """The users of a followers request: `ids`, else `id` (EspoCRM's order); none is a 400, as is an id that
    is not a string or number."""
    ids = body.get("ids")
    if ids is None:
        ids = [body["id"]] if body.get("id") is not None else []
    if not isinstance(ids, list) or not ids:
        raise BadRequest("No ids.")
    if any(isinstance(i, bool) or not isinstance(i, (str, int)) for i in ids):
        raise BadRequest("Bad id item.")
    return ids


def list_total(result: SearchResult, mode: TotalMode) -> int | None:
    """A list's `total`: the count, or without one -1 (there are more) and -2 (no more)."""
    if mode is TotalMode.COUNT:
        return result.total
    return -1 if result.has_more else -2


def mass_result(done: list[int], by_ids: bool) -> dict[str, Any]:
    """EspoCRM's mass-action answer: the ids only when the request named them."""
    return {"count": len(done), "ids": [str(i) for i in done]} if by_ids else {"count": len(done)}


def espo_routes(api: EspoApi) -> list[Route]:
    r = api.route
    system = EspoSystemApi(api.core, api.directory, api.verifier)
    return [
        r("/", {"GET": api.root}, public=True),
        r("/App/about", {"GET": system.about}),
        r("/I18n", {"GET": system.i18n}, public=True),
        r("/Settings", {"GET": system.settings_read, "PUT": system.settings_update, "PATCH": system.settings_update},
          public=True),
        r("/GlobalSearch", {"GET": system.global_search}),
        *admin_routes(api),
        r("/App/user", {"GET": api.app_user}),
        r("/App/destroyAuthToken", {"POST": api.destroy_token}),
        r("/Metadata", {"GET": api.metadata}),
        r("/OpenApi", {"GET": api.openapi}),
        r("/MassAction", {"POST": api.mass_action}),
        r("/Admin/fieldManager/{entity}", {"POST": api.add_field}),
        r("/Webhook", {"GET": api.webhook_list, "POST": api.webhook_create}),
        r("/Webhook/{id}", {"GET": api.webhook_read, "PUT": api.webhook_update, "PATCH": api.webhook_update,
                            "DELETE": api.webhook_delete}),
        r("/Webhook/{id}/deliveries", {"GET": api.webhook_deliveries}),
        r("/Webhook/{id}/deliveries/{deliveryId}/redeliver", {"POST": api.webhook_redeliver}),
        r("/Note", {"POST": api.note_create}),
        r("/Note/{id}", {"GET": api.note_read, "PUT": api.note_update, "PATCH": api.note_update,
                         "DELETE": api.note_delete}),
        r("/{entity}/action/{action}", {method: api.entity_action for method in ("POST", "PUT", "DELETE")}),
        r("/Lead/{id}/convert", {"POST": api.lead_convert}),
        r("/Lead/{id}/action/convert", {"POST": api.lead_convert}),
        r("/{entity}/{id}/subscription", {"PUT": api.follow, "DELETE": api.unfollow}),
        r("/{entity}/{id}/followers", {"GET": api.list_followers, "POST": api.add_followers,
                                       "DELETE": api.remove_followers}),
        r("/{entity}/{id}/stream", {"GET": api.stream}),
        r("/{entity}/{id}/posts", {"GET": api.posts}),
        r("/{entity}/{id}/{link}/{relatedId}", {"DELETE": api.unrelate}),
        r("/{entity}/{id}/{link}", {"GET": api.list_related, "POST": api.relate, "DELETE": api.unrelate}),
        r("/{entity}/{id}", {"GET": api.read, "PUT": api.update, "PATCH": api.update, "DELETE": api.delete}),
        r("/{entity}", {"GET": api.list, "POST": api.create}),
    ]

