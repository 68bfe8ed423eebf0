"""One scrape: every worker's files (prometheus_client's ``MultiProcessCollector``) and
the numbers read from the database at scrape time (:class:`DatabaseCollector`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from twin import __version__
from twin.server.errors import APIError
from twin.server.state import ServerState

log = logging.getLogger("twin.server.metrics")

# The text format generate_latest writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DATABASE_BUDGET_MS = 500  # a scrape never waits on a slow database for longer
LIMITS = ("process_concurrent", "process_rate", "process_queue")

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


async def database_row(state: ServerState) -> tuple | None:
    """The ingest numbers; None when PostgreSQL does not answer within the budget."""
    try:
        return await state.db.fetchrow_within(INGEST_SQL, None, DATABASE_BUDGET_MS)
    except (APIError, psycopg.Error) as exc:
        log.warning("metrics: database numbers unavailable: %s", exc)
        return None


class DatabaseCollector(Collector):
    """Ingest numbers from the database, so every writer counts (HTTP, the MQTT
    subscriber, CLI loads); ``twin_database_up`` is 0 when it did not answer."""

    def __init__(self, row: tuple | None):
        self.row = row

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("twin_build_info", "twin's version (the value is always 1)",
                                 labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield GaugeMetricFamily("twin_database_up", "Whether PostgreSQL answered this scrape",
                                value=0 if self.row is None else 1)
        if self.row is None:
            return
        inserted, newest, dead_total, recent, limit_hits = self.row
        yield CounterMetricFamily("twin_readings_inserted",
                                  "Sensor readings inserted, every ingest path, since "
                                  "PostgreSQL's statistics were last reset",
                                  value=float(inserted))
        if newest is not None:
            yield GaugeMetricFamily("twin_readings_newest_age_seconds",
                                    "Seconds since the newest countable reading of any station",
                                    value=max(0.0, time.time() - float(newest)))
        yield CounterMetricFamily("twin_ingest_dead_letters", "Readings refused by a streaming "
                                  "ingest path (kept in ingest_dead_letters)",
                                  value=float(dead_total))
        hour = GaugeMetricFamily("twin_ingest_dead_letters_last_hour", "Readings refused in "
                                 "the last hour, by source (mqtt, http, csv)", labels=["source"])
        for source, count in sorted(recent.items()):
            hour.add_metric([source], count)
        yield hour
        limits = CounterMetricFamily("twin_limit_hits", "Requests refused by a request limit "
                                     "(process runs at once, runs a minute, job queue), every "
                                     "worker", labels=["limit"])
        for name in LIMITS:
            limits.add_metric([name], float(limit_hits.get(name, 0)))
        yield limits


def exposition(path: Path, row: tuple | None) -> bytes:
    """The text of one scrape: every worker's files in ``path``, and the database's
    numbers (``row``, from :func:`database_row`)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, str(path))
    registry.register(DatabaseCollector(row))
    return generate_latest(registry)
