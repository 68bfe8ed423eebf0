"""The coordinate frame of the demo city: extent, CRSs, transforms and seeded RNGs.

Everything is generated in metres in WGS 84 / UTM 48N and transformed once, on
output, to the CRS each file uses.
"""

from __future__ import annotations

import zlib
from datetime import date
from functools import cache

import numpy as np
import shapely
from pyproj import Transformer

WGS84 = "EPSG:4326"
UTM48N = "EPSG:32648"          # the DEM's CRS and the working frame
VN2000_TM3_482 = "EPSG:5897"   # Hanoi's cadastral CRS (land parcels)

# Former urban districts of Hanoi (lon/lat). 21.09 N keeps the Nhat Tan bridge inside.
EXTENT_LONLAT = (105.75, 20.95, 105.92, 21.09)
CENTRE_LONLAT = (105.8523, 21.0287)  # Hoan Kiem Lake

# "Today" of the synthetic city: inspections, installations and registrations end here.
REFERENCE_DATE = date(2026, 11, 1)


def stage_rng(seed: int, stage: str) -> np.random.Generator:
    """An independent, reproducible generator per stage (so scale does not leak across)."""
    return np.random.default_rng([seed, zlib.crc32(stage.encode())])


@cache
def transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def lonlat_to_utm(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    x, y = transformer(WGS84, UTM48N).transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def utm_to_lonlat(x, y) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = transformer(UTM48N, WGS84).transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def utm_points(lonlat: list[tuple[float, float]]) -> np.ndarray:
    """(n, 2) UTM coordinates of lon/lat pairs."""
    arr = np.asarray(lonlat, dtype=float)
    x, y = lonlat_to_utm(arr[:, 0], arr[:, 1])
    return np.column_stack([x, y])


def to_crs(geoms: np.ndarray, dst: str, src: str = UTM48N) -> np.ndarray:
    """Transform an array of shapely geometries; shared vertices stay bit-identical."""
    tr = transformer(src, dst)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _apply)


def extent_polygon_utm(step_deg: float = 0.002) -> shapely.Polygon:
    """The lon/lat extent as a densified polygon in UTM (its edges stay on the box)."""
    x0, y0, x1, y1 = EXTENT_LONLAT
    nx = round((x1 - x0) / step_deg)
    ny = round((y1 - y0) / step_deg)
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    ring = np.concatenate([
        np.column_stack([xs, np.full_like(xs, y0)]),
        np.column_stack([np.full_like(ys[1:], x1), ys[1:]]),
        np.column_stack([xs[::-1][1:], np.full_like(xs[1:], y1)]),
        np.column_stack([np.full_like(ys[::-1][1:], x0), ys[::-1][1:]]),
    ])
    x, y = lonlat_to_utm(ring[:, 0], ring[:, 1])
    return shapely.Polygon(np.column_stack([x, y]))


def random_dates(rng: np.random.Generator, n: int, start: date, end: date,
                 skew: float = 1.0) -> np.ndarray:
    """n dates in [start, end] as datetime64[D]; skew > 1 favours recent dates."""
    span = (end - start).days
    u = rng.random(n) ** (1.0 / skew)
    return np.datetime64(start, "D") + (u * span).astype("timedelta64[D]")
