"""What one worker measures, and the directory where the workers of a server share it.

A worker keeps its request histograms in memory and writes a report (JSON) to
``<data_dir>/metrics/<run>/<pid>-<token>.json`` once a second, atomically (temporary
file, then rename). ``<run>`` is the pid of the uvicorn supervisor for spawned workers,
the worker's own pid for a single-process server: the workers of one server meet in
one directory, and the directory of a server that no longer runs is removed by the next
one. A worker killed outright loses at most its last second of counts.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import logging
import multiprocessing
import os
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin.server.metrics.process import process_numbers

if TYPE_CHECKING:
    from twin.server.state import ServerState

log = logging.getLogger("twin.server.metrics")

# Latency bounds in seconds: tiles and items answer in milliseconds, reports in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
FLUSH_S = 1.0
HOOK = "metrics"

RequestKey = tuple[str, str, str]  # method, route template, status


class RequestStats:
    """Latency histograms by (method, route template, status); safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[RequestKey, list[float]] = {}  # bucket counts..., sum
        self.in_progress = 0

    def observe(self, key: RequestKey, seconds: float) -> None:
        slot = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            row = self._series.get(key)
            if row is None:
                row = self._series[key] = [0.0] * (len(BUCKETS) + 2)
            row[slot] += 1
            row[-1] += seconds

    def rows(self) -> list[list[Any]]:
        """``[method, route, status, counts, sum]`` for every series (a copy)."""
        with self._lock:
            return [[*key, row[:-1], row[-1]] for key, row in self._series.items()]


@dataclass
class Report:
    """One worker's numbers at one moment, as written to and read from its file."""
    pid: int
    requests: list[list[Any]]
    in_progress: int
    pools: dict[str, dict[str, int]]
    process: dict[str, float]
    written: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls(**json.loads(text))


def run_id() -> int:
    """The pid shared by the workers of one server (see the module doc)."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None and parent.pid else os.getpid()


def process_start(pid: int) -> float:
    """When process ``pid`` started (its /proc entry's time; 0 where there is none)."""
    try:
        return os.stat(f"/proc/{pid}").st_ctime
    except OSError:
        return 0.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SharedDir:
    """The reports of one server's workers."""

    def __init__(self, root: Path, run: int | None = None):
        self.root = root
        self.run = run or run_id()
        self.path = root / str(self.run)
        self.name = f"{os.getpid()}-{secrets.token_hex(4)}.json"

    def prepare(self) -> bool:
        """Create the directory, removing those of servers that stopped; False when the
        data directory cannot be written (then each worker reports only itself)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("metrics of other workers unavailable: %s", exc)
            return False
        for other in self.root.iterdir():
            if other.is_dir() and other.name.isdigit() and not pid_alive(int(other.name)):
                shutil.rmtree(other, ignore_errors=True)
        # A restarted container reuses pids: reports older than this server are not its.
        born = process_start(self.run)
        for old in self.path.glob("*.json"):
            with contextlib.suppress(OSError):
                if old.stat().st_mtime < born:
                    old.unlink()
        return True

    def write(self, report: Report) -> None:
        target = self.path / self.name
        temporary = target.with_suffix(".tmp")
        try:
            temporary.write_text(report.to_json())
            os.replace(temporary, target)
        except OSError as exc:
            log.debug("could not write %s: %s", target, exc)

    def others(self) -> list[Report]:
        """Every other worker's last report (a file half written or unreadable is
        skipped: the next scrape reads it)."""
        reports = []
        for path in self.path.glob("*.json"):
            if path.name == self.name:
                continue
            try:
                reports.append(Report.from_json(path.read_text()))
            except (OSError, ValueError, TypeError):
                continue
        return reports


class Metrics:
    """One per worker: measures requests and shares its report with the other workers."""

    def __init__(self, state: ServerState, shared: SharedDir):
        self.state = state
        self.requests = RequestStats()
        self.shared = shared
        self.started = time.time()

    def report(self) -> Report:
        db = self.state.db
        pools = {"async": db.pool.get_stats()}
        if db.sync_opened is not None:
            pools["sync"] = db.sync_opened.get_stats()
        return Report(pid=os.getpid(), requests=self.requests.rows(),
                      in_progress=self.requests.in_progress, pools=pools,
                      process=process_numbers(self.started))

    def snapshot(self) -> Report | None:
        """The report now; None in the rare case a pool's counters changed under us
        (the sync pool counts on worker threads): the next tick writes it."""
        try:
            return self.report()
        except RuntimeError:
            return None

    async def publish(self) -> None:
        """Write this worker's report every second, until cancelled at shutdown (the
        middleware runs it beside the app's lifespan); a no-op when sharing is off."""
        if not self.shared.prepare():
            return
        try:
            while True:
                if (report := self.snapshot()) is not None:
                    self.shared.write(report)
                await asyncio.sleep(FLUSH_S)
        finally:
            if (report := self.snapshot()) is not None:
                self.shared.write(report)


def metrics_for(state: ServerState) -> Metrics:
    """This worker's :class:`Metrics`, made on first use and kept in ``state.hooks`` so
    the middleware and the routes share it."""
    metrics = state.hooks.get(HOOK)
    if metrics is None:
        metrics = Metrics(state, SharedDir(state.settings.data_dir / "metrics"))
        state.hooks[HOOK] = metrics
    return metrics
