"""``GET /metrics`` (Prometheus), ``GET /health`` (liveness) and ``GET /ready``
(readiness: the database answers).

``/health`` never touches the database: a process manager restarts a worker that
fails it, and restarting workers does not bring a database back. ``/ready`` is what a
load balancer or the compose health check asks: 503 (with Retry-After) while
PostgreSQL is away, so traffic goes to instances that can answer.

``/metrics`` shows per-route counts, pool state and worker pids, so who may read it is
a setting (``metrics_access``): ``local`` (default) opens it to requests over this
host's loopback that no proxy forwarded, ``public`` to anyone, ``role:<name>`` to
callers holding that role; ``admin`` may always. Others get 401 (anonymous) or 403.
``/health`` and ``/ready`` stay open to all; ``/health`` names the worker's pid only
to callers who may read the metrics.
"""

from __future__ import annotations

import os

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from twin.server.auth.principal import principal_of
from twin.server.errors import AuthenticationRequired, Forbidden, Unavailable
from twin.server.metrics.collect import CONTENT_TYPE, database_row, exposition
from twin.server.metrics.directory import sweep_dead
from twin.server.metrics.instruments import open_instruments
from twin.server.middleware.security import is_local
from twin.server.state import ServerState

READY_WAIT_S = 2.0
NO_STORE = {"Cache-Control": "no-store"}
ADMIN = "admin"


def metrics_allowed(request: Request, access: str) -> bool:
    """Whether this caller may read /metrics under ``access`` (see the module's text)."""
    roles = principal_of(request).roles
    if access == "public" or ADMIN in roles:
        return True
    if access.startswith("role:"):
        return access.removeprefix("role:") in roles
    return is_local(request.scope)


def _refuse(request: Request, access: str):
    who = access.removeprefix("role:") if access.startswith("role:") else ADMIN
    where = "is open to this host only" if access == "local" else f"needs the role {who!r}"
    if not principal_of(request).authenticated:
        return AuthenticationRequired(f"/metrics {where}; send an API key or a token of a "
                                      f"caller with the role {who!r}")
    return Forbidden(f"/metrics {where}; this caller has the roles "
                     f"{', '.join(sorted(principal_of(request).roles))}")


def routes(state: ServerState) -> list[BaseRoute]:
    access = state.settings.metrics_access

    async def scrape(request: Request) -> Response:
        if not metrics_allowed(request, access):
            raise _refuse(request, access)
        instruments = open_instruments(state.settings.data_dir / "metrics")
        instruments.refresh(state.db)  # this worker's numbers as of now
        row = await database_row(state)
        sweep_dead(instruments.path)
        text = await run_in_threadpool(exposition, instruments.path, row)
        return Response(text, media_type=CONTENT_TYPE, headers=NO_STORE)

    async def health(request: Request) -> JSONResponse:
        # The worker's pid: which process answered, for operators and the fault tests;
        # shown to those who may read the metrics (which list the pids anyway).
        body = {"status": "alive"}
        if metrics_allowed(request, access):
            body["worker"] = os.getpid()
        return JSONResponse(body, headers=NO_STORE)

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
