"""Read any GeoTIFF DEM into a north-up grid in a metric CRS.

A DEM in geographic coordinates (or any CRS whose unit is not the metre) is warped
through a ``WarpedVRT`` to the UTM zone of its centre (or the CRS asked for), with
bilinear resampling, at a resolution in metres equal to the source's at its centre
unless one is given. Nodata (declared or NaN) becomes NaN in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from pyproj import CRS
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, transform_bounds


@dataclass(frozen=True)
class DemGrid:
    """Elevations (m, float32, NaN = nodata), rows north to south."""

    z: np.ndarray
    transform: Affine
    crs: CRS

    @property
    def cell_area(self) -> float:
        return abs(self.transform.a * self.transform.e - self.transform.b * self.transform.d)

    @property
    def resolution(self) -> float:
        return abs(self.transform.a)

    def to_dataarray(self) -> xr.DataArray:
        ny, nx = self.z.shape
        t = self.transform
        x = t.c + t.a * (np.arange(nx) + 0.5)
        y = t.f + t.e * (np.arange(ny) + 0.5)
        return xr.DataArray(self.z, dims=("y", "x"), coords={"y": y, "x": x}, name="elevation",
                            attrs={"crs": self.crs.to_string(), "transform": tuple(t)[:6],
                                   "units": "m"})


def is_metric(crs: CRS) -> bool:
    return crs.is_projected and all(a.unit_name in ("metre", "meter") for a in crs.axis_info[:2])


def utm_for(crs: CRS, bounds) -> CRS:
    """The WGS 84 UTM zone containing the centre of ``bounds`` (given in ``crs``)."""
    w, s, e, n = transform_bounds(RioCRS.from_user_input(crs.to_wkt()), "EPSG:4326", *bounds)
    lon, lat = (w + e) / 2, (s + n) / 2
    info = query_utm_crs_info("WGS 84", AreaOfInterest(lon, lat, lon, lat))
    return CRS.from_epsg(int(info[0].code))


def read_dem(path: str | Path, dst_crs: str | CRS | None = None,
             resolution: float | None = None) -> DemGrid:
    """The first band of ``path`` as a metric grid (see the module docstring)."""
    with rasterio.open(path) as src:
        src_crs = CRS.from_user_input(src.crs.to_wkt()) if src.crs else None
        if src_crs is None:
            raise ValueError(f"{Path(path).name} has no CRS")
        target = CRS.from_user_input(dst_crs) if dst_crs else (
            src_crs if is_metric(src_crs) else utm_for(src_crs, src.bounds))
        if not is_metric(target):
            raise ValueError(f"target CRS {target.to_string()} is not in metres")
        if target == src_crs and resolution is None:
            return DemGrid(_masked(src.read(1, masked=True)), src.transform, src_crs)
        transform, width, height = calculate_default_transform(
            src.crs, target.to_wkt(), src.width, src.height, *src.bounds,
            resolution=resolution)
        with WarpedVRT(src, crs=target.to_wkt(), transform=transform, width=width,
                       height=height, resampling=Resampling.bilinear,
                       src_nodata=src.nodata, nodata=np.nan, dtype="float32") as vrt:
            return DemGrid(_masked(vrt.read(1, masked=True)), vrt.transform, target)


def _masked(band: np.ma.MaskedArray) -> np.ndarray:
    z = band.astype(np.float32).filled(np.nan)
    z[~np.isfinite(z)] = np.nan
    return z
