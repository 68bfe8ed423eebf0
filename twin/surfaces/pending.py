"""Surfaces for new hours as readings arrive: a queue of due hours, worked after commit.

:func:`twin.surfaces.queue.mark` runs inside every readings ingest transaction (from
``twin.ingest.derived.refresh``): each (pollutant, UTC hour) the new readings touch is
upserted into ``surface_pending`` with a new ``version``. Interpolating and writing COGs
there would hold the ingest lock for seconds and put files on disk for a transaction
that may still roll back, so :func:`process_pending` does it afterwards: the MQTT
subscriber after each committed batch, the HTTP batch route as a background task after
its response, ``twin surfaces process-pending`` on demand.

Each hour is made in its own transaction under a try-lock on the hour (two workers never
make the same one), and its queue row is deleted only if its version is still the one
read: readings for that hour committed meanwhile leave the row for the next pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg_pool import ConnectionPool

from twin.alerts.surface import after_surfaces

from .build import RunSummary
from .region import Region, city_region
from .request import DEFAULT_RESOLUTION, SurfaceRequest
from .run import make_surfaces
from .source import city_boundary

log = logging.getLogger("twin.surfaces")

_DUE = "SELECT variable, hour, version FROM surface_pending ORDER BY hour, variable LIMIT %s"
_CLAIM = ("SELECT pg_try_advisory_xact_lock(hashtext('twin_surface:' || %s), "
          "(extract(epoch FROM %s::timestamptz) / 3600)::integer)")
_DONE = "DELETE FROM surface_pending WHERE variable = %s AND hour = %s AND version = %s"


@dataclass
class PendingSummary:
    surfaces: int = 0
    skipped: int = 0          # hours with too few stations: no surface, off the queue
    busy: int = 0             # hours another worker was making
    failed: int = 0           # hours the analysis refused (logged, off the queue)
    runs: list[RunSummary] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.surfaces} surfaces made, {self.skipped} hours with too few stations, "
                f"{self.busy} busy elsewhere, {self.failed} failed")


def process_pending(conn: psycopg.Connection, raster_dir: Path, *,
                    resolution: float = DEFAULT_RESOLUTION, limit: int = 500) -> PendingSummary:
    """Make the surfaces of up to ``limit`` queued hours, oldest first."""
    summary = PendingSummary()
    with conn.transaction():
        due = conn.execute(_DUE, (limit,)).fetchall()
    if not due:
        return summary
    with conn.transaction():
        region = city_region(city_boundary(conn), resolution)
    for variable, hour, version in due:
        _one_hour(conn, variable, hour, version, region, Path(raster_dir), summary)
    return summary


def _one_hour(conn: psycopg.Connection, variable: str, hour: datetime, version: int,
              region: Region, raster_dir: Path, summary: PendingSummary) -> None:
    request = SurfaceRequest(pollutant=variable, start=hour, end=hour,
                             resolution=region.grid.res)
    try:
        with conn.transaction():
            if not conn.execute(_CLAIM, (variable, hour)).fetchone()[0]:
                summary.busy += 1
                return
            run = make_surfaces(conn, request, raster_dir, region=region)
            conn.execute(_DONE, (variable, hour, version))
    except ValueError as exc:
        log.warning("no %s surface for %s: %s", variable, hour.isoformat(), exc)
        with conn.transaction():
            conn.execute(_DONE, (variable, hour, version))
        summary.failed += 1
        return
    after_surfaces(conn, run.variable, run.hours)   # committed: the aqi_area rules
    summary.runs.append(run)
    summary.surfaces += len(run.ids)
    summary.skipped += 0 if run.ids else 1


class Follower:
    """Works the queue after an ingest commit, at most once every ``every_s`` seconds
    (a stream commits every second; the hour's surfaces need not follow each batch).
    Errors are logged, never raised: making surfaces must not stop the ingest."""

    def __init__(self, raster_dir: Path, every_s: float = 0.0,
                 resolution: float = DEFAULT_RESOLUTION):
        self.raster_dir, self.every_s, self.resolution = Path(raster_dir), every_s, resolution
        self._due = 0.0

    def after_commit(self, connect: Callable[[], psycopg.Connection]
                     ) -> PendingSummary | None:
        """Work the queue on ``connect()`` (called only when due; its errors are logged
        too, e.g. the database gone since the commit)."""
        if time.monotonic() < self._due:
            return None
        self._due = time.monotonic() + self.every_s
        try:
            summary = process_pending(connect(), self.raster_dir, resolution=self.resolution)
        except Exception:
            log.exception("pending surfaces not made; they stay queued")
            return None
        if summary.surfaces or summary.failed:
            log.info("surfaces: %s", summary.line())
        return summary

    def from_pool(self, pool: ConnectionPool) -> PendingSummary | None:
        """:meth:`after_commit` on a connection of ``pool`` (a server's background task)."""
        try:
            with pool.connection() as conn:
                return self.after_commit(lambda: conn)
        except Exception:
            log.exception("pending surfaces not made; they stay queued")
            return None

