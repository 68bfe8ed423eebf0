"""What a surface is made from, read from the database: the air stations, their hourly
means of a pollutant, and the city boundary.

The hourly means are ``reading_rollups`` hour buckets (UTC), so a surface for an hour is
made from exactly the numbers the station charts and AQI show. Reads go through a
psycopg connection: the CLI, the server's pool and the MQTT subscriber all hold one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import psycopg
from pyproj import Transformer
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as reproject

from twin.admin_map import in_force
from twin.analysis.interpolate import project
from twin.errors import TwinInputError

from .queue import POLLUTANTS

EPSG = 3405                       # VN-2000 / UTM zone 48N: the city's metric CRS

_MEANS = """
SELECT r.bucket, s.id, r.mean
FROM reading_rollups r JOIN sensor_stations s ON s.id = r.station_id
WHERE r.grain = 'hour' AND r.property = %(variable)s AND r.mean IS NOT NULL
  AND r.bucket >= %(start)s AND r.bucket < %(end)s AND s.kind = 'air'
ORDER BY r.bucket, s.id
"""
_STATIONS = """
SELECT id, external_id, ST_X(geom), ST_Y(geom) FROM sensor_stations
WHERE kind = 'air' AND geom IS NOT NULL AND %(variable)s = ANY(properties)
ORDER BY id
"""
# The areas of the map in force today below the province (one map: the former and the
# new map cover the same city, and taking one never counts a place twice).
_BOUNDARY = ("SELECT ST_AsBinary(ST_Union(a.geom)) FROM admin_areas a "
             "WHERE a.level <> 'province' AND a.geom IS NOT NULL AND "
             + in_force("a", "current_date"))


@dataclass(frozen=True)
class HourlyMeans:
    """``values[t, s]``: the mean of station ``codes[s]`` in hour ``hours[t]`` (NaN: none).

    ``xy`` are the stations in EPSG:3405 metres, projected with the same function the
    analysis tests use, so a surface can be recomputed from these arrays alone."""

    variable: str
    hours: np.ndarray          # datetime64[ns], UTC, ascending
    codes: list[str]
    xy: np.ndarray             # (station, 2)
    values: np.ndarray         # (hour, station)

    def valid_stations(self) -> np.ndarray:
        """Stations with a mean, per hour."""
        return np.isfinite(self.values).sum(axis=1)


def check_pollutant(variable: str) -> str:
    if variable not in POLLUTANTS:
        raise TwinInputError(f"pollutant must be one of {', '.join(POLLUTANTS)}, "
                             f"not {variable!r}")
    return variable


def hourly_means(conn: psycopg.Connection, variable: str, start: datetime,
                 end: datetime) -> HourlyMeans:
    """The hours in [start, end) that have at least one station mean, with every air
    station that measures ``variable`` (a station silent all along is a NaN column)."""
    check_pollutant(variable)
    stations = conn.execute(_STATIONS, {"variable": variable}).fetchall()
    column = {sid: i for i, (sid, *_rest) in enumerate(stations)}
    rows = conn.execute(_MEANS, {"variable": variable, "start": start, "end": end}).fetchall()
    hours = sorted({row[0] for row in rows})
    index = {h: t for t, h in enumerate(hours)}
    values = np.full((len(hours), len(stations)), np.nan)
    for bucket, sid, mean in rows:
        if sid in column:
            values[index[bucket], column[sid]] = mean
    lon = np.array([s[2] for s in stations], dtype=float)
    lat = np.array([s[3] for s in stations], dtype=float)
    stamps = np.array([np.datetime64(h.astimezone(UTC).replace(tzinfo=None), "ns") for h in hours],
                      dtype="datetime64[ns]")
    return HourlyMeans(variable, stamps, [s[1] for s in stations],
                       project(lon, lat, EPSG) if stations else np.empty((0, 2)), values)


def city_boundary(conn: psycopg.Connection) -> BaseGeometry:
    """The union of the administrative areas in force today (below the province), in
    EPSG:3405: cells outside it are left empty."""
    row = conn.execute(_BOUNDARY).fetchone()
    if row is None or row[0] is None:
        raise TwinInputError("no administrative areas in force in admin_areas: load the "
                             "city first")
    to_metres = Transformer.from_crs(4326, EPSG, always_xy=True).transform
    return reproject(to_metres, wkb.loads(bytes(row[0])))
