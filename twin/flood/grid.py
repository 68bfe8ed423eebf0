"""The DEM a flood run works on, and the permanent water drawn from the cadastre.

The DEM is the newest catalogued raster of kind ``dem`` (``twin load dem.tif --kind
dem`` puts any GeoTIFF there, as a COG in a metric CRS) or a GeoTIFF named directly.
It is read in its own CRS when that is metric (else in the UTM zone of its centre) and
coarsened to ``resolution_m`` when given, by whole blocks of cells: the demo's 10 m
DEM at 20-30 m makes an hour of the model four to nine times cheaper.

Water parcels (land uses SON rivers and MNC lakes/ponds, Circular 08/2024) are the
permanent water when the cadastre has them: never reported as flood, and sources of
the river model where they touch a gauge's channel. The demo cadastre keeps parcels
clear of water, so there the channels come from the gauges alone (see ``rivers``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS, Transformer
from rasterio.features import rasterize
from rasterio.transform import Affine
from sqlalchemy import Connection, text

from twin.analysis.flood import DemGrid, read_dem
from twin.flood.request import FloodInputError

WATER_USES = ("SON", "MNC")
_DEM_SQL = text("SELECT path FROM rasters WHERE kind = 'dem' "
                "ORDER BY created_at DESC, id DESC LIMIT 1")
_WATER_SQL = text(
    "SELECT ST_AsBinary(geom) FROM land_parcels WHERE land_use = ANY(:uses) "
    "AND geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")


def catalogued_dem(conn: Connection) -> Path:
    """Path of the newest catalogued DEM COG."""
    path = conn.execute(_DEM_SQL).scalar()
    if path is None:
        raise FloodInputError("no DEM in the raster catalogue; load one with "
                              "'twin load dem.tif --kind dem'")
    if not Path(path).exists():
        raise FloodInputError("the catalogued DEM's file is missing; load the DEM again")
    return Path(path)


def load_dem(path: Path, resolution_m: float | None) -> DemGrid:
    """The DEM at ``path`` on a metric grid, coarsened to ``resolution_m`` (None: its
    own cell size) by the cell maximum (see :func:`coarsen_max`)."""
    try:
        grid = read_dem(path)
    except ValueError as exc:
        raise FloodInputError(f"the DEM cannot be used: {exc}") from None
    if resolution_m is None:
        return grid
    return coarsen_max(grid, max(round(resolution_m / grid.resolution), 1))


def coarsen_max(grid: DemGrid, factor: int) -> DemGrid:
    """``factor`` x ``factor`` blocks to one cell holding their highest elevation
    (NaN only where the whole block is); the last partial row/column of blocks is cut.

    The maximum, not the mean or a bilinear sample: a dyke is a ridge one or two fine
    cells wide, and averaging breaches it. Bilinear resampling of the demo's 10 m DEM
    to 20 m let an 11.3 m river through its 13.6 m dykes into the whole city. The
    price is ground raised by the relief within a cell: centimetres on the city's
    gentle slopes, up to a metre on channel banks, so depths are biased low there."""
    if factor == 1:
        return grid
    ny, nx = (s // factor for s in grid.z.shape)
    if not ny or not nx:
        raise FloodInputError("the resolution asked for is coarser than the DEM itself")
    blocks = grid.z[:ny * factor, :nx * factor].reshape(ny, factor, nx, factor)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        z = np.nanmax(blocks, axis=(1, 3)).astype(np.float32)
    return DemGrid(z, grid.transform @ Affine.scale(factor), grid.crs)


def lonlat_bounds(grid: DemGrid) -> tuple[float, float, float, float]:
    """The grid's bounds in CRS84 (west, south, east, north)."""
    ny, nx = grid.z.shape
    t = grid.transform
    xs = np.array([t.c, t.c + t.a * nx, t.c, t.c + t.a * nx])
    ys = np.array([t.f, t.f, t.f + t.e * ny, t.f + t.e * ny])
    lon, lat = to_lonlat(grid.crs).transform(xs, ys)
    return float(min(lon)), float(min(lat)), float(max(lon)), float(max(lat))


def to_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, "OGC:CRS84", always_xy=True)


def from_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs("OGC:CRS84", crs, always_xy=True)


def project(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    """Shapely geometries through a pyproj transformer (x, y order)."""
    return shapely.transform(np.asarray(geoms, dtype=object),
                             lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def water_mask(conn: Connection, grid: DemGrid) -> np.ndarray:
    """Cells whose centre lies in a water parcel (SON, MNC) of the cadastre."""
    w, s, e, n = lonlat_bounds(grid)
    rows = conn.execute(_WATER_SQL, {"uses": list(WATER_USES), "w": w, "s": s, "e": e,
                                     "n": n}).all()
    mask = np.zeros(grid.z.shape, dtype=bool)
    if rows:
        geoms = project(shapely.from_wkb([bytes(r[0]) for r in rows]), from_lonlat(grid.crs))
        mask = rasterize(((g, 1) for g in geoms), out_shape=grid.z.shape,
                         transform=grid.transform, fill=0, dtype="uint8").astype(bool)
    return mask
