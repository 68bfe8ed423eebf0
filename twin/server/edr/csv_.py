"""CSV: one row per reading, ``station_code, observed_at, property, value, unit,
quality``, written by PostgreSQL's ``COPY ... TO STDOUT (FORMAT csv)`` (its quoting,
no Python per row). Every reading is kept, flagged ones too: the quality column says
what a coverage would have left out. Times are RFC 3339 in UTC. Text columns that a
spreadsheet would run as a formula get a leading quote (:mod:`twin.server.params.csvsafe`);
the value column is numeric and stays as it is."""

from __future__ import annotations

import psycopg
from psycopg import sql

from twin.server.params.csvsafe import sql_text

MEDIA = "text/csv; charset=utf-8"
HEADER = "station_code,observed_at,property,value,unit,quality"

ROWS = """
COPY (
  SELECT {code} AS station_code, to_json(r.observed_at) #>> '{{}}' AS observed_at,
         {prop} AS property, r.value, {unit} AS unit, {quality} AS quality
  FROM ({readings}) r JOIN sensor_stations s ON s.id = r.station_id
  ORDER BY s.code, r.observed_at, r.property
) TO STDOUT (FORMAT csv, HEADER)
"""


def _query(readings: sql.Composable) -> sql.Composed:
    return sql.SQL(ROWS).format(
        readings=readings, code=sql_text(sql.Identifier("s", "code")),
        prop=sql_text(sql.Identifier("r", "property")),
        unit=sql_text(sql.Identifier("r", "unit")),
        quality=sql_text(sql.SQL("r.quality::text")))


def blocks(conn: psycopg.Connection, readings: sql.Composable, params: dict):
    """The CSV body as PostgreSQL sends it, a row at a time (for streaming)."""
    with conn.cursor() as cur, cur.copy(_query(readings), params) as copy:
        yield from copy


def write(conn: psycopg.Connection, readings: sql.Composable, params: dict) -> bytes:
    """The CSV body (the header alone when nothing matches)."""
    out = bytearray()
    with conn.cursor() as cur, cur.copy(_query(readings), params) as copy:
        for block in copy:
            out += block
    return bytes(out) or (HEADER + "\n").encode()
