"""CSV: one row per reading, ``station_code, observed_at, property, value, unit,
quality``, written by PostgreSQL's ``COPY ... TO STDOUT (FORMAT csv)`` (its quoting,
no Python per row). Every reading is kept, flagged ones too: the quality column says
what a coverage would have left out. Times are RFC 3339 in UTC."""

from __future__ import annotations

import psycopg
from psycopg import sql

MEDIA = "text/csv; charset=utf-8"
HEADER = "station_code,observed_at,property,value,unit,quality"

ROWS = """
COPY (
  SELECT s.code AS station_code, to_json(r.observed_at) #>> '{{}}' AS observed_at,
         r.property, r.value, r.unit, r.quality
  FROM ({readings}) r JOIN sensor_stations s ON s.id = r.station_id
  ORDER BY s.code, r.observed_at, r.property
) TO STDOUT (FORMAT csv, HEADER)
"""


def write(conn: psycopg.Connection, readings: sql.Composable, params: dict) -> bytes:
    """The CSV body (the header alone when nothing matches)."""
    out = bytearray()
    with conn.cursor() as cur, cur.copy(sql.SQL(ROWS).format(readings=readings),
                                        params) as copy:
        for block in copy:
            out += block
    return bytes(out) or (HEADER + "\n").encode()
