"""``POST /readings`` and ``POST /sta/v1.1/Observations``: batches of readings over HTTP.

``/readings`` takes a JSON array of ``{station, property, time, value, unit?, quality?}``
(or ``{"readings": [...]}``); ``/sta/v1.1/Observations`` takes a SensorThings
Observation, an array of them, or CreateObservations ``dataArray`` blocks, the
Datastream being ``"<station_code>:<property>"``. Both go through
:func:`twin.ingest.stream.write_batch`: one transaction, duplicates counted and
skipped, every refused reading in ``ingest_dead_letters`` and in the response with its
index and reason. The answer is 201 when something new was stored, else 200.

Who may post: whoever may edit the ``sensor_stations`` layer (401 without credentials,
403 with another role). A body that is not JSON, has the wrong shape (400), is not
JSON at all by its media type (415) or is too large (413: 10 MiB or 100,000 readings)
is refused whole.

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
from twin.ingest.stream import WriteResult, ensure_partitions, write_batch
from twin.server.auth.policy import can_edit
from twin.server.auth.principal import principal_of
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


def _readings(doc: Any, now, path: str) -> Parsed:
    return parse_items(readings_of(doc), now, topic=path)


def _observations(doc: Any, now, path: str) -> Parsed:
    return parse_observations(doc, now, topic=path)


class ReadingsIngest:
    def __init__(self, state: ServerState, limits: Limits | None = None):
        self.state = state
        self.limits = limits or Limits()
        self._partitions_due = 0.0
        self._partitions_lock = threading.Lock()
        self.surfaces = Follower(state.settings.raster_dir)

    async def readings(self, request: Request) -> JSONResponse:
        return await self._ingest(request, _readings)

    async def observations(self, request: Request) -> JSONResponse:
        return await self._ingest(request, _observations)

    async def _ingest(self, request: Request, parse: Callable[..., Parsed]) -> JSONResponse:
        self._authorise(request)
        raw = await self._body(request)
        result = await run_in_threadpool(self._write, raw, parse, request.url.path)
        # Surfaces of the hours just stored: made after the response, outside the ingest
        # transaction (twin.surfaces.pending).
        surfaces = BackgroundTask(self.surfaces.from_pool, self.state.db.sync) \
            if result.inserted else None
        return JSONResponse(result.summary(), status_code=201 if result.inserted else 200,
                            headers={"Cache-Control": "no-store"}, background=surfaces)

    def _authorise(self, request: Request) -> None:
        who = principal_of(request)
        layer = self.state.registry.get(STATIONS)
        if not who.authenticated:
            raise AuthenticationRequired("posting readings needs credentials: an API key "
                                         "(X-API-Key) or a bearer token")
        if not can_edit(layer, who):
            roles = ", ".join(layer.access.edit) or "no role"
            raise Forbidden(f"readings may be posted by those who may edit {STATIONS} "
                            f"({roles}); {who.agency or who.subject} may not")

    async def _body(self, request: Request) -> bytes:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media and media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(f"send JSON (Content-Type: application/json), not "
                                       f"{media[:60]}")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.body_bytes:
            raise self._too_large()
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.limits.body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> RequestTooLarge:
        return RequestTooLarge(f"the body is larger than {self.limits.body_bytes // 2**20} MiB "
                               f"or holds more than {self.limits.readings:,} readings; split it")

    def _write(self, raw: bytes, parse: Callable[..., Parsed], path: str) -> WriteResult:
        """Parse and store, on a worker thread."""
        try:
            parsed = parse(_decode(raw), utcnow(), path)
        except Refused as exc:
            raise InvalidParameter(str(exc)) from None
        if parsed.received > self.limits.readings:
            raise self._too_large()
        try:
            with self.state.db.sync.connection() as conn:
                self._ensure_partitions(conn)
                return write_batch(conn, parsed, "http")
        except psycopg.Error as exc:
            raise translate(exc) from None

    def _ensure_partitions(self, conn: psycopg.Connection) -> None:
        """At most hourly: the coming months' partitions exist before their readings."""
        with self._partitions_lock:
            if time.monotonic() < self._partitions_due:
                return
            self._partitions_due = time.monotonic() + PARTITIONS_EVERY_S
        ensure_partitions(conn)


def _decode(raw: bytes) -> Any:
    if not raw.strip():
        raise InvalidParameter("the request has no body; send a JSON array of readings")
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
    ingest = ReadingsIngest(state)
    return [Route("/readings", ingest.readings, methods=["POST"]),
            Route("/sta/v1.1/Observations", ingest.observations, methods=["POST"])]
