"""Mirroring a layer from one twin to another with ``twin harvest`` (issue 19, point 5).

Two scratch databases on the embedded cluster: the source gets ``--features`` synthetic
road segments (one INSERT ... SELECT, 2-vertex lines on a grid over the city) and is
served by ``twin serve`` (one worker, its notify dispatcher on); the mirror is written
in process by :func:`twin.harvest.run.harvest`. Measured:

1. the initial copy (every items page read over HTTP, then one transaction): features/s;
2. a round of 1 % changes (one UPDATE on the source) through the change feed: seconds;
3. the lag from an edit on the source (an UPDATE of one segment, committed) to its row
   on the mirror: with the schedule alone (``--every 10s``), and with a
   subscription-triggered harvest (a webhook to the harvester, ``--subscribe``): p50/p95.

Every process shares this machine's cores (2, with other work running), so the numbers
say what one small box gives.

    .venv/bin/python -m bench.harvest [--features 300000] [--edits 20]

Writes bench/out/harvest.md.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

import psycopg

from bench.common import ensure_out, libpq, scratch_database, table
from bench.load import pct
from bench.servers import TWIN_BIN, Fleet, Server, free_port
from twin.config import REPO_ROOT, Settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.harvest.remote import Remote
from twin.harvest.run import every, harvest
from twin.harvest.trigger import Trigger
from twin.registry import load_registry
from twin.server.auth.keys import create_key

LAYER = "road_segments"
ROADS = """
INSERT INTO road_segments (external_id, name, road_class, lanes, geom)
SELECT 'R-' || g, 'Đường ' || g,
       (ARRAY['primary','secondary','tertiary','residential','service'])[1 + g %% 5],
       1 + g %% 4,
       ST_SetSRID(ST_MakeLine(
         ST_MakePoint(105.75 + (g %% 600) * 0.0005, 20.95 + (g / 600) * 0.0005),
         ST_MakePoint(105.75 + (g %% 600) * 0.0005 + 0.0004,
                      20.95 + (g / 600) * 0.0005 + 0.0002)), 4326)
FROM generate_series(1, %s) g
"""


def _source(url: str, n: int) -> None:
    with psycopg.connect(libpq(url)) as conn:
        conn.execute(ROADS, (n,))
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE road_segments")


def _serve(url: str, folder) -> Server:
    port = free_port()
    env = {"TWIN_DATABASE_URL": url, "TWIN_PORT": str(port), "TWIN_HOST": "127.0.0.1",
           "TWIN_PUBLIC_URL": f"http://127.0.0.1:{port}", "TWIN_DATA_DIR": str(folder),
           "TWIN_NOTIFY_POLL_S": "5"}
    return Server("source twin", [str(TWIN_BIN), "serve", "--port", str(port),
                                  "--workers", "1"], port,
                  f"/collections/{LAYER}/items?limit=1", env=env,
                  log_path=ensure_out() / "harvest-source.log")


def _edit(source_url: str, fid: str, name: str) -> float:
    with psycopg.connect(libpq(source_url)) as conn:
        conn.execute("UPDATE road_segments SET name = %s WHERE external_id = %s",
                     (name, fid))
    return time.perf_counter()  # committed


def _arrived(mirror_url: str, fid: str, name: str) -> float:
    with psycopg.connect(libpq(mirror_url), autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT name FROM road_segments WHERE external_id = %s",
                               (fid,)).fetchone()
            if row and row[0] == name:
                return time.perf_counter()
            time.sleep(0.02)


def _lags(source_url: str, mirror_url: str, n_features: int, edits: int, run,
          interval: float, trigger_remote: Remote | None) -> list[float]:
    stop, wake = threading.Event(), threading.Event()
    trigger = None
    if trigger_remote is not None:
        trigger = Trigger(trigger_remote, f"http://127.0.0.1:{free_port()}/hook", wake)
        trigger.start()
    loop = threading.Thread(target=every, args=(interval, run, stop, wake), daemon=True)
    loop.start()
    lags = []
    try:
        for i in range(edits):
            fid = f"R-{random.randint(1, n_features)}"
            name = f"Đường sửa {i} {random.random():.6f}"
            t0 = _edit(source_url, fid, name)
            lags.append(_arrived(mirror_url, fid, name) - t0)
            time.sleep(random.uniform(0, interval / 4 if trigger is None else 0.5))
    finally:
        stop.set()
        wake.set()
        loop.join(timeout=120)
        if trigger:
            trigger.stop()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=300_000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--every", type=float, default=10.0)
    args = parser.parse_args()
    registry = load_registry(REPO_ROOT / "layers")
    settings = Settings(database_url=None, _env_file=None)
    rows = []
    with scratch_database("twin_bench_harvest_src") as src, \
            scratch_database("twin_bench_harvest_dst") as dst:
        for url in (src, dst):
            eng = make_engine(url, pool_size=1)
            upgrade(eng, registry)
            eng.dispose()
        t0 = time.perf_counter()
        _source(src, args.features)
        print(f"{args.features} roads made in {time.perf_counter() - t0:.0f} s", flush=True)
        key, _ = create_key(make_engine(src, pool_size=1), "bench harvest", "transport")
        mirror = make_engine(dst, pool_size=2)
        with Fleet([_serve(src, ensure_out() / "harvest-data")]) as fleet:
            base = fleet.servers[0].base

            def run():
                return harvest(mirror, registry, base, LAYER, LAYER,
                               extent=settings.plausible_extent)

            t0 = time.perf_counter()
            first = run()
            took = time.perf_counter() - t0
            rows.append(["initial copy", f"{first.written:,} features", f"{took:.1f} s",
                         f"{first.written / took:,.0f} features/s"])
            print(rows[-1], flush=True)
            n = args.features // 100
            with psycopg.connect(libpq(src)) as conn:
                conn.execute("UPDATE road_segments SET lanes = lanes + 1 WHERE id IN "
                             "(SELECT id FROM road_segments ORDER BY random() LIMIT %s)", (n,))
            t0 = time.perf_counter()
            round_ = run()
            took = time.perf_counter() - t0
            rows.append(["1 % changes via the feed", f"{round_.written:,} features",
                         f"{took:.1f} s", f"{round_.written / took:,.0f} features/s"])
            print(rows[-1], flush=True)
            for label, interval, remote in (
                    (f"lag, --every {args.every:g}s", args.every, None),
                    ("lag, subscription-triggered", 600.0,
                     Remote(base, LAYER, headers={"X-API-Key": key}))):
                lags = _lags(src, dst, args.features, args.edits, run, interval, remote)
                rows.append([label, f"{len(lags)} edits", f"p50 {pct(lags, 0.5):.2f} s",
                             f"p95 {pct(lags, 0.95):.2f} s"])
                print(rows[-1], flush=True)
        mirror.dispose()
    text = table(rows, ["what", "size", "time", "rate / p95"])
    (ensure_out() / "harvest.md").write_text(
        f"# twin harvest, {args.features:,} road segments twin -> twin\n\n{text}\n",
        encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
