"""The tile cache (issue 20, point 3): road tiles cold, cached, and at a 90 % hit rate.

One twin server (``twin serve``, ``--workers``) on the demo city's vector layers at
``--scale`` (generated and loaded by twin's loaders into ``twin_bench_tiles``; no
readings), a fixed set of distinct road-segment tiles at z14-16 in
the city centre, fetched by ``--clients`` concurrent clients (one asyncio process with
httpx, keep-alive, no gzip):

- ``uncached``: ``TWIN_TILE_CACHE=off``: every tile made by PostgreSQL;
- ``cached``: every tile already in the cache (one pass made them): a hit each;
- ``90 % hits``: a fresh cache holding 90 % of the tiles, each tile fetched once.

Reported per run: tiles/s, p50 and p95 latency at the client (loopback; an upper bound of
the server's own time) and at the server (its ``Server-Timing``: the request in the app,
middleware included, until the response's headers). Then the database's share,
measured by running the same statements directly with psycopg in the same run: the
tile statements of one uncached pass against the version lookups (one primary-key
read per tile) of a cached pass, and the mix at 90 % hits: the load the cache takes
off PostgreSQL.

    .venv/bin/python -m bench.tile_cache [--workers 2] [--clients 8] [--tiles 400]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import time

import httpx
import psycopg

from bench.common import ensure_out, libpq, scratch_database, table
from bench.load import CITY, tile_of
from bench.servers import Fleet, twin_server
from twin.config import load_settings
from twin.db.counts import VERSION_SQL
from twin.registry import load_registry
from twin.server.tiles.sql import LayerTiles

DB_NAME = "twin_bench_tiles"
LAYER = "road_segments"


def load_city(url: str, scale: float) -> None:
    """The demo's vector layers (no readings, no DEM) through twin's own loaders, once."""
    from twin.db.engine import make_engine
    from twin.db.schema import upgrade
    from twin.demo.generate import generate
    from twin.ingest.dispatch import DEMO_LOADS, load_any

    with psycopg.connect(libpq(url)) as conn:
        if conn.execute("SELECT to_regclass('road_segments') IS NOT NULL").fetchone()[0] \
                and conn.execute("SELECT EXISTS (SELECT 1 FROM road_segments)").fetchone()[0]:
            return
    settings = load_settings()
    registry = load_registry(settings.layers_dir)
    engine = make_engine(url, pool_size=2)
    try:
        upgrade(engine, registry)
        folder = ensure_out() / f"tiles-city-{scale:g}"
        generate(folder, scale=scale, readings=False, dem=False)
        for name, layer, opts in DEMO_LOADS:
            if layer not in (None, "sensor_readings") and (folder / name).exists():
                lines = load_any(engine, registry, settings, folder / name, layer,
                                 **{"mode": "replace", **opts})
                print(f"dataset: {lines[0]}", flush=True)
    finally:
        engine.dispose()


def tile_set(n: int, seed: int = 7) -> list[tuple[int, int, int]]:
    rng, seen = random.Random(seed), set()
    while len(seen) < n:
        z = rng.choice((14, 15, 16))
        x, y = tile_of(rng.uniform(CITY[0], CITY[2]), rng.uniform(CITY[1], CITY[3]), z)
        seen.add((z, x, y))
    return sorted(seen)


def path(z: int, x: int, y: int) -> str:
    return f"/collections/{LAYER}/tiles/WebMercatorQuad/{z}/{y}/{x}"


def paths(tiles: list[tuple[int, int, int]]) -> list[str]:
    return [path(*t) for t in tiles]


async def fetch_all(base: str, paths: list[str], clients: int, timeout: float = 60
                    ) -> tuple[float, list[float], list[float]]:
    """(seconds, latencies at the client, times at the server) of fetching every path
    once with ``clients`` workers; the server's time is its ``Server-Timing`` header (from
    the request reaching the app to the response's headers). Any answer but 200 stops
    the run."""
    queue: asyncio.Queue = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    latencies: list[float] = []
    served: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits,
                                 headers={"Accept-Encoding": "identity"}) as client:
        async def worker() -> None:
            while not queue.empty():
                target = queue.get_nowait()
                t0 = time.perf_counter()
                r = await client.get(target)
                latencies.append(time.perf_counter() - t0)
                served.append(server_seconds(r.headers.get("server-timing", "")))
                if r.status_code != 200:
                    raise RuntimeError(f"{target}: HTTP {r.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies, served


def server_seconds(header: str) -> float:
    """``app;dur=1.234`` (milliseconds) in seconds."""
    for part in header.split(";"):
        if part.strip().startswith("dur="):
            return float(part.strip()[4:]) / 1e3
    return float("nan")


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def db_seconds(url: str, tiles: list[tuple[int, int, int]]) -> tuple[float, float]:
    """(tile statements of every tile, version lookups of every tile), in seconds,
    measured directly on one connection (second pass of two: warm caches, as served)."""
    settings = load_settings()
    made = LayerTiles(load_registry(settings.layers_dir).get(LAYER))
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        def run() -> tuple[float, float]:
            t0 = time.perf_counter()
            for z, x, y in tiles:
                statement, params = made.query(z, x, y)
                conn.execute(statement, params).fetchone()
            t1 = time.perf_counter()
            for _ in tiles:
                conn.execute(VERSION_SQL, {"layer": LAYER}).fetchone()
            return t1 - t0, time.perf_counter() - t1

        run()
        return run()


def measure(url: str, workers: int, clients: int, tiles: list, out) -> list[list]:
    rows = []
    cache = out / "tile-cache"

    def one(name: str, setting: str, warm: list, passes: tuple[int, ...] = (clients,)
            ) -> None:
        server = twin_server(url, workers, out)
        server.env = {**server.env, "TWIN_TILE_CACHE": setting}
        with Fleet([server]):
            if warm:
                asyncio.run(fetch_all(server.base, paths(warm), clients))
            for n in passes:
                seconds, lat, served = asyncio.run(fetch_all(server.base, paths(tiles), n))
                rows.append([f"{name}, {n} client{'s' if n > 1 else ''}", len(tiles),
                             f"{len(tiles) / seconds:,.0f}",
                             f"{statistics.median(lat) * 1e3:.2f}",
                             f"{quantile(lat, 0.95) * 1e3:.2f}",
                             f"{statistics.median(served) * 1e3:.2f}",
                             f"{quantile(served, 0.95) * 1e3:.2f}"])
        print(f"{name}: done", flush=True)

    one("uncached", "off", [])
    shutil.rmtree(cache, ignore_errors=True)
    # also one client at a time: the server's own work per hit, without the queueing of
    # 8 clients on the cores the server shares with them
    one("cached (100 % hits)", str(cache), tiles, (clients, 1))
    shutil.rmtree(cache, ignore_errors=True)
    rng = random.Random(11)
    one("90 % hits", str(cache), rng.sample(tiles, int(len(tiles) * 0.9)))
    shutil.rmtree(cache, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tiles", type=int, default=400)
    ap.add_argument("--scale", type=float, default=1.0, help="demo road density")
    args = ap.parse_args()
    out = ensure_out()
    with scratch_database(DB_NAME, keep=True) as url:
        load_city(url, args.scale)
        tiles = tile_set(args.tiles)
        rows = measure(url, args.workers, args.clients, tiles, out)
        print(table(rows, ["run", "tiles", "tiles/s", "client p50 ms", "client p95 ms",
                            "server p50 ms", "server p95 ms"]))
        tile_s, version_s = db_seconds(url, tiles)
    n = len(tiles)
    at90 = 0.1 * tile_s + version_s
    print(f"\nDatabase time for {n} tiles, measured directly on one connection:")
    print(table([
        ["uncached", f"{n} tile", f"{tile_s:.3f}", f"{tile_s / n * 1e3:.2f}", "1.00"],
        ["cached", f"{n} version", f"{version_s:.3f}", f"{version_s / n * 1e3:.3f}",
         f"{version_s / tile_s:.3f}"],
        ["90 % hits", f"{n // 10} tile + {n} version", f"{at90:.3f}",
         f"{at90 / n * 1e3:.2f}", f"{at90 / tile_s:.3f}"]],
        ["pass", "statements", "DB seconds", "ms per tile", "vs uncached"]))


if __name__ == "__main__":
    main()
