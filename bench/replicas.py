"""Read throughput with 0, 1 and 2 streaming replicas (issue 20 points 1 and 5).

A private embedded cluster (in /tmp, not the shared one: enabling replication restarts
it) holding the generated demo city, and two hot standbys made by the same function as
``twin db replica create``. ``twin serve --workers 2`` (the tile cache off, so every tile
is made by PostgreSQL) is measured with ``TWIN_REPLICA_URLS`` naming 0, 1 and then 2 of
them, under bench/load.py's items + tiles mix on road_segments at ``--clients``
concurrent clients (default 8 and 32) for ``--seconds`` each.

Every server, replica and client shares this machine's cores, so the curve says what
changes on one box (where the reads go, what routing costs), not what separate machines
would give. The share of reads each server answered is read from
``pg_stat_database.xact_commit`` on the primary and on each replica.

    .venv/bin/python -m bench.replicas [--clients 8,32] [--seconds 20] [--scale 0.5]

Writes bench/out/replicas.md.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from pathlib import Path

import psycopg

from bench.common import ensure_out, libpq, table
from bench.load import Mix, pct, run_level
from bench.servers import TWIN_BIN, Fleet, Server, free_port
from twin.config import REPO_ROOT, Settings
from twin.db.cluster import EmbeddedCluster
from twin.db.cluster.replica import create_replica, replica_url

DB = "twin_bench_replicas"
READ_MIX = (("items", 0.5), ("tiles", 0.5))


def build(folder: Path, scale: float) -> tuple[EmbeddedCluster, str, list[str]]:
    from twin.db.engine import make_engine
    from twin.db.schema import upgrade
    from twin.demo.generate import generate
    from twin.ingest.dispatch import load_demo
    from twin.registry import load_registry

    cluster = EmbeddedCluster(folder / "pgdata", free_port())
    cluster.start()
    url = cluster.ensure_database(DB)
    registry = load_registry(REPO_ROOT / "layers")
    engine = make_engine(url, pool_size=2)
    upgrade(engine, registry)
    t0 = time.perf_counter()
    generate(folder / "city", scale=scale, days=1)
    settings = Settings(database_url=None, data_dir=folder / "data", _env_file=None)
    load_demo(engine, registry, settings, folder / "city")
    engine.dispose()
    print(f"demo city (scale {scale}) loaded in {time.perf_counter() - t0:.0f} s", flush=True)
    replicas = [replica_url(cluster, create_replica(cluster), DB) for _ in range(2)]
    return cluster, url, replicas


def commits(url: str) -> int:
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        return conn.execute("SELECT xact_commit FROM pg_stat_database "
                            "WHERE datname = current_database()").fetchone()[0]


def serve(url: str, replicas: list[str], out: Path, data_dir: Path) -> Server:
    port = free_port()
    env = {"TWIN_DATABASE_URL": url, "TWIN_WORKERS": "2", "TWIN_PORT": str(port),
           "TWIN_HOST": "127.0.0.1", "TWIN_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "TWIN_REPLICA_URLS": ",".join(replicas), "TWIN_TILE_CACHE": "off",
           "TWIN_DATA_DIR": str(data_dir)}
    return Server(f"twin({len(replicas)} replicas)",
                  [str(TWIN_BIN), "serve", "--port", str(port), "--workers", "2"],
                  port, "/collections/road_segments/items?limit=1", env=env,
                  log_path=out / f"twin-replicas-{len(replicas)}.log")


def curve(url: str, replicas: list[str], levels: list[int], seconds: float,
          folder: Path) -> list[list]:
    rows = []
    for n in (0, 1, 2):
        used = replicas[:n]
        with Fleet([serve(url, used, ensure_out(), folder / "data")]) as fleet:
            base = fleet.servers[0].base
            time.sleep(3)  # the health task finds the replicas (every 0.5 s)
            for clients in levels:
                before = [commits(u) for u in (url, *used)]
                mix = Mix(random.Random(11), [], key="", weights=READ_MIX)
                level = asyncio.run(run_level(base, mix, clients, seconds, 10**7))
                after = [commits(u) for u in (url, *used)]
                served = [b - a for a, b in zip(before, after, strict=True)]
                every = [x for v in level.latencies.values() for x in v]
                share = 100 * sum(served[1:]) / max(1, sum(served))
                rows.append([n, clients, len(every), sum(level.errors.values()),
                             f"{len(every) / level.wall:.1f}", f"{pct(every, 0.5):.1f}",
                             f"{pct(every, 0.99):.1f}", f"{share:.0f} %"])
                print("replicas:", rows[-1], flush=True)
    return rows


HEADER = ["replicas", "clients", "requests", "errors", "req/s", "p50 ms", "p99 ms",
          "xacts on replicas"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--scale", type=float, default=0.5)
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    folder = Path(tempfile.mkdtemp(prefix="twin-bench-replicas-", dir="/tmp"))
    folder.chmod(0o755)  # the server's user (twin as root) passes through
    cluster = None
    try:
        cluster, url, replicas = build(folder, args.scale)
        rows = curve(url, replicas, levels, args.seconds, folder)
    finally:
        if cluster is not None:
            from twin.db.cluster.replica import drop_replica, list_replicas

            for info in list_replicas(cluster):
                drop_replica(cluster, info.index)
            cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)
    text = ("# Read throughput with 0, 1 and 2 local streaming replicas\n\n"
            f"items + tiles (road_segments), {args.seconds:.0f} s per level, "
            "twin serve --workers 2, tile cache off; primary, replicas and clients on one "
            "machine.\n\n```\n" + table(rows, HEADER) + "\n```\n")
    (ensure_out() / "replicas.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
