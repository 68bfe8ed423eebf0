"""Gauge levels and rainfall for the flood models, from the hourly rollups.

*Levels.* The demo's (and the national network's) water levels are water-surface
elevations in the DEM's height datum, metres: the Red River at Long Biên runs about
4 m at low water and 11 m at the October 2026 crest, between a 2-4 m bed and a
13.6 m dyke crest; the Tô Lịch rises from 0.5 m over its bed to its banks. They are
used as they are, no per-station offset (``elevation_m`` is the ground at the gauge,
not a datum shift). The hourly level is the hour's *median* (``p50``), not its mean:
the rollups count ``suspect`` readings, and a single ±0.5-2 m spike moves an hour's
mean by up to 0.17 m at 5-minute reporting. A gauge's *reference* (low-water) level,
which draws the permanent river, is the 5th percentile of its hourly medians over
its whole record.

*Rain.* A rain gauge's hourly sum is the hour's mean times the gauge's reporting rate
(its largest count per hour in the window): an hour with missing readings is filled
at that hour's mean rather than counted as dry. The city's hourly rain is the mean of
the gauges that reported that hour (0 where none did): the ponding model takes one
uniform rain per step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pyproj import CRS
from sqlalchemy import Connection, text

from twin.flood.grid import from_lonlat

_GAUGES = text(
    "SELECT s.id, s.code, ST_X(s.geom), ST_Y(s.geom), ref.level FROM sensor_stations s "
    "JOIN (SELECT station_id, percentile_cont(0.05) WITHIN GROUP (ORDER BY p50) AS level "
    "      FROM reading_rollups WHERE grain = 'hour' AND property = 'water_level_m' "
    "      AND p50 IS NOT NULL GROUP BY station_id) ref ON ref.station_id = s.id "
    "WHERE s.kind = 'water_level' ORDER BY s.code")
_LEVELS = text(
    "SELECT station_id, bucket, p50 FROM reading_rollups WHERE grain = 'hour' "
    "AND property = 'water_level_m' AND bucket >= :start AND bucket < :end "
    "AND p50 IS NOT NULL AND station_id = ANY(:ids)")
_RAIN = text(
    "WITH r AS (SELECT station_id, bucket, mean, n FROM reading_rollups "
    "           WHERE grain = 'hour' AND property = 'rain_mm' AND mean IS NOT NULL "
    "           AND bucket >= :start AND bucket < :end), "
    "rate AS (SELECT station_id, max(n) AS per_hour FROM r GROUP BY station_id) "
    "SELECT r.bucket, avg(r.mean * rate.per_hour) FROM r JOIN rate USING (station_id) "
    "GROUP BY r.bucket ORDER BY r.bucket")


@dataclass(frozen=True)
class Gauges:
    """Water-level gauges with readings, in the grid's CRS."""

    ids: np.ndarray          # sensor_stations.id
    codes: list[str]
    x: np.ndarray
    y: np.ndarray
    reference: np.ndarray    # low-water level (m)

    def __len__(self) -> int:
        return len(self.ids)


def gauges(conn: Connection, crs: CRS) -> Gauges:
    """The water-level stations that have hourly levels, projected to ``crs``."""
    rows = conn.execute(_GAUGES).all()
    lon = np.array([r[2] for r in rows], dtype=float)
    lat = np.array([r[3] for r in rows], dtype=float)
    x, y = from_lonlat(crs).transform(lon, lat) if rows else (lon, lat)
    return Gauges(np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows],
                  np.asarray(x, float), np.asarray(y, float),
                  np.array([r[4] for r in rows], dtype=float))


def hours(start: datetime, steps: int) -> pd.DatetimeIndex:
    """The hourly valid times of a run (UTC)."""
    return pd.date_range(pd.Timestamp(start).tz_convert("UTC"), periods=steps, freq="h")


def hourly_levels(conn: Connection, g: Gauges, start: datetime, steps: int) -> np.ndarray:
    """(steps, gauges) hourly median levels, NaN where a gauge has none."""
    times = hours(start, steps)
    out = np.full((steps, len(g)), np.nan)
    if not len(g):
        return out
    rows = conn.execute(_LEVELS, {"start": times[0].to_pydatetime(),
                                  "end": (times[-1] + pd.Timedelta(hours=1)).to_pydatetime(),
                                  "ids": [int(i) for i in g.ids]}).all()
    column = {int(i): k for k, i in enumerate(g.ids)}
    for station, bucket, level in rows:
        out[times.get_loc(pd.Timestamp(bucket).tz_convert("UTC")), column[station]] = level
    return out


def hourly_rain(conn: Connection, start: datetime, steps: int) -> np.ndarray:
    """City-mean rain (mm) in each hour of the run."""
    times = hours(start, steps)
    rows = conn.execute(_RAIN, {"start": times[0].to_pydatetime(),
                                "end": (times[-1] + pd.Timedelta(hours=1)).to_pydatetime()}).all()
    out = np.zeros(steps)
    for bucket, mm in rows:
        out[times.get_loc(pd.Timestamp(bucket).tz_convert("UTC"))] = float(mm)
    return out
