"""The server settings twin writes to ``twin.conf`` on every start."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

MB = 1024 * 1024
LOG_DIR = "log"  # in the data directory


def tuned_settings(host: str, port: int) -> dict[str, str]:
    """Server settings for a small machine; written to ``twin.conf`` on every start."""
    memory_mb = _total_memory() // MB
    shared_buffers = min(512, max(128, memory_mb // 4))
    settings = {
        "listen_addresses": f"'{host}'",
        "port": str(port),
        "unix_socket_directories": "''",
        "password_encryption": "'scram-sha-256'",
        "max_connections": "200",
        "shared_buffers": f"{shared_buffers}MB",
        "effective_cache_size": f"{max(512, memory_mb // 2)}MB",
        "work_mem": "32MB",
        "maintenance_work_mem": "256MB",
        "jit": "off",  # JIT compilation adds 50-300 ms to short tile queries
        "random_page_cost": "1.1",
        "max_wal_size": "2GB",
        # The embedded cluster has no replicas: minimal WAL lets bulk loads into tables
        # created in the same transaction (new reading partitions) skip WAL entirely.
        "wal_level": "minimal",
        "max_wal_senders": "0",
        "checkpoint_timeout": "15min",
        "fsync": "on",
        "logging_collector": "on",
        "log_directory": f"'{LOG_DIR}'",
        "log_filename": "'postgresql-%a.log'",
        "log_truncate_on_rotation": "on",
        "log_rotation_age": "1d",
        "log_rotation_size": "0",
    }
    # Parallel hash joins put work_mem-sized segments in /dev/shm, which is
    # 64 MB in a default Docker container; file-backed segments do not run out.
    if _fs_size("/dev/shm") < 1024 * MB:
        settings["dynamic_shared_memory_type"] = "mmap"
    return settings


def _total_memory() -> int:
    """Physical memory, capped by a cgroup v2 limit when there is one."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, ValueError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            total = min(total, int(limit))
    return total


def _fs_size(path: str) -> int:
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return st.f_frsize * st.f_blocks


CONF_FILE = "twin.conf"  # included at the end of postgresql.conf, rewritten on start


def write_conf(data_dir: Path, host: str, port: int, owner: os.stat_result | None) -> None:
    """``twin.conf`` with :func:`tuned_settings`, replaced only when it changed."""
    lines = [f"{k} = {v}" for k, v in tuned_settings(host, port).items()]
    text = "# Written by twin on every start; ALTER SYSTEM overrides these.\n"
    text += "\n".join(lines) + "\n"
    path = data_dir / CONF_FILE
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.chmod(0o600)
    if owner is not None:
        os.chown(tmp, owner.st_uid, owner.st_gid)
    tmp.replace(path)
