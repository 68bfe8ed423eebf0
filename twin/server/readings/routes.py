"""``POST /readings`` and ``POST /sta/v1.1/Observations``: batches of readings over HTTP.

``/readings`` takes a JSON array of ``{station, property, time, value, unit?, quality?}``
(or ``{"readings": [...]}``); ``/sta/v1.1/Observations`` takes a SensorThings
Observation, an array of them, or CreateObservations ``dataArray`` blocks, the
Datastream being ``"<station_code>:<property>"``. Both go through
:func:`twin.ingest.stream.write_batch`: one transaction, duplicates counted and
skipped, every refused reading in ``ingest_dead_letters`` and in the response with its
index and reason. The answer is 201 when something new was stored, else 200.

Who may post: whoever may edit the ``sensor_stations`` layer (401 without credentials,
403 with another role), and only readings of the stations of the caller's agency
(``sensor_stations.agency``; admins: any station; a station without an agency: admins
only). A reading of another agency's station is refused like any bad reading (in the
response's ``dead_letters``, with the station and the reason); a request whose readings
are all of other agencies' stations is refused whole with 403 and stores nothing.
Readings outside the time window (``TWIN_READINGS_MAX_AGE_DAYS`` back,
``TWIN_READINGS_MAX_AHEAD_MINUTES`` ahead) and those of new months beyond the batch's
quota of new partitions are refused per reading too (:mod:`twin.ingest.policy`). A body
that is not JSON, has the wrong shape (400), is not JSON at all by its media type (415)
or is too large (413: 10 MiB or 100,000 readings) is refused whole.

Correcting a stored reading is ``POST /readings/corrections``
(:mod:`twin.server.readings.corrections`); a reading posted again is a duplicate and
never replaces the one stored.

The write runs on a worker thread with the server's sync pool: parsing 100,000
readings and COPYing them are CPU and I/O the event loop must not wait on, and the
write path (shared with the MQTT subscriber) is synchronous psycopg.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from twin.ingest.observations import (
    Parsed,
    Refused,
    parse_items,
    parse_observations,
    readings_of,
    utcnow,
)
from twin.ingest.policy import Scope, Window
from twin.ingest.stream import NotYours, WriteResult, ensure_partitions, write_batch
from twin.server.db import translate
from twin.server.errors import (
    Forbidden,
    InvalidParameter,
    RequestTooLarge,
)
from twin.server.limits import LIMITS
from twin.server.readings.common import (
    STATIONS,
    Surfaces,
    authorise,
    decode,
    read_body,
    scope_of,
)
from twin.server.readings.corrections import Corrector
from twin.server.state import ServerState

PARTITIONS_EVERY_S = 3600.0


@dataclass(frozen=True)
class Limits:
    body_bytes: int = LIMITS.readings_body_bytes
    readings: int = LIMITS.readings_per_request
    new_months: int = LIMITS.readings_new_months


def _readings(doc: Any, now, path: str, window: Window) -> Parsed:
    return parse_items(readings_of(doc), now, topic=path, window=window)


def _observations(doc: Any, now, path: str, window: Window) -> Parsed:
    return parse_observations(doc, now, topic=path, window=window)


def window_of(settings) -> Window:
    return Window.of(settings.readings_max_age_days, settings.readings_max_ahead_minutes,
                     settings.city.timezone)


class ReadingsIngest:
    def __init__(self, state: ServerState, limits: Limits | None = None,
                 surfaces: Surfaces | None = None):
        self.state = state
        self.limits = limits or Limits()
        self._partitions_due = 0.0
        self._partitions_lock = threading.Lock()
        self.surfaces = surfaces or Surfaces(state)
        self.window = window_of(state.settings)

    async def readings(self, request: Request) -> JSONResponse:
        return await self._ingest(request, _readings)

    async def observations(self, request: Request) -> JSONResponse:
        return await self._ingest(request, _observations)

    async def _ingest(self, request: Request, parse: Callable[..., Parsed]) -> JSONResponse:
        who = authorise(self.state, request, "posting readings")
        raw = await read_body(request, self.limits.body_bytes, self._too_large)
        result = await run_in_threadpool(self._write, raw, parse, request.url.path,
                                         scope_of(who))
        surfaces = self.surfaces.task() if result.inserted else None
        return JSONResponse(result.summary(), status_code=201 if result.inserted else 200,
                            headers={"Cache-Control": "no-store"}, background=surfaces)

    def _too_large(self) -> RequestTooLarge:
        return RequestTooLarge(f"the body is larger than {self.limits.body_bytes // 2**20} MiB "
                               f"or holds more than {self.limits.readings:,} readings; split it")

    def _write(self, raw: bytes, parse: Callable[..., Parsed], path: str,
               scope: Scope) -> WriteResult:
        """Parse and store, on a worker thread."""
        try:
            parsed = parse(decode(raw), utcnow(), path, self.window)
        except Refused as exc:
            raise InvalidParameter(str(exc)) from None
        if parsed.received > self.limits.readings:
            raise self._too_large()
        try:
            with self.state.db.sync.connection() as conn:
                self._ensure_partitions(conn)
                return write_batch(conn, parsed, "http", scope, self.limits.new_months,
                                   tz=self.state.settings.city.timezone)
        except NotYours as exc:
            shown = exc.reasons[:5] + ([f"... {len(exc.reasons) - 5} more"]
                                       if len(exc.reasons) > 5 else [])
            raise Forbidden("nothing was stored: every reading is of a station whose "
                            "readings you may not write: " + "; ".join(shown)) from None
        except psycopg.Error as exc:
            raise translate(exc) from None

    def _ensure_partitions(self, conn: psycopg.Connection) -> None:
        """At most hourly: the coming months' partitions exist before their readings."""
        with self._partitions_lock:
            if time.monotonic() < self._partitions_due:
                return
            self._partitions_due = time.monotonic() + PARTITIONS_EVERY_S
        ensure_partitions(conn)


def routes(state: ServerState) -> list[BaseRoute]:
    if STATIONS not in state.registry:
        return []
    surfaces = Surfaces(state)
    ingest, corrector = ReadingsIngest(state, surfaces=surfaces), Corrector(state, surfaces)
    return [Route("/readings", ingest.readings, methods=["POST"]),
            Route("/readings/corrections", corrector.post, methods=["POST"]),
            Route("/sta/v1.1/Observations", ingest.observations, methods=["POST"])]
