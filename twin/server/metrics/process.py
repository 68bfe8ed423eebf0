"""This worker process's own numbers, read from ``/proc`` (Linux; zero elsewhere)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_numbers(started: float) -> dict[str, float]:
    """Resident memory, CPU seconds, open file descriptors and start time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"resident_memory_bytes": _resident_bytes(),
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "open_fds": _open_fds(),
            "start_time_seconds": started}


def _resident_bytes() -> float:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_BYTES
    except (OSError, IndexError, ValueError):
        return 0.0


def _open_fds() -> float:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0.0
