"""The target grid: cell centres, affine transform, CRS, boundary mask and the xarray result.

Rows run north to south (``y`` descending), as in a GeoTIFF, so the result
can be written as a COG without flipping. The CRS is carried the way
rioxarray and GDAL's netCDF driver read it: a scalar ``spatial_ref``
coordinate with ``crs_wkt`` and ``GeoTransform`` attributes, referenced by
each variable's ``grid_mapping``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from pyproj import CRS, Transformer
from rasterio.features import geometry_mask
from rasterio.transform import Affine
from shapely.geometry.base import BaseGeometry

MAX_CELLS = 100_000_000  # 800 MB per float64 layer: beyond this, use the dask path per tile


@dataclass(frozen=True)
class Grid:
    """A north-up grid of ``ny`` x ``nx`` square cells of size ``res``, top-left at (left, top)."""

    epsg: int
    left: float
    top: float
    res: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        if self.res <= 0 or self.nx < 1 or self.ny < 1:
            raise ValueError("grid needs a positive resolution and at least one cell")
        if self.nx * self.ny > MAX_CELLS:
            raise ValueError(f"grid of {self.nx} x {self.ny} cells exceeds {MAX_CELLS} cells")

    @classmethod
    def from_bounds(cls, bounds: Sequence[float], res: float, epsg: int) -> Grid:
        """Smallest grid of ``res`` cells covering (minx, miny, maxx, maxy), snapped to res."""
        minx, miny, maxx, maxy = (float(b) for b in bounds)
        if not (maxx > minx and maxy > miny):
            raise ValueError("bounds must be (minx, miny, maxx, maxy) with max > min")
        left, top = math.floor(minx / res) * res, math.ceil(maxy / res) * res
        nx = max(1, math.ceil((maxx - left) / res))
        ny = max(1, math.ceil((top - miny) / res))
        return cls(int(epsg), left, top, float(res), nx, ny)

    @property
    def x(self) -> np.ndarray:
        return self.left + (np.arange(self.nx) + 0.5) * self.res

    @property
    def y(self) -> np.ndarray:
        return self.top - (np.arange(self.ny) + 0.5) * self.res

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.left, 0.0, -self.res, self.top)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.left, self.top - self.ny * self.res, self.left + self.nx * self.res, self.top)

    def inside(self, boundary: BaseGeometry) -> np.ndarray:
        """True for cells whose centre lies inside ``boundary`` (given in the grid's CRS)."""
        return geometry_mask(
            [boundary], out_shape=(self.ny, self.nx), transform=self.transform, invert=True
        )


def project(lon: np.ndarray, lat: np.ndarray, epsg: int) -> np.ndarray:
    """Longitude/latitude (EPSG:4326) to (n, 2) coordinates in ``epsg``."""
    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.column_stack([x, y])


def spatial_ref(grid: Grid) -> xr.DataArray:
    """The CF/rioxarray grid-mapping coordinate for ``grid``."""
    crs = CRS.from_epsg(grid.epsg)
    t = grid.transform
    attrs = crs.to_cf()
    attrs.update(
        crs_wkt=crs.to_wkt(),
        spatial_ref=crs.to_wkt(),
        GeoTransform=" ".join(repr(float(v)) for v in (t.c, t.a, t.b, t.f, t.d, t.e)),
        epsg=grid.epsg,
    )
    return xr.DataArray(np.int64(0), attrs=attrs)


def to_dataset(
    grid: Grid,
    times: Sequence[np.datetime64] | np.ndarray,
    value: np.ndarray,
    variance: np.ndarray | None,
    attrs: dict | None = None,
) -> xr.Dataset:
    """Package (time, y, x) arrays as a Dataset with coordinates, CRS and transform.

    ``value`` keeps the caller's ``attrs`` (cross-validation metrics, method);
    ``variance`` is the kriging variance, NaN where IDW was used.
    """
    coords = {
        "time": np.asarray(times, dtype="datetime64[ns]"),
        "y": ("y", grid.y, {"units": "m", "standard_name": "projection_y_coordinate"}),
        "x": ("x", grid.x, {"units": "m", "standard_name": "projection_x_coordinate"}),
        "spatial_ref": spatial_ref(grid),
    }
    common = {"grid_mapping": "spatial_ref"}
    meta = {"crs": f"EPSG:{grid.epsg}", "transform": tuple(grid.transform)[:6], **(attrs or {})}
    data = {"value": (("time", "y", "x"), value, {**common, **meta})}
    if variance is not None:
        data["variance"] = (
            ("time", "y", "x"),
            variance,
            {**common, "long_name": "ordinary kriging variance"},
        )
    return xr.Dataset(data, coords=coords, attrs={"crs": f"EPSG:{grid.epsg}"})
