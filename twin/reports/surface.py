"""The air report's surface part: the period's mean interpolated PM2.5 surface over the
area, classed at the VN_AQI breakpoints of PM2.5, and the hours each ward spent in each
class, counted from the stored hourly surfaces (:mod:`twin.surfaces`, catalogued in
``rasters`` as the ``pm25_surface`` coverage).

Every hourly surface of the period is read onto one grid (the first hour's grid over the
area, at its own resolution; the published series shares one grid). The mean surface is
the per-cell mean of the hours that have a value there. For a ward and an hour, the
statistic is the mean PM2.5 of the ward's cells (cells whose centre lies in the ward; a
ward smaller than a cell takes the cells it touches); its VN_AQI class is the class of
that mean. An hour with no surface, or none over the ward, counts as "no surface", so
each ward's row adds up to the hours of the period.

Wards are the commune-level areas of the administrative map in force on the period's
last day (the map the report says it uses) whose interior point lies in the area.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import shapely
from psycopg import Connection
from pyproj import Transformer
from rasterio import features

from twin.admin_map import COMMUNE_LEVELS, in_force
from twin.rasters.read import RasterMissing, native_bounds, opened, pixel_window, warp
from twin.styles.ramps import pm25_classes

VARIABLE = "pm25"
STEPS_SQL = """
SELECT DISTINCT ON (valid_time) valid_time, path, external_id
FROM rasters
WHERE kind = 'air_quality' AND variable = %(variable)s AND scenario IS NULL
  AND valid_time >= %(begins)s AND valid_time < %(ends)s
ORDER BY valid_time, created_at DESC, id DESC"""
WARDS_SQL = """
WITH area AS (SELECT geom FROM admin_areas WHERE id = %(area)s)
SELECT w.code, w.name, ST_AsBinary(ST_CollectionExtract(ST_Intersection(w.geom, a.geom), 3))
FROM admin_areas w, area a
WHERE w.level = ANY(%(levels)s) AND """ + in_force("w", "%(day)s") + """
  AND ST_Intersects(w.geom, a.geom) AND ST_Covers(a.geom, ST_PointOnSurface(w.geom))
ORDER BY w.name, w.code"""


@dataclass(frozen=True)
class Step:
    valid_time: datetime
    path: Path
    external_id: str


@dataclass
class WardHours:
    code: str
    name: str
    classes: Counter = field(default_factory=Counter)   # VN_AQI level 1..6 -> hours

    def missing(self, hours: int) -> int:
        return hours - sum(self.classes.values())


@dataclass
class SurfaceSummary:
    hours: int                      # hours of the period
    surface_hours: int              # of which have a readable surface
    classes: np.ndarray             # VN_AQI level (1..6) of the mean per cell, 0 = none
    transform: object               # affine of ``classes`` in ``crs``
    crs: object
    wards: list[WardHours]


def steps(conn: Connection, begins: datetime, ends: datetime) -> list[Step]:
    """The published hourly PM2.5 surfaces valid in [begins, ends), one per hour."""
    rows = conn.execute(STEPS_SQL, {"variable": VARIABLE, "begins": begins,
                                    "ends": ends}).fetchall()
    return [Step(t, Path(p), i) for t, p, i in rows]


def wards(conn: Connection, area_id: int, day) -> list[tuple[str, str, shapely.Geometry]]:
    """(code, name, CRS84 geometry clipped to the area) of the area's wards on ``day``."""
    rows = conn.execute(WARDS_SQL, {"area": area_id, "levels": list(COMMUNE_LEVELS),
                                    "day": day}).fetchall()
    return [(c, n, shapely.from_wkb(g)) for c, n, g in rows if g is not None]


def level_of(value: float) -> int:
    """The VN_AQI level (1..6) of a PM2.5 concentration, 0 for none."""
    if not np.isfinite(value):
        return 0
    for i, cls in enumerate(pm25_classes(), start=1):
        if cls.lower <= value < cls.upper:
            return i
    return 0


def _grid(first: Step, area: shapely.Geometry):
    """(crs, transform, width, height) of the first step's cells over the area."""
    with opened(first.path, first.external_id) as src:
        window = pixel_window(src, native_bounds(area.bounds, "OGC:CRS84", src.crs), pad=1)
        if window is None:
            return None
        return (src.crs, src.window_transform(window), int(window.width),
                int(window.height))


def _masks(geoms: list[shapely.Geometry], crs, transform, shape,
           all_touched: bool = False) -> list[np.ndarray]:
    """Per geometry (CRS84) the cells whose centre lies in it, or (for one smaller than
    a cell, or with ``all_touched``) those it touches."""
    to_native = Transformer.from_crs("OGC:CRS84", crs, always_xy=True)
    out = []
    for geom in geoms:
        native = shapely.transform(geom, lambda xy: np.column_stack(
            to_native.transform(xy[:, 0], xy[:, 1])))
        mask = np.zeros(shape, dtype=bool)
        if not native.is_empty:
            for touched in ((True,) if all_touched else (False, True)):
                mask = features.geometry_mask([native], shape, transform, invert=True,
                                              all_touched=touched)
                if mask.any():
                    break
        out.append(mask)
    return out


def summarise(found: list[Step], area: shapely.Geometry,
              ward_rows: list[tuple[str, str, shapely.Geometry]],
              hours: int) -> SurfaceSummary | None:
    """The period's mean surface and hours per class per ward; None without a surface
    (or when no surface covers the area)."""
    grid = _grid(found[0], area) if found else None
    if grid is None:
        return None
    crs, transform, width, height = grid
    shape = (height, width)
    ward_masks = _masks([g for _, _, g in ward_rows], crs, transform, shape)
    area_mask = _masks([area], crs, transform, shape, all_touched=True)[0]  # clipped later
    total, count = np.zeros(shape), np.zeros(shape, dtype=np.int64)
    result = [WardHours(code, name) for code, name, _ in ward_rows]
    readable = 0
    for step in found:
        try:
            values = warp(step.path, step.external_id, crs, transform, width, height)
        except RasterMissing:
            continue                      # counted as an hour without a surface
        readable += 1
        ok = np.isfinite(values)
        total[ok] += values[ok]
        count[ok] += 1
        for ward, mask in zip(result, ward_masks, strict=True):
            cells = values[mask & ok]
            if cells.size:
                ward.classes[level_of(float(cells.mean()))] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    levels = np.vectorize(level_of, otypes=[np.int32])(mean) if mean.size else mean
    levels = np.where(area_mask, levels, 0).astype(np.int32)
    return SurfaceSummary(hours, readable, levels, transform, crs, result)


def class_polygons(summary: SurfaceSummary,
                   area: shapely.Geometry) -> list[tuple[int, shapely.Geometry]]:
    """(VN_AQI level, CRS84 polygon clipped to the area) of the mean surface's classes."""
    to_crs84 = Transformer.from_crs(summary.crs, "OGC:CRS84", always_xy=True)
    parts: dict[int, list] = {}
    for geom, value in features.shapes(summary.classes, mask=summary.classes > 0,
                                       transform=summary.transform):
        parts.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    out = []
    for level in sorted(parts):
        native = shapely.union_all(parts[level])
        crs84 = shapely.transform(native, lambda xy: np.column_stack(
            to_crs84.transform(xy[:, 0], xy[:, 1])))
        clipped = shapely.intersection(crs84, area)
        polygons = [g for g in shapely.get_parts(clipped)
                    if g.geom_type in ("Polygon", "MultiPolygon")]
        clipped = shapely.union_all(polygons) if polygons else shapely.Polygon()
        if not clipped.is_empty:
            out.append((level, clipped))
    return out
