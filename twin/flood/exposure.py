"""What a stored flood grid floods at a time: features and a summary.

The grid is the scenario's catalogued depth COG valid at the time asked (the latest
step at or before it: a depth grid holds until the next one). The analysis is
:func:`twin.analysis.flood.exposure` on that grid, in its CRS; the features carry
CRS84 geometries and the asset's layer, id and what flooded it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import rasterio
import shapely
from pydantic import BaseModel, Field, PrivateAttr
from pyproj import CRS
from rasterio.transform import Affine
from sqlalchemy import Connection, text

from twin.analysis.flood import DemGrid, ExposureParams, exposure
from twin.flood.areas import exposure_by_area
from twin.flood.assets import load_assets
from twin.flood.grid import lonlat_bounds
from twin.flood.request import NAME_PATTERN, FloodInputError, parse_time
from twin.styles import roads

_STEP = text(
    "SELECT path, valid_time FROM rasters WHERE kind = 'flood_depth' AND scenario = :s "
    "AND valid_time <= :t ORDER BY valid_time DESC LIMIT 1")
_RANGE = text("SELECT min(valid_time), max(valid_time) FROM rasters "
              "WHERE kind = 'flood_depth' AND scenario = :s")


class ExposureRequest(BaseModel):
    scenario: str = Field(..., min_length=1, max_length=100, pattern=NAME_PATTERN)
    time: datetime
    _tz: str = PrivateAttr("UTC")   # the city's zone, set by of()
    threshold_m: float | None = Field(None, ge=0, le=5, description=(
        "one depth threshold for roads, points and parcels (default: 0.15 m roads, "
        "0.10 m points and parcels)"))

    def params(self) -> ExposureParams:
        if self.threshold_m is None:
            return ExposureParams()
        t = self.threshold_m
        return ExposureParams(road_threshold_m=t, point_threshold_m=t, parcel_threshold_m=t)

    @classmethod
    def of(cls, scenario: str, when: str | datetime, threshold_m: float | None,
           tz: str = "UTC"):
        """``when`` read in the city's zone ``tz`` (a date is its local day's start)."""
        from twin.flood.request import parse

        when = parse_time(when, tz=tz) if isinstance(when, str) else when
        req = parse(cls, {"scenario": scenario, "time": when, "threshold_m": threshold_m}, tz)
        req._tz = tz
        return req

    @property
    def local_day(self) -> date:
        """The day asked, in the city's zone: it picks the administrative map."""
        return self.time.astimezone(ZoneInfo(self._tz)).date()


@dataclass(frozen=True)
class Step:
    grid: DemGrid            # depth (m, 0 where dry) as z
    valid_time: datetime
    path: Path


def depth_step(conn: Connection, scenario: str, when: datetime) -> Step:
    """The scenario's depth grid valid at ``when``."""
    row = conn.execute(_STEP, {"s": scenario, "t": when}).first()
    if row is None:
        first, last = conn.execute(_RANGE, {"s": scenario}).one()
        if first is None:
            raise FloodInputError(f"no flood scenario {scenario!r}; run it with 'twin flood "
                                  "scenario' or the flood-scenario process")
        raise FloodInputError(f"scenario {scenario!r} starts at {first.isoformat()}; "
                              f"ask for a time between it and {last.isoformat()}")
    with rasterio.open(row[0]) as src:
        depth = np.nan_to_num(src.read(1, masked=True).filled(np.nan).astype(np.float32))
        grid = DemGrid(depth, src.transform, CRS.from_user_input(src.crs.to_wkt()))
    return Step(grid, row[1], Path(row[0]))


def wet_bbox(grid: DemGrid, threshold: float) -> tuple[float, float, float, float] | None:
    """CRS84 bounds of the cells deeper than ``threshold`` (one cell of margin)."""
    rows, cols = np.nonzero(grid.z > threshold)
    if not len(rows):
        return None
    r0, r1 = max(rows.min() - 1, 0), min(rows.max() + 2, grid.z.shape[0])
    c0, c1 = max(cols.min() - 1, 0), min(cols.max() + 2, grid.z.shape[1])
    sub = grid.transform @ Affine.translation(c0, r0)
    return lonlat_bounds(DemGrid(grid.z[r0:r1, c0:c1], sub, grid.crs))


def compute(conn: Connection, req: ExposureRequest, step: Step | None = None) -> dict:
    """Features (GeoJSON FeatureCollection) and ``summary`` of what is flooded."""
    step = step or depth_step(conn, req.scenario, req.time)
    p = req.params()
    low = min(p.road_threshold_m, p.point_threshold_m, p.parcel_threshold_m)
    bbox = wet_bbox(step.grid, low)
    if bbox is None:
        bbox = (0.0, 0.0, 0.0, 0.0)   # nothing is wet: empty frames, zero summary
    a = load_assets(conn, step.grid, bbox).frames
    e = exposure(step.grid.z, step.grid.transform, a["roads"], a["stops"], a["signs"],
                 a["parcels"], a["stations"], a["route_stops"][["route_id", "stop_id"]], p)
    features = [*_features("road_segments", a["roads"], e.roads,
                           ["road_class", "length_m", "flooded_m", "depth_max_m"]),
                *_features("bus_stops", a["stops"], e.stops, ["depth_m"]),
                *_features("traffic_signs", a["signs"], e.signs, ["depth_m"]),
                *_features("sensor_stations", a["stations"], e.stations, ["depth_m"]),
                *_features("land_parcels", a["parcels"], e.parcels,
                           ["land_use", "area_m2", "flooded_m2", "depth_max_m"])]
    routes = e.routes.merge(a["route_stops"].drop_duplicates("route_id")[
        ["route_id", "route_number", "name"]], on="route_id", how="left")
    summary = {"scenario": req.scenario, "valid_time": step.valid_time.isoformat(),
               "thresholds_m": p.model_dump(), **_by_report_class(e.summary()),
               "routes": [{"route_id": int(r.route_id), "route_number": r.route_number,
                           "name": r.name, "stops_lost": int(r.stops_lost)}
                          for r in routes.itertuples()],
               "by_area": exposure_by_area(conn, features, req.local_day)}
    return {"type": "FeatureCollection", "features": features, "summary": _plain(summary)}


def _by_report_class(summary: dict) -> dict:
    """Road km by class as reports show it: OSM's link roads with their road, footways,
    paths and steps together, an unknown class as other (twin.styles.roads)."""
    return {**summary, "road_km_by_class": roads.by_report_class(summary["road_km_by_class"])}


def _features(layer: str, assets: pd.DataFrame, hit: pd.DataFrame, columns: list[str]
              ) -> list[dict]:
    """GeoJSON features of the flooded rows ``hit`` (by ``id``) of ``assets``."""
    if hit.empty:
        return []
    rows = hit.merge(assets[["id", "external_id", "label", "lonlat"]], on="id", how="left")
    return [{"type": "Feature", "id": f"{layer}.{r['id']}",
             "geometry": shapely.geometry.mapping(r["lonlat"]),
             "properties": _plain({"layer": layer, "feature_id": int(r["id"]),
                                   "external_id": r["external_id"], "label": r["label"],
                                   **{c: r[c] for c in columns}})}
            for r in rows.to_dict("records")]


def _plain(value):
    """numpy scalars to Python, floats rounded to millimetres/centimetres."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 3)
    return value
