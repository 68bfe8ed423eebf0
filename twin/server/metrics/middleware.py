"""The ASGI middleware that times every request by route template and status.

Outermost in the stack, so the time includes compression and authentication, and a
request refused by a middleware is counted too. The route template (``/collections/
{collection_id}/items``, never the concrete path) keeps the number of series bounded
whatever clients send; a path no route matches counts as ``unmatched``. It also runs
the worker's report publisher beside the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.server.metrics.store import metrics_for
from twin.server.state import ServerState

UNMATCHED = "unmatched"


class RouteTemplates:
    """Endpoint -> route template, built from the app's routes on first use."""

    def __init__(self) -> None:
        self._by_endpoint: dict[object, list[tuple[str, BaseRoute]]] | None = None

    def template(self, scope: Scope) -> str:
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        if self._by_endpoint is None:
            self._by_endpoint = _index(scope["app"].routes, "")
        candidates = self._by_endpoint.get(endpoint, ())
        if len(candidates) == 1:
            return candidates[0][0]
        for template, route in candidates:  # one endpoint behind several paths
            if isinstance(route, Route) and route.path_regex.match(scope.get("path", "")):
                return template
        return candidates[0][0] if candidates else UNMATCHED


def _index(routes: list[BaseRoute], prefix: str) -> dict[object, list[tuple[str, BaseRoute]]]:
    index: dict[object, list[tuple[str, BaseRoute]]] = {}
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            for endpoint, found in _index(route.routes, prefix + route.path).items():
                index.setdefault(endpoint, []).extend(found)
        elif isinstance(route, Mount):
            index.setdefault(route.app, []).append((f"{prefix}{route.path}/{{path}}", route))
        elif isinstance(route, Route):
            index.setdefault(route.endpoint, []).append((prefix + route.path, route))
    return index


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, state: ServerState):
        self.app = app
        self.metrics = metrics_for(state)
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif scope["type"] == "http":
            await self._timed(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _timed(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500  # unless the app answers: an exception escaping it becomes a 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        stats = self.metrics.requests
        stats.in_progress += 1
        try:
            await self.app(scope, receive, send_status)
        finally:
            stats.in_progress -= 1
            stats.observe((scope["method"], self.templates.template(scope), str(status)),
                          time.perf_counter() - started)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        publisher = asyncio.create_task(self.metrics.publish())
        try:
            await self.app(scope, receive, send)
        finally:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await publisher
