"""The map tile cache (issue 20, point 3): PNG tiles of surfaces rendered on every request
against served from the tile cache, at 100 % and at 90 % hits, in one run.

The 24 hourly PM2.5 surfaces of ``bench/coverages.py`` (1000 × 1000 cells at 25 m,
stored with twin's ``store_cube``) in a scratch database, served by ``twin serve``
(``--workers``); a fixed set of distinct map tiles at z12-15 over the grid, each at one
of the 24 hours (as a time slider asks), fetched by ``--clients`` concurrent clients
(one asyncio process with httpx, keep-alive, no gzip):

- ``uncached``: ``TWIN_TILE_CACHE=off``: every tile read from its COG, warped, coloured
  and encoded (what every request did before the cache);
- ``cached``: every tile already in the cache (one pass made them): a hit each (the
  step's version: a primary-key read and a ``stat``, then the file);
- ``90 % hits``: a fresh cache holding 90 % of the tiles, each tile fetched once.

Reported: tiles/s, p50 and p95 latency at the client, and each run's tiles/s as a
multiple of the uncached run's. The machine's load average is printed before and after
(the numbers are only comparable within one run).

    .venv/bin/python -m bench.map_tile_cache [--workers 2] [--clients 8] [--tiles 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import tempfile
from datetime import timedelta
from pathlib import Path

from pyproj import Transformer

from bench.common import ensure_out, scratch_database, table
from bench.coverages import HOURS, LAT, LON, RES, T0, N, build
from bench.servers import Fleet, twin_server
from bench.tile_cache import fetch_all, quantile
from twin.server.tiles.metadata import tile_index

DB_NAME = "twin_bench_map_tiles"
COLLECTION = "pm25_surface"


def grid_lonlat() -> tuple[float, float, float, float]:
    """A CRS84 box inside the surfaces' grid (its middle 80 %)."""
    to_lonlat = Transformer.from_crs("EPSG:3405", "OGC:CRS84", always_xy=True)
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:3405", always_xy=True).transform(LON, LAT)
    half = 0.4 * N * RES
    west, south = to_lonlat.transform(x - half, y - half)
    east, north = to_lonlat.transform(x + half, y + half)
    return west, south, east, north


def tile_set(n: int, seed: int = 7) -> list[tuple[int, int, int, int]]:
    """``n`` distinct (z, x, y, hour) over the grid."""
    west, south, east, north = grid_lonlat()
    rng, seen = random.Random(seed), set()
    while len(seen) < n:
        z = rng.choice((12, 13, 14, 15))
        x, y = tile_index(rng.uniform(west, east), rng.uniform(south, north), z)
        seen.add((z, x, y, rng.randrange(HOURS)))
    return sorted(seen)


def urls(tiles: list) -> list[str]:
    return [url(t) for t in tiles]


def url(tile: tuple[int, int, int, int]) -> str:
    z, x, y, hour = tile
    when = T0 + timedelta(hours=hour)
    return (f"/collections/{COLLECTION}/map/tiles/WebMercatorQuad/{z}/{y}/{x}"
            f"?datetime={when.strftime('%Y-%m-%dT%H:%M:%SZ')}")


def measure(db_url: str, workers: int, clients: int, tiles: list, out: Path) -> list[list]:
    rows: list[list] = []
    cache = out / "map-tile-cache"
    rates: dict[str, float] = {}

    def one(name: str, setting: str, warm: list) -> None:
        server = twin_server(db_url, workers, out)
        server.env = {**server.env, "TWIN_TILE_CACHE": setting}
        with Fleet([server]):
            asyncio.run(fetch_all(server.base, urls(tiles[:1]), 1, 120))  # first COG open
            if warm:
                asyncio.run(fetch_all(server.base, urls(warm), clients, 120))
            seconds, lat, _served = asyncio.run(fetch_all(server.base, urls(tiles), clients,
                                                          120))
        rates[name] = len(tiles) / seconds
        rows.append([name, len(tiles), f"{rates[name]:,.0f}",
                     f"{statistics.median(lat) * 1e3:.2f}", f"{quantile(lat, 0.95) * 1e3:.2f}",
                     f"{rates[name] / rates['uncached']:.1f}×"])
        print(f"{name}: done", flush=True)

    one("uncached", "off", [])
    shutil.rmtree(cache, ignore_errors=True)
    one("cached (100 % hits)", str(cache), tiles)
    shutil.rmtree(cache, ignore_errors=True)
    one("90 % hits", str(cache), random.Random(11).sample(tiles, int(len(tiles) * 0.9)))
    shutil.rmtree(cache, ignore_errors=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--tiles", type=int, default=400)
    args = ap.parse_args()
    out = ensure_out()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    with scratch_database(DB_NAME) as db_url, tempfile.TemporaryDirectory() as tmp:
        build(db_url, Path(tmp))
        rows = measure(db_url, args.workers, args.clients, tile_set(args.tiles), out)
    text = table(rows, ["run", "tiles", "tiles/s", "client p50 ms", "client p95 ms",
                        "vs uncached"])
    print(text)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    (out / "map_tile_cache.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
