"""The ASGI middleware that times every request by route template and status.

Outermost in the stack, so the time includes compression and authentication, and a
request refused by a middleware is counted too. The route template (``/collections/
{collection_id}/items``, never the concrete path) keeps the number of series bounded
whatever clients send; a path no route matches counts as ``unmatched``. Every response
says the server's time until its headers in ``Server-Timing``. Beside the
app's lifespan it writes the worker's pool and process gauges every second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.server.metrics.instruments import REFRESH_S, open_instruments
from twin.server.state import ServerState

log = logging.getLogger("twin.server.metrics")

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


def _timing(started: float) -> tuple[bytes, bytes]:
    """``Server-Timing: app;dur=<ms>``: the server's own time until the response's
    headers (browsers' developer tools show it; benchmarks read it to tell the server's
    share from the client's and the network's)."""
    return b"server-timing", f"app;dur={(time.perf_counter() - started) * 1e3:.3f}".encode()


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, state: ServerState):
        self.app = app
        self.state = state
        self.instruments = open_instruments(state.settings.data_dir / "metrics")
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
                message["headers"] = [*message.get("headers", ()), _timing(started)]
            await send(message)

        instruments = self.instruments
        instruments.in_progress.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            instruments.in_progress.dec()
            instruments.observe(scope["method"], self.templates.template(scope), status,
                                time.perf_counter() - started)

    async def _refresh(self) -> None:
        while True:
            try:
                self.instruments.refresh(self.state.db)
            except Exception:  # a background loop: log, and try again next time
                log.exception("metrics: could not write this worker's gauges")
            await asyncio.sleep(REFRESH_S)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        refresher = asyncio.create_task(self._refresh())
        try:
            await self.app(scope, receive, send)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
