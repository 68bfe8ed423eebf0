"""Read replicas over real PostgreSQL streaming replication (issue 20 point 1).

A private primary cluster (not the shared test cluster: making it replicate restarts it)
with twin's schema, streaming replicas made by the same function as
``twin db replica create``, and the real app under uvicorn with ``replica_urls``.

The replica-only marker: replay paused on a replica (``pg_wal_replay_pause()``) while the
lag bounds are generous, a feature written through the API exists on the primary and not
yet on the replica, so a read that answers 404 came from the replica, one that answers
200 from the primary (or from a replica that has replayed it). No timing asserts: every
wait polls with a generous limit.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import _free_port, served
from twin.db.cluster import EmbeddedCluster
from twin.db.cluster.replica import (
    create_replica,
    drop_replica,
    list_replicas,
    replica_url,
    start_replica,
    stop_replica,
)
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.server.auth.keys import create_key

pytestmark = pytest.mark.api_language("en")

DB = "twin_replicas"
WAIT_S = 90.0
CAMERA = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [105.8521, 21.0285]},
          "properties": {"code": "R-1", "status": "online"}}


def wait_until(predicate, what: str, limit: float = WAIT_S):
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.2)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def primary(registry):
    # not under pytest's 0700 tmp root: the server's user (twin as root) must pass through
    folder = Path(tempfile.mkdtemp(prefix="twin-replicas-", dir="/tmp"))
    folder.chmod(0o755)
    cluster = EmbeddedCluster(folder / "pgdata", _free_port())
    cluster.start()
    url = cluster.ensure_database(DB)
    engine = make_engine(url, pool_size=2)
    upgrade(engine, registry)
    key, _ = create_key(engine, "replica tests", "admin")
    engine.dispose()
    try:
        yield cluster, url, {"X-API-Key": key}
    finally:
        for info in list_replicas(cluster):
            with contextlib.suppress(Exception):
                drop_replica(cluster, info.index)
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def replica(primary):
    cluster, _, _ = primary
    info = create_replica(cluster)
    return info, replica_url(cluster, info, DB)


@contextlib.contextmanager
def serving(settings, registry, tmp_path, url: str, replicas: list[str], **extra):
    from twin.server.app import create_app

    port = _free_port()
    app_settings = settings.model_copy(update={
        "port": port, "public_url": None, "data_dir": tmp_path / f"served{port}",
        "replica_urls": ",".join(replicas), "replica_max_lag_s": 3600.0,
        "replica_max_lag_bytes": 1 << 40, **extra})
    app = create_app(app_settings, url, registry)
    with served(app, port) as base:
        yield base, app.state.twin.db.replicas


def healthy(replicas, index: int = 0) -> bool:
    return replicas.replicas[index].healthy


def on_replica(url: str, statement: str, params=None):
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        return conn.execute(statement, params).fetchone()


def stored(url: str, code: str) -> int:
    """How many cameras with ``code`` the server at ``url`` holds."""
    return on_replica(url, "SELECT count(*) FROM cameras WHERE code = %s", (code,))[0]


def post_camera(base: str, headers: dict) -> tuple[str, httpx.Response]:
    """A new camera through the API: (its feature id, which is its code; the response)."""
    code = "R-" + uuid.uuid4().hex[:10]
    with httpx.Client(base_url=base, timeout=30) as client:
        r = client.post("/collections/cameras/items", headers=headers,
                        json={**CAMERA, "properties": {**CAMERA["properties"], "code": code}})
    assert r.status_code == 201, r.text
    assert r.headers["Location"].rsplit("/", 1)[-1] == code
    return code, r


def status_of(base: str, fid: str, **kwargs) -> int:
    with httpx.Client(base_url=base, timeout=30) as client:
        return client.get(f"/collections/cameras/items/{fid}", **kwargs).status_code


def test_reads_hit_the_replica_writes_the_primary_and_clients_read_their_writes(
        settings, registry, tmp_path, primary, replica):
    _, url, admin = primary
    _, rurl = replica
    with serving(settings, registry, tmp_path, url, [rurl]) as (base, replicas):
        wait_until(lambda: healthy(replicas), "the replica is healthy")
        on_replica(rurl, "SELECT pg_wal_replay_pause()")
        try:
            fid, written = post_camera(base, admin)
            lsn = written.headers["X-Twin-LSN"]
            assert "twin_lsn=" + lsn in written.headers["set-cookie"]
            # the write is on the primary ...
            assert stored(url, fid) == 1
            # ... a plain read comes from the replica, which has not replayed it
            assert status_of(base, fid) == 404
            assert on_replica(rurl, "SELECT count(*) FROM pg_stat_activity "
                                    "WHERE application_name = 'twin-server-replica'")[0] > 0
            # the writer's LSN (header or cookie) sends its reads to the primary
            assert status_of(base, fid, headers={"X-Twin-LSN": lsn}) == 200
            assert status_of(base, fid, cookies={"twin_lsn": lsn}) == 200
            # an LSN that is not one: the primary too (no error)
            assert status_of(base, fid, headers={"X-Twin-LSN": "not/an-lsn"}) == 200
        finally:
            on_replica(rurl, "SELECT pg_wal_replay_resume()")
        wait_until(lambda: status_of(base, fid) == 200, "the replica replays the write")
        assert status_of(base, fid, headers={"X-Twin-LSN": lsn}) == 200
        with httpx.Client(base_url=base, timeout=30) as client:
            assert client.get("/collections/cameras/items", params={"limit": 5}).status_code == 200
            assert client.get("/collections/cameras/tiles/WebMercatorQuad/14/13020/7188"
                              ).status_code in (200, 204)
            r = client.delete(f"/collections/cameras/items/{fid}", headers=admin)
            assert r.status_code == 204 and "X-Twin-LSN" in r.headers


def test_a_stopped_replica_is_dropped_and_comes_back(settings, registry, tmp_path, primary,
                                                     replica):
    _, url, admin = primary
    info, rurl = replica
    with serving(settings, registry, tmp_path, url, [rurl]) as (base, replicas):
        wait_until(lambda: healthy(replicas), "the replica is healthy")
        fid, _ = post_camera(base, admin)
        wait_until(lambda: status_of(base, fid) == 200, "the replica replays the write")
        stop_replica(info, "immediate")
        try:
            codes = [status_of(base, fid) for _ in range(40)]
            assert codes == [200] * 40  # answered from the primary: no 5xx, no 404
            wait_until(lambda: not healthy(replicas), "the stopped replica is dropped")
            assert "answer" in replicas.replicas[0].reason
        finally:
            start_replica(info)
        wait_until(lambda: healthy(replicas), "the restarted replica is back")
        on_replica(rurl, "SELECT pg_wal_replay_pause()")
        try:
            second, _ = post_camera(base, admin)
            assert status_of(base, second) == 404  # read from the replica again
        finally:
            on_replica(rurl, "SELECT pg_wal_replay_resume()")


def test_a_lagging_replica_is_skipped(settings, registry, tmp_path, primary, replica):
    _, url, admin = primary
    _, rurl = replica
    with serving(settings, registry, tmp_path, url, [rurl],
                 replica_max_lag_s=1.0) as (base, replicas):
        wait_until(lambda: healthy(replicas), "the replica is healthy")
        on_replica(rurl, "SELECT pg_wal_replay_pause()")
        try:
            fid, _ = post_camera(base, admin)
            wait_until(lambda: not healthy(replicas), "the paused replica is dropped")
            assert "behind" in replicas.replicas[0].reason
            assert status_of(base, fid) == 200  # the primary answers
        finally:
            on_replica(rurl, "SELECT pg_wal_replay_resume()")
        wait_until(lambda: healthy(replicas), "the replica is back once it caught up")


def test_a_promoted_replica_is_dropped_and_never_written(settings, registry, tmp_path,
                                                         primary):
    cluster, url, admin = primary
    info = create_replica(cluster)
    rurl = replica_url(cluster, info, DB)
    try:
        with serving(settings, registry, tmp_path, url, [rurl]) as (base, replicas):
            wait_until(lambda: healthy(replicas), "the replica is healthy")
            on_replica(rurl, "SELECT pg_promote()")
            wait_until(lambda: not healthy(replicas), "the promoted replica is dropped")
            assert "promoted" in replicas.replicas[0].reason
            fid, _ = post_camera(base, admin)
            assert status_of(base, fid) == 200  # from the primary
            assert stored(rurl, fid) == 0
            assert stored(url, fid) == 1
    finally:
        drop_replica(cluster, info.index)


def test_a_replica_that_never_answers(settings, registry, tmp_path, primary, replica):
    """A listening socket that never accepts: TCP connects, PostgreSQL never speaks."""
    _, url, admin = primary
    _, rurl = replica
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        dead = f"postgresql://postgres:x@127.0.0.1:{silent.getsockname()[1]}/{DB}"
        with serving(settings, registry, tmp_path, url, [dead, rurl]) as (base, replicas):
            wait_until(lambda: healthy(replicas, 1), "the live replica is healthy")
            wait_until(lambda: replicas.replicas[0].reason != "not yet probed",
                       "the silent replica is probed")
            assert not healthy(replicas, 0)
            fid, _ = post_camera(base, admin)
            wait_until(lambda: status_of(base, fid) == 200, "the live replica replays it")
            assert [status_of(base, fid) for _ in range(20)] == [200] * 20


def test_statements_route_by_the_request_async_and_sync(primary, replica):
    """In process: the async calls and pygeoapi's sync pool follow the request's route; a
    statement a replica refuses (a write: its sessions are read-only) runs on the primary."""
    import asyncio

    from twin.server.db import Database
    from twin.server.replicas import ROUTE, ReplicaFailed, ReplicaSet, Route, replica_dsns

    _, url, _ = primary
    _, rurl = replica

    async def main():
        db = Database(url, size=2, replicas=ReplicaSet(
            replica_dsns(rurl), max_lag_s=3600.0, max_lag_bytes=1 << 40))
        await db.open()
        try:
            deadline = time.monotonic() + WAIT_S
            while not db.replicas.replicas[0].healthy:
                assert time.monotonic() < deadline, "never: the replica is healthy"
                await asyncio.sleep(0.2)

            def sync_in_recovery():
                with db.sync.connection() as conn:
                    return conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]

            async def where(route):
                token = ROUTE.set(route)
                try:
                    row = await db.fetchrow("SELECT pg_is_in_recovery()")
                    return row[0], await asyncio.to_thread(sync_in_recovery)
                finally:
                    ROUTE.reset(token)

            assert await where(Route(read=True)) == (True, True)
            assert await where(Route(read=False)) == (False, False)
            assert await where(None) == (False, False)
            assert await where(Route(read=True, min_lsn=1 << 62)) == (False, False)

            token = ROUTE.set(Route(read=True))
            try:
                with pytest.raises(ReplicaFailed):  # raw connection: the caller sees a 503
                    async with db.connection() as conn:
                        await conn.execute("SELECT nextval(pg_get_serial_sequence('cameras', "
                                           "'id'))")
                assert ROUTE.get().failed and ROUTE.get().primary
                assert db.replicas.replicas[0].healthy  # refused a write: not broken
            finally:
                ROUTE.reset(token)
            token = ROUTE.set(Route(read=True))
            try:  # fetchrow runs it again on the primary
                row = await db.fetchrow("SELECT nextval(pg_get_serial_sequence('cameras', "
                                        "'id')) > 0, pg_is_in_recovery()")
                assert row == (True, False)
            finally:
                ROUTE.reset(token)
        finally:
            await db.close()

    asyncio.run(main())
