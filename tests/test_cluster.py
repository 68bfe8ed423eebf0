"""The embedded PostgreSQL + PostGIS cluster, run for real in a throwaway directory.

pytest's ``tmp_path`` lives under a 0700 directory that the ``postgres``
system user (who runs the server when the tests run as root) cannot enter,
so the clusters live in a 0755 directory made under /tmp.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from twin.config import load_settings
from twin.db.cluster import (
    ClusterError,
    EmbeddedCluster,
    find_bin_dir,
    resolve_database_url,
    tuned_settings,
)

try:
    find_bin_dir()
except ClusterError as exc:  # pragma: no cover - depends on the machine
    pytest.skip(f"no PostgreSQL with PostGIS here: {exc}", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def libpq_url(url: str) -> str:
    """psycopg takes the SQLAlchemy URL without its driver suffix."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="twin-cluster-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(workdir):
    cluster = EmbeddedCluster(workdir / "shared" / "pgdata", free_port())
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def fresh(workdir):
    """A second cluster for tests that stop, crash or restart it (each starts it)."""
    cluster = EmbeddedCluster(workdir / "lifecycle" / "pgdata", free_port())
    yield cluster
    cluster.stop()


def test_bin_dir_has_server_and_postgis(cluster):
    assert (cluster.bin_dir / "initdb").is_file()
    assert (cluster.bin_dir / "pg_ctl").is_file()
    version = cluster.bin_dir.parent.name
    assert Path(f"/usr/share/postgresql/{version}/extension/postgis.control").is_file()


def test_status_of_running_cluster(cluster):
    status = cluster.status()
    assert status["running"] is True
    assert status["port"] == cluster.port
    assert status["data_dir"] == str(cluster.data_dir)
    assert status["version"] == cluster.bin_dir.parent.name
    assert status["initialized"] is True
    os.kill(status["pid"], 0)  # the postmaster is alive
    assert cluster.is_running()


def test_server_is_tuned_and_local_only(cluster):
    url = cluster.ensure_database("twin_settings")
    with psycopg.connect(libpq_url(url)) as conn:
        show = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("jit", "work_mem", "max_connections", "fsync",
                         "listen_addresses", "unix_socket_directories", "logging_collector")
        }
    assert show == {
        "jit": "off", "work_mem": "32MB", "max_connections": "200", "fsync": "on",
        "listen_addresses": "127.0.0.1", "unix_socket_directories": "",
        "logging_collector": "on",
    }
    assert cluster.status()["log_file"].startswith(str(cluster.data_dir / "log"))


def test_second_start_is_a_no_op(cluster):
    pid = cluster.status()["pid"]
    assert cluster.start() is False
    assert cluster.init() is False
    assert cluster.status()["pid"] == pid


def test_ensure_database_creates_postgis(cluster):
    url = cluster.ensure_database("twin_gis")
    password = cluster.password_file.read_text().strip()  # the URL carries the password
    assert url == f"postgresql+psycopg://postgres:{password}@127.0.0.1:{cluster.port}/twin_gis"
    with psycopg.connect(libpq_url(url)) as conn:
        version = conn.execute("SELECT postgis_version()").fetchone()[0]
        assert version.startswith("3.")
        area = conn.execute(
            "SELECT ST_Area(ST_MakeEnvelope(105.8, 21.0, 105.9, 21.1, 4326)::geography) > 1e7"
        ).fetchone()[0]
        assert area is True
    assert cluster.ensure_database("twin_gis") == url  # idempotent


def test_url_works_with_sqlalchemy(cluster):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(cluster.ensure_database("twin_sqla"))
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT current_user")).scalar() == "postgres"
    finally:
        engine.dispose()


def test_drop_database(cluster):
    cluster.ensure_database("twin_dropme")
    assert cluster.drop_database("twin_dropme") is True
    assert cluster.drop_database("twin_dropme") is False
    with psycopg.connect(libpq_url(cluster.url("postgres"))) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    assert "twin_dropme" not in names
    with pytest.raises(ClusterError, match="system database"):
        cluster.drop_database("postgres")


@pytest.mark.parametrize("name", ["", "bad name", "x;drop", "1abc", "a" * 64])
def test_bad_database_names_are_refused(cluster, name):
    with pytest.raises(ClusterError, match="Invalid database name"):
        cluster.ensure_database(name)


def test_data_survives_stop_and_start(fresh):
    fresh.stop()
    assert fresh.start() is True
    url = libpq_url(fresh.ensure_database("keep"))
    with psycopg.connect(url) as conn:
        conn.execute("CREATE TABLE kept (id int PRIMARY KEY, geom geometry(Point, 4326))")
        conn.execute("INSERT INTO kept VALUES (1, ST_SetSRID(ST_MakePoint(105.85, 21.03), 4326))")
    assert fresh.stop() is True
    assert not fresh.is_running()
    assert fresh.status()["pid"] is None
    assert fresh.stop() is False  # already stopped
    with pytest.raises(ClusterError, match="not running"):
        fresh.ensure_database("keep")
    assert fresh.start() is True
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT ST_X(geom) FROM kept WHERE id = 1").fetchone()[0] == 105.85


def test_start_after_crash_with_stale_pid_file(fresh):
    fresh.start()
    pid = fresh.status()["pid"]
    os.kill(pid, 9)  # no shutdown: postmaster.pid stays behind
    _wait_until_stopped(fresh)
    assert (fresh.data_dir / "postmaster.pid").exists()
    assert fresh.is_running() is False
    assert fresh.start() is True  # removes the stale file, runs crash recovery
    assert fresh.status()["pid"] != pid
    assert fresh.ensure_database("after_crash").endswith("/after_crash")


def test_pid_file_naming_an_unrelated_process_is_stale(fresh):
    fresh.start()
    fresh.stop()
    # After a reboot the recorded pid may belong to any process, e.g. this one.
    pid_file = fresh.data_dir / "postmaster.pid"
    pid_file.write_text(f"{os.getpid()}\n{fresh.data_dir}\n0\n{fresh.port}\n\n127.0.0.1\n")
    assert fresh.is_running() is False
    assert fresh.start() is True
    assert fresh.status()["pid"] != os.getpid()


def test_running_on_another_port_is_reported(cluster):
    moved = EmbeddedCluster(cluster.data_dir, free_port())
    with pytest.raises(ClusterError, match="already runs on port"):
        moved.start()


def test_port_in_use_fails_with_log(fresh):
    fresh.stop()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        cluster = EmbeddedCluster(fresh.data_dir, busy.getsockname()[1])
        with pytest.raises(ClusterError, match="pg_ctl start failed") as info:
            cluster.start(timeout=20)
    assert "could not bind" in str(info.value) or "in use" in str(info.value)
    assert not cluster.is_running()
    assert fresh.start() is True  # the failed start left nothing behind


def test_non_empty_foreign_directory_is_refused(workdir):
    data_dir = workdir / "foreign"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("not a cluster")
    with pytest.raises(ClusterError, match="not empty"):
        EmbeddedCluster(data_dir, free_port()).init()


@pytest.mark.skipif(os.geteuid() != 0, reason="the postgres system user is used only as root")
def test_unreachable_parent_is_explained(workdir):
    closed = workdir / "closed"
    closed.mkdir(mode=0o700)
    closed.chmod(0o700)
    with pytest.raises(ClusterError, match=rf"chmod o\+x {closed}"):
        EmbeddedCluster(closed / "pgdata", free_port()).init()


def test_missing_postgis_names_the_package(tmp_path):
    lib, share = tmp_path / "lib", tmp_path / "share"
    for version in ("13", "16"):
        (lib / version / "bin").mkdir(parents=True)
        (lib / version / "bin" / "initdb").touch()
    (share / "13" / "extension").mkdir(parents=True)
    (share / "13" / "extension" / "postgis.control").touch()
    assert find_bin_dir(lib_root=lib, share_root=share) == lib / "13" / "bin"
    with pytest.raises(ClusterError, match="postgresql-16-postgis-3"):
        find_bin_dir("16", lib_root=lib, share_root=share)
    with pytest.raises(ClusterError, match="postgresql-15-postgis-3"):
        find_bin_dir(lib_root=tmp_path / "nothing", share_root=share)


def test_newest_version_with_postgis_wins(tmp_path):
    lib, share = tmp_path / "lib", tmp_path / "share"
    for version in ("9.6", "15", "16"):
        (lib / version / "bin").mkdir(parents=True)
        (lib / version / "bin" / "initdb").touch()
        (share / version / "extension").mkdir(parents=True)
        (share / version / "extension" / "postgis.control").touch()
    assert find_bin_dir(lib_root=lib, share_root=share) == lib / "16" / "bin"


def test_tuned_settings():
    settings = tuned_settings("127.0.0.1", 55555)
    assert settings["jit"] == "off"
    assert settings["port"] == "55555"
    assert settings["fsync"] == "on"
    assert 128 <= int(settings["shared_buffers"].removesuffix("MB")) <= 512


def test_resolve_database_url_prefers_configured_url(workdir):
    url = "postgresql+psycopg://someone@db.example:5432/hanoi"
    settings = load_settings(database_url=url, data_dir=workdir / "unused")
    assert resolve_database_url(settings) == url
    assert not (workdir / "unused").exists()


def test_resolve_database_url_starts_embedded_cluster(workdir):
    settings = load_settings(
        database_url=None, data_dir=workdir / "resolve", embedded_port=free_port(),
        embedded_database="twin_resolved",
    )
    computed = resolve_database_url(settings, create=False)
    password = (settings.pgdata.parent / ".pgdata.password").read_text().strip()
    expected = (f"postgresql+psycopg://postgres:{password}@127.0.0.1:{settings.embedded_port}"
                "/twin_resolved")
    assert computed == expected
    assert not settings.pgdata.exists()
    cluster = EmbeddedCluster(settings.pgdata, settings.embedded_port)
    try:
        assert resolve_database_url(settings) == expected
        assert cluster.is_running()
        with psycopg.connect(libpq_url(expected)) as conn:
            assert conn.execute("SELECT postgis_version()").fetchone()[0]
    finally:
        cluster.stop()


def test_concurrent_starts_share_one_server(workdir):
    """Two processes (e.g. two server workers) resolving the URL at once."""
    data_dir, port = workdir / "race" / "pgdata", free_port()
    code = (
        "import sys; from pathlib import Path; from twin.db.cluster import EmbeddedCluster as C;"
        "c = C(Path(sys.argv[1]), int(sys.argv[2])); c.start(); print(c.ensure_database('race'))"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(data_dir), str(port)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], results
        password = (data_dir.parent / ".pgdata.password").read_text().strip()
        assert {out.strip() for out, _ in results} == {
            f"postgresql+psycopg://postgres:{password}@127.0.0.1:{port}/race"
        }
    finally:
        EmbeddedCluster(data_dir, port).stop()


def _wait_until_stopped(cluster: EmbeddedCluster, timeout: float = 10.0) -> None:
    """A killed postmaster may linger as a zombie; is_running() says it is gone."""
    deadline = time.monotonic() + timeout
    while cluster.is_running():
        assert time.monotonic() < deadline, "the killed postmaster is still running"
        time.sleep(0.05)


def test_port_is_chosen_once_and_avoids_a_busy_default(workdir):
    """A second checkout (e.g. CI's fresh clone) must not collide with a cluster that
    already holds 54329: it picks a free port and keeps using it."""
    import socket

    from twin.db.cluster import DEFAULT_PORT

    blocker = socket.socket()
    try:
        try:
            blocker.bind(("127.0.0.1", DEFAULT_PORT))
            blocker.listen()
        except OSError:
            pass  # the default is already busy (another cluster): just as good
        first = EmbeddedCluster(workdir / "autoport" / "pgdata")
        assert first.port != DEFAULT_PORT
        again = EmbeddedCluster(workdir / "autoport" / "pgdata")
        assert again.port == first.port  # remembered beside the data directory
    finally:
        blocker.close()


def test_a_checkout_the_postgres_user_cannot_enter_gets_a_cluster_it_can(tmp_path):
    """Root's checkout under /root (mode 700): the cluster moves to /var/lib/twin."""
    import os

    from twin.db.cluster import reachable_pgdata

    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    target = reachable_pgdata(private / "repo" / ".twin" / "pgdata")
    if os.geteuid() == 0:
        assert str(target).startswith("/var/lib/twin/") and target.name == "pgdata"
        assert reachable_pgdata(private / "repo" / ".twin" / "pgdata") == target  # stable
    else:
        assert target == private / "repo" / ".twin" / "pgdata"
