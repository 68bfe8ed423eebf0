"""Filling the tile cache ahead of the first visitors (``twin tiles seed``).

The tiles of the chosen zooms that cover the layer's extent (or a given box) are made
by the same statement the tile route runs and stored under the layer's version, read
once before the first tile: a tile made after an edit that lands mid-seed holds newer
rows than its key says, which is harmless (requests read the new version and miss).

Map tiles of a coverage collection (``--collection``) are seeded by
:mod:`twin.server.coverages.seed` with the tile ranges and summary of this module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg

from twin.db.counts import VERSION_SQL
from twin.errors import TwinInputError
from twin.registry import Layer
from twin.server.tiles.sql import LayerTiles
from twin.server.tiles.tms import TMS_ID
from twin.tilecache import TileKey, TileStore

MAX_LAT = 85.0511287798


@dataclass
class SeedSummary:
    layer: str
    version: str
    tiles: int = 0
    stored: int = 0
    empty: int = 0
    failed: int = 0
    bytes: int = 0


def parse_zooms(text: str, name: str, rules_min: int, rules_max: int) -> range:
    """``10-14`` or ``12``, within the layer's (or collection's) tile zooms (an error
    names the bounds)."""
    lo, _, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi or lo)
    except ValueError:
        raise TwinInputError(f"--zooms: {text!r} is not a zoom or a range such as 10-14"
                             ) from None
    if first > last or first < rules_min or last > rules_max:
        raise TwinInputError(f"--zooms: {name} has tiles at zooms {rules_min}-"
                             f"{rules_max}; {text!r} is not within them")
    return range(first, last + 1)


def tile_range(bbox: tuple[float, float, float, float], z: int) -> Iterator[tuple[int, int]]:
    """(x, y) of the WebMercatorQuad tiles at ``z`` that cover a CRS84 box."""
    x0, y0, x1, y1 = bbox
    n = 2 ** z

    def col(lon: float) -> int:
        return min(n - 1, max(0, int((lon + 180.0) / 360.0 * n)))

    def row(lat: float) -> int:
        lat = max(-MAX_LAT, min(MAX_LAT, lat))
        r = math.radians(lat)
        return min(n - 1, max(0, int((1 - math.asinh(math.tan(r)) / math.pi) / 2 * n)))

    for x in range(col(x0), col(x1) + 1):
        for y in range(row(y1), row(y0) + 1):
            yield x, y


def layer_bbox(conn: psycopg.Connection, layer: Layer) -> tuple[float, float, float, float]:
    row = conn.execute(
        f'SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT '
        f'ST_Transform(ST_SetSRID(ST_Extent(geom), {int(layer.srid)}), 4326) AS e '
        f'FROM "{layer.table}") s').fetchone()
    if row is None or row[0] is None:
        raise TwinInputError(f"{layer.name} has no features: nothing to seed")
    return row


def count_tiles(bbox, zooms: range) -> int:
    return sum(1 for z in zooms for _ in tile_range(bbox, z))


def seed(conn: psycopg.Connection, tiles: LayerTiles, store: TileStore, zooms: range,
         bbox: tuple[float, float, float, float],
         progress: Callable[[int], None] = lambda _n: None) -> SeedSummary:
    """Make and store every tile of ``zooms`` over ``bbox``; returns what was done."""
    layer = tiles.layer
    row = conn.execute(VERSION_SQL, {"layer": layer.table}).fetchone()
    if row is None:
        raise TwinInputError(f"{layer.name}: the database has no version for it; run "
                             "twin db upgrade")
    summary = SeedSummary(layer.name, row[0])
    for z in zooms:
        for x, y in tile_range(bbox, z):
            statement, params = tiles.query(z, x, y)
            got = conn.execute(statement, params).fetchone()
            body = bytes(got[0]) if got and got[0] is not None else b""
            summary.tiles += 1
            summary.empty += not body
            summary.bytes += len(body)
            if store.put(TileKey(layer.name, summary.version, TMS_ID, z, x, y), body):
                summary.stored += 1
            else:
                summary.failed += 1
            progress(1)
    return summary
