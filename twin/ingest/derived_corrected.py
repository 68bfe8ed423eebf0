"""The derived tables after readings were corrected (a value or quality changed, or a
reading deleted) rather than inserted.

:func:`twin.ingest.derived.refresh` only ever adds: the latest value moves forward, a
bucket gains readings. A correction can take a reading away from a bucket, or make the
latest value an older one, so here every touched bucket is deleted and recomputed from
the raw readings (hour, local day and local month: a correction is rare, the month is
recomputed at once), the latest value of each touched series is looked up again, the AQI
spans that the touched hours reach are recomputed, and the touched pollutant hours are
queued for their surfaces. Runs in the correcting transaction, under the ingest lock.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from twin.ingest import derived
from twin.ingest import derived_rollups as rollups
from twin.ingest.derived_aqi import refresh_aqi
from twin.surfaces.queue import POLLUTANTS

Point = tuple[int, str, datetime]   # (station_id, property, observed_at)
_POINTS = ("(SELECT sid AS station_id, p AS property, t AS observed_at FROM "
           "unnest(%(sid)s::bigint[], %(p)s::text[], %(t)s::timestamptz[]) u(sid, p, t))")


def refresh_corrected(cur: psycopg.Cursor, points: list[Point], *, tz: str) -> None:
    """Bring the derived tables in line with the readings at ``points``, which were just
    changed or deleted in this transaction (local days and months of the zone ``tz``)."""
    if not points:
        return
    derived.lock(cur)
    params = {"sid": [p[0] for p in points], "p": [p[1] for p in points],
              "t": [p[2] for p in points]}
    _rollups(cur, params, tz)
    _latest(cur, params)
    derived.new_series(cur)  # what refresh_aqi reads: the touched span per station
    cur.execute(sql.SQL(
        "INSERT INTO _twin_new_series SELECT station_id, property, {m}, 1, observed_at, "
        "observed_at, false, false FROM {points} x").format(
        m=sql.SQL(rollups.bucket_sql("month", tz=tz)), points=sql.SQL(_POINTS)), params)
    refresh_aqi(cur, tz)
    cur.execute(sql.SQL(
        "INSERT INTO surface_pending (variable, hour) SELECT DISTINCT property, "
        "date_trunc('hour', observed_at, 'UTC') FROM {points} x WHERE property = ANY(%(poll)s) "
        "ON CONFLICT (variable, hour) DO UPDATE SET version = EXCLUDED.version, "
        "since = now()").format(points=sql.SQL(_POINTS)), {**params, "poll": list(POLLUTANTS)})


def _rollups(cur: psycopg.Cursor, params: dict, tz: str) -> None:
    """Delete the touched hour, day and month buckets, then recompute them (a bucket left
    without a countable reading stays deleted)."""
    rollups.create_keys(cur)
    for grain in rollups.GRAINS:
        cur.execute(sql.SQL(
            "INSERT INTO _twin_rollup_keys SELECT DISTINCT %(g)s, station_id, property, b, "
            "{end} FROM (SELECT station_id, property, {bucket} AS b FROM {points} x) k").format(
            end=sql.SQL(rollups.bucket_end_sql(grain, "b", tz=tz)),
            bucket=sql.SQL(rollups.bucket_sql(grain, tz=tz)), points=sql.SQL(_POINTS)),
            {**params, "g": grain})
    cur.execute("DELETE FROM reading_rollups r USING _twin_rollup_keys k WHERE r.grain = "
                "k.grain AND r.station_id = k.station_id AND r.property = k.property "
                "AND r.bucket = k.bucket")
    for grain in rollups.GRAINS:
        rollups.upsert_buckets(cur, grain)


def _latest(cur: psycopg.Cursor, params: dict) -> None:
    """The newest countable reading of each touched series, looked up again."""
    cur.execute(sql.SQL(
        "DELETE FROM station_latest l USING {points} x WHERE l.station_id = x.station_id "
        "AND l.property = x.property").format(points=sql.SQL(_POINTS)), params)
    cur.execute(sql.SQL(
        "INSERT INTO station_latest (station_id, property, observed_at, value, unit, quality) "
        "SELECT r.station_id, r.property, r.observed_at, r.value, r.unit, r.quality FROM "
        "(SELECT DISTINCT station_id, property FROM {points} x) s CROSS JOIN LATERAL ("
        "SELECT * FROM sensor_readings r WHERE r.station_id = s.station_id AND r.property = "
        "s.property AND r.{ok} ORDER BY r.observed_at DESC LIMIT 1) r").format(
        points=sql.SQL(_POINTS), ok=sql.SQL(rollups.COUNTABLE.replace(" quality", " r.quality"))),
        params)
