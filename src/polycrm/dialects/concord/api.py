"""Concord CRM-compatible API (`/api/{resource}` with Sanctum Bearer tokens, specs/concord.md).

The pipeline, in Concord's order: the route and its methods (405 comes before authentication, as Laravel's
router answers it), the Bearer token (401), the per-user rate limit (429, `X-RateLimit-*` on every
authenticated answer), the API-access permission (403), the body, then the handler: a request without a body
in one trip to the thread pool. Handlers live in the modules named in ROUTES; records are read and written
through the core.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

import orjson
from limits import RateLimitItem
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from polycrm.auth.acl import Actor
from polycrm.auth.concord_tokens import ConcordToken
from polycrm.auth.directory import UserDirectory
from polycrm.core.errors import BadRequest, Conflict, Forbidden, NotFound, PolyError, ValidationFailure
from polycrm.core.service import Core
from polycrm.dialects.concord import routes
from polycrm.dialects.concord.context import ConcordRequest
from polycrm.dialects.concord.envelope import (WARNING_HEADER, ConcordError, conflict, forbidden, invalid,
                                               invalid_field, method_not_allowed, no_api_access, not_found,
                                               record_not_found, too_many, unauthenticated)
from polycrm.dialects.concord.mapping import ConcordMapping
from polycrm.dialects.concord.values import core_failure
from polycrm.dialects.multipart import FileTooLarge, FormContent, MalformedForm, TooManyFiles, parse_multipart
from polycrm.dialects.http import BodyTooLarge, bind_user, body_nul_location, client_address, header_text, \
    log_auth_failure, read_body
from polycrm.dialects.php_query import parse_php_query
from polycrm.dialects.ratelimit import RateLimiter
from polycrm.events.hub import WebhookHub

if TYPE_CHECKING:
    from polycrm.dialects.concord.view import ResourceView

log = logging.getLogger("polycrm.concord")
Handler = Callable[["ConcordApi", ConcordRequest], Response]


class ConcordApi:
    """The pipeline and the route table; an ASGI app for the `/api` paths the Concord dialect answers."""

    def __init__(self, core: Core, directory: UserDirectory, limiter: RateLimiter, rate: RateLimitItem,
                 token_rate: RateLimitItem, *, max_body_bytes: int, webhooks: WebhookHub,
                 max_upload_bytes: int, mapping: ConcordMapping | None = None):
        self.core = core
        self.directory = directory
        self.limiter = limiter
        self.rate = rate
        self.token_rate = token_rate
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes  # one media upload's file (POLYCRM_MAX_UPLOAD_BYTES)
        self.webhooks = webhooks  # Zapier's hooks are webhook subscriptions (dialects/concord/zapier.py)
        self.mapping = mapping or ConcordMapping.load()
        self.mapping.check(core.registry)
        # Each resource's view, made anew when its entity's fields change (view.ResourceView.of).
        self.views: dict[str, ResourceView] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._serve(request)
        except ConcordError as error:
            response = error.response()
        await response(scope, receive, send)

    async def _serve(self, request: Request) -> Response:
        path = request.url.path
        method = "GET" if request.method == "HEAD" else request.method
        matched = routes.match(path.removeprefix("/api/").split("/"), method)
        if matched is None:
            raise not_found()
        route, params = matched
        operation = route.methods.get(method)
        if operation is None:
            raise method_not_allowed(request.method, path, route.allowed())
        if operation.guest:
            body = await self._body(request) if operation.body else None
            return await run_in_threadpool(self._respond, request, operation, params, None, body)
        if not (operation.body or operation.upload):  # the whole request in one trip to the thread pool (~0.1 ms each)
            return await run_in_threadpool(self._authenticated, request, operation, params)
        actor, token, limits = await run_in_threadpool(self._admit, request)
        try:
            # After the caller is known and counted, as Laravel reads it.
            body = await (self._form(request) if operation.upload else self._body(request))
            try:
                return await run_in_threadpool(self._respond, request, operation, params, actor, body, limits,
                                               token.id)
            finally:
                if isinstance(body, FormContent):  # whatever the handler did not attach (attaching moves it)
                    await run_in_threadpool(body.discard)
        except ConcordError as error:
            return error.response(limits)

    def _authenticated(self, request: Request, operation: routes.Operation, params: dict[str, str]) -> Response:
        actor, token, limits = self._admit(request)
        try:
            return self._respond(request, operation, params, actor, None, limits, token.id)
        except ConcordError as error:
            return error.response(limits)

    def _admit(self, request: Request) -> tuple[Actor, ConcordToken, dict[str, str]]:
        """The caller, its token and the rate-limit headers of its answer; 401, 429 or 403 (no API access) in
        Concord's order: the throttle runs before the API-access check, so a refused user's calls count too.
        In the thread pool, as the count may wait on Redis."""
        actor, token = self._authenticate(request)
        decision = self.limiter.hit(self.rate, "concord", str(actor.user_id))
        limits = {"X-RateLimit-Limit": str(decision.limit), "X-RateLimit-Remaining": str(decision.remaining)}
        if not decision.allowed:
            raise too_many(decision.retry_after, decision.reset_at, decision.limit)
        if not token.api_access:
            refused = no_api_access()
            refused.headers.update(limits)
            raise refused
        return actor, token, limits

    def _authenticate(self, request: Request) -> tuple[Actor, ConcordToken]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        found = self.directory.find_concord_token(token.strip()) if scheme.lower() == "bearer" and token else None
        actor = self.directory.actor(found.user_id) if found is not None else None
        if found is None or actor is None:
            log_auth_failure("authentication failed", "concord-token", None, client_address(request))
            raise unauthenticated()
        bind_user(request.scope, actor.user_name, actor.user_id)
        return actor, found

    def _respond(self, request: Request, operation: routes.Operation, params: dict[str, str],
                 actor: Actor | None, body: Any, headers: dict[str, str] | None = None,
                 token_id: int | None = None) -> Response:
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        try:
            query = parse_php_query(raw_query)
        except BadRequest as error:
            raise invalid_field("query", error.reason) from None
        base = f"{request.url.scheme}://{request.url.netloc}"
        context = ConcordRequest(actor, request.method, request.url.path, base, client_address(request), params,
                                 query, raw_query, body, token_id=token_id)
        if "resource" in params:
            context.resource = self.mapping.resource(params["resource"])
            if context.resource is None:
                raise not_found()
        response = self._handle(operation.handler, context)
        response.headers.update(headers or {})
        if context.warnings:
            response.headers[WARNING_HEADER] = header_text("; ".join(context.warnings), 1000)
        return response

    async def _body(self, request: Request) -> Any:
        try:
            raw = await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            raise ConcordError(413, {"message": f"The request body exceeds {self.max_body_bytes} bytes."}) from None
        if not raw.strip():
            return {}
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise invalid_field("body", "The request body must be valid JSON.") from None
        if body_nul_location(raw, value, json=True) is not None:
            raise invalid_field("body", "The request body must not contain NUL characters.")
        return value

    async def _form(self, request: Request) -> FormContent:
        """A multipart body, its files staged; another kind of body is one without files (the handler's 422).
        A file may be POLYCRM_MAX_UPLOAD_BYTES, the rest of the body POLYCRM_MAX_BODY_BYTES; one file only."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "multipart/form-data":
            return FormContent()
        limit = self.max_upload_bytes + self.max_body_bytes
        try:
            form = await parse_multipart(request, self.core.files.staging_dir, max_files=1,
                                         max_file_bytes=self.max_upload_bytes, max_body_bytes=limit)
        except FileTooLarge:
            raise ConcordError(413, {"message": "File is too big. Maximum upload size is "
                                                f"{self.max_upload_bytes} bytes."}, pretty=False) from None
        except TooManyFiles:
            raise invalid_field("file", "Only one file may be uploaded at a time.") from None
        except MalformedForm as error:
            raise invalid_field("body", str(error)) from None
        except BodyTooLarge:
            raise ConcordError(413, {"message": f"The request body exceeds {limit} bytes."}) from None
        if form.nul_location() is not None:
            await run_in_threadpool(form.discard)
            raise invalid_field("body", "The request body must not contain NUL characters.")
        return form

    def _handle(self, handler: Handler, request: ConcordRequest) -> Response:
        try:
            return handler(self, request)
        except ValidationFailure as failure:
            resource = request.resource
            if resource is None:
                raise invalid_field(failure.field, failure.reason) from None
            entity = self.core.registry.entity(resource.entity_name)
            raise invalid(core_failure(resource, entity, failure)) from None
        except NotFound:
            resource = request.resource
            if resource is not None and "id" in request.params:
                raise record_not_found(resource.model, request.params["id"]) from None
            raise not_found() from None
        except Forbidden:
            raise forbidden() from None
        except Conflict as error:
            raise conflict(error.reason or "Conflict.") from None
        except BadRequest as error:
            raise invalid_field("request", error.reason or "The request is invalid.") from None
        except PolyError as error:  # any other expected refusal: still Concord's shape, never a 500
            log.debug("Concord request refused", extra={"reason": error.reason})
            raise ConcordError(400, {"message": error.reason or "The request cannot be served."}) from None
