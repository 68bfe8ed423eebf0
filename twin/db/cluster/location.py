"""Where the embedded cluster lives, which OS user runs it, and who may enter its folder.

PostgreSQL refuses to run as root. When twin runs as root, the data directory is
given to the ``postgres`` system user (created if missing) and the server binaries
run as that user through ``runuser`` or ``setpriv``; that user must be able to enter
every ancestor of the data directory.

The folder that holds the data directory (``.twin/`` by default, twin's data dir) also
holds generated COGs, the demo's GeoPackage with parcel owners, job results and the
superuser's password: :func:`private_dir` makes it 0700, or 0710 with the group of the
user that runs the server when that is another user (root's checkout), so that user
may pass through to its own data directory and nothing else.

Nothing here imports the rest of twin: :mod:`twin.config` uses :func:`reachable_pgdata`.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

from twin.db.cluster.errors import ClusterError

SYSTEM_USER = "postgres"  # OS user that runs the server when twin runs as root
SHARED_ROOT = Path("/var/lib/twin")
PRIVATE_MODE = 0o700
TRAVERSE_MODE = 0o710  # owner, and the server's group may pass through (not list)
# Directories twin never makes private, whatever TWIN_DATA_DIR says.
_SYSTEM_DIRS = frozenset(Path(p) for p in (
    "/", "/tmp", "/var", "/var/lib", "/var/tmp", "/home", "/root", "/srv", "/opt", "/usr",
    "/etc", "/mnt", "/media", "/run", "/dev", "/proc", "/sys", "/boot", str(SHARED_ROOT)))


def reachable_pgdata(pgdata: Path) -> Path:
    """Where the embedded cluster lives: ``pgdata``, unless twin runs as root and the
    postgres user cannot enter it (a checkout under /root, mode 700): then a directory
    of its own under /var/lib/twin, named after the checkout, instead of failing. A
    cluster that exists in ``pgdata`` stays there whatever the modes (starting it
    reopens its folder to the server's user, :func:`private_dir`); moving would start
    an empty one elsewhere."""
    pgdata = Path(pgdata).expanduser().absolute()
    if os.geteuid() != 0 or (pgdata / "PG_VERSION").is_file():
        return pgdata
    try:
        user = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return pgdata
    if blocking_parent(pgdata, user) is None:
        return pgdata
    digest = hashlib.sha1(str(pgdata).encode()).hexdigest()[:10]
    return SHARED_ROOT / f"{pgdata.parent.parent.name or 'twin'}-{digest}" / pgdata.name


def blocking_parent(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first ancestor of ``path`` that ``user`` may not enter, if any."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for parent in reversed(path.parents):
        if not parent.exists():
            return None  # twin creates the rest
        st = parent.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return parent
    return None


def server_group(pgdata: Path) -> int | None:
    """The group that must pass through ``pgdata``'s folder: that of the user running the
    server when it is not us (twin as root), else None (nobody else needs to)."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(OSError):
        st = pgdata.stat()
        if st.st_uid != os.geteuid():
            return st.st_gid
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SYSTEM_USER).pw_gid
    return None


def is_system_dir(path: Path) -> bool:
    """/, /tmp, /var/lib, /home, ...: never made private, whatever TWIN_DATA_DIR says."""
    return Path(path).resolve() in _SYSTEM_DIRS


def private_dir(path: Path, traverse_gid: int | None = None) -> bool:
    """Create ``path`` if missing and make it its owner's alone: 0700, or 0710 owned by
    group ``traverse_gid``. System directories (/, /tmp, /var/lib, ...) and directories
    of another user are left alone. True when the mode was too open before."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if is_system_dir(path):
        return False
    st = path.stat()
    if os.geteuid() not in (0, st.st_uid):
        return False
    mode = PRIVATE_MODE if traverse_gid is None else TRAVERSE_MODE
    was_open = bool(stat.S_IMODE(st.st_mode) & ~mode)
    if traverse_gid is not None and st.st_gid != traverse_gid:
        os.chown(path, -1, traverse_gid)
    if stat.S_IMODE(st.st_mode) != mode:
        path.chmod(mode)
    return was_open


def ensure_system_user() -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SYSTEM_USER)
    try:
        grp.getgrnam(SYSTEM_USER)
        group = ["--gid", SYSTEM_USER]
    except KeyError:
        group = ["--user-group"]
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    argv = [useradd, "--system", *group, "--home-dir", "/var/lib/postgresql",
            "--no-create-home", "--shell", "/bin/sh", SYSTEM_USER]
    proc = subprocess.run(argv, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(
            f"PostgreSQL cannot run as root and the {SYSTEM_USER} system user could not "
            f"be created ({' '.join(argv)}): {(proc.stdout + proc.stderr).strip()}"
        )
    return pwd.getpwnam(SYSTEM_USER)


def find_dropper(user: str) -> list[str]:
    """A command prefix that runs a command as ``user`` (we are root)."""
    candidates = []
    if shutil.which("runuser"):
        candidates.append(["runuser", "-u", user, "--"])
    if shutil.which("setpriv"):
        candidates.append(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"])
    for prefix in candidates:
        probe = subprocess.run([*prefix, "true"], check=False, cwd="/", capture_output=True)
        if probe.returncode == 0:
            return prefix
    raise ClusterError(
        f"PostgreSQL cannot run as root and neither runuser nor setpriv (util-linux) could "
        f"switch to the {user} user; install util-linux or run twin as a non-root user."
    )
