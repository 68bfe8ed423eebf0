"""The folder where the workers of one server keep their metrics: prometheus_client's
multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``).

It is ``<data_dir>/metrics/<run>``, private (0700). ``<run>`` is the pid of the uvicorn
supervisor for spawned workers, the worker's own pid for a single-process server: the
workers of one server meet in one folder, and the folder of a server that no longer
runs is removed by the next one. A restarted container reuses pids, so files older
than this server are not its workers' and are dropped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import shutil
from pathlib import Path

from prometheus_client.multiprocess import mark_process_dead

log = logging.getLogger("twin.server.metrics")

PRIVATE = 0o700


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


def prepare(root: Path, run: int | None = None) -> Path | None:
    """Create ``root/<run>`` (0700), removing the folders of servers that stopped and
    files older than this server; None when the data directory cannot be written."""
    run = run or run_id()
    path = root / str(run)
    try:
        root.mkdir(mode=PRIVATE, parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE, exist_ok=True)
        path.chmod(PRIVATE)
    except OSError as exc:
        log.warning("metrics of other workers unavailable: %s", exc)
        return None
    for other in root.iterdir():
        if other.is_dir() and other.name.isdigit() and not pid_alive(int(other.name)):
            shutil.rmtree(other, ignore_errors=True)
    born = process_start(run)
    for old in path.iterdir():
        with contextlib.suppress(OSError):
            if old.stat().st_mtime < born:
                old.unlink()
    return path


def sweep_dead(path: Path) -> None:
    """Remove the live gauges of workers that are gone without saying so (killed
    outright: their exit hook did not run); their counters and histograms stay."""
    for gauges in path.glob("gauge_live*_*.db"):
        pid = gauges.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                mark_process_dead(int(pid), str(path))
