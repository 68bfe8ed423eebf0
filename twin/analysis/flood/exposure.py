"""What a flood grid touches: road segments, bus stops and routes, signs, stations, parcels.

Pure functions over a depth grid (rows north to south, its ``transform``) and shapely
geometries in the grid's CRS, given as pandas frames:

- roads: ``id``, ``geometry`` (LineString/MultiLineString), ``road_class``;
- points (stops, signs, stations): ``id``, ``geometry`` (Point);
- parcels: ``id``, ``geometry`` (Polygon/MultiPolygon), ``land_use``;
- route stops (optional): ``route_id``, ``stop_id``.

A road is sampled along its length: it is cut into pieces at most a quarter cell
long and a piece is flooded when the cell under its midpoint is deeper than the
threshold, so flooded lengths are exact to an eighth of a cell per wet/dry edge. A
point is flooded when its cell is. A parcel's flooded area is the area of the cells
whose centres fall inside it and are deeper than the threshold; a parcel smaller than
a cell is judged by the cell under its representative point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, Field
from rasterio.features import rasterize
from rasterio.transform import Affine, rowcol


class ExposureParams(BaseModel):
    """Depth above which each kind of asset counts as flooded."""

    road_threshold_m: float = Field(0.15, ge=0, le=5, description="impassable for motorbikes")
    point_threshold_m: float = Field(0.10, ge=0, le=5)
    parcel_threshold_m: float = Field(0.10, ge=0, le=5)


@dataclass(frozen=True)
class Exposure:
    """Per-asset tables (flooded rows only) and summaries."""

    roads: pd.DataFrame          # id, road_class, length_m, flooded_m, depth_max_m
    km_by_class: pd.Series       # flooded km per road class
    stops: pd.DataFrame          # id, depth_m
    routes: pd.DataFrame         # route_id, stops_lost
    signs: pd.DataFrame
    stations: pd.DataFrame
    parcels: pd.DataFrame        # id, land_use, area_m2, flooded_m2, depth_max_m
    parcels_by_land_use: pd.DataFrame   # land_use -> parcels, area_m2, flooded_m2

    def summary(self) -> dict:
        return {
            "road_km_flooded": float(self.km_by_class.sum()),
            "road_km_by_class": {k: float(v) for k, v in self.km_by_class.items()},
            "stops_flooded": len(self.stops), "routes_losing_stops": len(self.routes),
            "signs_flooded": len(self.signs), "stations_flooded": len(self.stations),
            "parcels_flooded": len(self.parcels),
            "parcels_by_land_use": self.parcels_by_land_use.to_dict(orient="index"),
        }


def sample(depth: np.ndarray, transform: Affine, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Depth of the cell under each point (0 off the grid or where NaN)."""
    if len(x) == 0:
        return np.zeros(0, dtype=np.float32)
    rows, cols = (np.asarray(v) for v in rowcol(transform, x, y))
    inside = (rows >= 0) & (rows < depth.shape[0]) & (cols >= 0) & (cols < depth.shape[1])
    out = np.zeros(len(x), dtype=np.float32)
    out[inside] = depth[rows[inside], cols[inside]]
    return np.nan_to_num(out)


def roads_flooded(depth, transform, roads: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Flooded length and deepest water along each road segment (all segments)."""
    step = 0.25 * min(abs(transform.a), abs(transform.e))
    dense = shapely.segmentize(np.asarray(roads["geometry"], dtype=object), step)
    coords, owner = shapely.get_coordinates(dense, return_index=True)
    parts = shapely.get_parts(dense, return_index=True)[1]
    # pieces are consecutive vertex pairs of the same part of the same road
    part_of_vertex = np.repeat(np.arange(len(parts)), shapely.get_num_coordinates(
        shapely.get_parts(dense)))
    same = part_of_vertex[1:] == part_of_vertex[:-1]
    a, b, road = coords[:-1][same], coords[1:][same], owner[:-1][same]
    mid = (a + b) / 2
    d = sample(depth, transform, mid[:, 0], mid[:, 1])
    length = np.hypot(*(b - a).T)
    n = len(roads)
    wet = d > threshold
    flooded = np.bincount(road, weights=length * wet, minlength=n)
    deepest = np.zeros(n)
    np.maximum.at(deepest, road, d)
    return pd.DataFrame({"id": roads["id"].to_numpy(), "road_class": roads["road_class"].to_numpy(),
                         "length_m": shapely.length(np.asarray(roads["geometry"], dtype=object)),
                         "flooded_m": flooded, "depth_max_m": deepest})


def points_flooded(depth, transform, points: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """The points whose cell is deeper than ``threshold``, with that depth."""
    geoms = np.asarray(points["geometry"], dtype=object)
    d = sample(depth, transform, shapely.get_x(geoms), shapely.get_y(geoms))
    wet = d > threshold
    return pd.DataFrame({"id": points["id"].to_numpy()[wet], "depth_m": d[wet]})


def parcels_flooded(depth, transform, parcels: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Flooded cell area and deepest water per parcel (flooded parcels only)."""
    geoms = np.asarray(parcels["geometry"], dtype=object)
    n = len(geoms)
    if n == 0:
        return pd.DataFrame(columns=["id", "land_use", "area_m2", "flooded_m2", "depth_max_m"])
    ids = rasterize(((g, i + 1) for i, g in enumerate(geoms)), out_shape=depth.shape,
                    transform=transform, fill=0, dtype="int32")
    d = np.nan_to_num(depth)
    cell = abs(transform.a * transform.e)
    wet_cells = np.bincount(ids.ravel(), weights=(d > threshold).ravel(), minlength=n + 1)[1:]
    deepest = np.zeros(n + 1)
    np.maximum.at(deepest, ids.ravel(), d.ravel())
    deepest = deepest[1:]
    covered = np.bincount(ids.ravel(), minlength=n + 1)[1:] > 0
    small = ~covered
    if small.any():
        rp = shapely.point_on_surface(geoms[small])
        ds = sample(depth, transform, shapely.get_x(rp), shapely.get_y(rp))
        deepest[small] = ds
        wet_cells[small] = 0
    area = shapely.area(geoms)
    flooded_m2 = np.where(small, np.where(deepest > threshold, area, 0.0), wet_cells * cell)
    hit = flooded_m2 > 0
    return pd.DataFrame({"id": parcels["id"].to_numpy()[hit],
                         "land_use": parcels["land_use"].to_numpy()[hit], "area_m2": area[hit],
                         "flooded_m2": flooded_m2[hit], "depth_max_m": deepest[hit]})


def exposure(depth: np.ndarray, transform: Affine, roads: pd.DataFrame, stops: pd.DataFrame,
             signs: pd.DataFrame, parcels: pd.DataFrame, stations: pd.DataFrame,
             route_stops: pd.DataFrame | None = None,
             params: ExposureParams | None = None) -> Exposure:
    """Everything a depth grid floods, per asset and summarised."""
    p = params or ExposureParams()
    r = roads_flooded(depth, transform, roads, p.road_threshold_m)
    r = r[r["flooded_m"] > 0].reset_index(drop=True)
    km = (r.groupby("road_class")["flooded_m"].sum() / 1000.0).rename("km")
    st = points_flooded(depth, transform, stops, p.point_threshold_m)
    routes = pd.DataFrame(columns=["route_id", "stops_lost"])
    if route_stops is not None:
        lost = route_stops[route_stops["stop_id"].isin(st["id"])]
        routes = lost.groupby("route_id")["stop_id"].nunique().rename("stops_lost").reset_index()
    pa = parcels_flooded(depth, transform, parcels, p.parcel_threshold_m)
    by_use = pa.groupby("land_use").agg(parcels=("id", "size"), area_m2=("area_m2", "sum"),
                                        flooded_m2=("flooded_m2", "sum"))
    return Exposure(r, km, st, routes, points_flooded(depth, transform, signs, p.point_threshold_m),
                    points_flooded(depth, transform, stations, p.point_threshold_m), pa, by_use)
