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

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from starlette.background import BackgroundTask
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
from twin.ingest.policy import EVERY_STATION, Scope, Window
from twin.ingest.stream import NotYours, WriteResult, ensure_partitions, write_batch
from twin.server.auth.policy import ADMIN, can_edit
from twin.server.auth.principal import Principal, principal_of
from twin.server.db import translate
from twin.server.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidParameter,
    RequestTooLarge,
    UnsupportedMediaType,
)
from twin.server.limits import LIMITS
from twin.server.state import ServerState
from twin.surfaces.pending import Follower

STATIONS = "sensor_stations"
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


def scope_of(who: Principal) -> Scope:
    """Whose stations ``who`` may write readings of: an admin's, any; else its agency's."""
    return EVERY_STATION if ADMIN in who.roles else Scope(agency=who.agency)


def window_of(settings) -> Window:
    return Window.of(settings.readings_max_age_days, settings.readings_max_ahead_minutes,
                     settings.city.timezone)


class Surfaces:
    """The surfaces of the hours just stored, made after the response, outside the ingest
    transaction (twin.surfaces.pending), by one background run at a time: a run holds a
    connection of the sync pool, and a burst of requests must not take them all. A
    request that finds a run going asks it for one more pass, which takes in the hours
    queued meanwhile."""

    def __init__(self, state: ServerState):
        self.state = state
        self.follower = Follower(state.settings.raster_dir)
        self._lock = threading.Lock()
        self._running = self._again = False

    def task(self) -> BackgroundTask:
        return BackgroundTask(self._run)

    def _run(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        while True:
            try:
                self.follower.from_pool(self.state.db.sync)  # logs its errors
            except BaseException:
                with self._lock:
                    self._running = False
                raise
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False


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


def authorise(state: ServerState, request: Request, doing: str) -> Principal:
    """The caller, if it may edit the stations (401 anonymous, 403 another role)."""
    who = principal_of(request)
    layer = state.registry.get(STATIONS)
    if not who.authenticated:
        raise AuthenticationRequired(f"{doing} needs credentials: an API key (X-API-Key) "
                                     "or a bearer token")
    if not can_edit(layer, who):
        roles = ", ".join(layer.access.edit) or "no role"
        raise Forbidden(f"readings may be posted by those who may edit {STATIONS} "
                        f"({roles}); {who.agency or who.subject} may not")
    return who


async def read_body(request: Request, max_bytes: int,
                    too_large: Callable[[], RequestTooLarge]) -> bytes:
    """The body, if JSON by its media type (415) and at most ``max_bytes`` (413)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"send JSON (Content-Type: application/json), not "
                                   f"{media[:60]}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def decode(raw: bytes, what: str = "a JSON array of readings") -> Any:
    if not raw.strip():
        raise InvalidParameter(f"the request has no body; send {what}")
    try:
        return json.loads(raw.decode("utf-8"))  # bytes would let json guess UTF-16/32
    except UnicodeDecodeError:
        raise InvalidParameter("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidParameter(f"the body is not valid JSON: {exc.msg} at line {exc.lineno} "
                               f"column {exc.colno}") from None
    except (ValueError, RecursionError):
        raise InvalidParameter("the body is not valid JSON") from None


def routes(state: ServerState) -> list[BaseRoute]:
    if STATIONS not in state.registry:
        return []
    from twin.server.readings.corrections import Corrector

    surfaces = Surfaces(state)
    ingest, corrector = ReadingsIngest(state, surfaces=surfaces), Corrector(state, surfaces)
    return [Route("/readings", ingest.readings, methods=["POST"]),
            Route("/readings/corrections", corrector.post, methods=["POST"]),
            Route("/sta/v1.1/Observations", ingest.observations, methods=["POST"])]
