"""The metric families of one scrape: requests and pools and processes from every
worker's report, ingest and freshness from the database."""

from __future__ import annotations

import logging
import time

import psycopg

from twin import __version__
from twin.server.errors import APIError
from twin.server.metrics.exposition import Family
from twin.server.metrics.store import BUCKETS, Metrics, Report, pid_alive

log = logging.getLogger("twin.server.metrics")

DATABASE_BUDGET_MS = 500  # a scrape never waits on a slow database for longer

# One round trip. Readings written: rows inserted into the partitions of sensor_readings
# since PostgreSQL's statistics were reset (duplicates skipped by ON CONFLICT are not
# inserted, rows of a rolled-back load are counted). Dead letters: the sequence's last
# value, which deleting old rows does not lower.
INGEST_SQL = """
SELECT
  (SELECT coalesce(sum(s.n_tup_ins), 0) FROM pg_stat_user_tables s
     JOIN pg_inherits i ON i.inhrelid = s.relid
    WHERE i.inhparent = 'sensor_readings'::regclass),
  (SELECT extract(epoch FROM max(observed_at)) FROM station_latest),
  (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM ingest_dead_letters_id_seq),
  (SELECT coalesce(json_object_agg(source, n), '{}') FROM
     (SELECT source, count(*) AS n FROM ingest_dead_letters
       WHERE received_at > now() - interval '1 hour' GROUP BY source) AS recent),
  (SELECT coalesce(json_object_agg(name, hits), '{}') FROM limit_hits)
"""

POOL_GAUGES = {"pool_size": "connections open or being opened",
               "pool_available": "idle connections",
               "pool_max": "most connections the pool may open",
               "requests_waiting": "requests waiting for a connection"}
POOL_COUNTERS = {"requests_num": ("requests_total", 1, "connection requests"),
                 "requests_errors": ("request_errors_total", 1,
                                     "connection requests that timed out or failed"),
                 "requests_wait_ms": ("request_wait_seconds_total", 1e-3,
                                      "time spent waiting for a connection"),
                 "connections_errors": ("connect_errors_total", 1,
                                        "failed attempts to connect to PostgreSQL"),
                 "connections_lost": ("connections_lost_total", 1,
                                      "broken connections found and replaced"),
                 "usage_ms": ("usage_seconds_total", 1e-3, "time connections were in use")}


def duration_family(reports: list[Report]) -> Family:
    """Histograms summed over every worker of this server, dead ones included."""
    merged: dict[tuple[str, str, str], tuple[list[float], float]] = {}
    for report in reports:
        for method, route, status, counts, total in report.requests:
            key = (method, route, status)
            before, before_total = merged.get(key, ([0.0] * len(counts), 0.0))
            summed = [a + b for a, b in zip(before, counts, strict=True)]
            merged[key] = (summed, before_total + total)
    duration = Family("twin_http_request_duration_seconds", "histogram",
                      "Time to answer a request, by method, route template and status "
                      "(its _count is the number of requests)")
    for (method, route, status), (counts, total) in sorted(merged.items()):
        duration.add_histogram({"method": method, "route": route, "status": status},
                               BUCKETS, counts, total)
    return duration


def in_progress_family(reports: list[Report]) -> Family:
    in_progress = Family("twin_http_requests_in_progress", "gauge",
                         "Requests being answered, per worker")
    for report in reports:
        in_progress.add(report.in_progress, {"worker": str(report.pid)})
    return in_progress


def pool_families(reports: list[Report]) -> list[Family]:
    families = []
    for key, text in POOL_GAUGES.items():
        family = Family(f"twin_db_{key}", "gauge", f"Database pool: {text}, per worker")
        for report in reports:
            for pool, stats in report.pools.items():
                family.add(stats.get(key, 0), {"worker": str(report.pid), "pool": pool})
        families.append(family)
    for key, (name, scale, text) in POOL_COUNTERS.items():
        family = Family(f"twin_db_pool_{name}", "counter", f"Database pool: {text}, per worker")
        for report in reports:
            for pool, stats in report.pools.items():
                family.add(stats.get(key, 0) * scale, {"worker": str(report.pid), "pool": pool})
        families.append(family)
    return families


def process_families(reports: list[Report]) -> list[Family]:
    kinds = {"resident_memory_bytes": ("gauge", "Resident memory"),
             "cpu_seconds": ("counter", "CPU time, user and system"),
             "open_fds": ("gauge", "Open file descriptors"),
             "start_time_seconds": ("gauge", "Start time, seconds since the epoch")}
    families = []
    for key, (kind, text) in kinds.items():
        name = "process_cpu_seconds_total" if key == "cpu_seconds" else f"process_{key}"
        family = Family(name, kind, f"{text} of each live worker")
        for report in reports:
            family.add(report.process.get(key, 0.0), {"worker": str(report.pid)})
        families.append(family)
    workers = Family("twin_workers", "gauge", "Live worker processes of this server")
    workers.add(len({r.pid for r in reports}))
    info = Family("twin_build_info", "gauge", "twin's version (the value is always 1)")
    info.add(1, {"version": __version__})
    return families + [workers, info]


async def ingest_families(metrics: Metrics) -> list[Family]:
    """From the database, so every writer counts (HTTP, the MQTT subscriber, CLI loads).
    ``twin_database_up`` is 0 when it cannot be reached within the budget."""
    up = Family("twin_database_up", "gauge", "Whether PostgreSQL answered this scrape")
    try:
        row = await metrics.state.db.fetchrow_within(INGEST_SQL, None, DATABASE_BUDGET_MS)
    except (APIError, psycopg.Error) as exc:
        log.warning("metrics: database numbers unavailable: %s", exc)
        row = None
    up.add(1 if row is not None else 0)
    if row is None:
        return [up]
    inserted, newest, dead_total, recent, limit_hits = row
    families = [up, Family("twin_readings_inserted_total", "counter",
                           "Sensor readings inserted, every ingest path, since PostgreSQL's "
                           "statistics were last reset")]
    families[-1].add(float(inserted))
    if newest is not None:
        age = Family("twin_readings_newest_age_seconds", "gauge",
                     "Seconds since the newest countable reading of any station")
        age.add(max(0.0, time.time() - float(newest)))
        families.append(age)
    dead = Family("twin_ingest_dead_letters_total", "counter",
                  "Readings refused by a streaming ingest path (kept in ingest_dead_letters)")
    dead.add(float(dead_total))
    hour = Family("twin_ingest_dead_letters_last_hour", "gauge",
                  "Readings refused in the last hour, by source (mqtt, http, csv)")
    for source, count in sorted(recent.items()):
        hour.add(count, {"source": source})
    limits = Family("twin_limit_hits_total", "counter",
                    "Requests refused by a request limit (process runs at once, runs a "
                    "minute, job queue), every worker")
    for name in ("process_concurrent", "process_rate", "process_queue"):
        limits.add(float(limit_hits.get(name, 0)), {"limit": name})
    return families + [dead, hour, limits]


def live_reports(metrics: Metrics) -> tuple[list[Report], list[Report]]:
    """(every report of this server, those of live workers); this worker's is fresh."""
    own = metrics.report()
    others = metrics.shared.others()
    live = [own] + [r for r in others if r.pid != own.pid and pid_alive(r.pid)]
    return [own, *others], live


async def families(metrics: Metrics) -> list[Family]:
    every, live = live_reports(metrics)
    return ([duration_family(every), in_progress_family(live)] + pool_families(live)
            + process_families(live) + await ingest_families(metrics))
