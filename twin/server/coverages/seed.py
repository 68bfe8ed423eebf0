"""Filling the tile cache with the map tiles of a coverage collection (``twin tiles seed
--collection``).

The tiles are rendered by the function the map tile route calls and stored under the
key it computes (:mod:`twin.server.coverages.tile_cache`): the step's catalogue row and
file are read once before the first tile, so a tile rendered after a re-store that lands
mid-seed holds newer pixels than its key says, which is harmless (requests see the new
version and miss). Tiles outside the coverage are not stored: the route answers them
with a constant empty tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import psycopg

from twin.errors import TwinInputError
from twin.rasters.read import RasterMissing
from twin.rasters.series import SERIES_SQL, Series, Step, group
from twin.server.coverages import maps
from twin.server.coverages import tile_cache as map_tiles
from twin.server.errors import APIError
from twin.server.params.values import parse_datetime
from twin.server.tiles.seed import SeedSummary, tile_range
from twin.server.tiles.tms import TMS_ID
from twin.tilecache import TileStore


def coverage_series(conn: psycopg.Connection, reserved: set[str]) -> dict[str, Series]:
    """The coverage collections as the server names them (``reserved``: the layers)."""
    return group(conn.execute(SERIES_SQL).fetchall(), reserved)


def pick_step(series: Series, text: str | None) -> Step:
    """The step ``--datetime`` picks as the map tile route does: the nearest, refused
    when further from the time extent than one step; none given: the latest."""
    if text is None or not series.timed:
        return series.latest
    try:
        when = parse_datetime(text)
    except APIError as exc:
        raise TwinInputError(f"--{exc.description}") from None
    if not when.instant:
        raise TwinInputError("--datetime: give an instant (the nearest step is seeded)")
    try:
        return series.shown_at(when.start)
    except ValueError as exc:
        raise TwinInputError(f"--datetime: {series.id}: {exc}") from None


def seed_maps(conn: psycopg.Connection, series: Series, step: Step, store: TileStore,
              zooms: range, bbox: tuple[float, float, float, float],
              progress: Callable[[int], None] = lambda _n: None) -> SeedSummary:
    """Render and store the map tiles of ``step`` at ``zooms`` over ``bbox``."""
    row = conn.execute(map_tiles.ROW_SQL, {"id": step.external_id}).fetchone()
    first = map_tiles.tile_key(series, step, row, TMS_ID, 0, 0, 0)
    if first is None:
        raise TwinInputError(f"{series.id}: raster {step.external_id} is no longer "
                             "catalogued or its file cannot be read")
    summary = SeedSummary(series.id, f"{first.layer}/{first.version}")
    for z in zooms:
        for x, y in tile_range(bbox, z):
            summary.tiles += 1
            progress(1)
            if not maps.overlaps(maps.tile_lonlat(z, x, y), series.bbox):
                summary.empty += 1   # the route's constant empty tile
                continue
            try:
                body = map_tiles.render_tile(series, step, z, x, y)
            except RasterMissing:
                raise TwinInputError(f"{series.id}: the file of raster "
                                     f"{step.external_id} cannot be read") from None
            summary.bytes += len(body)
            if store.put(replace(first, z=z, x=x, y=y), body):
                summary.stored += 1
            else:
                summary.failed += 1
    return summary
