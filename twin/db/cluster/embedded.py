"""The embedded cluster: one data directory, one server on 127.0.0.1, its databases."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from twin.db.cluster import auth
from twin.db.cluster.auth import SUPERUSER
from twin.db.cluster.binaries import find_bin_dir
from twin.db.cluster.errors import ClusterError
from twin.db.cluster.initdb import make_parents, prepare_data_dir, run_initdb
from twin.db.cluster.location import private_dir, server_group
from twin.db.cluster.ports import choose_port
from twin.db.cluster.process import live_pid, pid_file_port
from twin.db.cluster.runner import Runner
from twin.db.cluster.tuning import LOG_DIR, write_conf

STARTUP_LOG = "startup.log"  # pg_ctl -l: what the server says before its log collector runs
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,62}$")
_PROTECTED_DBS = frozenset({"postgres", "template0", "template1"})
_ENSURE_LOCK_KEY = 0x7477696E  # "twin": pg_advisory_lock key held by ensure_database


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
        self._runner = Runner(self.data_dir, self.log_tail)

    @property
    def port(self) -> int:
        """The given port, else the one this data directory used before, else 54329 when
        free, else any free port (so a second checkout never collides with the first)."""
        if self._port is None:
            running = pid_file_port(self.data_dir) if self._live_pid(False) else None
            self._port = choose_port(self.data_dir, self.host, running)
        return self._port

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

    @property
    def password_file(self) -> Path:
        """The superuser's password (0600), beside the data directory."""
        return auth.password_file(self.data_dir)

    @property
    def password(self) -> str:
        """The superuser's password, made the first time it is asked for."""
        return auth.read_password(self.data_dir)

    def url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` in this cluster, with the password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        password = quote(self.password, safe="")
        return f"postgresql+psycopg://{SUPERUSER}:{password}@{host}:{self.port}/{name}"

    # -- lifecycle -------------------------------------------------------

    def init(self) -> bool:
        """Create the cluster unless it exists; True when it was created."""
        with self._lock():
            return self._init()

    def start(self, timeout: float = 120.0) -> bool:
        """Start the server unless it runs; wait until it accepts connections.

        Returns True when this call started it. A ``postmaster.pid`` left by a
        crash (its process gone or not ours) is removed first. A cluster still
        trusting local connections (made by an older twin) gets a password first
        (:mod:`twin.db.cluster.auth`), running or not.
        """
        with self._lock():
            self._init()
            if self._live_pid(remove_stale=True) is not None:
                running_port = pid_file_port(self.data_dir)
                if running_port not in (None, self.port):
                    raise ClusterError(
                        f"The cluster in {self.data_dir} already runs on port {running_port}, "
                        f"not {self.port}; stop it first (twin db stop)."
                    )
                self._wait_ready(timeout)
                self._secure_running()
                return False
            self._secure_stopped()
            write_conf(self.data_dir, self.host, self.port, self._runner.owner())
            self._make_log_dir()
            self._runner.run(
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
            self._runner.run(
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
            "port": (pid_file_port(self.data_dir) if pid else None) or self.port,
            "data_dir": str(self.data_dir),
            "initialized": self.initialized,
            "version": self._data_version(),
            "log_file": str(log_file) if log_file else None,
            "password_file": str(self.password_file),
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
        created = False
        if not self.initialized:
            prepare_data_dir(self.data_dir)
            run_initdb(self._runner, self.bin_dir, self.data_dir, self.password)
            write_conf(self.data_dir, self.host, self.port, self._runner.owner())
            self._make_log_dir()
            created = True
        # The folder holding the data directory, its port and its password: ours alone
        # (the server's group may pass through when the server runs as another user).
        private_dir(self.data_dir.parent, server_group(self.data_dir))
        return created

    def _secure_running(self) -> None:
        """A running cluster without twin's pg_hba.conf (made with trust): give the
        superuser the password, admit only connections that bring it, reload."""
        if auth.hba_current(self.data_dir):
            return
        with self._connect("postgres") as conn:
            conn.execute(auth.alter_role_sql(self.password))
            auth.write_hba(self.data_dir, self._runner.owner())
            conn.execute("SELECT pg_reload_conf()")
        auth.wait_until_refused(self._admits_a_wrong_password)

    def _secure_stopped(self) -> None:
        """A stopped cluster without twin's pg_hba.conf, or with a password not yet given
        to it: set the password in single-user mode (no network), then write pg_hba.conf."""
        if auth.hba_current(self.data_dir):
            return
        self._runner.run(
            [str(self.bin_dir / "postgres"), "--single", "-D", str(self.data_dir),
             "-c", "exit_on_error=on", "postgres"],
            "setting the superuser's password (postgres --single)",
            stdin=auth.alter_role_sql(self.password) + ";\n",
        )
        auth.write_hba(self.data_dir, self._runner.owner())

    def _admits_a_wrong_password(self) -> bool:
        try:
            with self._connect("postgres", password="not-" + self.password):
                return True
        except psycopg.OperationalError:
            return False

    def _make_log_dir(self) -> None:
        if not self.log_dir.is_dir():
            self.log_dir.mkdir(mode=0o700)
            self._runner.give_to_owner(self.log_dir)

    def _connect(self, dbname: str, timeout: int = 5,
                 password: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname=dbname,
            password=password or self.password, autocommit=True, connect_timeout=timeout,
            sslmode="disable",
        )

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._connect("postgres", timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if "password authentication failed" in str(exc):
                    raise ClusterError(
                        f"The cluster in {self.data_dir} refuses the password in "
                        f"{self.password_file}. If that file was lost or replaced: stop the "
                        "cluster (twin db stop) and start it again; twin gives a stopped "
                        "cluster the password in the file."
                    ) from exc
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"The cluster in {self.data_dir} does not accept connections on "
                        f"{self.host}:{self.port}: {exc}\n{self.log_tail()}"
                    ) from exc
                time.sleep(0.2)

    def _require_running(self) -> None:
        if not self.is_running():
            raise ClusterError(f"The cluster in {self.data_dir} is not running; start it first.")

    def _live_pid(self, remove_stale: bool) -> int | None:
        return live_pid(self.data_dir, remove_stale)

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
        make_parents(self.data_dir)
        path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                       "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _check_db_name(name: str) -> None:
    if not _DB_NAME.match(name):
        raise ClusterError(
            f"Invalid database name {name!r}: use letters, digits, _ and -, at most 63, "
            "starting with a letter or _."
        )
