"""Which dialect answers a path under `/api/`: Concord CRM's or InflowCRM's (both live there)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from polycrm.dialects.concord.routes import is_concord_path


class ApiDispatch:
    """Sends a request to the Concord dialect when it carries a Bearer token or its path is Concord's
    alone (routes.is_concord_path), else to `other` (InflowCRM's routes)."""

    def __init__(self, concord: ASGIApp, other: ASGIApp, resources: frozenset[str]):
        self.concord = concord
        self.other = other
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._is_concord(scope):
            await self.concord(scope, receive, send)
        else:
            await self.other(scope, receive, send)

    def _is_concord(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                if value[:7].lower() == b"bearer ":
                    return True
                break
        path: str = scope["path"]
        return path.startswith("/api/") and is_concord_path(path[5:].split("/"), self.resources)
