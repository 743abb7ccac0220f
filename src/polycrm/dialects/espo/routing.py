"""Routes of the EspoCRM API that take only paths naming a resource.

Starlette matches a route by the shape of its path alone, so `/{entity}/{id}/{link}/{relatedId}` (DELETE only)
took `GET /Activities/Account/1/activities` and answered 405 with a wrong Allow. A `ResourceRoute` asks the API
which methods the resource of a path takes: a path naming an entity type, link or action that does not exist
matches no route (404 whatever the method, its reason in X-Status-Reason), and a resource asked with another
method is a 405 whose Allow names the methods that resource takes.
"""

from __future__ import annotations

from typing import Any, Callable, Collection, Mapping, Sequence

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Match, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from polycrm.core.errors import NotFound
from polycrm.dialects.espo.context import error_response

# The methods a resource takes, from its path parameters and its route's methods; NotFound if there is none.
ResourceMethods = Callable[[Mapping[str, Any], frozenset[str]], frozenset[str]]
_ALLOWED = "polycrm.espo.allowed"  # scope keys: the matched resource's methods,
_MISSING = "polycrm.espo.not_found"  # and why the first route of the path's shape found no resource


class ResourceRoute(Route):
    def __init__(self, path: str, endpoint: Callable[..., Any], methods: Collection[str],
                 resource_methods: ResourceMethods):
        super().__init__(path, endpoint, methods=list(methods))
        self.resource_methods = resource_methods

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is Match.NONE:
            return match, child
        try:
            allowed = self.resource_methods(child["path_params"], frozenset(self.methods or ()))
        except NotFound as exc:
            scope.setdefault(_MISSING, exc.reason)
            return Match.NONE, {}
        child[_ALLOWED] = allowed
        return (Match.FULL if scope["method"] in allowed else Match.PARTIAL), child

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = scope[_ALLOWED]
        if scope["method"] not in allowed:
            raise HTTPException(status_code=405, headers={"Allow": ", ".join(sorted(allowed))})
        await self.app(scope, receive, send)


async def resource_not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """The EspoCRM router's answer to a path no route takes: a bare 404, saying which name does not exist."""
    response = error_response(NotFound(scope.get(_MISSING, "")), Request(scope))
    await response(scope, receive, send)


class EspoRouter(Router):
    """The EspoCRM routes, tried by the first segment of a path after the API's `base`. A path beginning with a
    name some route begins with (`/Metadata`, `/Lead/{id}/convert`, `/Role`) is tried against every route, in
    their order; any other path (`/Contact/7`) only against the routes beginning with a parameter, which are the
    only ones it can match, `/{entity}` and `/{entity}/{id}` first (no other has as few segments). A list or
    read was tried against 32 routes before its own."""

    def __init__(self, base: str, routes: Sequence[Route], default: ASGIApp):
        super().__init__(routes=list(routes), default=default)
        self._base = base
        generic = [route for route in routes if self._first(route.path).startswith("{")]
        generic.sort(key=lambda route: route.path.count("/") > base.count("/") + 2)  # stable
        self._generic = Router(routes=generic, default=default)
        self._named = frozenset(first for route in routes if not (first := self._first(route.path)).startswith("{"))

    def _first(self, path: str) -> str:
        return path[len(self._base):].lstrip("/").split("/", 1)[0]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(self._base) and self._first(path) not in self._named:
            await self._generic.app(scope, receive, send)
        else:
            await super().app(scope, receive, send)
