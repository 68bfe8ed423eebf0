"""App assembly: the only server module that sees settings from outside.

The building blocks (:mod:`twin.server.blocks`) give their routes in order; twin's
fast routes come first, pygeoapi serves the rest of the OGC API surface.
"""

from __future__ import annotations

import contextlib

from psycopg import OperationalError
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from twin.config import Settings
from twin.errors import TwinInputError
from twin.registry import Registry, load_registry
from twin.server import blocks
from twin.server.auth.middleware import AuthMiddleware
from twin.server.db import Database
from twin.server.errors import (
    APIError,
    api_error_handler,
    http_exception_handler,
    input_error_handler,
    unexpected_error_handler,
)
from twin.server.limits import BodyLimit
from twin.server.metrics.middleware import MetricsMiddleware
from twin.server.middleware.cors import cors_middleware
from twin.server.middleware.guard import GuardMiddleware
from twin.server.middleware.language import LanguageMiddleware
from twin.server.middleware.replicas import ReplicaRoutingMiddleware
from twin.server.middleware.security import SecurityHeadersMiddleware
from twin.server.pygeoapi import bridge
from twin.server.replicas import ReplicaSet, replica_dsns
from twin.server.state import ServerState


def build_state(settings: Settings, database_url: str,
                registry: Registry | None = None) -> ServerState:
    replicas = ReplicaSet(replica_dsns(settings.replica_urls),
                          max_lag_s=settings.replica_max_lag_s,
                          max_lag_bytes=settings.replica_max_lag_bytes)
    db = Database(database_url, size=settings.pool_size,
                  statement_timeout_ms=settings.statement_timeout_ms, replicas=replicas)
    return ServerState(settings=settings, registry=registry or load_registry(settings.layers_dir),
                       db=db, base_url=settings.base_url)


def create_app(settings: Settings, database_url: str,
               registry: Registry | None = None) -> Starlette:
    state = build_state(settings, database_url, registry)
    routes = [r for module in blocks.modules("own") for r in module.routes(state)]
    routes += bridge.routes(state)  # last: pygeoapi serves the rest

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        await state.db.open()
        from twin.server.features.extents import load_extents

        if not state.extents:  # the pygeoapi bridge may have read them already
            state.extents = await load_extents(state)
        async with contextlib.AsyncExitStack() as stack:  # the blocks' background work
            for run in state.background:
                await stack.enter_async_context(run())
            yield
        await state.db.close()

    app = Starlette(
        routes=routes, lifespan=lifespan,
        # Level 4: on a 560 KB tile, level 9 took 126 ms and level 4 14 ms for ~the same size.
        # Metrics outermost: the time it records includes every other layer.
        middleware=[Middleware(MetricsMiddleware, state=state),
                    # the request's language, for every error description below it
                    Middleware(LanguageMiddleware, default=settings.city.language),
                    Middleware(SecurityHeadersMiddleware, state=state),  # errors included
                    # preflights answered before authentication and every route
                    cors_middleware(settings.cors_origins, settings.api_key_header),
                    Middleware(BodyLimit),
                    Middleware(GZipMiddleware, minimum_size=1000, compresslevel=4),
                    Middleware(GuardMiddleware),
                    Middleware(AuthMiddleware, state=state),
                    # reads to replicas, writes' LSN: inside auth (its lookups: primary)
                    Middleware(ReplicaRoutingMiddleware, state=state)],
        # Database outages are handled as API errors (503 on a kept-alive connection):
        # a handler for Exception itself runs in Starlette's outermost middleware, which
        # re-raises, and uvicorn then drops the connection.
        exception_handlers={APIError: api_error_handler, HTTPException: http_exception_handler,
                            # A domain error about the input is a 400 with its words; any
                            # other ValueError (numpy's, pyproj's) a plain, logged 500.
                            TwinInputError: input_error_handler,
                            ValueError: unexpected_error_handler,
                            OperationalError: unexpected_error_handler,
                            PoolTimeout: unexpected_error_handler,
                            Exception: unexpected_error_handler},
    )
    app.state.twin = state
    return app
