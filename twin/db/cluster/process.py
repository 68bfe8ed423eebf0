"""The running server, as ``postmaster.pid`` tells it (and /proc confirms it)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from twin.db.cluster.errors import ClusterError

PID_FILE = "postmaster.pid"


def pid_file_lines(data_dir: Path) -> list[str] | None:
    try:
        return (data_dir / PID_FILE).read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ClusterError(f"Cannot read {data_dir / PID_FILE}: {exc}") from exc


def pid_file_port(data_dir: Path) -> int | None:
    lines = pid_file_lines(data_dir) or []
    with contextlib.suppress(IndexError, ValueError):
        return int(lines[3])
    return None


def live_pid(data_dir: Path, remove_stale: bool) -> int | None:
    """The postmaster's pid, or None; optionally remove a stale ``postmaster.pid``."""
    lines = pid_file_lines(data_dir)
    if lines is None:
        return None
    with contextlib.suppress(IndexError, ValueError):
        pid = int(lines[0])
        if is_postmaster(pid, data_dir):
            return pid
    if remove_stale:
        (data_dir / PID_FILE).unlink(missing_ok=True)
    return None


def is_postmaster(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` is a live postmaster; one serving another data dir does not count."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (postgres, when we are not root)
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the signal probe
    args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    if not args or not any(n in Path(args[0]).name for n in ("postgres", "postmaster")):
        return False  # the pid was reused by an unrelated process after a crash
    if "-D" in args[:-1]:
        other = Path(args[args.index("-D") + 1])
        if other.is_absolute():
            return os.path.realpath(other) == os.path.realpath(data_dir)
    return True
