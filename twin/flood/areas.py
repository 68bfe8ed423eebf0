"""Flood exposure by administrative area: what a depth grid floods, counted per commune
or ward of the map in force on the day asked (the former wards before 1 July 2025, the
new communes and wards from then; :mod:`twin.admin_map`). A feature counts in the area
that holds its middle (a point's own position, a line's midpoint, a polygon's
representative point)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import shapely
from sqlalchemy import Connection, text

from twin.admin_map import COMMUNE_LEVELS, EDGES_SQL, in_force, map_at, map_label

_AREAS = text(
    "SELECT a.code, a.name, a.level, ST_AsBinary(a.geom) FROM admin_areas a "
    "WHERE a.level = ANY(:levels) AND " + in_force("a", ":day") + " ORDER BY a.code")
COUNTED = ("road_segments", "bus_stops", "traffic_signs", "sensor_stations", "land_parcels")


def _middle(geom: shapely.Geometry) -> shapely.Geometry:
    if geom.geom_type == "LineString":
        return shapely.line_interpolate_point(geom, 0.5, normalized=True)
    return geom if geom.geom_type == "Point" else geom.representative_point()


def exposure_by_area(conn: Connection, features: list[dict], day: date) -> dict:
    """``{"map": label, "areas": [...]}``: per area of the map in force on ``day`` with
    anything flooded, its flooded road km, parcels' flooded m² and counts per layer."""
    rows = conn.execute(_AREAS, {"levels": list(COMMUNE_LEVELS), "day": day}).all()
    edges = [r[0] for r in conn.execute(text(EDGES_SQL)).all()]
    label = map_label(*map_at(edges, day)) if edges else ""
    if not rows or not features:
        return {"map": label, "areas": []}
    geoms = shapely.from_wkb([bytes(r[3]) for r in rows])
    middles = np.array([_middle(shapely.geometry.shape(f["geometry"])) for f in features],
                       dtype=object)
    hit_pt, hit_area = shapely.STRtree(geoms).query(middles, predicate="intersects")
    where: dict[int, int] = {}
    for i, k in zip(hit_pt.tolist(), hit_area.tolist(), strict=True):
        where.setdefault(i, k)  # on a shared edge: the first area
    totals: dict[int, dict] = defaultdict(lambda: defaultdict(float))
    for i, f in enumerate(features):
        if i not in where:
            continue
        props, t = f["properties"], totals[where[i]]
        t[props["layer"]] += 1
        if props["layer"] == "road_segments":
            t["road_km"] += (props.get("flooded_m") or 0) / 1000
        elif props["layer"] == "land_parcels":
            t["parcel_m2"] += props.get("flooded_m2") or 0
    areas = [{"code": rows[k][0], "name": rows[k][1], "level": rows[k][2],
              "road_km_flooded": round(t["road_km"], 3),
              "parcel_m2_flooded": round(t["parcel_m2"], 1),
              **{layer: int(t[layer]) for layer in COUNTED}}
             for k, t in totals.items()]
    areas.sort(key=lambda a: (-a["road_km_flooded"], -a["land_parcels"], a["name"]))
    return {"map": label, "areas": areas}
