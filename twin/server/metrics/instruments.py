"""What a worker measures itself: prometheus_client metrics in multiprocess mode.

Each worker's values live in memory-mapped files in the server's metrics folder (see
:mod:`twin.server.metrics.directory`), written as they change; the worker that answers a
scrape reads every file. Request histograms and counters are summed over every worker
the server has had (a dead worker's file stays, so totals never go down). Gauges are
per live worker: label ``worker`` (the pid) and ``livesum`` mode, whose files go when
the worker exits (or, killed outright, at the next scrape).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram, values
from prometheus_client.multiprocess import mark_process_dead

from twin.server.metrics.directory import prepare
from twin.server.metrics.process import process_numbers

if TYPE_CHECKING:
    from twin.server.db import Database

# Latency bounds in seconds: tiles and items answer in milliseconds, reports in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
REFRESH_S = 1.0  # how often a worker's pool and process gauges are written

POOL_GAUGES = {"pool_size": "connections open or being opened",
               "pool_available": "idle connections",
               "pool_max": "most connections the pool may open",
               "requests_waiting": "requests waiting for a connection"}
POOL_COUNTERS = {"requests_num": ("requests", 1, "connection requests"),
                 "requests_errors": ("request_errors", 1,
                                     "connection requests that timed out or failed"),
                 "requests_wait_ms": ("request_wait_seconds", 1e-3,
                                      "time spent waiting for a connection"),
                 "connections_errors": ("connect_errors", 1,
                                        "failed attempts to connect to PostgreSQL"),
                 "connections_lost": ("connections_lost", 1,
                                      "broken connections found and replaced"),
                 "usage_ms": ("usage_seconds", 1e-3, "time connections were in use")}
PROCESS_GAUGES = {"resident_memory_bytes": "Resident memory",
                  "open_fds": "Open file descriptors",
                  "start_time_seconds": "Start time, seconds since the epoch"}


def _gauge(name: str, text: str, *labels: str) -> Gauge:
    return Gauge(name, text, ("worker", *labels), registry=None, multiprocess_mode="livesum")


class Instruments:
    """One per process (see :func:`open_instruments`)."""

    def __init__(self, path: Path):
        self.path = path
        self.worker = str(os.getpid())
        self.started = time.time()
        self.requests = Histogram(
            "twin_http_request_duration_seconds",
            "Time to answer a request, by method, route template and status "
            "(its _count is the number of requests)",
            ("method", "route", "status"), buckets=BUCKETS, registry=None)
        self.in_progress = _gauge("twin_http_requests_in_progress",
                                  "Requests being answered, per worker").labels(self.worker)
        self.pool_gauges = {key: _gauge(f"twin_db_{key}", f"Database pool: {text}, per worker",
                                        "pool") for key, text in POOL_GAUGES.items()}
        self.pool_counters = {
            key: (Counter(f"twin_db_pool_{name}", f"Database pool: {text}, per worker",
                          ("worker", "pool"), registry=None), scale)
            for key, (name, scale, text) in POOL_COUNTERS.items()}
        self.process_gauges = {key: _gauge(f"process_{key}", f"{text} of each live worker")
                               for key, text in PROCESS_GAUGES.items()}
        self.cpu = Counter("process_cpu_seconds", "CPU time, user and system, of each worker",
                           ("worker",), registry=None)
        self.tile_cache = Counter(
            "twin_tile_cache", "Tiles by cache result: hit, miss (made and stored), "
            "uncached (made; the store failed), bypass (no cache for the layer); tiles: "
            "vector (MVT of a layer) or map (PNG of a coverage)",
            ("result", "tiles"), registry=None)
        workers = Gauge("twin_workers", "Live worker processes of this server",
                        registry=None, multiprocess_mode="livesum")
        workers.set(1)
        self._last: dict[tuple[str, ...], float] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def _advance(self, counter: Counter, key: tuple[str, ...], total: float) -> None:
        """Bring a counter to ``total`` (a running total kept by someone else)."""
        last = self._last.get(key, 0.0)
        step = total - last if total >= last else total  # a smaller total: a new pool
        if step > 0:
            counter.inc(step)
        self._last[key] = total

    def refresh(self, db: Database) -> None:
        """Write this worker's pool and process numbers."""
        try:
            pools = {"async": db.pool.get_stats()}
            if db.sync_opened is not None:
                pools["sync"] = db.sync_opened.get_stats()
        except RuntimeError:  # the sync pool counts on worker threads: next time
            pools = {}
        for pool, stats in pools.items():
            for key, gauge in self.pool_gauges.items():
                gauge.labels(self.worker, pool).set(stats.get(key, 0))
            for key, (counter, scale) in self.pool_counters.items():
                self._advance(counter.labels(self.worker, pool), (key, pool),
                              stats.get(key, 0) * scale)
        numbers = process_numbers(self.started)
        for key, gauge in self.process_gauges.items():
            gauge.labels(self.worker).set(numbers[key])
        self._advance(self.cpu.labels(self.worker), ("cpu",), numbers["cpu_seconds"])


_lock = threading.Lock()
_opened: list[Instruments] = []


def open_instruments(root: Path, run: int | None = None) -> Instruments:
    """This process's instruments, writing to ``root/<run>`` (``run``: see
    :func:`~twin.server.metrics.directory.run_id`), made on first use.

    prometheus_client's multiprocess mode is one folder per process (the environment
    variable ``PROMETHEUS_MULTIPROC_DIR``, and a value class it picks when first
    imported, which may be before this folder is known): both are set here, before
    any metric is made. Later calls, from other apps in the same process as in the
    tests, get the same instruments. A data directory that cannot be written gives a
    folder of this process's own (the scrape then shows this worker only).
    """
    with _lock:
        if not _opened:
            path = prepare(root, run)
            if path is None:
                path = Path(tempfile.mkdtemp(prefix="twin-metrics-"))
                atexit.register(shutil.rmtree, path, True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
            values.ValueClass = values.MultiProcessValue()
            _opened.append(Instruments(path))
            # A worker that exits takes its live gauges with it (atexit runs last).
            atexit.register(mark_process_dead, os.getpid(), str(path))
        return _opened[0]
