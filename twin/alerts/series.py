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
           now: datetime | None = None) -> dict[int, list[Point]]:
    """Per station id, the points of ``rule``'s condition from ``since``, in time order
    (one query; :class:`Shared` shares it between rules reading the same series)."""
    key = shared_key(rule)
    if key is not None:
        rows = FETCH[key[0]](cur, key, stations, since)
        return _group(BUILD[rule.condition.kind](rule, rows))
    return _group(_silence(cur, rule, stations, since, now))


def _group(found) -> dict[int, list[Point]]:
    out: dict[int, list[Point]] = defaultdict(list)
    for p in found:
        out[p.subject].append(p)
    return out


def shared_key(rule: Rule) -> tuple | None:
    """The series a rule reads, when other rules may read it too (None: its own query)."""
    c = rule.condition
    return {"threshold": lambda: ("hour", c.property, "mean"),
            "river_level": lambda: ("hour", "water_level_m", "max"),
            "rain": lambda: ("rain", c.hours), "aqi_class": lambda: ("aqi", c.scale),
            "stuck": lambda: ("stuck", c.property),
            }.get(c.kind, lambda: None)()


class Shared:
    """One query per series for all the rules of an evaluation: declare what each rule
    needs (:meth:`want`), then ask for its rows (:meth:`rows`); the series is read once,
    for the union of the stations, from the earliest time any rule needs."""

    def __init__(self, cur: psycopg.Cursor, now: datetime | None):
        self.cur, self.now = cur, now
        self._wanted: dict[tuple, tuple[datetime, set[int]]] = {}
        self._rows: dict[tuple, dict[int, list]] = {}

    def want(self, rule: Rule, stations: list[int], since: datetime) -> None:
        key = shared_key(rule)
        if key is not None:
            lo, ids = self._wanted.get(key, (since, set()))
            self._wanted[key] = (min(lo, since), ids | set(stations))

    def rows(self, rule: Rule, stations: list[int]) -> dict[int, list] | None:
        """The rule's series per station, raw (None: the rule reads a series of its own,
        through :func:`points`)."""
        key = shared_key(rule)
        if key is None or key not in self._wanted:
            return None
        if key not in self._rows:
            lo, ids = self._wanted[key]
            by_station: dict[int, list] = defaultdict(list)
            for row in FETCH[key[0]](self.cur, key, sorted(ids), lo):
                by_station[row[0]].append(row)
            self._rows[key] = by_station
        return self._rows[key]


def build(rule: Rule, rows: list) -> list[Point]:
    """The points of a shared series' raw rows for one rule."""
    return list(BUILD[rule.condition.kind](rule, rows))


def hot(rule: Rule, rows: list) -> bool:
    """Whether any raw row holds the condition (a station with none and no live alert
    needs no evaluation: the common case, checked without building points)."""
    c = rule.condition
    if c.kind == "threshold":
        return any(r[2] > c.above for r in rows) if c.above is not None else \
            any(r[2] < c.below for r in rows)
    if c.kind == "rain":
        return any(round(r[2] or 0.0, 1) > c.above_mm for r in rows)
    if c.kind == "river_level":
        return any(r[2] >= c.levels_m[0] for r in rows)
    if c.kind == "stuck":
        return any(r[2] >= c.times for r in rows)
    return any(r[3] >= c.at_least for r in rows)


def _hours(cur, key: tuple, stations: list[int], since: datetime):
    _, prop, expr = key
    cur.execute(f"SELECT station_id, bucket, {expr} FROM reading_rollups WHERE grain = 'hour' "
                "AND property = %s AND station_id = ANY(%s) AND bucket >= %s AND n > 0 "
                "ORDER BY station_id, bucket", (prop, stations, since))
    return cur.fetchall()


def _rain_sums(cur, key: tuple, stations: list[int], since: datetime):
    """(station, bucket, rain in the ``hours`` ending with the bucket's hour)."""
    hours = key[1]
    cur.execute(
        "SELECT station_id, bucket, sum(n * mean) OVER (PARTITION BY station_id ORDER BY "
        f"bucket RANGE BETWEEN interval '{hours - 1} hours' PRECEDING AND CURRENT ROW) FROM "
        "reading_rollups WHERE grain = 'hour' AND property = 'rain_mm' AND station_id = "
        "ANY(%s) AND bucket >= %s ORDER BY station_id, bucket",
        (stations, since - HOUR * (hours - 1)))
    return [r for r in cur.fetchall() if r[1] >= since]


def _aqi_hours(cur, key: tuple, stations: list[int], since: datetime):
    cur.execute("SELECT station_id, observed_at, aqi, level FROM station_aqi WHERE scale = %s "
                "AND period = 'hour' AND station_id = ANY(%s) AND observed_at >= %s "
                "AND level IS NOT NULL ORDER BY station_id, observed_at",
                (key[1], stations, since))
    return cur.fetchall()


def _threshold(rule, rows):
    c, sev = rule.condition, rule.severity
    for sid, bucket, mean in rows:
        if c.above is not None:
            active = mean > c.above
            clear = mean < (c.clear_below if c.clear_below is not None else c.above)
        else:
            active = mean < c.below
            clear = mean > (c.clear_above if c.clear_above is not None else c.below)
        yield Point(sid, bucket, bucket + HOUR, active, clear and not active, mean, None, sev)


def _rain(rule, rows):
    c, sev = rule.condition, rule.severity
    for sid, bucket, total in rows:
        total = round(total or 0.0, 1)
        yield Point(sid, bucket - HOUR * (c.hours - 1), bucket + HOUR, total > c.above_mm,
                    total <= c.above_mm, total, None, sev)


def _river(rule, rows):
    c = rule.condition
    levels = c.levels_m
    for sid, bucket, top in rows:
        level = sum(1 for x in levels if top >= x)
        sev = c.severities[level - 1] if level else c.severities[0]
        yield Point(sid, bucket, bucket + HOUR, level > 0, top < levels[0] - c.clear_margin_m,
                    top, level or None, sev)


def _aqi(rule, rows):
    c = rule.condition
    for sid, at, aqi, level in rows:
        sev = c.severities.get(level, rule.severity)
        yield Point(sid, at, at + HOUR, level >= c.at_least, level < c.at_least,
                    float(aqi) if aqi is not None else None, level, sev)


def _runs(cur, key: tuple, stations: list[int], since: datetime):
    """Runs of equal values of a property (all the stuck rules on it share them):
    (station, first reading, length, the run's times, value, the next run's first)."""
    cur.execute(
        "WITH r AS (SELECT station_id, observed_at, value, CASE WHEN value = lag(value) OVER w "
        "THEN 0 ELSE 1 END AS brk FROM sensor_readings WHERE station_id = ANY(%s) AND "
        f"property = %s AND observed_at >= %s AND {COUNTABLE} "
        "WINDOW w AS (PARTITION BY station_id ORDER BY observed_at)), "
        "g AS (SELECT *, sum(brk) OVER (PARTITION BY station_id ORDER BY observed_at) AS grp "
        "FROM r), runs AS (SELECT station_id, min(observed_at) AS first, count(*) AS n, "
        "CASE WHEN count(*) >= 3 THEN array_agg(observed_at ORDER BY observed_at) END AS ts, "
        "min(value) AS v FROM g GROUP BY station_id, grp) "
        "SELECT station_id, first, n, ts, v, lead(first) OVER (PARTITION BY station_id "
        "ORDER BY first) FROM runs ORDER BY station_id, first",
        (stations, key[1], since))
    return cur.fetchall()


def _stuck_points(rule, rows):
    """Active at the run's ``times``-th reading, clear at the first different one."""
    c = rule.condition
    for sid, first, n, stamps, value, following in rows:
        if n < c.times:
            continue
        yield Point(sid, first, stamps[c.times - 1], True, False, value, None, rule.severity)
        if following is not None:
            yield Point(sid, following, following, False, True, value, None, rule.severity)


FETCH = {"hour": _hours, "rain": _rain_sums, "aqi": _aqi_hours, "stuck": _runs}
BUILD = {"threshold": _threshold, "rain": _rain, "river_level": _river, "aqi_class": _aqi,
         "stuck": _stuck_points}


def _silence(cur, rule, stations, since, now):
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
