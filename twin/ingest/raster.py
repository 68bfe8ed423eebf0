"""GeoTIFF in, Cloud-Optimized GeoTIFF out, catalogued in ``rasters``."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import CRSError, RasterioIOError
from rasterio.warp import calculate_default_transform, reproject, transform_bounds
from shapely.geometry import box
from sqlalchemy import Engine

from twin.ingest.errors import LoadError
from twin.rasters.cog import KINDS, write_cog
from twin.rasters.cog import statistics as cell_statistics

METRIC_DEFAULT = "EPSG:3405"  # VN-2000 / UTM zone 48N


@dataclass
class RasterSummary:
    external_id: str
    path: Path
    crs: str
    width: int
    height: int
    resolution: tuple[float, float]
    stats: dict

    def line(self) -> str:
        return (f"raster {self.external_id}: {self.width}x{self.height} COG at "
                f"{self.resolution[0]:g} m in {self.crs}, min {self.stats.get('min'):.2f} "
                f"max {self.stats.get('max'):.2f}")


def _open(path: Path):
    if not path.exists() or path.stat().st_size == 0:
        raise LoadError(f"{path}: missing or empty file")
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise LoadError(f"{path}: not a readable GeoTIFF (truncated?): "
                        f"{str(exc).splitlines()[0][:200]}") from None


def read_metric(path: Path, crs: str | None, target: str) -> tuple[np.ndarray, dict]:
    """The first band as float32 in a metric CRS, with nodata as NaN, and its profile."""
    with _open(path) as src:
        try:
            src_crs = rasterio.crs.CRS.from_user_input(crs) if crs else src.crs
        except CRSError:
            raise LoadError(f"--crs: unknown CRS {crs!r}") from None
        if src_crs is None:
            raise LoadError(f"{path}: has no CRS; give it with --crs")
        try:
            data = src.read(1, masked=True).astype("float32").filled(np.nan)
        except RasterioIOError as exc:
            raise LoadError(f"{path}: cannot read pixels (truncated?): {exc}") from None
        if src_crs.is_projected and src_crs.linear_units_factor[1] == 1.0 and \
                src_crs.to_string() == rasterio.crs.CRS.from_user_input(target).to_string():
            return data, {"crs": src_crs, "transform": src.transform}
        dst_crs = rasterio.crs.CRS.from_user_input(target)
        transform, width, height = calculate_default_transform(
            src_crs, dst_crs, src.width, src.height, *src.bounds)
        out = np.full((height, width), np.nan, dtype="float32")
        reproject(data, out, src_transform=src.transform, src_crs=src_crs,
                  dst_transform=transform, dst_crs=dst_crs, resampling=Resampling.bilinear,
                  src_nodata=np.nan, dst_nodata=np.nan)
        return out, {"crs": dst_crs, "transform": transform}


def statistics(data: np.ndarray) -> dict:
    stats = cell_statistics(data)
    if not stats["valid_fraction"]:
        raise LoadError("the raster holds no valid pixels")
    return stats


def load_raster(engine: Engine, path: Path, raster_dir: Path, *, kind: str = "dem",
                crs: str | None = None, target_crs: str = METRIC_DEFAULT,
                scenario: str | None = None, variable: str | None = None,
                valid_time: datetime | None = None,
                external_id: str | None = None) -> RasterSummary:
    """Convert a GeoTIFF to a COG in a metric CRS and catalogue it (file and row together)."""
    if kind not in KINDS:
        raise LoadError(f"unknown raster kind {kind!r}: one of {', '.join(KINDS)}")
    path = Path(path)
    data, ref = read_metric(path, crs, target_crs)
    stats = statistics(data)
    ident = external_id or f"{kind}-{uuid.uuid4().hex[:12]}"
    final = raster_dir / kind / f"{ident}.tif"
    partial = final.with_suffix(".partial.tif")
    write_cog(data, ref["crs"], ref["transform"], partial)
    transform = ref["transform"]
    h, w = data.shape
    bounds = rasterio.transform.array_bounds(h, w, transform)
    footprint = box(*transform_bounds(ref["crs"], "EPSG:4326", *bounds))
    crs_text = ref["crs"].to_string()
    try:
        with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
            cur.execute(
                "INSERT INTO rasters (external_id, kind, scenario, variable, valid_time, crs, "
                "path, width, height, res_x, res_y, nodata, stats, footprint) VALUES (%s, %s, "
                "%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, ST_GeomFromText(%s, 4326)) "
                "ON CONFLICT (external_id) DO UPDATE SET path = EXCLUDED.path, "
                "stats = EXCLUDED.stats, footprint = EXCLUDED.footprint",
                (ident, kind, scenario, variable, valid_time, crs_text, str(final), w, h,
                 transform.a, -transform.e, json.dumps(stats), footprint.wkt))
            os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return RasterSummary(ident, final, crs_text, w, h, (transform.a, -transform.e), stats)
