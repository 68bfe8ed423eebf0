"""Store analysis surfaces (xarray) as COGs catalogued in ``rasters``.

The analyses (interpolation, flood) produce ``(y, x)`` or ``(time, y, x)`` DataArrays
in a metric CRS; :func:`store_surface` writes one time step as a Cloud-Optimized
GeoTIFF with :func:`twin.rasters.cog.write_cog` (the same COG profile as loaded DEMs)
and upserts its catalogue row **inside the caller's transaction**, so a run that
stores 24 hours and then fails stores none of their rows. The row's ``external_id`` is
derived from (kind, variable, scenario, valid time): storing the same hour again
replaces it, and the served coverage series follows (its refresh compares
``count(*)`` and ``max(created_at)``, which a re-store moves to now).

The file is renamed into place right after the row is written; if the caller's
transaction rolls back later, a new hour leaves an unreferenced file behind and a
re-stored hour keeps the newer pixels with the older row (same hour, same grid).
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import xarray as xr
from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform_bounds
from shapely.geometry import box
from sqlalchemy import Connection, text

from twin.errors import TwinInputError
from twin.rasters.cog import KINDS, statistics, write_cog

_SLUG = re.compile(r"[^a-z0-9]+")
_UPSERT = text(
    "INSERT INTO rasters (external_id, kind, scenario, variable, valid_time, crs, path, "
    "width, height, res_x, res_y, nodata, stats, footprint) VALUES (:external_id, :kind, "
    ":scenario, :variable, :valid_time, :crs, :path, :width, :height, :res_x, :res_y, NULL, "
    "CAST(:stats AS jsonb), ST_GeomFromText(:footprint, 4326)) "
    "ON CONFLICT (external_id) DO UPDATE SET path = EXCLUDED.path, crs = EXCLUDED.crs, "
    "width = EXCLUDED.width, height = EXCLUDED.height, res_x = EXCLUDED.res_x, "
    "res_y = EXCLUDED.res_y, stats = EXCLUDED.stats, footprint = EXCLUDED.footprint, "
    "created_at = now()")


class SurfaceError(TwinInputError):
    """The DataArray cannot be stored as it is (no CRS, irregular grid, wrong dims...)."""


def slug(value: str) -> str:
    """A lower-case ``[a-z0-9_]`` token: collection ids and file names are built from it."""
    out = _SLUG.sub("_", value.strip().lower()).strip("_")
    if not out:
        raise SurfaceError(f"{value!r} has no letters or digits to name a raster with")
    return out


def raster_id(kind: str, variable: str, scenario: str | None,
              valid_time: datetime | None) -> str:
    """``air_quality-pm25-base-20240101T0500Z``: stable per (kind, variable, scenario, hour)."""
    when = valid_time.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") if valid_time else "static"
    return f"{kind}-{slug(variable)}-{slug(scenario) if scenario else 'base'}-{when}"


def georeference(data: xr.DataArray) -> tuple[CRS, Affine]:
    """The CRS and affine transform of ``data``: from ``attrs['crs']`` and
    ``attrs['transform']`` (the analyses' convention), else from a CF ``spatial_ref``
    coordinate (``crs_wkt``, ``GeoTransform``), else the transform from regular x/y
    coordinates (cell centres)."""
    ref = data.coords.get("spatial_ref")
    ref_attrs = ref.attrs if ref is not None else {}
    crs_text = data.attrs.get("crs") or ref_attrs.get("crs_wkt") or ref_attrs.get("spatial_ref")
    if not crs_text:
        raise SurfaceError("the DataArray has no CRS (attrs['crs'] or a spatial_ref coordinate)")
    crs = CRS.from_user_input(crs_text)
    if not crs.is_projected:
        raise SurfaceError(f"surfaces are stored in a metric CRS; got {crs.to_string()}")
    if "transform" in data.attrs:
        return crs, Affine(*list(data.attrs["transform"])[:6])
    if "GeoTransform" in ref_attrs:
        return crs, Affine.from_gdal(*(float(v) for v in ref_attrs["GeoTransform"].split()))
    return crs, _transform_from_coords(data)


def _transform_from_coords(data: xr.DataArray) -> Affine:
    x, y = np.asarray(data["x"], float), np.asarray(data["y"], float)
    if x.size < 2 or y.size < 2:
        raise SurfaceError("a grid needs at least 2 cells along x and y to infer its transform")
    dx, dy = np.diff(x), np.diff(y)
    if not (np.allclose(dx, dx[0]) and np.allclose(dy, dy[0])):
        raise SurfaceError("x/y coordinates are not regularly spaced; give attrs['transform']")
    return Affine(dx[0], 0.0, x[0] - dx[0] / 2, 0.0, dy[0], y[0] - dy[0] / 2)


def _north_up(values: np.ndarray, transform: Affine) -> tuple[np.ndarray, Affine]:
    """Rows flipped if the grid runs south to north (a COG is written north up)."""
    if transform.e > 0:
        flipped = transform * Affine.translation(0, values.shape[0]) * Affine.scale(1, -1)
        return values[::-1], flipped
    return values, transform


def _attributes(data: xr.DataArray) -> dict:
    """The DataArray's scalar attributes (cross-validation RMSE, method...) for ``stats``."""
    out = {}
    for key, value in data.attrs.items():
        if key in ("crs", "transform", "grid_mapping"):
            continue
        if isinstance(value, (str, bool, int, float)) and not \
                (isinstance(value, float) and not np.isfinite(value)):
            out[key] = value
        elif isinstance(value, np.generic) and np.isfinite(value):
            out[key] = value.item()
    return out


def _as_utc(value) -> datetime | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp.tz_convert(UTC)) \
        .to_pydatetime()


def store_surface(conn: Connection, data: xr.DataArray, *, kind: str, variable: str,
                  valid_time: datetime | np.datetime64 | None, scenario: str | None = None,
                  raster_dir: Path) -> str:
    """Write ``data`` (dims ``(y, x)``, CRS and transform attached) as a COG under
    ``raster_dir/<kind>/`` and upsert its ``rasters`` row through ``conn`` (the caller's
    open transaction); returns the row's ``external_id``. NaN is nodata. A naive
    ``valid_time`` is taken as UTC."""
    if kind not in KINDS:
        raise SurfaceError(f"unknown raster kind {kind!r}: one of {', '.join(KINDS)}")
    if tuple(data.dims) != ("y", "x"):
        raise SurfaceError(f"a surface has dims ('y', 'x'); got {tuple(data.dims)}")
    crs, transform = georeference(data)
    values, transform = _north_up(np.asarray(data.values, dtype="float32"), transform)
    when = _as_utc(valid_time)
    stats = {**statistics(values), "attributes": _attributes(data)}
    ident = raster_id(kind, variable, scenario, when)
    final = Path(raster_dir) / kind / f"{ident}.tif"
    partial = final.with_suffix(".partial.tif")
    try:
        write_cog(values, crs, transform, partial)
        height, width = values.shape
        bounds = rasterio.transform.array_bounds(height, width, transform)
        footprint = box(*transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21))
        conn.execute(_UPSERT, {
            "external_id": ident, "kind": kind, "scenario": scenario, "variable": variable,
            "valid_time": when, "crs": crs.to_string(), "path": str(final), "width": width,
            "height": height, "res_x": transform.a, "res_y": -transform.e,
            "stats": json.dumps(stats), "footprint": footprint.wkt})
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return ident


def store_cube(conn: Connection, data: xr.DataArray, *, kind: str, variable: str,
               scenario: str | None = None, raster_dir: Path) -> list[str]:
    """:func:`store_surface` for each step of a ``(time, y, x)`` DataArray, in time order,
    all in the caller's transaction; returns the external ids. A dask-backed cube is
    computed one step at a time."""
    if tuple(data.dims) != ("time", "y", "x"):
        raise SurfaceError(f"a cube has dims ('time', 'y', 'x'); got {tuple(data.dims)}")
    ids = []
    for i in range(data.sizes["time"]):
        step = data.isel(time=i)
        when = step["time"].values
        step = step.drop_vars("time").assign_attrs(data.attrs)
        ids.append(store_surface(conn, step, kind=kind, variable=variable, valid_time=when,
                                 scenario=scenario, raster_dir=raster_dir))
    return ids
