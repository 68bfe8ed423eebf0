"""twin's data directory (``TWIN_DATA_DIR``, ``.twin/`` by default) is its owner's alone.

It holds what no other local user may read: the demo's GeoPackage with the parcel
holders' names and ID numbers, job results, COGs, the demo API keys and the embedded
cluster's password. Every ``twin`` command calls :func:`protect` before it touches data
(``twin/cli/context.py``):

- the process's umask becomes 0o077, so what it and its children (server workers, the
  MQTT subscriber, GDAL) write is 0600 and 0700;
- the data directory is made 0700; when twin runs as root and the embedded cluster
  lives inside it, 0710 with the group of the ``postgres`` user that runs the server,
  which may then pass through to its own data directory and to nothing else;
- what twin keeps there (``demo/``, ``rasters/``, ``jobs/``, ``metrics/``, the demo
  keys, the cluster's port and password files; :data:`TWIN_ENTRIES`) is made its
  owner's: folders 0700 and, inside one that was open (made by an older twin), group
  and other permissions taken off everything; files likewise.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Protocol

from twin.db.cluster.initdb import make_parents
from twin.db.cluster.location import is_system_dir, private_dir, server_group

PRIVATE_UMASK = 0o077
PGDATA = "pgdata"  # the embedded cluster's data directory in the data dir (Settings.pgdata)
# What twin keeps in its data directory (Settings.raster_dir, the job manager, the metrics,
# the demo and its streaming broker, the embedded cluster's port, lock and password); only
# these are touched, should TWIN_DATA_DIR name a folder that holds other things too. The
# cluster's data directory itself is the server's.
TWIN_ENTRIES = frozenset({"rasters", "jobs", "metrics", "demo", "mosquitto", "demo-keys.txt",
                          "demo-stream.log", ".pgdata.port", ".pgdata.lock",
                          ".pgdata.password"})


class DataSettings(Protocol):
    database_url: str | None
    data_dir: Path


def protect(settings: DataSettings) -> None:
    """Private umask for this process, private data directory (see the module)."""
    os.umask(PRIVATE_UMASK)
    protect_data_dir(settings.data_dir, uses_cluster=not settings.database_url)


def protect_data_dir(data_dir: Path, uses_cluster: bool = True) -> None:
    """Make ``data_dir`` and what twin keeps there private. An embedded cluster's data
    directory inside it (``pgdata``), used now or not, is left to the server, and its
    user keeps the right to pass through ``data_dir``: a running server whose user is
    locked out of its data directory shuts down."""
    data_dir = Path(data_dir)
    if is_system_dir(data_dir):
        return  # a misconfigured TWIN_DATA_DIR (/, /tmp, /home): touch nothing there
    make_parents(data_dir)  # 0755: the server's user may need to pass through them
    pgdata = data_dir / PGDATA
    gid = server_group(pgdata) if uses_cluster or pgdata.exists() else None
    if gid is None and os.geteuid() == 0 and uses_cluster and not pgdata.exists():
        # As root before the postgres user exists: the cluster makes the user, then
        # closes this folder itself (EmbeddedCluster.start); closing it now would lock
        # the user out.
        data_dir.mkdir(exist_ok=True)
    else:
        private_dir(data_dir, gid)
    for child in data_dir.iterdir():
        if child.is_symlink() or child.name not in TWIN_ENTRIES:
            continue
        if child.is_dir():
            if private_dir(child):
                _close_tree(child)
        else:
            _close(child)


def private_folder(path: Path) -> Path:
    """``path``, made if missing and its owner's alone (0700): a folder twin writes results
    into (job outputs), whichever way the process was started."""
    private_dir(path)
    return path


def _close_tree(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            _close(Path(root) / name)


def _close(path: Path) -> None:
    """Take group and other permissions off ``path`` (ours, not a link)."""
    try:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode) or os.geteuid() not in (0, st.st_uid):
            return
        if st.st_mode & 0o077:
            path.chmod(stat.S_IMODE(st.st_mode) & ~0o077)
    except OSError:
        pass  # gone meanwhile (another process's temporary file)
