"""Reads of catalogued COGs with rasterio: subsets, warped images, point samples.

All reads return float32 with NaN as nodata (the COGs twin writes use NaN; a file
with another nodata value is read masked and filled). Reading at a coarser size than
the window lets GDAL use the COG's overviews, so a city-wide map or a low-zoom tile
reads a few overview blocks instead of the full grid. A missing, truncated or
unreadable file raises :class:`RasterMissing` naming the raster, never a path.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.transform import array_bounds
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window

log = logging.getLogger("twin.rasters")
EPS = 1e-6


class RasterMissing(RuntimeError):
    """A catalogued raster's file is missing or unreadable (logged with its path)."""

    def __init__(self, external_id: str):
        super().__init__(external_id)
        self.external_id = external_id


@dataclass
class Subset:
    """A read: the values (NaN = nodata) and where they are."""
    values: np.ndarray
    transform: Affine
    crs: CRS

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return array_bounds(*self.values.shape, self.transform)


@contextmanager
def opened(path: Path, external_id: str) -> Iterator[rasterio.DatasetReader]:
    """The open dataset; any GDAL failure while it is used becomes :class:`RasterMissing`."""
    try:
        with rasterio.open(path) as src:
            yield src
    except (RasterioError, OSError) as exc:
        log.error("raster %s unreadable at %s: %s", external_id, path, exc)
        raise RasterMissing(external_id) from None


def _filled(masked: np.ma.MaskedArray) -> np.ndarray:
    return masked.astype("float32").filled(np.nan)


def pixel_window(src, bounds: tuple[float, float, float, float] | None,
                 pad: int = 0) -> Window | None:
    """The whole-pixel window of ``bounds`` (native CRS), padded and clipped to the
    grid; None when they do not overlap. Pixels are kept when the bounds cut them."""
    if bounds is None:
        return Window(0, 0, src.width, src.height)
    t = src.transform
    minx, miny, maxx, maxy = bounds
    col0 = math.floor((minx - t.c) / t.a + EPS) - pad
    col1 = math.ceil((maxx - t.c) / t.a - EPS) + pad
    row0 = math.floor((maxy - t.f) / t.e + EPS) - pad
    row1 = math.ceil((miny - t.f) / t.e - EPS) + pad
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, src.width), min(row1, src.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def native_bounds(bbox: tuple[float, float, float, float], bbox_crs: CRS | str,
                  native: CRS | str) -> tuple[float, float, float, float]:
    """``bbox`` in ``bbox_crs`` as bounds in the raster's CRS (edges densified)."""
    if CRS.from_user_input(bbox_crs) == CRS.from_user_input(native):
        return tuple(bbox)
    return transform_bounds(bbox_crs, native, *bbox, densify_pts=21)


def read_subset(path: Path, external_id: str, bounds: tuple | None,
                size: tuple[int, int] | None = None,
                resampling: Resampling = Resampling.nearest) -> Subset | None:
    """The window of ``bounds`` (native CRS; None = everything), at its own resolution or
    resampled to ``size`` = (width, height); None when the bounds miss the raster."""
    with opened(path, external_id) as src:
        window = pixel_window(src, bounds)
        if window is None:
            return None
        width, height = size or (int(window.width), int(window.height))
        values = _filled(src.read(1, window=window, out_shape=(height, width),
                                  resampling=resampling, masked=True))
        transform = src.window_transform(window) @ Affine.scale(window.width / width,
                                                                 window.height / height)
        return Subset(values, transform, src.crs)


def subset_shape(path: Path, external_id: str, bounds: tuple | None) -> tuple[int, int] | None:
    """(width, height) in pixels that :func:`read_subset` would read at full resolution."""
    with opened(path, external_id) as src:
        window = pixel_window(src, bounds)
        return None if window is None else (int(window.width), int(window.height))


def warp(path: Path, external_id: str, dst_crs: CRS | str, dst_transform: Affine,
         width: int, height: int, resampling: Resampling = Resampling.nearest) -> np.ndarray:
    """The raster on the grid (``dst_crs``, ``dst_transform``, width × height), NaN
    outside it. The source window is read decimated to about the target resolution
    first (overviews), then reprojected in memory."""
    out = np.full((height, width), np.nan, dtype="float32")
    with opened(path, external_id) as src:
        dst_bounds = array_bounds(height, width, dst_transform)
        try:
            src_bounds = transform_bounds(dst_crs, src.crs, *dst_bounds, densify_pts=21)
        except RasterioError:
            return out  # the target grid is outside where the source CRS is defined
        window = pixel_window(src, src_bounds, pad=2)
        if window is None:
            return out
        factor = max(1.0, min(window.width / width, window.height / height))
        shape = (max(1, math.ceil(window.height / factor)),
                 max(1, math.ceil(window.width / factor)))
        values = _filled(src.read(1, window=window, out_shape=shape, resampling=resampling,
                                  masked=True))
        src_transform = src.window_transform(window) @ Affine.scale(
            window.width / shape[1], window.height / shape[0])
        reproject(values, out, src_transform=src_transform, src_crs=src.crs,
                  dst_transform=dst_transform, dst_crs=dst_crs, resampling=resampling,
                  src_nodata=np.nan, dst_nodata=np.nan)
    return out


@lru_cache(maxsize=32)
def _to_native(native: str) -> Transformer:
    return Transformer.from_crs("OGC:CRS84", native, always_xy=True)


def sample(path: Path, external_id: str, crs: str, lon: float,
           lat: float) -> float | None:
    """The pixel value under (lon, lat) in CRS84; None outside the grid or on nodata."""
    x, y = _to_native(crs).transform(lon, lat)
    with opened(path, external_id) as src:
        row, col = src.index(x, y)
        if not (0 <= row < src.height and 0 <= col < src.width):
            return None
        value = src.read(1, window=Window(col, row, 1, 1), masked=True)
        return None if value.mask.any() or not np.isfinite(value[0, 0]) else float(value[0, 0])
