"""The demo city's surfaces: hourly PM2.5, PM10 and NO2 over its whole readings period.

Called by ``twin demo`` after the readings are loaded. The loads queued every hour in
``surface_pending``; this makes them all in one run per pollutant (a month of hours is
read in one query and gridded a day at a time) and takes them off the queue, so the
first new reading after the demo only makes its own hour.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import Engine

from twin.config import Settings

from .queue import clear_hours, queued_version
from .request import DEFAULT_RESOLUTION, SurfaceRequest
from .run import driver_connection, make_surfaces
from .source import POLLUTANTS

# One least-squares weighting instead of trying all three: a third of the variogram
# fits (80 % of the time of an hour) for LOOCV RMSE within 1 % on the demo's readings.
WEIGHTING = "cressie"
WORKERS = min(2, os.cpu_count() or 1)   # the reference machine's cores
_PERIOD = ("SELECT min(bucket), max(bucket) FROM reading_rollups "
           "WHERE grain = 'hour' AND property = %s")


def _period(conn: psycopg.Connection, variable: str):
    return conn.execute(_PERIOD, (variable,)).fetchone()


def build_demo_surfaces(engine: Engine, settings: Settings,
                        progress: Callable[[str], None] | None = None,
                        resolution: float = DEFAULT_RESOLUTION) -> dict:
    """Make and catalogue every hourly surface of the three pollutants; returns per
    pollutant the surfaces made, the methods chosen, the mean LOOCV RMSE and seconds."""
    say = progress or (lambda _line: None)
    out: dict = {"resolution_m": resolution, "pollutants": {}}
    started = time.perf_counter()
    with driver_connection(engine) as conn:
        for variable in POLLUTANTS:
            first, last = _period(conn, variable)
            if first is None:
                continue
            t0 = time.perf_counter()
            request = SurfaceRequest(pollutant=variable, start=first, end=last,
                                     weighting=WEIGHTING, resolution=resolution)
            version = queued_version(conn)
            run = make_surfaces(conn, request, settings.raster_dir, workers=WORKERS)
            clear_hours(conn, variable, request.start, request.end, version)
            summary = {**run.as_dict(), "seconds": round(time.perf_counter() - t0, 2)}
            summary.pop("hours")
            out["pollutants"][variable] = summary
            say(f"{variable}: {summary['surfaces']} hourly surfaces, LOOCV RMSE "
                f"{summary['loocv_rmse_mean'] or float('nan'):.1f} µg/m³ on average "
                f"[{summary['seconds']:.1f} s]")
    out["seconds"] = round(time.perf_counter() - started, 2)
    return out
