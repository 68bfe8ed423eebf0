"""Load test: twin (``twin serve``, N workers) on the full demo, a mix of items, tiles, EDR
and edits at 8, 32 and 128 concurrent clients, loopback only.

Each level runs for ``--seconds`` (and at most ``--max-requests``) after a short warm-up.
The mix, per request drawn at random (seeded):
- items 40 %: a GeoJSON page (limit 100) of road segments in a random 1 km box;
- tiles 30 %: a road-segment vector tile at z14-16 in the city;
- EDR 20 %: one station's pm25 over one day (position query);
- edits 10 %: POST of a new bus stop, then PATCH of a stop this run created, with an API
  key of the ``transport`` role.
Reported per type and level: requests, errors (non-2xx or transport errors), throughput,
p50 and p99 latency; and the client's own CPU use (one asyncio process with httpx), so a
saturated client is visible rather than mistaken for the server's limit.

    .venv/bin/python -m bench.load [--workers 2] [--seconds 20] [--levels 8,32,128]

The database is a scratch copy (``twin_bench_load``) of the EDR benchmark's full demo
(``twin_bench_edr``, made by ``bench/edr.py``) when that exists, else the demo is
generated and loaded; edits change only the copy.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import resource
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
import psycopg
from psycopg import sql

from bench.common import ensure_out, libpq, scratch_database, table
from bench.servers import Fleet, twin_server
from twin.config import load_settings

DB_NAME = "twin_bench_load"
TEMPLATE = "twin_bench_edr"
MIX = (("items", 0.4), ("tiles", 0.3), ("edr", 0.2), ("edit", 0.1))
CITY = (105.76, 20.96, 105.90, 21.08)   # the dense centre of the demo city (CRS84)
DAY = "2026-10-05T00:00Z/2026-10-06T00:00Z"


# --- the dataset ------------------------------------------------------------------------

def clone_or_load(url: str, name: str = DB_NAME) -> None:
    """Fill ``url``'s database: a copy of the EDR benchmark's database if present (seconds),
    else the generated demo through twin's loaders (bench/edr.py's dataset)."""
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('sensor_readings') IS NOT NULL").fetchone()[0]:
            return
        admin = libpq(url).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (TEMPLATE,)).fetchone()
        if exists:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)))
            print(f"dataset: copied {TEMPLATE}", flush=True)
            return
    from bench.edr import ensure_dataset

    ensure_dataset(url, rebuild=False)


def transport_key(url: str) -> str:
    from twin.db.engine import make_engine
    from twin.server.auth.keys import create_key

    engine = make_engine(url, pool_size=1)
    try:
        key, _record = create_key(engine, "bench-load", "transport", created_by="bench")
    finally:
        engine.dispose()
    return key


def station_points(url: str) -> list[tuple[float, float]]:
    with psycopg.connect(libpq(url)) as conn:
        return conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM sensor_stations "
                            "WHERE kind = 'air' ORDER BY code").fetchall()


# --- the requests -----------------------------------------------------------------------

def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@dataclass
class Mix:
    """Draws the next request; remembers the stops this run created (to PATCH them)."""
    rng: random.Random
    stations: list[tuple[float, float]]
    key: str
    weights: tuple[tuple[str, float], ...] = MIX
    created: list[str] = field(default_factory=list)
    serial: int = 0

    def kind(self) -> str:
        return self.rng.choices([k for k, _ in self.weights],
                                [w for _, w in self.weights])[0]

    def point(self) -> tuple[float, float]:
        return self.rng.uniform(CITY[0], CITY[2]), self.rng.uniform(CITY[1], CITY[3])

    def request(self, kind: str) -> tuple[str, str, dict]:
        """(method, path, httpx keyword arguments)."""
        if kind == "items":
            lon, lat = self.point()
            box = f"{lon:.5f},{lat:.5f},{lon + 0.01:.5f},{lat + 0.009:.5f}"
            return "GET", "/collections/road_segments/items", {
                "params": {"bbox": box, "limit": 100}}
        if kind == "tiles":
            z = self.rng.choice((14, 15, 16))
            x, y = tile_of(*self.point(), z)
            return "GET", f"/collections/road_segments/tiles/WebMercatorQuad/{z}/{y}/{x}", {}
        if kind == "edr":
            lon, lat = self.rng.choice(self.stations)
            return "GET", "/collections/sensor_readings/position", {"params": {
                "coords": f"POINT({lon} {lat})", "datetime": DAY, "parameter-name": "pm25"}}
        return self.edit()

    def edit(self) -> tuple[str, str, dict]:
        headers = {"X-API-Key": self.key, "Content-Type": "application/geo+json"}
        if self.created and self.rng.random() < 0.5:
            code = self.rng.choice(self.created)
            return "PATCH", f"/collections/bus_stops/items/{code}", {
                "headers": {**headers, "Content-Type": "application/merge-patch+json"},
                "json": {"type": "Feature", "properties": {"shelter": self.rng.random() < .5}}}
        self.serial += 1
        code = f"LOAD-{self.rng.randrange(10**9):09d}-{self.serial}"
        lon, lat = self.point()
        return "POST", "/collections/bus_stops/items", {"headers": headers, "json": {
            "type": "Feature", "id": code, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"code": code, "name": f"Load test stop {self.serial}",
                           "shelter": False, "wheelchair": True}}}

    def created_ok(self, method: str, kwargs: dict, status: int) -> None:
        if method == "POST" and status == 201:
            self.created.append(kwargs["json"]["id"])


# --- one level ---------------------------------------------------------------------------

@dataclass
class Level:
    clients: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    wall: float = 0.0
    client_cpu: float = 0.0


async def run_level(base: str, mix: Mix, clients: int, seconds: float, max_requests: int,
                    warmup: float = 2.0) -> Level:
    level = Level(clients)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    budget = [max_requests]
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits,
                                 headers={"Accept-Encoding": "gzip"}) as client:
        async def worker(stop_at: float, record: bool) -> None:
            while time.perf_counter() < stop_at and budget[0] > 0:
                kind = mix.kind()
                method, path, kwargs = mix.request(kind)
                if record:
                    budget[0] -= 1
                t0 = time.perf_counter()
                try:
                    response = await client.request(method, path, **kwargs)
                    await response.aread()
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - t0) * 1000
                mix.created_ok(method, kwargs, status)
                if record:
                    level.latencies[kind].append(elapsed)
                    level.statuses[kind][status] += 1
                    if not 200 <= status < 300:
                        level.errors[kind] += 1

        await asyncio.gather(*(worker(time.perf_counter() + warmup, False)
                               for _ in range(clients)))
        cpu0, t0 = _cpu(), time.perf_counter()
        await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(clients)))
        level.wall, level.client_cpu = time.perf_counter() - t0, _cpu() - cpu0
    return level


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def rows_of(level: Level) -> list[list]:
    out = []
    for kind in [k for k, _ in MIX if k in level.latencies] + ["all"]:
        lat = (level.latencies[kind] if kind != "all"
               else [x for v in level.latencies.values() for x in v])
        errors = level.errors[kind] if kind != "all" else sum(level.errors.values())
        if not lat:
            continue
        out.append([level.clients, kind, len(lat), errors, f"{len(lat) / level.wall:.1f}",
                    f"{pct(lat, 0.5):.1f}", f"{pct(lat, 0.99):.1f}"])
    out[-1].append(f"{100 * level.client_cpu / level.wall:.0f} %")
    return out


# --- main --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0, help="measured time per level")
    ap.add_argument("--max-requests", type=int, default=20000, help="cap per level")
    ap.add_argument("--levels", default="8,32,128")
    ap.add_argument("--seed", type=int, default=9)
    args = ap.parse_args(argv)
    out = ensure_out()
    levels = [int(v) for v in args.levels.split(",")]
    with scratch_database(DB_NAME) as url:
        clone_or_load(url)
        key, stations = transport_key(url), station_points(url)
        server = twin_server(url, args.workers, out)
        with Fleet([server]):
            mix = Mix(random.Random(args.seed), stations, key)
            results = [asyncio.run(run_level(server.base, mix, n, args.seconds,
                                             args.max_requests)) for n in levels]
    header = ["clients", "type", "requests", "errors", "req/s", "p50 ms", "p99 ms",
              "client CPU"]
    rows = [r for level in results for r in rows_of(level)]
    report = table([r + [""] * (len(header) - len(r)) for r in rows], header)
    odd = {f"{lv.clients}/{k}": dict(v) for lv in results for k, v in lv.statuses.items()
           if any(not 200 <= s < 300 for s in v)}
    print("\n" + report + (f"\n\nnon-2xx statuses: {odd}" if odd else ""))
    settings = load_settings()
    (out / "load.md").write_text(
        f"twin serve --workers {args.workers}, {args.seconds:.0f} s per level after a 2 s "
        f"warm-up, mix {dict(MIX)}, loopback, one asyncio httpx client process; "
        f"client CPU is that process's share of one core (server and client share the "
        f"machine's CPUs); database pool {settings.pool_size} per worker.\n\n```\n{report}\n```\n"
        + (f"\nnon-2xx statuses: {odd}\n" if odd else ""), encoding="utf-8")


if __name__ == "__main__":
    main()
