"""How twin scales on this machine: throughput from 1 to 2 workers, and query time as the
readings and the road network grow.

1. Workers: the read mix of bench/load.py (items, tiles, EDR) at ``--clients`` concurrent
   clients against ``twin serve --workers 1`` and then ``--workers 2``.
2. Readings: the demo's 1.3M readings (30 days), then copies shifted back in time by
   30 days each (with their hour and day rollups) to ~2.7M, ~5.4M and ~10.7M rows. At each
   size: EDR position (1 station, 24 h) and locations (1 station, 30 days, 3 parameters)
   over HTTP, and two rollup queries in SQL (30 daily means of one station; the hourly
   means of every station for one day). The queried window stays the original one, so
   the answers have the same size and only the table grows.
3. Roads: the demo's road network copied side by side (each copy offset by the network's
   own width and height) to ``--roads`` sizes (default 300k, 1M, 3M). At each size:
   items in a fixed 1 km box (limit 100), a 1000-feature page in a 3 km box, and vector
   tiles at z14 and z16 over the original centre: the answers stay the same, the table and
   its index grow.

Every query time is the median of ``--repeat`` sequential requests on one keep-alive
connection after one warm-up. Writes bench/out/scaling.md (tables and ASCII charts).
Disk: ~1.5 GB of readings and ~1.5 GB of roads at the largest sizes, in the scratch
database ``twin_bench_scaling`` (dropped at the end).

    .venv/bin/python -m bench.scaling [--repeat 15] [--copies 1,2,4,8] [--roads 300000,...]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time

import httpx
import psycopg

from bench.common import ensure_out, libpq, scratch_database, table
from bench.load import MIX, Mix, clone_or_load, pct, run_level, station_points, tile_of
from bench.servers import Fleet, twin_server

DB_NAME = "twin_bench_scaling"
SHIFT_DAYS = 30
DAY = "2026-10-05T00:00Z/2026-10-06T00:00Z"
MONTH = "2026-09-30T17:00Z/2026-10-30T17:00Z"
CENTRE = (105.835, 21.02)


# --- measuring ----------------------------------------------------------------------------

def median_ms(call, repeat: int) -> float:
    call()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        runs.append((time.perf_counter() - t0) * 1000)
    return statistics.median(runs)


def http_get(client: httpx.Client, path: str, params: dict | None = None):
    def call():
        response = client.get(path, params=params)
        response.raise_for_status()
        return response
    return call


def sql_call(conn: psycopg.Connection, query: str, params: tuple = ()):
    return lambda: conn.execute(query, params).fetchall()


def bar_chart(title: str, xs: list[str], ys: list[float], unit: str, width: int = 50) -> str:
    top = max(ys) or 1.0
    lines = [title]
    for x, y in zip(xs, ys, strict=False):
        lines.append(f"{x:>10} | {'#' * max(1, round(width * y / top)):<{width}} {y:.1f} {unit}")
    return "\n".join(lines)


# --- 1. workers ---------------------------------------------------------------------------

def workers_curve(url: str, clients: int, seconds: float) -> list[list]:
    stations, rows = station_points(url), []
    read_mix = tuple((k, w) for k, w in MIX if k != "edit")
    for workers in (1, 2):
        server = twin_server(url, workers, ensure_out())
        with Fleet([server]):
            mix = Mix(random.Random(7), stations, key="", weights=read_mix)
            level = asyncio.run(run_level(server.base, mix, clients, seconds, 10**6))
        every = [x for v in level.latencies.values() for x in v]
        rows.append([workers, len(every), sum(level.errors.values()),
                     f"{len(every) / level.wall:.1f}", f"{pct(every, 0.5):.1f}",
                     f"{pct(every, 0.99):.1f}", f"{100 * level.client_cpu / level.wall:.0f} %"])
        print("workers:", rows[-1], flush=True)
    return rows


# --- 2. readings --------------------------------------------------------------------------

def grow_readings(conn: psycopg.Connection, have: int, want: int) -> None:
    """Copies ``have``..``want``-1 of the original 30 days, each shifted back 30 days more,
    readings and their hour/day rollups."""
    for k in range(have, want):
        t0 = time.perf_counter()
        shift = f"{SHIFT_DAYS * k} days"
        conn.execute("SELECT twin_ensure_reading_partitions(min(observed_at) - %s::interval, "
                     "max(observed_at) - %s::interval) FROM sensor_readings "
                     "WHERE observed_at >= '2026-09-30T17:00Z'", (shift, shift))
        conn.execute("INSERT INTO sensor_readings (station_id, observed_at, property, value, "
                     "unit, quality) SELECT station_id, observed_at - %s::interval, property, "
                     "value, unit, quality FROM sensor_readings "
                     "WHERE observed_at >= '2026-09-30T17:00Z' ON CONFLICT DO NOTHING",
                     (shift,))
        conn.execute("INSERT INTO reading_rollups SELECT grain, station_id, property, "
                     "bucket - %s::interval, n, mean, min, max, p10, p50, p90, p95 "
                     "FROM reading_rollups WHERE grain IN ('hour', 'day') "
                     "AND bucket >= '2026-09-30T17:00Z' ON CONFLICT DO NOTHING", (shift,))
        print(f"readings: copy {k} in {time.perf_counter() - t0:.0f} s", flush=True)
    conn.execute("ANALYZE sensor_readings")
    conn.execute("ANALYZE reading_rollups")


def ensure_rollups(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT count(*) FROM reading_rollups").fetchone()[0]:
        return
    from twin.config import load_settings
    from twin.ingest import derived

    t0 = time.perf_counter()
    with conn.transaction(), conn.cursor() as cur:
        derived.rebuild(cur, tz=load_settings().city.timezone)
    print(f"readings: rollups built in {time.perf_counter() - t0:.0f} s", flush=True)


def readings_queries(client: httpx.Client, conn: psycopg.Connection, code: str,
                     lonlat: tuple[float, float]) -> dict:
    station = conn.execute("SELECT id FROM sensor_stations WHERE code = %s",
                           (code,)).fetchone()[0]
    base = "/collections/sensor_readings"
    return {
        "EDR position 1 station 24 h": http_get(client, f"{base}/position", {
            "coords": f"POINT({lonlat[0]} {lonlat[1]})", "datetime": DAY,
            "parameter-name": "pm25"}),
        "EDR locations 30 d x 3": http_get(client, f"{base}/locations/{code}", {
            "datetime": MONTH, "parameter-name": "pm25,pm10,no2"}),
        "rollup 30 daily means": sql_call(conn, (
            "SELECT bucket, mean FROM reading_rollups WHERE grain = 'day' AND station_id = %s "
            "AND property = 'pm25' AND bucket >= '2026-09-30T17:00Z' ORDER BY bucket"),
            (station,)),
        "rollup 1 day hourly, all": sql_call(conn, (
            "SELECT station_id, bucket, mean FROM reading_rollups WHERE grain = 'hour' "
            "AND property = 'pm25' AND bucket >= '2026-10-05' AND bucket < '2026-10-06'")),
    }


def readings_curve(url: str, copies: list[int], repeat: int) -> tuple[list, list[str]]:
    server = twin_server(url, 1, ensure_out())
    rows, names = [], []
    with psycopg.connect(libpq(url), autocommit=True) as conn, Fleet([server]), \
            httpx.Client(base_url=server.base, timeout=120,
                         headers={"Accept-Encoding": "identity"}) as client:
        ensure_rollups(conn)
        code, lon, lat = conn.execute(
            "SELECT code, ST_X(geom), ST_Y(geom) FROM sensor_stations WHERE kind = 'air' "
            "ORDER BY code LIMIT 1").fetchone()
        queries = readings_queries(client, conn, code, (lon, lat))
        names, have = list(queries), 1
        for want in copies:
            grow_readings(conn, have, want)
            have = want
            size = conn.execute("SELECT count(*) FROM sensor_readings").fetchone()[0]
            rows.append([f"{size / 1e6:.1f}M"] + [f"{median_ms(q, repeat):.1f}"
                                                  for q in queries.values()])
            print("readings:", rows[-1], flush=True)
    return rows, names


# --- 3. roads -----------------------------------------------------------------------------

ROAD_COLUMNS = ("name, road_class, surface, lanes, width_m, speed_limit_kmh, oneway, "
                "condition, last_inspected, agency")


def grow_roads(conn: psycopg.Connection, want: int, batch: int = 20) -> int:
    """Copies of the original network (ids below the first copy's) side by side on a
    square grid until the table holds ``want`` rows; returns the count."""
    original, width, height = conn.execute(
        "SELECT count(*), ST_XMax(ST_Extent(geom)) - ST_XMin(ST_Extent(geom)), "
        "ST_YMax(ST_Extent(geom)) - ST_YMin(ST_Extent(geom)) FROM road_segments "
        "WHERE external_id NOT LIKE 'copy%'").fetchone()
    have = conn.execute("SELECT count(*) FROM road_segments").fetchone()[0]
    copy = have // original
    grid = 40
    while have < want:
        upto = min(copy + batch, -(-want // original))
        conn.execute(
            "INSERT INTO road_segments (external_id, " + ROAD_COLUMNS + ", geom) "
            "SELECT 'copy' || k || '-' || external_id, " + ROAD_COLUMNS + ", "
            "ST_Translate(geom, %s::float8 * (k %% %s - %s), %s::float8 * (k / %s + 1)) "
            "FROM road_segments, generate_series(%s::int, %s::int) AS k "
            "WHERE external_id NOT LIKE 'copy%%'",
            (width, grid, grid // 2, height, grid, copy, upto - 1))
        copy, have = upto, conn.execute("SELECT count(*) FROM road_segments").fetchone()[0]
        print(f"roads: {have:,}", flush=True)
    conn.execute("ANALYZE road_segments")
    return have


def roads_queries(client: httpx.Client) -> dict:
    lon, lat = CENTRE
    small = f"{lon - 0.005},{lat - 0.0045},{lon + 0.005},{lat + 0.0045}"
    large = f"{lon - 0.015},{lat - 0.0135},{lon + 0.015},{lat + 0.0135}"
    base = "/collections/road_segments"
    tiles = {z: tile_of(lon, lat, z) for z in (14, 16)}
    return {
        "items 1 km box, 100": http_get(client, f"{base}/items", {"bbox": small, "limit": 100}),
        "items 3 km box, 1000": http_get(client, f"{base}/items", {"bbox": large,
                                                                   "limit": 1000}),
        **{f"tile z{z}": http_get(client, f"{base}/tiles/WebMercatorQuad/{z}/{y}/{x}")
           for z, (x, y) in tiles.items()},
    }


def roads_curve(url: str, sizes: list[int], repeat: int) -> tuple[list, list[str]]:
    server = twin_server(url, 1, ensure_out())
    rows = []
    with psycopg.connect(libpq(url), autocommit=True) as conn, Fleet([server]), \
            httpx.Client(base_url=server.base, timeout=120,
                         headers={"Accept-Encoding": "identity"}) as client:
        queries = roads_queries(client)
        for want in sizes:
            have = grow_roads(conn, want)
            rows.append([f"{have / 1e6:.2f}M"] + [f"{median_ms(q, repeat):.1f}"
                                                  for q in queries.values()])
            print("roads:", rows[-1], flush=True)
    return rows, list(queries)


# --- main ---------------------------------------------------------------------------------

def charts(rows: list[list], names: list[str], unit: str = "ms") -> str:
    xs = [r[0] for r in rows]
    return "\n\n".join(bar_chart(name, xs, [float(r[i + 1]) for r in rows], unit)
                       for i, name in enumerate(names))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--copies", default="1,2,4,8", help="readings: copies of the 30 days")
    ap.add_argument("--roads", default="300000,1000000,3000000")
    ap.add_argument("--skip", default="", help="comma-separated: workers,readings,roads")
    args = ap.parse_args(argv)
    skip = set(filter(None, args.skip.split(",")))
    parts = []
    with scratch_database(DB_NAME) as url:
        clone_or_load(url, DB_NAME)
        if "workers" not in skip:
            rows = workers_curve(url, args.clients, args.seconds)
            parts.append(f"## Throughput, 1 -> 2 workers ({args.clients} clients, read mix, "
                         f"{args.seconds:.0f} s each)\n\n```\n" + table(rows, [
                             "workers", "requests", "errors", "req/s", "p50 ms", "p99 ms",
                             "client CPU"]) + "\n\n" + bar_chart(
                             "req/s", [f"{r[0]} worker{'s' if r[0] > 1 else ''}" for r in rows],
                             [float(r[3]) for r in rows], "req/s") + "\n```")
        if "readings" not in skip:
            rows, names = readings_curve(url, [int(c) for c in args.copies.split(",")],
                                         args.repeat)
            parts.append("## Query time vs readings (median ms)\n\n```\n"
                         + table(rows, ["readings", *names]) + "\n\n" + charts(rows, names)
                         + "\n```")
        if "roads" not in skip:
            rows, names = roads_curve(url, [int(c) for c in args.roads.split(",")],
                                      args.repeat)
            parts.append("## Query time vs road segments (median ms)\n\n```\n"
                         + table(rows, ["roads", *names]) + "\n\n" + charts(rows, names)
                         + "\n```")
    report = "\n\n".join(parts)
    print("\n" + report)
    (ensure_out() / "scaling.md").write_text(
        f"# Scaling on this machine\n\nmedian of {args.repeat} sequential requests after a "
        f"warm-up; one keep-alive client, no gzip.\n\n{report}\n", encoding="utf-8")


if __name__ == "__main__":
    main()
