"""Who may reach the embedded cluster and twin's data, for real, on throwaway clusters.

The cluster admits only TCP from the loopback with the superuser's generated password
(SCRAM); the password lives in a 0600 file in a private folder; a cluster made by an
older twin with ``--auth=trust`` is upgraded in place, running (no restart) or stopped;
twin commands keep the data directory and what they write private.

Like tests/test_cluster.py, the clusters live in a 0755 directory made under /tmp: the
``postgres`` system user (who runs the server when the tests run as root) cannot enter
pytest's 0700 ``tmp_path``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from twin.config import Settings
from twin.datadir import protect_data_dir
from twin.db.cluster import ClusterError, EmbeddedCluster, find_bin_dir, resolve_database_url

try:
    find_bin_dir()
except ClusterError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no PostgreSQL with PostGIS here: {exc}", allow_module_level=True)

WAIT_S = 60  # cap of the polling loops (never asserted as a duration)
# pg_hba.conf as `initdb --auth=trust` wrote it for twin before passwords.
TRUST_HBA = """\
local   all             all                                     trust
host    all             all             127.0.0.1/32            trust
host    all             all             ::1/128                 trust
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def connect(cluster: EmbeddedCluster, password: str | None) -> psycopg.Connection:
    """A connection as the superuser with ``password`` (None: none at all; never one
    from ~/.pgpass or the environment)."""
    extra = {"password": password} if password is not None else {}
    return psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres",
                           dbname="postgres", passfile=os.devnull, sslmode="disable",
                           connect_timeout=5, autocommit=True, **extra)


def admitted(cluster: EmbeddedCluster, password: str | None) -> bool:
    try:
        with connect(cluster, password) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


def hba_rules(data_dir: Path) -> list[list[str]]:
    return sorted(line.split() for line in (data_dir / "pg_hba.conf").read_text().splitlines()
                  if line.strip() and not line.lstrip().startswith("#"))


SCRAM_LOOPBACK = [["host", "all", "all", "127.0.0.1/32", "scram-sha-256"],
                  ["host", "all", "all", "::1/128", "scram-sha-256"]]


def assert_private_folder(folder: Path, pgdata: Path) -> None:
    """0700, or (twin as root, the server run by postgres) 0710 with the server's group."""
    if os.geteuid() == 0 and pgdata.exists() and pgdata.stat().st_uid != 0:
        assert mode(folder) == 0o710, oct(mode(folder))
        assert folder.stat().st_gid == pgdata.stat().st_gid
    else:
        assert mode(folder) == 0o700, oct(mode(folder))


def make_trust_cluster(data_dir: Path, port: int) -> EmbeddedCluster:
    """A running cluster as twin made it before passwords: every local connection trusted,
    the superuser without a password, no password file."""
    cluster = EmbeddedCluster(data_dir, port)
    cluster.start()
    with connect(cluster, cluster.password) as conn:
        conn.execute("ALTER ROLE postgres PASSWORD NULL")
        hba = data_dir / "pg_hba.conf"
        hba.write_text(TRUST_HBA)
        if os.geteuid() == 0:
            os.chown(hba, data_dir.stat().st_uid, data_dir.stat().st_gid)
        conn.execute("SELECT pg_reload_conf()")
    cluster.password_file.unlink()
    deadline = time.monotonic() + WAIT_S
    while not admitted(cluster, None):
        assert time.monotonic() < deadline, "the trust pg_hba.conf was never loaded"
        time.sleep(0.05)
    return cluster


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="twin-security-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def secured(workdir):
    """A new cluster made through the settings, as `twin` makes it."""
    settings = Settings(database_url=None, data_dir=workdir / "data", _env_file=None,
                        embedded_port=free_port(), embedded_database="twin_secure")
    url = resolve_database_url(settings)
    cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
    yield cluster, url, settings
    cluster.stop()


# --- a new cluster ---------------------------------------------------------------------

def test_url_carries_the_password_from_the_file(secured):
    cluster, url, _ = secured
    password = cluster.password_file.read_text().strip()
    assert len(password) >= 40
    assert url == f"postgresql+psycopg://postgres:{password}@127.0.0.1:{cluster.port}/twin_secure"
    with psycopg.connect(libpq(url)) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "postgres"
        assert conn.execute("SELECT postgis_version()").fetchone()[0]


def test_connections_without_the_password_are_refused(secured):
    cluster, _, _ = secured
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        connect(cluster, None)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(cluster, "not-the-password")
    assert admitted(cluster, cluster.password)


def test_password_file_and_folders_are_private(secured):
    cluster, _, settings = secured
    assert cluster.password_file.parent == settings.data_dir == cluster.data_dir.parent
    assert mode(cluster.password_file) == 0o600
    assert cluster.password_file.stat().st_uid == os.geteuid()
    assert_private_folder(settings.data_dir, cluster.data_dir)
    assert mode(cluster.data_dir) == 0o700
    assert cluster.status()["password_file"] == str(cluster.password_file)


def test_only_loopback_tcp_with_scram_is_admitted(secured):
    cluster, url, _ = secured
    assert hba_rules(cluster.data_dir) == SCRAM_LOOPBACK
    with psycopg.connect(libpq(url)) as conn:
        loaded = conn.execute("SELECT type, address, auth_method, error "
                              "FROM pg_hba_file_rules ORDER BY line_number").fetchall()
        assert loaded == [("host", "127.0.0.1", "scram-sha-256", None),
                          ("host", "::1", "scram-sha-256", None)]
        assert conn.execute("SHOW unix_socket_directories").fetchone()[0] == ""
        stored = conn.execute("SELECT rolpassword FROM pg_authid "
                              "WHERE rolname = 'postgres'").fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$4096:")


def test_the_password_is_in_no_server_log(secured):
    cluster, _, _ = secured
    password = cluster.password
    logs = [p for p in cluster.log_dir.iterdir() if p.is_file()]
    assert logs
    assert not [p for p in logs if password in p.read_text(errors="replace")]


# --- clusters made before passwords ------------------------------------------------------

def test_running_trust_cluster_is_upgraded_without_a_restart(workdir):
    data_dir = workdir / "running" / "pgdata"
    old = make_trust_cluster(data_dir, free_port())
    try:
        pid = old.status()["pid"]
        with connect(old, None) as pooled:  # held by a process of the older twin
            new = EmbeddedCluster(data_dir, old.port)
            assert new.start() is False  # it was running: upgraded in place
            assert new.status()["pid"] == pid
            assert pooled.execute("SELECT 1").fetchone() == (1,)  # open sessions go on
        assert mode(new.password_file) == 0o600
        assert not admitted(new, None)
        assert not admitted(new, "guess")
        with psycopg.connect(libpq(new.ensure_database("after_upgrade"))) as conn:
            assert conn.execute("SELECT postgis_version()").fetchone()[0]
        assert hba_rules(data_dir) == SCRAM_LOOPBACK
        assert_private_folder(data_dir.parent, data_dir)
        assert new.start() is False  # again: nothing left to do
        assert admitted(new, new.password)
    finally:
        old.stop()


def test_stopped_trust_cluster_gets_its_password_before_it_listens(workdir):
    data_dir = workdir / "stopped" / "pgdata"
    old = make_trust_cluster(data_dir, free_port())
    old.stop()
    try:
        new = EmbeddedCluster(data_dir, old.port)
        assert new.start() is True
        assert not admitted(new, None)
        assert admitted(new, new.password)
        assert hba_rules(data_dir) == SCRAM_LOOPBACK
        logs = [p for p in new.log_dir.iterdir() if p.is_file()]
        assert not [p for p in logs if new.password in p.read_text(errors="replace")]
    finally:
        old.stop()


def test_a_lost_password_file_is_replaced_while_the_cluster_is_stopped(workdir):
    cluster = EmbeddedCluster(workdir / "lost" / "pgdata", free_port())
    cluster.start()
    try:
        first = cluster.password
        cluster.password_file.unlink()
        with pytest.raises(ClusterError, match="twin db stop"):
            cluster.start()  # running: its password cannot be changed without it
        assert cluster.stop() is True
        assert cluster.start() is True
        assert cluster.password != first
        assert admitted(cluster, cluster.password)
        assert not admitted(cluster, first)
    finally:
        cluster.stop()


# --- twin's data directory -----------------------------------------------------------------

def test_twin_commands_keep_the_data_directory_private(workdir):
    """An older twin's data directory (0755 folders, 0644 files) is closed by the next
    twin command, and what twin writes there is its owner's alone (umask 077)."""
    data = workdir / "cli-data"
    for folder in ("demo", "jobs", "rasters/dem"):
        (data / folder).mkdir(parents=True, mode=0o755)
        (data / folder).chmod(0o755)
    for name in ("demo/hanoi.gpkg", "jobs/job-1.json", "rasters/dem/hanoi-dem.tif",
                 "demo-keys.txt"):
        (data / name).write_text("owner: Nguyễn Văn A\n")
        (data / name).chmod(0o644)
    data.chmod(0o755)
    env = {**os.environ, "TWIN_DATA_DIR": str(data), "TWIN_EMBEDDED_PORT": str(free_port())}
    env.pop("TWIN_DATABASE_URL", None)
    twin = [sys.executable, "-c", "from twin.cli import main; main()"]
    started = subprocess.run([*twin, "db", "start"], env=env, capture_output=True, text=True,
                             timeout=300, check=False)
    try:
        assert started.returncode == 0, started.stderr
        pgdata = Settings(data_dir=data, _env_file=None).pgdata
        password = (pgdata.parent / ".pgdata.password").read_text().strip()
        assert password not in started.stdout + started.stderr  # the URL is shown without it
        assert_private_folder(data, pgdata)
        for folder in ("demo", "jobs", "rasters", "rasters/dem"):
            assert mode(data / folder) == 0o700, folder
        for name in ("demo/hanoi.gpkg", "jobs/job-1.json", "rasters/dem/hanoi-dem.tif",
                     "demo-keys.txt", ".pgdata.lock", ".pgdata.password"):
            assert mode(data / name) & 0o077 == 0, name  # written before or by the command
    finally:
        subprocess.run([*twin, "db", "stop"], env=env, capture_output=True, timeout=300,
                       check=False)


def test_protect_leaves_the_cluster_and_system_folders_alone(workdir):
    data = workdir / "protect"
    pgdata = data / "pgdata"
    pgdata.mkdir(parents=True)
    pgdata.chmod(0o700)
    for name in ("rasters", "someone-elses"):
        (data / name).mkdir(mode=0o777)
        (data / name).chmod(0o777)
    protect_data_dir(data)
    assert mode(data / "rasters") == 0o700
    assert mode(data / "someone-elses") == 0o777  # not twin's: left as it is
    assert mode(pgdata) == 0o700
    before = mode(Path("/tmp"))
    protect_data_dir(Path("/tmp"))  # a misconfigured TWIN_DATA_DIR changes nothing
    assert mode(Path("/tmp")) == before == 0o1777
    if os.geteuid() == 0:
        assert pwd.getpwuid(data.stat().st_uid).pw_name == "root"


def test_a_command_using_another_database_keeps_the_cluster_reachable(workdir):
    """With TWIN_DATABASE_URL set, a twin command still leaves the embedded cluster's
    user its way through the data directory: a server locked out of its data directory
    shuts down (this once took the shared test cluster down)."""
    data = workdir / "with-url"
    cluster = EmbeddedCluster(data / "pgdata", free_port())
    cluster.start()
    try:
        data.chmod(0o755)
        env = {**os.environ, "TWIN_DATA_DIR": str(data),
               "TWIN_DATABASE_URL": "postgresql+psycopg://someone@db.example:5432/other"}
        twin = [sys.executable, "-c", "from twin.cli import main; main()"]
        done = subprocess.run([*twin, "db", "status"], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert_private_folder(data, cluster.data_dir)
        assert cluster.is_running() and admitted(cluster, cluster.password)
    finally:
        cluster.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="the postgres system user is used only as root")
def test_an_existing_cluster_is_never_moved_to_var_lib(workdir):
    """Its folder closed to the postgres user (0700), an existing cluster stays where it
    is (a move would start an empty one) and starting it reopens the folder (0710)."""
    data = workdir / "closed-later"
    cluster = EmbeddedCluster(data / "pgdata", free_port())
    cluster.start()
    cluster.stop()
    data.chmod(0o700)
    settings = Settings(database_url=None, data_dir=data, _env_file=None)
    assert settings.pgdata == cluster.data_dir
    try:
        assert cluster.start() is True
        assert_private_folder(data, cluster.data_dir)
        assert admitted(cluster, cluster.password)
    finally:
        cluster.stop()


def test_the_cluster_package_does_not_import_the_settings():
    """twin.config uses twin.db.cluster.location; nothing in twin.db.cluster imports
    twin.config (no import circle)."""
    code = ("import sys, twin.db.cluster; "
            "print(sorted(m for m in sys.modules if m == 'twin.config'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"
