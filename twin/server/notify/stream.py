"""``GET /alerts/stream``: alert events as Server-Sent Events.

Each event: ``id:`` the alert event's id, ``event: alert``, ``data:`` the alert JSON
with its transition (``{"type": "alert.opened", "event": {...}, "alert": {...}}``, as
on MQTT and webhooks; who acknowledged and their note only for signed-in callers). A
client that reconnects with ``Last-Event-ID`` gets every event after it from the outbox
(``alert_events``); a new client starts with the next event. A comment line is sent
every ``heartbeat_s`` seconds of silence, so proxies keep the connection open.

One ``LISTEN twin_alert_events`` connection per worker wakes every open stream (it is
opened with the first stream and closed with the last); streams also look every
``POLL_S`` seconds, and hold a pooled connection only while they read.

Identity ids are not commit order: an event whose transaction commits after a higher id
was streamed would be skipped by ``id > last``. So a stream reads above a low-water mark
that trails what it sent by ``LATE_S`` seconds, and skips the ids it sent since (as the
fan-out does with its own mark).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

import psycopg
from starlette.requests import Request
from starlette.responses import StreamingResponse

from twin.notify.fanout import EVENTS_SQL, message, public_message
from twin.server.errors import InvalidParameter
from twin.server.notify.access import check_alerts_readable, sees_private
from twin.server.state import ServerState

log = logging.getLogger("twin.server.notify")
POLL_S = 2.0
LATE_S = 300.0   # an event committed this long after a higher id is still streamed
PAGE = 200
MAX_ID = 2**63 - 1


class Hub:
    """Wakes every waiting stream of this worker when an alert event is committed."""

    def __init__(self, dsn: str):
        self.dsn = dsn
        self._pulse = asyncio.Event()
        self._members = 0
        self._task: asyncio.Task | None = None

    def join(self) -> None:
        self._members += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen())

    def leave(self) -> None:
        self._members -= 1
        if self._members <= 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def wait(self, timeout: float) -> None:
        pulse = self._pulse
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(pulse.wait(), timeout)

    def _wake(self) -> None:
        pulse, self._pulse = self._pulse, asyncio.Event()
        pulse.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.dsn, autocommit=True, application_name="twin-sse") as conn:
                    await conn.execute("LISTEN twin_alert_events")
                    async for _notice in conn.notifies():
                        self._wake()
            except psycopg.Error as exc:  # the streams poll meanwhile
                log.warning("alert stream listener: %s", exc)
                await asyncio.sleep(POLL_S)


def _last_event_id(request: Request) -> int | None:
    raw = request.headers.get("last-event-id")
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        raise InvalidParameter("Last-Event-ID must be the id of an event this stream sent "
                               f"(a non-negative integer), not {raw[:40]!r}")
    return int(raw)


def _lower_mark(after: int, sent: dict[int, float]) -> int:
    """Raise the mark past the ids sent more than ``LATE_S`` ago (forgetting them)."""
    old = time.monotonic() - LATE_S
    settled = [i for i, t in sent.items() if t < old]
    if settled:
        after = max(after, *settled)
        for i in [i for i in sent if i <= after]:
            del sent[i]
    return after


def frame(event_id: int, msg: dict) -> str:
    data = json.dumps(msg, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {event_id}\nevent: alert\ndata: {data}\n\n"


def stream_route(state: ServerState, heartbeat_s: float):
    hub = Hub(state.db.dsn)

    async def fetch(after: int, sent: list[int]) -> list[tuple]:
        async with state.db.connection() as conn:
            cur = await conn.execute(EVENTS_SQL + "WHERE e.id > %s AND NOT e.id = ANY(%s) "
                                     "ORDER BY e.id LIMIT %s", (after, sent, PAGE))
            return await cur.fetchall()

    async def start() -> int:
        async with state.db.connection() as conn:
            cur = await conn.execute("SELECT coalesce(max(id), 0) FROM alert_events")
            return (await cur.fetchone())[0]

    async def events(after: int, private: bool):
        hub.join()
        sent: dict[int, float] = {}   # ids sent above the mark, and when
        try:
            yield ": twin alert stream\nretry: 3000\n\n"
            spoke = time.monotonic()
            while True:
                rows = await fetch(after, list(sent))
                for event_id, _transition, event, alert, _notify in rows:
                    msg = message(event, alert)
                    yield frame(event_id, msg if private else public_message(msg))
                    sent[event_id] = spoke = time.monotonic()
                after = _lower_mark(after, sent)
                if len(rows) == PAGE:
                    continue
                await hub.wait(min(POLL_S, heartbeat_s))
                if time.monotonic() - spoke >= heartbeat_s:
                    yield ": heartbeat\n\n"
                    spoke = time.monotonic()
        finally:
            hub.leave()

    async def stream(request: Request) -> StreamingResponse:
        check_alerts_readable(request, state)
        after = _last_event_id(request)
        if after is None:
            after = await start()
        return StreamingResponse(events(after, sees_private(request)),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    return stream
