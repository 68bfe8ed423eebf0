"""Every limit on what a request may ask, in one place, each refused with a clear 4xx.

=====================  ==========  =====================================================
limit                  value       refused with
=====================  ==========  =====================================================
any request body       10 MiB      413, before a route reads it (:class:`BodyLimit`)
edit body              2 MiB       413 (``POST/PUT/PATCH /collections/{id}/items``)
features per edit      1,000       400
readings body          10 MiB      413 (``POST /readings``, ``/sta/v1.1/Observations``)
readings per request   100,000     413
new reading months     3           per reading: refused with the reason, per batch (HTTP,
                                   MQTT); see :mod:`twin.ingest.policy`
vertices per geometry  100,000     400 (edits)
page size (limit)      10,000      400 (``/collections/{id}/items``)
CQL2 filter text       20,000 ch.  400
CQL2 nesting depth     30          400
EDR output             64 MiB      413, per format (CoverageJSON, GeoJSON, CSV): the size
                                   estimated from the counted readings before the body
                                   is built; ``edr.output_bytes`` in server.yaml
EDR output as HTML     4 MiB       413 (rendered in memory by pygeoapi's template)
EDR coverage           16 MiB      413: one station's CoverageJSON series
EDR cube/area datetime 31 days     400; datetime is required on cube and area queries
statement time         30 s        400 ("narrow it"): ``TWIN_STATEMENT_TIMEOUT_MS``
reading times          10 y / 5 m  per reading: ``TWIN_READINGS_MAX_AGE_DAYS`` back,
                                   ``TWIN_READINGS_MAX_AHEAD_MINUTES`` ahead
=====================  ==========  =====================================================

The statement timeout and the readings' time window are settings (they depend on the
hardware and on how late a deployment's stations deliver); the others bound what
one request may cost and are the same on every deployment. URLs are bounded by the
HTTP server: uvicorn refuses a request line and headers beyond its buffer with a 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.ingest.policy import NEW_MONTHS_PER_BATCH
from twin.server.errors import RequestTooLarge, problem

MiB = 1024 * 1024


@dataclass(frozen=True)
class RequestLimits:
    body_bytes: int = 10 * MiB           # any body, whatever the route
    edit_body_bytes: int = 2 * MiB
    edit_features: int = 1000
    readings_body_bytes: int = 10 * MiB
    readings_per_request: int = 100_000
    readings_new_months: int = NEW_MONTHS_PER_BATCH   # new monthly partitions per batch
    vertices: int = 100_000
    page_size: int = 10_000
    default_page_size: int = 10
    filter_chars: int = 20_000
    filter_depth: int = 30
    edr_output_bytes: int = 64 * MiB      # per format; twin.server.edr.limits
    edr_html_bytes: int = 4 * MiB
    edr_coverage_bytes: int = 16 * MiB
    edr_datetime_days: int = 31            # cube and area queries
    process_concurrent_anonymous: int = 2
    process_concurrent_signed_in: int = 4
    process_rate_anonymous: int = 10        # executions a minute
    process_rate_signed_in: int = 30
    process_queue: int = 16                 # asynchronous jobs not finished, server-wide
    process_stale_s: int = 6 * 3600


LIMITS = RequestLimits()


def too_large(max_bytes: int, advice: str) -> RequestTooLarge:
    return RequestTooLarge(f"the body is larger than {_size(max_bytes)}; {advice}")


def _size(n: int) -> str:
    return f"{n // MiB} MiB" if n % MiB == 0 else f"{n // 1024} KiB"


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is refused with 413, whichever
    route would read it (pygeoapi's process execution included). A declared
    Content-Length is refused before anything is read; a chunked body is refused as
    soon as it passes the limit, so no route ever buffers more."""

    def __init__(self, app: ASGIApp, max_bytes: int = LIMITS.body_bytes):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise too_large(self.max_bytes, "split it into several requests")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = too_large(self.max_bytes, "split it into several requests")
        # Connection: close, so the client need not send the body nobody reads.
        response = problem(error.status, error.code, error.description,
                           {"Connection": "close"})
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
