"""The SQL that gathers a report's rows. Every function takes a psycopg connection, the
area's id and the period; values are bound, identifiers quoted with ``sql.Identifier``.

Lengths and areas are measured on the spheroid (``::geography``), and everything "in the
area" is clipped to the area's polygon first, so a road crossing the district boundary
counts with the part inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import shapely
from psycopg import Connection, sql

AREA = "WITH area AS (SELECT geom FROM admin_areas WHERE id = %(area)s) "
INSPECTION_MONTHS = 24   # a road whose last inspection is older than this is due one
NEAR_STATION_M = 3000    # air stations this close to the area are reported with it
NEAREST_STATIONS = 3     # ... or, when none is that close, the nearest few


def _rows(conn: Connection, query, params: dict[str, Any]) -> list[tuple]:
    with conn.cursor() as cur:
        return cur.execute(query, params).fetchall()


def _geom(wkb: bytes | None) -> shapely.Geometry | None:
    return shapely.from_wkb(wkb) if wkb is not None else None


# --- assets -------------------------------------------------------------------------

@dataclass
class Feature:
    """One feature for a map: CRS84 geometry, category key, a few attributes."""
    geom: shapely.Geometry
    category: str
    attrs: dict[str, Any]


def roads_in_view(conn: Connection, area: int, bbox: tuple) -> list[Feature]:
    """Road segments in the map's view, flagged ``inside`` when they touch the area
    (those are coloured by condition; the rest are context)."""
    query = AREA + """
    SELECT r.road_class, r.condition, r.name, ST_AsBinary(r.geom), ST_Intersects(r.geom, a.geom)
    FROM road_segments r, area a
    WHERE r.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"""
    x0, y0, x1, y1 = bbox
    rows = _rows(conn, query, {"area": area, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
    return [Feature(_geom(g), str(cond) if cond else "unknown",
                    {"road_class": cls, "name": name, "inside": inside})
            for cls, cond, name, g, inside in rows]


def road_km_by_class_condition(conn: Connection, area: int) -> list[tuple[str, int | None, float]]:
    """(road_class, condition, km) of the roads inside the area, clipped to it."""
    query = AREA + """
    SELECT r.road_class, r.condition,
           sum(ST_Length(ST_CollectionExtract(ST_Intersection(r.geom, a.geom), 2)::geography))
             / 1000.0
    FROM road_segments r, area a WHERE ST_Intersects(r.geom, a.geom)
    GROUP BY 1, 2"""
    return [(c, cond, float(km or 0)) for c, cond, km in _rows(conn, query, {"area": area})]


POINT_LAYERS = {   # table -> (category column, label columns)
    "bus_stops": ("shelter", ("code", "name")),
    "traffic_signs": ("category", ("sign_code", "condition")),
    "traffic_signals": ("status", ("code", "intersection")),
    "cameras": ("status", ("code", "kind")),
    "parking_sites": ("kind", ("code", "name")),
}


def points_in_area(conn: Connection, table: str, area: int) -> list[Feature]:
    """The features of a point layer inside the area, with the category column that
    colours them and the columns their popups show."""
    column, labels = POINT_LAYERS[table]
    query = sql.SQL(AREA + """
    SELECT {column}::text, ST_AsBinary(t.geom), {labels}
    FROM {table} t, area a WHERE ST_Intersects(t.geom, a.geom) ORDER BY t.id""").format(
        column=sql.Identifier("t", column), table=sql.Identifier(table),
        labels=sql.SQL(", ").join(sql.Identifier("t", c) for c in labels))
    return [Feature(_geom(g), cat or "unknown", dict(zip(labels, rest, strict=False)))
            for cat, g, *rest in _rows(conn, query, {"area": area})]


def bus_routes_in_area(conn: Connection, area: int) -> list[Feature]:
    """Bus routes crossing the area, clipped to it."""
    query = AREA + """
    SELECT b.route_number, b.name,
           ST_AsBinary(ST_CollectionExtract(ST_Intersection(b.geom, a.geom), 2))
    FROM bus_routes b, area a WHERE ST_Intersects(b.geom, a.geom) ORDER BY b.route_number"""
    return [Feature(_geom(g), "route", {"route_number": num, "name": name})
            for num, name, g in _rows(conn, query, {"area": area}) if g is not None]


def asset_counts(conn: Connection, area: int) -> dict[str, int]:
    """How many of each asset the area holds."""
    parts = [sql.SQL("(SELECT count(*) FROM {t} x, area a WHERE ST_Intersects(x.geom, a.geom))")
             .format(t=sql.Identifier(t)) for t in
             ("road_segments", "bus_stops", "bus_routes", "traffic_signs", "traffic_signals",
              "cameras", "parking_sites")]
    query = sql.SQL(AREA + "SELECT ") + sql.SQL(", ").join(parts)
    keys = ("road segments", "bus stops", "bus routes", "traffic signs", "traffic signals",
            "cameras", "parking sites")
    return dict(zip(keys, _rows(conn, query, {"area": area})[0], strict=False))


def inspection_due(conn: Connection, area: int, as_of: date) -> list[tuple]:
    """Assets needing inspection or repair, worst first: (asset, id, name, reasons,
    last inspected or installed, sort key); reasons are codes joined by ``;``
    (``condition:2``, ``never``, ``overdue``, ``state:<status>``), worded by the report.
    Roads: condition 1–2 or no inspection within INSPECTION_MONTHS of ``as_of``;
    signs: poor, damaged or missing; signals: fault or offline; cameras: offline or in
    maintenance."""
    query = AREA + """
    SELECT 'road' AS asset, r.external_id, r.name,
           concat_ws(';', CASE WHEN r.condition <= 2 THEN 'condition:' || r.condition END,
                     CASE WHEN r.last_inspected IS NULL THEN 'never'
                          WHEN r.last_inspected < %(cutoff)s THEN 'overdue' END),
           r.last_inspected, coalesce(r.condition, 0)
    FROM road_segments r, area a
    WHERE ST_Intersects(r.geom, a.geom)
      AND (r.condition <= 2 OR r.last_inspected IS NULL OR r.last_inspected < %(cutoff)s)
    UNION ALL
    SELECT 'traffic sign', s.external_id, s.sign_code, 'state:' || s.condition, s.installed_on,
           CASE s.condition WHEN 'missing' THEN 0 WHEN 'damaged' THEN 1 ELSE 2 END
    FROM traffic_signs s, area a
    WHERE ST_Intersects(s.geom, a.geom) AND s.condition IN ('poor', 'damaged', 'missing')
    UNION ALL
    SELECT 'traffic signal', g.external_id, coalesce(g.intersection, g.code),
           'state:' || g.status, g.installed_on, CASE g.status WHEN 'fault' THEN 0 ELSE 1 END
    FROM traffic_signals g, area a
    WHERE ST_Intersects(g.geom, a.geom) AND g.status IN ('fault', 'offline')
    UNION ALL
    SELECT 'camera', c.external_id, c.code, 'state:' || c.status, c.installed_on,
           CASE c.status WHEN 'offline' THEN 1 ELSE 2 END
    FROM cameras c, area a
    WHERE ST_Intersects(c.geom, a.geom) AND c.status IN ('offline', 'maintenance')
    ORDER BY 6, 5 NULLS FIRST, 2"""
    cutoff = _months_before(as_of, INSPECTION_MONTHS)
    return _rows(conn, query, {"area": area, "cutoff": cutoff})


def _months_before(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    year, month = divmod(month, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, 28))


# --- air ----------------------------------------------------------------------------

def air_stations_near(conn: Connection, area: int) -> list[tuple]:
    """(id, code, name, CRS84 point, distance m) of the air stations within
    NEAR_STATION_M of the area, or the NEAREST_STATIONS nearest when none is."""
    query = AREA + """
    SELECT s.id, s.code, s.name, ST_AsBinary(s.geom),
           ST_Distance(s.geom::geography, a.geom::geography)
    FROM sensor_stations s, area a WHERE s.kind = 'air'
    ORDER BY 5, s.code"""
    rows = [(i, c, n, _geom(g), float(d)) for i, c, n, g, d in
            _rows(conn, query, {"area": area})]
    near = [r for r in rows if r[4] <= NEAR_STATION_M]
    return near or rows[:NEAREST_STATIONS]


def daily_aqi(conn: Connection, stations: list[int], begins: datetime,
              ends: datetime, tz: str) -> list[tuple]:
    """(station id, local day of the city's zone ``tz``, VN_AQI, level 1..6) of the
    stations over the period, from station_aqi (computed at readings load)."""
    query = """
    SELECT station_id, (observed_at AT TIME ZONE %(tz)s)::date, aqi, level
    FROM station_aqi
    WHERE scale = 'vn' AND period = 'day' AND station_id = ANY(%(ids)s)
      AND observed_at >= %(begins)s AND observed_at < %(ends)s
    ORDER BY 1, 2"""
    return _rows(conn, query, {"ids": stations, "begins": begins, "ends": ends, "tz": tz})


# --- flood --------------------------------------------------------------------------

FLOOD = AREA + """, flood AS (
    SELECT f.depth_class, f.valid_time, f.scenario,
           ST_CollectionExtract(ST_Intersection(f.geom, a.geom), 3) AS geom
    FROM flood_extents f, area a
    WHERE ST_Intersects(f.geom, a.geom)
      AND f.valid_time >= %(begins)s AND f.valid_time < %(ends)s) """


def flood_extents(conn: Connection, area: int, begins: datetime,
                  ends: datetime) -> list[Feature]:
    """The flood extents valid within the period, clipped to the area."""
    query = FLOOD + """SELECT depth_class, valid_time, scenario, ST_AsBinary(geom)
    FROM flood WHERE NOT ST_IsEmpty(geom) ORDER BY valid_time"""
    rows = _rows(conn, query, {"area": area, "begins": begins, "ends": ends})
    return [Feature(_geom(g), depth, {"valid_time": t, "scenario": s})
            for depth, t, s, g in rows]


def flooded_road_km(conn: Connection, area: int, begins: datetime,
                    ends: datetime) -> list[tuple[str, float, float]]:
    """(road_class, km under any flood, km under more than 0.5 m) over the period."""
    query = FLOOD + """, wet AS (
      SELECT ST_Union(geom) AS any_depth,
             ST_Union(geom) FILTER (WHERE depth_class IN ('0.5-1', '>1')) AS deep FROM flood)
    SELECT r.road_class,
      sum(ST_Length(ST_CollectionExtract(ST_Intersection(r.geom, w.any_depth), 2)::geography)),
      sum(coalesce(ST_Length(ST_CollectionExtract(
          ST_Intersection(r.geom, w.deep), 2)::geography), 0))
    FROM road_segments r, wet w
    WHERE w.any_depth IS NOT NULL AND ST_Intersects(r.geom, w.any_depth)
    GROUP BY 1"""
    rows = _rows(conn, query, {"area": area, "begins": begins, "ends": ends})
    return [(c, float(a or 0) / 1000, float(d or 0) / 1000) for c, a, d in rows]


def flooded_km_per_hour(conn: Connection, area: int, begins: datetime,
                        ends: datetime) -> list[tuple[datetime, float]]:
    """(hour, km of road under water in that hour), from the extents valid in it."""
    query = FLOOD + """, hourly AS (
      SELECT date_trunc('hour', valid_time) AS hour, ST_Union(geom) AS g FROM flood GROUP BY 1)
    SELECT h.hour, coalesce(sum(ST_Length(
             ST_CollectionExtract(ST_Intersection(r.geom, h.g), 2)::geography)), 0) / 1000.0
    FROM hourly h LEFT JOIN road_segments r ON ST_Intersects(r.geom, h.g)
    GROUP BY 1 ORDER BY 1"""
    return [(h, float(km)) for h, km in
            _rows(conn, query, {"area": area, "begins": begins, "ends": ends})]


# Depth classes do not sort as text (">1" sorts first): the deepest is found by rank.
DEPTH_ORDER = "ARRAY['0-0.2', '0.2-0.5', '0.5-1', '>1']"


def exposed_bus_stops(conn: Connection, area: int, begins: datetime,
                      ends: datetime) -> list[tuple[str, str, str]]:
    """(code, name, deepest depth class) of the bus stops inside a flood extent."""
    query = FLOOD + f"""
    SELECT s.code, s.name,
           ({DEPTH_ORDER})[max(array_position({DEPTH_ORDER}, f.depth_class))] AS deepest
    FROM bus_stops s JOIN flood f ON ST_Intersects(s.geom, f.geom)
    GROUP BY 1, 2 ORDER BY max(array_position({DEPTH_ORDER}, f.depth_class)) DESC, 1"""
    return _rows(conn, query, {"area": area, "begins": begins, "ends": ends})


def exposed_parcels(conn: Connection, area: int, begins: datetime,
                    ends: datetime) -> list[tuple[str, int, float]]:
    """(land_use, parcels touched, hectares under water) over the period."""
    query = FLOOD + """, wet AS (SELECT ST_Union(geom) AS g FROM flood)
    SELECT p.land_use, count(*),
           sum(ST_Area(ST_CollectionExtract(ST_Intersection(p.geom, w.g), 3)::geography)) / 1e4
    FROM land_parcels p, wet w WHERE w.g IS NOT NULL AND ST_Intersects(p.geom, w.g)
    GROUP BY 1 ORDER BY 3 DESC"""
    return [(lu, int(n), float(ha or 0)) for lu, n, ha in
            _rows(conn, query, {"area": area, "begins": begins, "ends": ends})]
