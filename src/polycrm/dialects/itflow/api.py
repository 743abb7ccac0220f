"""ITFlow-compatible API (`/api/v1/{module}/{function}.php`, specs/itflow.md): the request pipeline of §2 in
its exact order, then the module's handler. Records are read and written through the core."""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from polycrm.auth.itflow_keys import ItflowKey
from polycrm.core.service import Core
from polycrm.dialects.http import BodyTooLarge, bind_user, client_address, log_auth_failure, read_body
from polycrm.dialects.itflow.context import MAX_LIMIT, ItflowRequest, parse_body, parse_query
from polycrm.dialects.itflow.envelope import (AUTH_FAILED, GET_ONLY, POST_ONLY, TOO_LARGE, WARNING_HEADER, Failure,
                                              ItflowResponse, header_safe, method_not_allowed, missing_key,
                                              no_resource)
from polycrm.dialects.itflow.mapping import ItflowMapping
from polycrm.dialects.itflow.php import sanitize_input
from polycrm.dialects.php_json import json_encode

log = logging.getLogger("polycrm.itflow")
READS = frozenset({"read", "time"})
Handler = Callable[["ItflowApi", ItflowRequest], Response]


class KeyLookup(Protocol):
    def __call__(self, key: str) -> ItflowKey | None: ...


class Audit(Protocol):
    """Writes ITFlow's activity log rows (§7) into the audit trail."""

    def __call__(self, type_: str, action: str, description: str, *, client_id: int = 0, entity_id: int = 0,
                 user_id: int = 0, ip: str | None = None, user_agent: str | None = None,
                 conn: Any = None) -> Any: ...


class ItflowApi:
    """The pipeline and the table of handlers; handlers live in the module files (reads, clients, ...)."""

    def __init__(self, core: Core, find_key: KeyLookup, audit: Audit, *, max_body_bytes: int,
                 actor_of: Callable[[int], Any], mapping: ItflowMapping | None = None):
        self.core = core
        self.find_key = find_key
        self.audit = audit
        self.actor_of = actor_of
        self.max_body_bytes = max_body_bytes
        self.mapping = mapping or ItflowMapping.load()
        self.mapping.check(core.registry)
        self.handlers: dict[tuple[str, str], Handler] = {}
        from polycrm.dialects.itflow import handlers  # the module files register their functions here
        handlers.register(self)

    def add(self, module: str, function: str, handler: Handler) -> None:
        endpoint = self.mapping.endpoints[module]
        if function not in endpoint.functions:
            raise LookupError(f"ITFlow has no {module}/{function}")
        self.handlers[(module, function)] = handler

    async def endpoint(self, request: Request) -> Response:
        module, function = request.path_params["module"], request.path_params["function"]
        handler = self.handlers.get((module, function))
        if handler is None:
            return Response(status_code=404)  # ITFlow: the web server's 404 for a file that does not exist
        method = request.method
        if method not in ("GET", "POST"):
            return method_not_allowed(method)
        try:
            raw = await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            return Failure(TOO_LARGE, f"the body exceeds {self.max_body_bytes} bytes", status=413).response()
        query, body = parse_query(request.scope.get("query_string", b"")), parse_body(raw)
        given = body.get("api_key")
        if given is None:
            given = query.get("api_key")
        if given is None or isinstance(given, (list, dict)):
            return missing_key()
        return await run_in_threadpool(self._authenticated, request, module, function, handler, query, body,
                                       sanitize_input(given))

    def _authenticated(self, request: Request, module: str, function: str, handler: Handler,
                       query: dict[str, str], body: dict[str, Any], api_key: str) -> Response:
        ip, agent = client_address(request), request.headers.get("user-agent", "")
        key = self.find_key(api_key) if api_key else None
        actor = self.actor_of(key.user_id) if key is not None else None
        if key is None or actor is None:
            log_auth_failure("authentication failed", "itflow-key", None, ip)
            self.audit("API", "Failed", f"Incorrect or expired key (endpoint: {request.url.path})",
                       ip=ip, user_agent=agent)
            return ItflowResponse(json_encode({"success": "False", "message": AUTH_FAILED}), 401)
        bind_user(request.scope, actor.user_name, actor.user_id)
        context = ItflowRequest(module, function, request.url.path, query, body, key, actor, ip, agent)
        wanted = "GET" if function in READS else "POST"
        if request.method != wanted:
            message = GET_ONLY if wanted == "GET" else POST_ONLY
            return ItflowResponse(json_encode({"success": "False", "message": message}), 405)
        try:
            if function in READS:
                _check_paging(context)
            response = handler(self, context)
            if context.warnings:
                response.headers[WARNING_HEADER] = header_safe("; ".join(context.warnings))
            return response
        except Failure as failure:
            # `module` is a LogRecord attribute of its own: the endpoint goes under another name.
            log.debug("ITFlow request refused", extra={"endpoint": f"{module}/{function}", "reason": failure.reason})
            return failure.response()


def _check_paging(request: ItflowRequest) -> None:
    """ITFlow answers a negative limit or offset with HTTP 500 (a SQL syntax error); PolyCRM with the read
    failure, and a bigger page than it builds with the same."""
    limit, offset = request.limit, request.offset
    if limit < 0 or offset < 0:
        raise no_resource("limit and offset must not be negative")
    if limit > MAX_LIMIT:
        raise no_resource(f"limit must not exceed {MAX_LIMIT}")


class _AnyMethod:
    """The endpoint as a bare ASGI app: Starlette then routes every method to it, and the pipeline answers
    those ITFlow refuses itself (§2 step 4)."""

    def __init__(self, api: ItflowApi):
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.api.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def itflow_routes(api: ItflowApi) -> list[Route]:
    return [Route("/api/v1/{module}/{function}.php", _AnyMethod(api))]
