"""The stored series a condition reads, as :class:`Point` s: one set-based query per rule
over all its touched stations, from ``since`` on.

Hourly kinds read the UTC-hour rollups and ``station_aqi`` (kept up to date by the
ingest transaction, so they hold every reading committed); silence and stuck read the
raw readings. Only countable readings (a value, good or suspect) count.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import psycopg

from twin.alerts.machine import Point
from twin.alerts.rules import Rule
from twin.readings_props import COUNTABLE

HOUR = timedelta(hours=1)


def points(cur: psycopg.Cursor, rule: Rule, stations: list[int], since: datetime,
           gauges: dict[str, tuple[float, float, float]], now: datetime | None = None
           ) -> dict[int, list[Point]]:
    """Per station id, the points of ``rule``'s condition from ``since``, in time order."""
    c = rule.condition
    reader = {"threshold": _threshold, "aqi_class": _aqi, "river_level": _river,
              "rain": _rain, "silence": _silence, "stuck": _stuck}[c.kind]
    out: dict[int, list[Point]] = defaultdict(list)
    for p in reader(cur, rule, stations, since, gauges, now):
        out[p.subject].append(p)
    return out


def _hours(cur, prop: str, stations: list[int], since: datetime, expr: str = "mean"):
    cur.execute(f"SELECT station_id, bucket, {expr} FROM reading_rollups WHERE grain = 'hour' "
                "AND property = %s AND station_id = ANY(%s) AND bucket >= %s AND n > 0 "
                "ORDER BY station_id, bucket", (prop, stations, since))
    return cur.fetchall()


def _threshold(cur, rule, stations, since, _gauges, _now):
    c, sev = rule.condition, rule.severity
    for sid, bucket, mean in _hours(cur, c.property, stations, since):
        if c.above is not None:
            active = mean > c.above
            clear = mean < (c.clear_below if c.clear_below is not None else c.above)
        else:
            active = mean < c.below
            clear = mean > (c.clear_above if c.clear_above is not None else c.below)
        yield Point(sid, bucket, bucket + HOUR, active, clear and not active, mean, None, sev)


def _rain(cur, rule, stations, since, _gauges, _now):
    c, sev = rule.condition, rule.severity
    window = f"{c.hours - 1} hours"
    cur.execute(
        "SELECT station_id, bucket, sum(n * mean) OVER (PARTITION BY station_id ORDER BY "
        f"bucket RANGE BETWEEN interval '{window}' PRECEDING AND CURRENT ROW) FROM "
        "reading_rollups WHERE grain = 'hour' AND property = 'rain_mm' AND station_id = "
        "ANY(%s) AND bucket >= %s ORDER BY station_id, bucket",
        (stations, since - HOUR * (c.hours - 1)))
    for sid, bucket, total in cur.fetchall():
        if bucket < since:
            continue
        total = round(total or 0.0, 1)
        yield Point(sid, bucket - HOUR * (c.hours - 1), bucket + HOUR, total > c.above_mm,
                    total <= c.above_mm, total, None, sev)


def _river(cur, rule, stations, since, gauges, _now):
    c = rule.condition
    levels = c.levels_m or gauges[c.gauge]
    for sid, bucket, top in _hours(cur, "water_level_m", stations, since, "max"):
        level = sum(1 for x in levels if top >= x)
        sev = c.severities[level - 1] if level else c.severities[0]
        yield Point(sid, bucket, bucket + HOUR, level > 0, top < levels[0] - c.clear_margin_m,
                    top, level or None, sev)


def _aqi(cur, rule, stations, since, _gauges, _now):
    c = rule.condition
    cur.execute("SELECT station_id, observed_at, aqi, level FROM station_aqi WHERE scale = %s "
                "AND period = 'hour' AND station_id = ANY(%s) AND observed_at >= %s "
                "AND level IS NOT NULL ORDER BY station_id, observed_at",
                (c.scale, stations, since))
    for sid, at, aqi, level in cur.fetchall():
        sev = c.severities.get(level, rule.severity)
        yield Point(sid, at, at + HOUR, level >= c.at_least, level < c.at_least,
                    float(aqi) if aqi is not None else None, level, sev)


def _silence(cur, rule, stations, since, _gauges, now):
    """Gaps longer than ``minutes`` between a station's readings (any property): active
    from the last reading to ``minutes`` after it, clear at the next reading. With
    ``now`` (the timer): only the trailing gap of each station, up to ``live_minutes``."""
    c = rule.condition
    quiet = timedelta(minutes=c.minutes)
    if now is not None:
        cur.execute("SELECT station_id, max(observed_at) FROM station_latest WHERE station_id "
                    "= ANY(%s) GROUP BY station_id", (stations,))
        for sid, at in cur.fetchall():
            if quiet <= now - at <= timedelta(minutes=c.live_minutes):
                yield Point(sid, at, at + quiet, True, False, None, None, rule.severity)
        return
    cur.execute(
        "SELECT station_id, observed_at, lag(observed_at) OVER (PARTITION BY station_id "
        "ORDER BY observed_at) FROM (SELECT DISTINCT station_id, observed_at FROM "
        f"sensor_readings WHERE station_id = ANY(%s) AND observed_at >= %s AND {COUNTABLE}) r "
        "ORDER BY station_id, observed_at", (stations, since - quiet))
    for sid, at, before in cur.fetchall():
        if before is not None and at - before > quiet and at >= since:
            yield Point(sid, before, before + quiet, True, False, None, None, rule.severity)
            yield Point(sid, at, at, False, True, None, None, rule.severity)


def _stuck(cur, rule, stations, since, _gauges, _now):
    """Runs of ``times`` equal values: active at the run's ``times``-th reading, clear at
    the first different one."""
    c = rule.condition
    cur.execute(
        "WITH r AS (SELECT station_id, observed_at, value, CASE WHEN value = lag(value) OVER w "
        "THEN 0 ELSE 1 END AS brk FROM sensor_readings WHERE station_id = ANY(%s) AND "
        f"property = %s AND observed_at >= %s AND {COUNTABLE} "
        "WINDOW w AS (PARTITION BY station_id ORDER BY observed_at)), "
        "g AS (SELECT *, sum(brk) OVER (PARTITION BY station_id ORDER BY observed_at) AS grp "
        "FROM r), runs AS (SELECT station_id, min(observed_at) AS first, count(*) AS n, "
        "(array_agg(observed_at ORDER BY observed_at))[%s] AS nth, min(value) AS v "
        "FROM g GROUP BY station_id, grp) "
        "SELECT station_id, first, n, nth, v, lead(first) OVER (PARTITION BY station_id "
        "ORDER BY first) FROM runs ORDER BY station_id, first",
        (stations, c.property, since, c.times))
    for sid, first, n, nth, value, following in cur.fetchall():
        if n < c.times:
            continue
        yield Point(sid, first, nth, True, False, value, None, rule.severity)
        if following is not None:
            yield Point(sid, following, following, False, True, value, None, rule.severity)
