"""What the readings routes share: who may write (the caller's scope), the request body,
and the surfaces made after a write. Both ``routes.py`` and ``corrections.py`` import it
(neither imports the other's helpers)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request

from twin.ingest.policy import EVERY_STATION, Scope
from twin.server.auth.policy import ADMIN, can_edit
from twin.server.auth.principal import Principal, principal_of
from twin.server.errors import (
    AuthenticationRequired,
    Forbidden,
    InvalidParameter,
    RequestTooLarge,
    UnsupportedMediaType,
)
from twin.server.state import ServerState
from twin.surfaces.pending import Follower

STATIONS = "sensor_stations"


def scope_of(who: Principal) -> Scope:
    """Whose stations ``who`` may write readings of: an admin's, any; else its agency's."""
    return EVERY_STATION if ADMIN in who.roles else Scope(agency=who.agency)


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


