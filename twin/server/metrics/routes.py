"""``GET /metrics`` (Prometheus), ``GET /health`` (liveness) and ``GET /ready``
(readiness: the database answers).

``/health`` never touches the database: a process manager restarts a worker that
fails it, and restarting workers does not bring a database back. ``/ready`` is what a
load balancer or the compose health check asks: 503 (with Retry-After) while
PostgreSQL is away, so traffic goes to instances that can answer.
"""

from __future__ import annotations

import os

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from twin.server.errors import Unavailable
from twin.server.metrics.collect import families
from twin.server.metrics.exposition import CONTENT_TYPE, render
from twin.server.metrics.store import metrics_for
from twin.server.state import ServerState

READY_WAIT_S = 2.0
NO_STORE = {"Cache-Control": "no-store"}


def routes(state: ServerState) -> list[BaseRoute]:
    metrics = metrics_for(state)

    async def scrape(_request: Request) -> Response:
        text = render(await families(metrics))
        return Response(text, media_type=CONTENT_TYPE, headers=NO_STORE)

    async def health(_request: Request) -> JSONResponse:
        # The worker's pid: which process answered, for operators and the fault tests.
        return JSONResponse({"status": "alive", "worker": os.getpid()}, headers=NO_STORE)

    async def ready(_request: Request) -> JSONResponse:
        try:
            async with state.db.pool.connection(timeout=READY_WAIT_S) as conn:
                await conn.execute("SELECT 1")
        except psycopg.OperationalError:  # PoolTimeout included
            raise Unavailable("not ready: the database cannot be reached") from None
        return JSONResponse({"status": "ready"}, headers=NO_STORE)

    return [Route("/metrics", scrape, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
            Route("/ready", ready, methods=["GET"])]
