"""Tables derived from the readings, kept up to date inside each ingest transaction.

``refresh(cur, new_rows)`` is called by ``twin.ingest.readings._merge`` (so by the bulk
CSV, HTTP and MQTT paths alike) with the name of a relation holding exactly the
readings that transaction inserted. It updates:

- ``station_latest``: per station and property, the newest reading with a value and
  quality good or suspect. An older reading arriving late never replaces it.
- ``reading_rollups``: n, mean, min, max, p10/p50/p90/p95 of the readings with a value
  and quality good or suspect (bad and missing readings are not measurements of the
  air or the river), per UTC hour and per local day and month (of the city's time
  zone ``tz``, which every entry point here is given: the city profile's).
  Each affected bucket is recomputed from the raw readings, never from everything:
  a (station, property, month) series that the batch at least doubles is recomputed
  whole in one pass (a bulk load); otherwise only the touched hours and days are,
  each through the primary key.
- ``station_aqi``: see ``derived_aqi``.

Month buckets of small batches. Recomputing a month's percentiles reads its ~4,300
(air, 10 min) to ~8,600 (gauges, 5 min) readings, about a second for all 275 series
of the demo city: too slow for each streaming batch. So a batch with fewer than
``BULK_ROWS`` new readings in such series records their month buckets in
``reading_rollups_pending`` instead, and month buckets pending for longer than
``MONTH_DELAY`` are recomputed by the next refresh (so at most once a minute while
readings stream in); ``twin rollups refresh`` (``refresh_pending``) recomputes all
of them at once. Until then a pending month row shows the month as it was before.
Hours and days are always current at commit.

Concurrency: refresh takes the transaction-level advisory lock that ``_merge``
already holds while it creates partitions, so ingest transactions run one after
another and each recomputation sees every reading committed before it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg import sql

from twin.ingest import derived_rollups as rollups
from twin.ingest.derived_aqi import refresh_aqi
from twin.surfaces.queue import mark as mark_surfaces

LOCK = "twin_reading_partitions"   # the lock of readings._merge and the partition function
BULK_ROWS = 10_000
MONTH_DELAY = timedelta(seconds=60)
DERIVED_TABLES = ("station_latest", "reading_rollups", "reading_rollups_pending", "station_aqi")


@dataclass
class RefreshSummary:
    rows: int = 0            # new readings that count (a value, quality good or suspect)
    latest: int = 0          # station_latest rows inserted or moved forward
    hours: int = 0           # rollup buckets recomputed, per grain
    days: int = 0
    months: int = 0
    months_pending: int = 0  # month buckets left in reading_rollups_pending by this call
    aqi: int = 0             # station_aqi rows written
    seconds: float = 0.0

    def line(self) -> str:
        return (f"derived: {self.rows:,} readings -> {self.latest} latest values, "
                f"{self.hours:,} hourly, {self.days:,} daily, {self.months:,} monthly "
                f"rollups ({self.months_pending} months pending), {self.aqi:,} AQI rows "
                f"in {self.seconds:.2f} s")


def lock(cur: psycopg.Cursor) -> None:
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (LOCK,))


def refresh(cur: psycopg.Cursor, new_rows: str, *, tz: str,
            months: str = "auto") -> RefreshSummary:
    """Bring the derived tables up to date with the readings in ``new_rows``.

    ``new_rows``: a relation (station_id, property, observed_at, value, unit, quality)
    holding exactly the readings just inserted, in this transaction. ``tz``: the city's
    IANA time zone (local days and months). ``months``: "auto" (see the module
    docstring), "now" (never defer), "later" (always defer)."""
    if months not in ("auto", "now", "later"):
        raise ValueError(f"months must be 'auto', 'now' or 'later', not {months!r}")
    started, summary = time.perf_counter(), RefreshSummary()
    lock(cur)
    summary.rows = _summarise_series(cur, new_rows, tz, whole=months != "later")
    if summary.rows:
        summary.latest = _update_latest(cur)
        _add(summary, rollups.upsert_series(cur, new_rows, tz))
        _refresh_parts(cur, new_rows, tz, months, summary)
        summary.aqi = refresh_aqi(cur, tz)
        mark_surfaces(cur, new_rows)  # surfaces are made after commit (twin.surfaces)
    if months == "auto":
        summary.months += refresh_pending(cur, tz=tz, older_than=MONTH_DELAY)
    summary.seconds = time.perf_counter() - started
    return summary


def new_series(cur: psycopg.Cursor) -> None:
    """The session's (emptied) temp table of the series a transaction changed: per
    (station, property, local month) the count, first and last time of its new rows."""
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS _twin_new_series (station_id bigint, "
                "property text, m timestamptz, n bigint, first timestamptz, last timestamptz, "
                "whole boolean, fresh boolean) ON COMMIT DELETE ROWS")
    cur.execute("DELETE FROM _twin_new_series")


def _summarise_series(cur: psycopg.Cursor, new_rows: str, tz: str, whole: bool) -> int:
    """One pass over the new rows: per (station, property, local month) their count,
    first and last time, and whether the series is worth recomputing whole (the new
    rows at least as many as those already counted). Returns the countable rows."""
    new_series(cur)
    cur.execute(sql.SQL(
        "INSERT INTO _twin_new_series SELECT station_id, property, {m}, count(*), "
        "min(observed_at), max(observed_at), false, false FROM {new} WHERE {ok} "
        "GROUP BY 1, 2, 3"
    ).format(m=sql.SQL(rollups.bucket_sql("month", tz=tz)), new=sql.Identifier(new_rows),
             ok=sql.SQL(rollups.COUNTABLE)))
    if whole:  # fresh: no hourly rollup (so no countable reading) in the month yet
        cur.execute(sql.SQL(
            "UPDATE _twin_new_series s SET whole = s.n >= coalesce((SELECT r.n FROM "
            "reading_rollups r WHERE r.grain = 'month' AND r.station_id = s.station_id "
            "AND r.property = s.property AND r.bucket = s.m), 0), fresh = NOT EXISTS (SELECT "
            "FROM reading_rollups r WHERE r.grain = 'hour' AND r.station_id = s.station_id "
            "AND r.property = s.property AND r.bucket >= s.m AND r.bucket < {end})").format(
            end=sql.SQL(rollups.bucket_end_sql("month", "s.m", tz=tz))))
    cur.execute("ANALYZE _twin_new_series")
    cur.execute("SELECT coalesce(sum(n), 0) FROM _twin_new_series")
    return int(cur.fetchone()[0])


def _update_latest(cur: psycopg.Cursor) -> int:
    """Move station_latest forward to the newest new reading of each series, if newer."""
    cur.execute(
        "INSERT INTO station_latest AS l (station_id, property, observed_at, value, unit, "
        "quality) SELECT r.station_id, r.property, r.observed_at, r.value, r.unit, r.quality "
        "FROM (SELECT station_id, property, max(last) AS t FROM _twin_new_series "
        "GROUP BY 1, 2) s JOIN sensor_readings r ON r.station_id = s.station_id "
        "AND r.property = s.property AND r.observed_at = s.t "
        "ON CONFLICT (station_id, property) DO UPDATE SET observed_at = EXCLUDED.observed_at, "
        "value = EXCLUDED.value, unit = EXCLUDED.unit, quality = EXCLUDED.quality "
        "WHERE l.observed_at < EXCLUDED.observed_at")
    return cur.rowcount


def _refresh_parts(cur: psycopg.Cursor, new_rows: str, tz: str, months: str,
                   summary: RefreshSummary) -> None:
    """Touched buckets of the series not recomputed whole: hours and days now, months
    now or pending."""
    cur.execute("SELECT coalesce(sum(n), 0) FROM _twin_new_series WHERE NOT whole")
    rows = cur.fetchone()[0]
    if not rows:
        return
    rollups.create_keys(cur)
    now = months == "now" or (months == "auto" and rows >= BULK_ROWS)
    for grain in ("hour", "day", "month") if now else ("hour", "day"):
        rollups.collect_keys(cur, new_rows, grain, tz)
        _add(summary, {grain: rollups.upsert_buckets(cur, grain)})
    if not now:
        cur.execute("INSERT INTO reading_rollups_pending (grain, station_id, property, bucket) "
                    "SELECT 'month', station_id, property, m FROM _twin_new_series "
                    "WHERE NOT whole ON CONFLICT DO NOTHING")
        summary.months_pending = cur.rowcount


def refresh_pending(cur: psycopg.Cursor, *, tz: str,
                    older_than: timedelta | None = None) -> int:
    """Recompute pending month buckets (those pending longer than ``older_than``, or all)
    of the city's zone ``tz``.

    Returns the number of buckets recomputed."""
    lock(cur)
    cur.execute("SELECT EXISTS (SELECT 1 FROM reading_rollups_pending WHERE since <= now() - "
                "%s)", (older_than or timedelta(0),))
    if not cur.fetchone()[0]:
        return 0
    rollups.create_keys(cur)
    cur.execute("WITH due AS (DELETE FROM reading_rollups_pending WHERE since <= now() - %s "
                "RETURNING grain, station_id, property, bucket) INSERT INTO _twin_rollup_keys "
                f"SELECT grain, station_id, property, bucket, "
                f"{rollups.bucket_end_sql('month', 'bucket', tz=tz)} FROM due",
                (older_than or timedelta(0),))
    return rollups.upsert_buckets(cur, "month")


def rebuild(cur: psycopg.Cursor, *, tz: str) -> RefreshSummary:
    """Recompute every derived table from the raw readings (all of them, in one pass),
    with the local days and months of the city's zone ``tz``."""
    lock(cur)
    cur.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(
        map(sql.Identifier, DERIVED_TABLES))))
    return refresh(cur, "sensor_readings", tz=tz, months="now")


def _add(summary: RefreshSummary, counts: dict[str, int]) -> None:
    summary.hours += counts.get("hour", 0)
    summary.days += counts.get("day", 0)
    summary.months += counts.get("month", 0)
