"""One surface run end to end: read the hourly means, grid the city, interpolate, store.

All in the caller's transaction on ``conn``: the catalogue rows of a run are stored
together or not at all (a failed run can leave COG files no row points to; the next
run of the same hours replaces them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import Engine

from twin.alerts.surface import after_surfaces

from .build import RunSummary, store
from .region import Region, city_region
from .request import SurfaceRequest
from .source import HourlyMeans, city_boundary, hourly_means


@contextmanager
def driver_connection(engine: Engine) -> Iterator[psycopg.Connection]:
    """The psycopg connection under one of ``engine``'s pooled connections (the CLI and
    the demo hold an engine; the surface code speaks psycopg, as the server does).

    In autocommit mode while lent, so that each ``conn.transaction()`` of the surface
    code is a real transaction, not a savepoint in one SQLAlchemy would roll back."""
    with engine.connect() as sa:
        raw = sa.connection.driver_connection
        raw.commit()                  # the pool's pre-ping may have opened one
        raw.autocommit = True
        try:
            yield raw
        finally:
            raw.autocommit = False


def request_region(conn: psycopg.Connection, request: SurfaceRequest) -> Region:
    return city_region(city_boundary(conn), request.resolution, request.bbox)


def request_means(conn: psycopg.Connection, request: SurfaceRequest) -> HourlyMeans:
    return hourly_means(conn, request.pollutant, request.start, request.stop)


def make_surfaces(conn: psycopg.Connection, request: SurfaceRequest, raster_dir: Path,
                  progress: Callable[[int], None] | None = None,
                  region: Region | None = None, workers: int = 1,
                  scenario: str | None = None) -> RunSummary:
    """Surfaces for every hour of ``request`` that has readings; ``progress(n)`` is
    called as hours are done. ``region`` saves re-reading the boundary across runs;
    ``workers`` > 1 computes days of hours in that many processes; ``scenario`` stores
    them as a user's own series instead of the published one."""
    with conn.transaction():
        region = region or request_region(conn, request)
        means = request_means(conn, request)
        summary = store(conn, means, region, request.params(), Path(raster_dir), progress,
                        workers, scenario)
    if scenario is None and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
        after_surfaces(conn, summary.variable, summary.hours)   # committed: the area rules
    return summary
