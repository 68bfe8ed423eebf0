"""The city's assets a depth grid can flood, read from the layer tables.

Only what exposure needs is selected (never a private field such as a parcel's
owner): id, external id, a label, the class column, and the geometry in CRS84 for the
response. Rows are limited to the bounding box of the cells deeper than the smallest
threshold, which keeps the 200,000 parcels of the demo city out of a run that floods
one district. Geometries are projected to the grid's CRS for the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from sqlalchemy import Connection, text

from twin.analysis.flood import DemGrid
from twin.flood.grid import from_lonlat, project

# asset -> (table, label column, class column or None)
LAYERS: dict[str, tuple[str, str, str | None]] = {
    "roads": ("road_segments", "name", "road_class"),
    "stops": ("bus_stops", "name", None),
    "signs": ("traffic_signs", "sign_code", None),
    "stations": ("sensor_stations", "name", "kind"),
    "parcels": ("land_parcels", "land_use", "land_use"),
}
_ROUTES = text(
    "SELECT DISTINCT rs.route_id, rs.stop_id, r.route_number, r.name FROM bus_route_stops rs "
    "JOIN bus_routes r ON r.id = rs.route_id WHERE rs.stop_id = ANY(:stops)")


@dataclass(frozen=True)
class Assets:
    """Frames as :func:`twin.analysis.flood.exposure` takes them, geometry in the grid's
    CRS, plus ``lonlat`` (CRS84 geometry) and ``label`` columns for the features."""

    frames: dict[str, pd.DataFrame]


def _query(table: str, label: str, cls: str | None) -> str:
    cols = [sql.Identifier(c) for c in ("id", "external_id", label)]
    extra = sql.SQL(", {} AS class").format(sql.Identifier(cls)) if cls else sql.SQL("")
    return sql.SQL(
        "SELECT {cols}{extra}, ST_AsBinary(ST_Transform(geom, 4326)) FROM {t} "
        "WHERE geom && ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), "
        "(SELECT Find_SRID('public', {lit}, 'geom')))").format(
        cols=sql.SQL(", ").join(cols), extra=extra, t=sql.Identifier(table),
        lit=sql.Literal(table)).as_string()


def _frame(conn: Connection, table: str, label: str, cls: str | None, bbox,
           grid: DemGrid) -> pd.DataFrame:
    rows = conn.execute(text(_query(table, label, cls)),
                        dict(zip("wsen", bbox, strict=False))).all()
    lonlat = shapely.from_wkb([bytes(r[-1]) for r in rows]) if rows else np.array([], object)
    frame = pd.DataFrame({"id": [r[0] for r in rows], "external_id": [r[1] for r in rows],
                          "label": [r[2] for r in rows], "lonlat": list(lonlat)})
    if cls:
        frame["class"] = [r[3] for r in rows]
    frame["geometry"] = list(project(lonlat, from_lonlat(grid.crs))) if rows else []
    return frame


def load_assets(conn: Connection, grid: DemGrid, bbox: tuple[float, float, float, float]
                ) -> Assets:
    """Every asset layer within ``bbox`` (CRS84), and the stops' route memberships."""
    frames = {k: _frame(conn, t, lab, cls, bbox, grid) for k, (t, lab, cls) in LAYERS.items()}
    frames["roads"]["road_class"] = frames["roads"]["class"]
    frames["parcels"]["land_use"] = frames["parcels"]["class"]
    stops = [int(i) for i in frames["stops"]["id"]]
    rows = conn.execute(_ROUTES, {"stops": stops}).all() if stops else []
    frames["route_stops"] = pd.DataFrame(rows, columns=["route_id", "stop_id", "route_number",
                                                        "name"])
    return Assets(frames)
