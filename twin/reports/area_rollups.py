"""Readings rollups by administrative area: the stations' ``reading_rollups`` buckets
gathered per commune or ward of the map in force on each bucket's local day (the former
wards before 1 July 2025, the new communes and wards from then; :mod:`twin.admin_map`).

Per bucket and area: how many stations had a value, how many readings, the mean of the
stations' means (each station counts once, however often it reports), the lowest
minimum and the highest maximum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from psycopg import Connection

from twin.admin_map import COMMUNE_LEVELS, in_force
from twin.errors import TwinInputError

GRAINS = ("hour", "day", "month")

AREA_ROLLUPS_SQL = """
WITH r AS (
  SELECT r.bucket, (r.bucket AT TIME ZONE %(tz)s)::date AS day, r.station_id, r.n,
         r.mean, r.min, r.max, s.geom
  FROM reading_rollups r JOIN sensor_stations s ON s.id = r.station_id
  WHERE r.grain = %(grain)s AND r.property = %(property)s AND r.mean IS NOT NULL
    AND r.bucket >= %(begins)s AND r.bucket < %(ends)s AND s.geom IS NOT NULL
)
SELECT r.bucket, r.day, a.code, a.name, a.level, count(DISTINCT r.station_id),
       sum(r.n), avg(r.mean), min(r.min), max(r.max)
FROM r JOIN admin_areas a
  ON a.level = ANY(%(levels)s) AND ST_Covers(a.geom, ST_Transform(r.geom, ST_SRID(a.geom)))
 AND """ + in_force("a", "r.day") + """
GROUP BY r.bucket, r.day, a.code, a.name, a.level
ORDER BY r.bucket, a.name, a.code
"""


@dataclass(frozen=True)
class AreaRollup:
    bucket: datetime      # the bucket's start (a UTC hour, or a local day or month)
    day: date             # its local day: the map in force then
    code: str
    name: str
    level: str
    stations: int
    readings: int
    mean: float
    min: float | None
    max: float | None


def area_rollups(conn: Connection, prop: str, begins: datetime, ends: datetime,
                 grain: str = "day", tz: str = "UTC") -> list[AreaRollup]:
    """The rollups of property ``prop`` in [begins, ends) per area in force on each
    bucket's local day in the city's zone ``tz``."""
    if grain not in GRAINS:
        raise TwinInputError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    rows = conn.execute(AREA_ROLLUPS_SQL, {
        "tz": tz, "grain": grain, "property": prop, "begins": begins, "ends": ends,
        "levels": list(COMMUNE_LEVELS)}).fetchall()
    return [AreaRollup(b, d, code, name, level, int(st), int(n or 0), float(mean),
                       None if lo is None else float(lo), None if hi is None else float(hi))
            for b, d, code, name, level, st, n, mean, lo, hi in rows]
