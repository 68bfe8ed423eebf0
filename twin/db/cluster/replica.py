"""Streaming replicas of the embedded cluster (``twin db replica create|list|drop``).

For tests and small deployments: each replica is a hot standby made by
``pg_basebackup -R`` over a physical replication slot, in ``<data dir's parent>/replicas/N``
(``.twin/replicas/N`` by default), on its own loopback port, read-only. Serve reads from
it with ``TWIN_REPLICA_URLS`` (:func:`replica_url` gives the URL).

Making the first replica prepares the primary once: a marker file in its data directory
(so twin's ``pg_hba.conf`` admits the replication role, SCRAM over loopback, on every
start: :mod:`.auth`), the ``twin_replicator`` role (REPLICATION, its generated password
in ``.replicator.password`` beside the data directory, given to the server as a SCRAM
verifier), and ``wal_level = replica`` with WAL senders and slots (``ALTER SYSTEM``,
which overrides twin.conf's ``wal_level = minimal``); a change of ``wal_level`` restarts
the primary. Bulk loads then write WAL for new tables too: they become slower.

A replica's ``primary_conninfo`` names a password file (0600, owned by the server's
user) beside its data directory, never the password itself.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from twin.db.cluster import auth
from twin.db.cluster.embedded import EmbeddedCluster
from twin.db.cluster.errors import ClusterError
from twin.db.cluster.initdb import prepare_data_dir
from twin.db.cluster.location import private_dir, server_group
from twin.db.cluster.ports import any_free_port, port_free
from twin.db.cluster.process import live_pid
from twin.db.cluster.runner import Runner

REPLICAS_DIR = "replicas"
AUTO_CONF = "postgresql.auto.conf"
_PRIMARY_SETTINGS = {"wal_level": "replica", "max_wal_senders": "10",
                     "max_replication_slots": "10", "hot_standby": "on"}


@dataclass
class ReplicaInfo:
    index: int
    data_dir: Path
    port: int
    slot: str

    @property
    def running(self) -> bool:
        return live_pid(self.data_dir, remove_stale=False) is not None

    def describe(self) -> dict:
        return {"replica": self.index, "port": self.port, "slot": self.slot,
                "running": self.running, "data_dir": str(self.data_dir)}


def replicas_root(cluster: EmbeddedCluster) -> Path:
    return cluster.data_dir.parent / REPLICAS_DIR


def slot_name(index: int) -> str:
    return f"twin_replica_{index}"


def replica_url(cluster: EmbeddedCluster, replica: ReplicaInfo, database: str) -> str:
    """SQLAlchemy URL of ``database`` on the replica (the primary's superuser and
    password: the replica is a copy of the primary)."""
    return make_url(cluster.url(database)).set(port=replica.port).render_as_string(False)


def replicator_password(cluster: EmbeddedCluster) -> str:
    return auth.read_password(cluster.data_dir.parent / "replicator")


def enable_replication(cluster: EmbeddedCluster) -> bool:
    """Prepare the running primary for replicas; True when it had to be restarted."""
    mark = cluster.data_dir / auth.REPLICATION_MARK
    if not mark.is_file():
        mark.write_text("replicas stream from this cluster (twin db replica create)\n")
        Runner(cluster.data_dir, cluster.log_tail).give_to_owner(mark)
        auth.write_hba(cluster.data_dir, Runner(cluster.data_dir, cluster.log_tail).owner())
    verifier = auth.scram_verifier(replicator_password(cluster))
    with _connect(cluster) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                              (auth.REPLICATION_USER,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        # the verifier's alphabet (base64, '$', ':') needs no quoting
        conn.execute(f"{verb} ROLE {auth.REPLICATION_USER} WITH REPLICATION LOGIN "
                     f"PASSWORD '{verifier}'")
        current = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
            (list(_PRIMARY_SETTINGS),)).fetchall())
        for name, value in _PRIMARY_SETTINGS.items():
            conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        conn.execute("SELECT pg_reload_conf()")
    restart = current.get("wal_level") == "minimal" or current.get("max_wal_senders") == "0"
    if restart:
        cluster.stop()
        cluster.start()
    return restart


def create_replica(cluster: EmbeddedCluster, port: int | None = None) -> ReplicaInfo:
    """A new streaming replica of the (started) ``cluster``, started."""
    cluster.start()
    enable_replication(cluster)
    root = replicas_root(cluster)
    private_dir(root, server_group(cluster.data_dir))  # the server's user passes through
    index = 1 + max((r.index for r in list_replicas(cluster)), default=0)
    if port is not None and not port_free(cluster.host, port):
        raise ClusterError(f"port {port} is in use; choose another (--port)")
    info = ReplicaInfo(index, root / str(index), port or any_free_port(cluster.host),
                       slot_name(index))
    with _connect(cluster) as conn:
        if not conn.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s",
                            (info.slot,)).fetchone():
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", (info.slot,))
    try:
        _base_backup(cluster, info)
        start_replica(info)
    except BaseException:
        drop_replica(cluster, info.index)
        raise
    return info


def _base_backup(cluster: EmbeddedCluster, info: ReplicaInfo) -> None:
    prepare_data_dir(info.data_dir)
    runner = Runner(info.data_dir, lambda: "")
    passfile = _passfile(cluster, info, runner)
    conninfo = (f"host={cluster.host} port={cluster.port} user={auth.REPLICATION_USER} "
                f"passfile={passfile} sslmode=disable application_name={info.slot}")
    runner.run([str(cluster.bin_dir / "pg_basebackup"), "-D", str(info.data_dir),
                "-d", conninfo, "-S", info.slot, "-R", "-X", "stream", "-c", "fast",
                "--no-password"], "pg_basebackup", timeout=3600)
    with (info.data_dir / AUTO_CONF).open("a") as conf:  # later lines win
        conf.write(f"# twin db replica create\nport = '{info.port}'\n"
                   f"primary_conninfo = '{conninfo}'\nprimary_slot_name = '{info.slot}'\n")
    log_dir = info.data_dir / "log"
    if not log_dir.is_dir():
        log_dir.mkdir(mode=0o700)
        runner.give_to_owner(log_dir)


def _passfile(cluster: EmbeddedCluster, info: ReplicaInfo, runner: Runner) -> Path:
    path = info.data_dir.parent / f".{info.index}.pgpass"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{cluster.host}:{cluster.port}:*:{auth.REPLICATION_USER}:"
                     f"{replicator_password(cluster)}\n")
    runner.give_to_owner(path)
    return path


def list_replicas(cluster: EmbeddedCluster) -> list[ReplicaInfo]:
    out = []
    root = replicas_root(cluster)
    for path in sorted(root.iterdir() if root.is_dir() else [], key=lambda p: p.name):
        if path.is_dir() and path.name.isdigit():
            out.append(ReplicaInfo(int(path.name), path, _conf_port(path) or 0,
                                   slot_name(int(path.name))))
    return sorted(out, key=lambda r: r.index)


def _conf_port(data_dir: Path) -> int | None:
    port = None
    try:
        lines = (data_dir / AUTO_CONF).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "port":
            port = int(value.strip().strip("'"))
    return port


def find_replica(cluster: EmbeddedCluster, index: int) -> ReplicaInfo:
    for info in list_replicas(cluster):
        if info.index == index:
            return info
    raise ClusterError(f"no replica {index} (twin db replica list)")


def start_replica(info: ReplicaInfo, timeout: float = 120.0) -> None:
    if info.running:
        return
    (info.data_dir / "postmaster.pid").unlink(missing_ok=True)  # stale: not running
    runner = Runner(info.data_dir, lambda: "")
    runner.run([str(_bin_dir(info) / "pg_ctl"), "start", "-D", str(info.data_dir), "-w",
                "-t", str(int(timeout)), "-l", str(info.data_dir / "log" / "startup.log")],
               f"starting replica {info.index}", timeout=timeout + 30)


def stop_replica(info: ReplicaInfo, mode: str = "fast") -> bool:
    """Stop the replica (``mode``: smart, fast or immediate); True when it ran."""
    if not info.running:
        return False
    Runner(info.data_dir, lambda: "").run(
        [str(_bin_dir(info) / "pg_ctl"), "stop", "-D", str(info.data_dir), "-m", mode, "-w"],
        f"stopping replica {info.index}", timeout=120)
    return True


def drop_replica(cluster: EmbeddedCluster, index: int) -> None:
    """Stop replica ``index``, remove its files and its slot on the primary."""
    root = replicas_root(cluster)
    info = ReplicaInfo(index, root / str(index), 0, slot_name(index))
    if info.data_dir.is_dir():
        stop_replica(info, "fast")
        shutil.rmtree(info.data_dir)
    (root / f".{index}.pgpass").unlink(missing_ok=True)
    if cluster.is_running():
        _drop_slot(cluster, info.slot)


def _drop_slot(cluster: EmbeddedCluster, slot: str, wait_s: float = 30.0) -> None:
    """Drop ``slot`` once its WAL sender has gone (it leaves when the replica stops)."""
    deadline = time.monotonic() + wait_s
    with _connect(cluster) as conn:
        while True:
            row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s",
                               (slot,)).fetchone()
            if row is None:
                return
            if not row[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"replication slot {slot} is still in use; drop it later")
            time.sleep(0.2)


def _bin_dir(info: ReplicaInfo) -> Path:
    from twin.db.cluster.binaries import find_bin_dir

    return find_bin_dir((info.data_dir / "PG_VERSION").read_text().strip())


def _connect(cluster: EmbeddedCluster) -> psycopg.Connection:
    return psycopg.connect(host=cluster.host, port=cluster.port, user=auth.SUPERUSER,
                           dbname="postgres", password=cluster.password, autocommit=True,
                           connect_timeout=5, sslmode="disable")
