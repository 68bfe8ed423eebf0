"""The embedded PostgreSQL + PostGIS cluster used when ``TWIN_DATABASE_URL`` is unset.

The cluster lives in ``settings.pgdata`` and is created on first use with the
Debian server binaries (``/usr/lib/postgresql/<ver>/bin``). It listens on
127.0.0.1 only, with ``trust`` authentication and no Unix socket, and its
superuser role is always ``postgres`` whatever OS user runs it.

PostgreSQL refuses to run as root. When twin runs as root, the data directory
is given to the ``postgres`` system user (created if missing) and ``initdb``
and ``pg_ctl`` run as that user through ``runuser`` or ``setpriv``.

The server outlives the Python process that started it: ``twin db stop`` (or
:meth:`EmbeddedCluster.stop`) shuts it down. Starting is serialised across
processes with a lock file beside the data directory, so several workers may
call :func:`resolve_database_url` at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from twin.config import Settings

PG_LIB_ROOT = Path("/usr/lib/postgresql")
PG_SHARE_ROOT = Path("/usr/share/postgresql")
DEFAULT_PG_VERSION = "15"
SUPERUSER = "postgres"  # database role, the same whoever runs the server
SYSTEM_USER = "postgres"  # OS user that runs the server when twin runs as root
CONF_FILE = "twin.conf"  # included at the end of postgresql.conf, rewritten on start
LOG_DIR = "log"
STARTUP_LOG = "startup.log"  # pg_ctl -l: what the server says before its log collector runs
MB = 1024 * 1024
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")
_PROTECTED_DBS = frozenset({"postgres", "template0", "template1"})
_ENSURE_LOCK_KEY = 0x7477696E  # "twin": pg_advisory_lock key held by ensure_database


class ClusterError(RuntimeError):
    """The embedded cluster could not be found, created, started or stopped."""


def postgis_package(version: str) -> str:
    """The Debian package that provides PostGIS (and, by dependency, the server)."""
    return f"postgresql-{version}-postgis-3"


def find_bin_dir(
    version: str | None = None,
    lib_root: Path = PG_LIB_ROOT,
    share_root: Path = PG_SHARE_ROOT,
) -> Path:
    """The newest ``<lib_root>/<ver>/bin`` with ``initdb`` whose share dir has PostGIS.

    With ``version``, only that major version qualifies (an existing data
    directory can only be run by the version that created it).
    """
    servers = sorted(
        (p.parent.parent for p in lib_root.glob("*/bin/initdb")),
        key=lambda d: _version_key(d.name),
        reverse=True,
    )
    if version is not None:
        servers = [d for d in servers if d.name == version]
    for server in servers:
        if (share_root / server.name / "extension" / "postgis.control").is_file():
            return server / "bin"
    wanted = version or (servers[0].name if servers else DEFAULT_PG_VERSION)
    found = ", ".join(d.name for d in servers)
    what = (
        f"PostgreSQL {found} is installed but without PostGIS "
        f"({share_root}/<version>/extension/postgis.control is missing)"
        if servers
        else f"No PostgreSQL {version or 'server'} found ({lib_root}/{version or '*'}/bin/initdb)"
    )
    raise ClusterError(
        f"{what}. Install the Debian package {postgis_package(wanted)} (it pulls in "
        f"postgresql-{wanted}), e.g. with scripts/install-deps.sh, or set "
        "TWIN_DATABASE_URL to an existing PostGIS database."
    )


def tuned_settings(host: str, port: int) -> dict[str, str]:
    """Server settings for a small machine; written to ``twin.conf`` on every start."""
    memory_mb = _total_memory() // MB
    shared_buffers = min(512, max(128, memory_mb // 4))
    settings = {
        "listen_addresses": f"'{host}'",
        "port": str(port),
        "unix_socket_directories": "''",
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


class EmbeddedCluster:
    """A PostgreSQL cluster in ``data_dir`` serving 127.0.0.1:``port``."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        bin_dir: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self._port = port
        self.host = host
        self._bin_dir = bin_dir
        self._dropper: list[str] | None = None

    @property
    def port(self) -> int:
        """The given port, else the one this data directory used before, else 54329 when
        free, else any free port (so a second checkout never collides with the first)."""
        if self._port is None:
            self._port = self._choose_port()
        return self._port

    @property
    def _port_file(self) -> Path:
        return self.data_dir.parent / f".{self.data_dir.name}.port"

    def _choose_port(self) -> int:
        if self._live_pid(remove_stale=False) is not None and self._pid_file_port():
            return self._pid_file_port()
        remembered = None
        with contextlib.suppress(OSError, ValueError):
            remembered = int(self._port_file.read_text().strip())
        if remembered and _port_free(self.host, remembered):
            return remembered
        chosen = DEFAULT_PORT if _port_free(self.host, DEFAULT_PORT) else _any_free_port(self.host)
        self._port_file.parent.mkdir(parents=True, exist_ok=True)
        self._port_file.write_text(f"{chosen}\n")
        return chosen

    def __repr__(self) -> str:
        return f"EmbeddedCluster({str(self.data_dir)!r}, port={self.port})"

    # -- discovery -------------------------------------------------------

    @property
    def bin_dir(self) -> Path:
        """Server binaries; for an existing cluster, those of the version that made it."""
        if self._bin_dir is None:
            version = self._data_version()
            try:
                self._bin_dir = find_bin_dir(version)
            except ClusterError as exc:
                if version is None:
                    raise
                raise ClusterError(
                    f"{self.data_dir} holds a PostgreSQL {version} cluster. {exc} "
                    f"Or remove {self.data_dir} to start over (its data is lost)."
                ) from exc
        return self._bin_dir

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    @property
    def log_dir(self) -> Path:
        return self.data_dir / LOG_DIR

    def url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` in this cluster."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql+psycopg://{SUPERUSER}@{host}:{self.port}/{name}"

    # -- lifecycle -------------------------------------------------------

    def init(self) -> bool:
        """Create the cluster unless it exists; True when it was created."""
        with self._lock():
            return self._init()

    def start(self, timeout: float = 120.0) -> bool:
        """Start the server unless it runs; wait until it accepts connections.

        Returns True when this call started it. A ``postmaster.pid`` left by a
        crash (its process gone or not ours) is removed first.
        """
        with self._lock():
            self._init()
            pid = self._live_pid(remove_stale=True)
            if pid is not None:
                running_port = self._pid_file_port()
                if running_port not in (None, self.port):
                    raise ClusterError(
                        f"The cluster in {self.data_dir} already runs on port {running_port}, "
                        f"not {self.port}; stop it first (twin db stop)."
                    )
                self._wait_ready(timeout)
                return False
            self._write_conf()
            self._make_log_dir()
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"), "start", "-D", str(self.data_dir),
                    "-w", "-t", str(int(timeout)), "-l", str(self.log_dir / STARTUP_LOG),
                ],
                "pg_ctl start",
                timeout=timeout + 30,
            )
            self._wait_ready(timeout)
            return True

    def stop(self, timeout: float = 60.0) -> bool:
        """Fast shutdown (rolls back open transactions); True when it was running."""
        with self._lock():
            if self._live_pid(remove_stale=True) is None:
                return False
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir),
                    "-m", "fast", "-w", "-t", str(int(timeout)),
                ],
                "pg_ctl stop",
                timeout=timeout + 30,
            )
            return True

    def is_running(self) -> bool:
        return self._live_pid(remove_stale=False) is not None

    def status(self) -> dict:
        pid = self._live_pid(remove_stale=False)
        log_file = self._newest_log()
        return {
            "running": pid is not None,
            "pid": pid,
            "host": self.host,
            "port": (self._pid_file_port() if pid else None) or self.port,
            "data_dir": str(self.data_dir),
            "initialized": self.initialized,
            "version": self._data_version(),
            "log_file": str(log_file) if log_file else None,
        }

    # -- databases -------------------------------------------------------

    def ensure_database(self, name: str) -> str:
        """Create database ``name`` with PostGIS unless it exists; return its URL."""
        _check_db_name(name)
        self._require_running()
        try:
            with self._connect("postgres") as admin:
                # Serialise concurrent callers (server workers starting together):
                # racing CREATE DATABASE / CREATE EXTENSION fail with unique violations.
                admin.execute("SELECT pg_advisory_lock(%s)", (_ENSURE_LOCK_KEY,))
                exists = admin.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                if not exists:
                    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                with self._connect(name) as conn:
                    conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        except psycopg.Error as exc:
            raise ClusterError(f"Could not prepare database {name!r}: {exc}") from exc
        return self.url(name)

    def drop_database(self, name: str) -> bool:
        """Drop database ``name`` (disconnecting its sessions); True when it existed."""
        _check_db_name(name)
        if name in _PROTECTED_DBS:
            raise ClusterError(f"Refusing to drop the system database {name!r}")
        self._require_running()
        try:
            with self._connect("postgres") as conn:
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
                ).fetchone()
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        except psycopg.Error as exc:
            raise ClusterError(f"Could not drop database {name!r}: {exc}") from exc
        return exists is not None

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the startup log and of the newest server log."""
        parts = []
        for path, count in ((self.log_dir / STARTUP_LOG, 5), (self._newest_log(), lines)):
            if path is None:
                continue
            try:
                text = path.read_text(errors="replace").splitlines()[-count:]
            except OSError:
                continue
            if text:
                parts.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(parts)

    # -- internals -------------------------------------------------------

    def _init(self) -> bool:
        if self.initialized:
            return False
        self._prepare_data_dir()
        initdb = [
            str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8",
        ]
        try:
            self._run([*initdb, "--locale=C.UTF-8"], "initdb")
        except ClusterError as exc:
            if "locale" not in str(exc).lower():
                raise
            self._run([*initdb, "--no-locale"], "initdb")  # no C.UTF-8 (old glibc)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# Settings managed by twin (twin/db/cluster.py)\n"
                       f"include_if_exists = '{CONF_FILE}'\n")
        self._write_conf()
        self._make_log_dir()
        return True

    def _prepare_data_dir(self) -> None:
        missing = [p for p in (self.data_dir, *self.data_dir.parents) if not p.exists()]
        for path in reversed(missing):
            path.mkdir()
            path.chmod(0o700 if path == self.data_dir else 0o755)  # umask-proof
        if any(self.data_dir.iterdir()):
            raise ClusterError(
                f"{self.data_dir} is not empty and holds no PostgreSQL cluster; "
                "remove it or set TWIN_DATA_DIR to another directory."
            )
        if os.geteuid() != 0:
            self.data_dir.chmod(0o700)
            return
        user = _ensure_system_user()
        blocked = _blocking_parent(self.data_dir, user)
        if blocked is not None:
            raise ClusterError(
                f"The {user.pw_name} system user, which runs the embedded PostgreSQL when "
                f"twin runs as root, cannot enter {blocked} (mode "
                f"{stat.S_IMODE(blocked.stat().st_mode):o}). Run `chmod o+x {blocked}` or "
                f"set TWIN_DATA_DIR to a directory it can reach (e.g. /var/lib/twin)."
            )
        os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        self.data_dir.chmod(0o700)

    def _write_conf(self) -> None:
        lines = [f"{k} = {v}" for k, v in tuned_settings(self.host, self.port).items()]
        text = "# Written by twin on every start; ALTER SYSTEM overrides these.\n"
        text += "\n".join(lines) + "\n"
        path = self.data_dir / CONF_FILE
        with contextlib.suppress(OSError):
            if path.read_text() == text:
                return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.chmod(0o600)
        self._give_to_owner(tmp)
        tmp.replace(path)

    def _make_log_dir(self) -> None:
        if not self.log_dir.is_dir():
            self.log_dir.mkdir(mode=0o700)
            self._give_to_owner(self.log_dir)

    def _give_to_owner(self, path: Path) -> None:
        if os.geteuid() == 0:
            owner = self.data_dir.stat()
            os.chown(path, owner.st_uid, owner.st_gid)

    def _os_user(self) -> str | None:
        """The OS user to run server binaries as: None for the current one."""
        if os.geteuid() != 0:
            return None
        with contextlib.suppress(OSError, KeyError):
            uid = self.data_dir.stat().st_uid
            if uid != 0:
                return pwd.getpwuid(uid).pw_name
        return SYSTEM_USER

    def _as_user(self, argv: list[str]) -> list[str]:
        user = self._os_user()
        if user is None:
            return argv
        if self._dropper is None:
            self._dropper = _find_dropper(user)
        return [*self._dropper, *argv]

    def _run(self, argv: list[str], what: str, timeout: float = 300.0) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        try:
            proc = subprocess.run(
                self._as_user(argv), check=False, cwd="/", env=env, stdin=subprocess.DEVNULL,
                capture_output=True, text=True, timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(
                f"{what} timed out after {timeout:.0f} s\n{self.log_tail()}"
            ) from exc
        except OSError as exc:
            raise ClusterError(f"{what} could not run: {exc}") from exc
        output = (proc.stdout + proc.stderr).strip()
        if proc.returncode != 0:
            tail = "\n".join(output.splitlines()[-20:])
            raise ClusterError(
                f"{what} failed (exit {proc.returncode}) for {self.data_dir}:\n{tail}\n"
                f"{self.log_tail()}".rstrip()
            )
        return output

    def _connect(self, dbname: str, timeout: int = 5) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname=dbname,
            autocommit=True, connect_timeout=timeout, sslmode="disable",
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._connect("postgres", timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"The cluster in {self.data_dir} does not accept connections on "
                        f"{self.host}:{self.port}: {exc}\n{self.log_tail()}"
                    ) from exc
                time.sleep(0.2)

    def _require_running(self) -> None:
        if not self.is_running():
            raise ClusterError(f"The cluster in {self.data_dir} is not running; start it first.")

    def _pid_file(self) -> list[str] | None:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise ClusterError(f"Cannot read {self.data_dir / 'postmaster.pid'}: {exc}") from exc

    def _pid_file_port(self) -> int | None:
        lines = self._pid_file() or []
        with contextlib.suppress(IndexError, ValueError):
            return int(lines[3])
        return None

    def _live_pid(self, remove_stale: bool) -> int | None:
        """The postmaster's pid, or None; optionally remove a stale ``postmaster.pid``."""
        lines = self._pid_file()
        if lines is None:
            return None
        with contextlib.suppress(IndexError, ValueError):
            pid = int(lines[0])
            if _is_postmaster(pid, self.data_dir):
                return pid
        if remove_stale:
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
        return None

    def _data_version(self) -> str | None:
        try:
            return (self.data_dir / "PG_VERSION").read_text().strip()
        except OSError:
            return None

    def _newest_log(self) -> Path | None:
        try:
            logs = list(self.log_dir.glob("postgresql-*.log"))
            return max(logs, key=lambda p: p.stat().st_mtime) if logs else None
        except OSError:
            return None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialise init/start/stop across processes (a file beside the data dir)."""
        parent = self.data_dir.parent
        parent.mkdir(parents=True, exist_ok=True)
        with open(parent / f".{self.data_dir.name}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


DEFAULT_PORT = 54329
SHARED_ROOT = Path("/var/lib/twin")


def reachable_pgdata(pgdata: Path) -> Path:
    """Where the embedded cluster lives: ``pgdata``, unless twin runs as root and the
    postgres user cannot enter it (a checkout under /root, mode 700): then a directory
    of its own under /var/lib/twin, named after the checkout, instead of failing."""
    pgdata = Path(pgdata).expanduser().absolute()
    if os.geteuid() != 0:
        return pgdata
    try:
        user = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        return pgdata
    if _blocking_parent(pgdata, user) is None:
        return pgdata
    import hashlib

    digest = hashlib.sha1(str(pgdata).encode()).hexdigest()[:10]
    return SHARED_ROOT / f"{pgdata.parent.parent.name or 'twin'}-{digest}" / pgdata.name


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _any_free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def resolve_database_url(settings: Settings, create: bool = True) -> str:
    """``settings.database_url`` when set; else the embedded cluster's database.

    With ``create`` (the default) the embedded cluster is created and started
    as needed and ``settings.embedded_database`` is created with PostGIS;
    without it, only the URL is computed.
    """
    if settings.database_url:
        return settings.database_url
    cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
    if not create:
        return cluster.url(settings.embedded_database)
    cluster.start()
    return cluster.ensure_database(settings.embedded_database)


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ClusterError(
            f"Invalid database name {name!r}: use letters, digits, _ and -, at most 63, "
            "starting with a letter or _."
        )


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in name.split("."))
    except ValueError:
        return (-1,)


def _is_postmaster(pid: int, data_dir: Path) -> bool:
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


def _ensure_system_user() -> pwd.struct_passwd:
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


def _blocking_parent(path: Path, user: pwd.struct_passwd) -> Path | None:
    """The first ancestor of ``path`` that ``user`` may not enter, if any."""
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for parent in reversed(path.parents):
        if not parent.exists():
            return None  # twin creates the rest with mode 755
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


def _find_dropper(user: str) -> list[str]:
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
