"""The notify block's routes and its background work (the dispatcher, one per worker, when
``TWIN_NOTIFY_DISPATCH`` is on: see :mod:`twin.notify.dispatcher`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.routing import BaseRoute, Route

from twin.notify.config import NotifySettings
from twin.notify.dispatcher import Dispatcher
from twin.server.notify.admin import admin_routes
from twin.server.notify.cap import cap_routes
from twin.server.notify.stream import stream_route
from twin.server.state import ServerState
from twin.server.subscriptions.producer import SubscriptionProducer

log = logging.getLogger("twin.server.notify")
STOP_WAIT_S = 5.0


def routes(state: ServerState) -> list[BaseRoute]:
    settings = NotifySettings()
    if settings.dispatch:
        state.background.append(lambda: dispatching(state, settings))
    one, feed = cap_routes(state)
    listing, retry = admin_routes(state)
    return [Route("/alerts/stream", stream_route(state, settings.heartbeat_s), methods=["GET"]),
            Route("/alerts/cap", feed, methods=["GET"]),
            Route("/alerts/{alert_id}/cap", one, methods=["GET"]),
            Route("/admin/deliveries", listing, methods=["GET"]),
            Route("/admin/deliveries/{delivery_id}/retry", retry, methods=["POST"])]


@contextlib.asynccontextmanager
async def dispatching(state: ServerState, settings: NotifySettings):
    """Run the dispatcher in the background while the worker serves."""
    stop = asyncio.Event()
    producers = [SubscriptionProducer(state.registry)]  # layer-change subscriptions
    task = asyncio.create_task(Dispatcher(state.db.dsn, settings,
                                          producers=producers).run(stop))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, STOP_WAIT_S)
        except (TimeoutError, asyncio.CancelledError):
            log.warning("the alert dispatcher did not stop in %s s; cancelled", STOP_WAIT_S)
        except Exception:  # already logged by the task; the worker still stops
            log.exception("the alert dispatcher failed")
