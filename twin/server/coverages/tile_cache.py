"""The map tiles of coverage collections in the tile cache (:mod:`twin.tilecache`).

A map tile (PNG) shows one step of a series: the raster its ``datetime`` picks. It is
kept under that step's *version*, made of

- the step's catalogue row: its id and ``created_at``, which every re-store of the
  same hour moves (``store_surface`` upserts with ``created_at = now()``), read per
  request by the unique ``external_id`` (one index lookup, as a vector tile's version);
- the file's identity (device, inode, size, mtime, ctime), read by one ``stat``: a
  re-store renames a new file into place *before* its row commits, and a read replica
  may still show the old row, so the file is what says which pixels a render reads;
- the colour classes the tile is drawn with (a DEM's or a generic series' classes
  follow the value range of all its steps).

Both are read before the tile is rendered, so a tile stored under a version holds
pixels at least that new; a newer file or row moves the version and the next request
misses. The version is the ETag, so a 304 costs a lookup and a ``stat``.

Each step has a namespace of its own, ``map-<collection>/<step>``: pruning keeps one
version per step (a rebuilt hour drops its old tiles) without touching the other hours
a time slider is showing, nor vector tiles (layer names have no ``-``).
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

from twin.rasters import read, render
from twin.rasters.series import Series, Step
from twin.server.coverages import maps
from twin.server.http import EPOCH
from twin.server.metrics.instruments import open_instruments
from twin.server.state import ServerState
from twin.server.tiles.cache import StoredTiles
from twin.styles.ramps import ColourClass
from twin.tilecache import TileKey, TileStore

# The catalogue row of a step: what a re-store of the same hour moves.
ROW_SQL = "SELECT id, created_at FROM rasters WHERE external_id = %(id)s"
PREFIX = "map-"
FMT = "png"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$")


def series_classes(series: Series) -> list[ColourClass]:
    """The colour classes of a series' maps and tiles."""
    return render.classes_for(series.kind, series.variable, series.unit,
                              series.value_range())


def render_grid(series: Series, step: Step, grid: maps.MapGrid, opaque: bool = False
                ) -> bytes:
    """The PNG of ``step`` on ``grid``: transparent where there is no data, or white
    when ``opaque`` (a map's transparent=false)."""
    resampling = read.Resampling.bilinear if series.kind == "dem" else \
        read.Resampling.nearest
    values = read.warp(step.path, step.external_id, grid.crs, grid.transform, grid.width,
                       grid.height, resampling)
    rgba = render.colourise(values, series_classes(series))
    if opaque:
        rgba[rgba[..., 3] == 0] = (255, 255, 255, 255)
    return render.png(rgba)


def render_tile(series: Series, step: Step, z: int, x: int, y: int) -> bytes:
    """The PNG of tile ``z/x/y`` of ``step``: what the tile route serves and ``twin
    tiles seed --collection`` stores."""
    return render_grid(series, step, maps.tile_grid(z, x, y))


def namespace(collection: str, external_id: str) -> str:
    """``map-<collection>/<step>``: the store's "layer" of one step's tiles. An id that
    is not a plain file name (``twin load`` takes any) is replaced by its hash."""
    step = external_id if _SAFE.match(external_id) else \
        "h" + hashlib.sha256(external_id.encode()).hexdigest()[:16]
    return f"{PREFIX}{collection}/{step}"


def file_stamp(path: Path) -> tuple[int, ...] | None:
    """What changes when the file is replaced or rewritten; None if it cannot be read
    (the render then answers 410)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def version(row_id: int, created_at: datetime, stamp: tuple[int, ...],
            classes: list[ColourClass]) -> str:
    """``<row id>-<created_at µs>-<hash of the file stamp and the classes>``."""
    micros = (created_at - EPOCH) // timedelta(microseconds=1)
    drawn = [(c.lower, c.upper, c.colour) for c in classes]
    digest = hashlib.blake2b(repr((stamp, drawn)).encode(), digest_size=6).hexdigest()
    return f"{row_id}-{micros}-{digest}"


def tile_key(series: Series, step: Step, row: tuple | None, tms: str, z: int, x: int,
             y: int) -> TileKey | None:
    """The key of a tile given the step's catalogue row (None: not cached)."""
    stamp = file_stamp(step.path)
    if row is None or stamp is None:
        return None
    return TileKey(namespace(series.id, step.external_id),
                   version(row[0], row[1], stamp, series_classes(series)), tms, z, x, y,
                   fmt=FMT)


class MapTileCache(StoredTiles):
    """The coverage tile route's use of the store (one per worker)."""

    def __init__(self, state: ServerState, store: TileStore | None = None):
        super().__init__(state, store)
        self.counter = open_instruments(state.settings.data_dir / "metrics").tile_cache

    async def key(self, series: Series, step: Step, tms: str, z: int, x: int,
                  y: int) -> TileKey | None:
        """The tile's key at the step's current version; None when not cached (the
        cache is off, the row is gone, the file cannot be read)."""
        if not self.store.enabled:
            return None
        row = await self.state.db.fetchrow(ROW_SQL, {"id": step.external_id})
        return tile_key(series, step, row, tms, z, x, y)

    def count(self, result: str) -> None:
        self.counter.labels(result, "map").inc()
