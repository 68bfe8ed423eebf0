"""``POST /readings/corrections``: an owner corrects stored readings, audited.

The body is one correction ``{station, property, time, value?, quality?, delete?,
reason}``, an array of up to 1,000, or ``{"corrections": [...]}``
(:mod:`twin.ingest.corrections`). All of them are applied in one transaction, or none:

- 401 without credentials; 403 for a caller who may not edit ``sensor_stations``, or
  whose agency does not run a station named (admins correct any station);
- 404 for an unknown station or a reading that is not stored;
- 400 for a malformed correction (what is wrong, and which one), 413 over 1 MiB, 415
  for a body that is not JSON;
- 200 with ``{"corrected": n, "corrections": [{index, station, property, time, action,
  before, after}]}``. Each is a row of ``reading_corrections``; rollups, AQI, the
  latest values and the surfaces of the touched hours follow.
"""

from __future__ import annotations

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from twin.ingest.corrections import (
    Correction,
    NoSuchReading,
    NotOwner,
    Writer,
    apply_corrections,
    parse_corrections,
)
from twin.ingest.observations import Refused
from twin.server.db import translate
from twin.server.errors import Forbidden, InvalidParameter, NotFound, RequestTooLarge
from twin.server.readings.common import Surfaces, authorise, decode, read_body, scope_of
from twin.server.state import ServerState
from twin.surfaces.queue import POLLUTANTS

BODY_BYTES = 1 << 20


class Corrector:
    def __init__(self, state: ServerState, surfaces: Surfaces):
        self.state, self.surfaces = state, surfaces

    async def post(self, request: Request) -> JSONResponse:
        who = authorise(self.state, request, "correcting readings")
        raw = await read_body(request, BODY_BYTES, self._too_large)
        try:
            corrections = parse_corrections(decode(raw, "a correction or an array of them"),
                                            tz=self.state.settings.city.timezone)
        except Refused as exc:
            raise InvalidParameter(str(exc)) from None
        writer = Writer(who.subject, who.agency, who.method, scope_of(who),
                        (request.headers.get("x-request-id") or "")[:200] or None)
        done = await run_in_threadpool(self._apply, corrections, writer)
        pollutants = any(c.property in POLLUTANTS for c in corrections)
        return JSONResponse({"corrected": len(done), "corrections": done},
                            headers={"Cache-Control": "no-store"},
                            background=self.surfaces.task() if pollutants else None)

    @staticmethod
    def _too_large() -> RequestTooLarge:
        return RequestTooLarge(f"the body is larger than {BODY_BYTES // 2**20} MiB; send at "
                               "most 1,000 corrections per request")

    def _apply(self, corrections: list[Correction], writer: Writer) -> list[dict]:
        try:
            with self.state.db.sync.connection() as conn:
                return apply_corrections(conn, corrections, writer,
                                         tz=self.state.settings.city.timezone)
        except NotOwner as exc:
            raise Forbidden(str(exc)) from None
        except NoSuchReading as exc:
            raise NotFound(str(exc)) from None
        except Refused as exc:
            raise InvalidParameter(str(exc)) from None
        except psycopg.Error as exc:
            raise translate(exc) from None

