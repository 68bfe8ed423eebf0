"""Which stations a query selects: SQL over ``sensor_stations`` (65 rows in the demo,
GiST-indexed), run before the readings so that the readings statement gets plain
station ids and walks the readings primary key per station."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

COLUMNS = sql.SQL("id, code, name, kind, ST_X(geom), ST_Y(geom), properties")
TABLE = sql.Identifier("sensor_stations")


@dataclass(frozen=True)
class Station:
    id: int
    code: str
    name: str
    kind: str
    lon: float
    lat: float
    properties: tuple[str, ...]


BY_CODE = sql.SQL("code")


def _select(conn: psycopg.Connection, where: sql.Composable, params: dict,
            order: sql.Composable = BY_CODE, limit: int | None = None
            ) -> list[Station]:
    statement = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}{}").format(
        COLUMNS, TABLE, where, order,
        sql.SQL(" LIMIT {}").format(sql.Literal(limit)) if limit else sql.SQL(""))
    rows = conn.execute(statement, params).fetchall()
    return [Station(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6] or ())) for r in rows]


def nearest(conn, wkt: str, tolerance_m: float) -> list[Station]:
    """For each point of a POINT or MULTIPOINT, the nearest station within the tolerance
    (stations observe points: EDR's position query at a place between stations is
    answered by the closest one, if it is close enough)."""
    where = sql.SQL(
        "id IN (SELECT (SELECT s.id FROM {t} s "
        "WHERE ST_DWithin(s.geom::geography, p.geom::geography, %(tol)s) "
        "ORDER BY s.geom <-> p.geom LIMIT 1) "
        "FROM ST_Dump(ST_GeomFromText(%(wkt)s, 4326)) p)").format(t=TABLE)
    return _select(conn, where, {"wkt": wkt, "tol": tolerance_m})


def within_radius(conn, wkt: str, metres: float) -> list[Station]:
    where = sql.SQL("ST_DWithin(geom::geography, ST_GeomFromText(%(wkt)s, 4326)::geography, "
                    "%(m)s)")
    return _select(conn, where, {"wkt": wkt, "m": metres})


def in_area(conn, wkt: str) -> list[Station]:
    return _select(conn, sql.SQL("ST_Intersects(geom, ST_GeomFromText(%(wkt)s, 4326))"),
                   {"wkt": wkt})


def in_bbox(conn, bbox: tuple[float, float, float, float] | None) -> list[Station]:
    if bbox is None:
        return _select(conn, sql.SQL("TRUE"), {})
    return _select(conn, sql.SQL("geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, "
                                 "4326)"),
                   dict(zip(("x0", "y0", "x1", "y1"), bbox, strict=False)))


def by_code(conn, code: str) -> list[Station]:
    return _select(conn, sql.SQL("code = %(code)s"), {"code": code})
