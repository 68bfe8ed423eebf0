"""Vector tile latency against its SQL floor, side by side in one run.

For a z14 and a z12 roads tile and a z14 parcels tile (at the densest spot of each layer
unless --lonlat is given) it times, at one client, the median of --runs rounds after a
warm-up round (each round runs the four in turn, so load from elsewhere on the machine hits
them alike):

- ``bare SQL``: plain ST_AsMVT over every public column, no generalisation, values
  inlined, no prepared statement (what tipg's floor measures);
- ``same SQL``: twin's own statement for that tile (generalisation included), run
  directly with psycopg: the floor for the same response body;
- ``endpoint``: GET of the tile from the real app under uvicorn (a separate process, one
  worker, keep-alive, no gzip), and ``endpoint gz`` with gzip accepted.

Usage: .venv/bin/python bench/tiles_quick.py [--url SQLALCHEMY_URL] [--runs 15]
(default URL: the embedded database, as ``twin db url`` prints it).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

import httpx
import psycopg

from twin.config import Settings
from twin.registry import load_registry
from twin.server.db import libpq_url
from twin.server.tiles.metadata import tile_index
from twin.server.tiles.sql import MVT_BUFFER, MVT_EXTENT, TILE_MARGIN, LayerTiles

CASES = (("road_segments", 14), ("road_segments", 12), ("land_parcels", 14))


def bare_sql(layer, z: int, x: int, y: int) -> str:
    cols = ", ".join(["id", "external_id"] + [f.name for f in layer.public_fields()])
    return (
        f"SELECT ST_AsMVT(t, '{layer.name}', {MVT_EXTENT}, 'geom', 'id') FROM ("
        f"SELECT {cols}, ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope({z}, {x}, {y}),"
        f" {MVT_EXTENT}, {MVT_BUFFER}, true) AS geom FROM {layer.table} WHERE geom && "
        f"ST_Transform(ST_TileEnvelope({z}, {x}, {y}, margin => {TILE_MARGIN}), "
        f"{layer.srid})) AS t")


def densest(conn, layer, z: int) -> tuple[int, int]:
    """The tile at zoom z around the densest 0.02-degree cell (from a repeatable sample)."""
    row = conn.execute(
        f"SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Collect(ST_Centroid(geom))) "
        f"AS c, count(*) AS n FROM {layer.table} TABLESAMPLE SYSTEM (10) REPEATABLE (1) "
        f"GROUP BY floor(ST_X(ST_Centroid(geom)) * 50), floor(ST_Y(ST_Centroid(geom)) * 50) "
        f"ORDER BY n DESC LIMIT 1) s").fetchone()
    return tile_index(row[0], row[1], z)


def interleaved(fns: dict, runs: int) -> tuple[dict[str, float], dict]:
    """Median milliseconds of each function, run in turn in every round (so a busy
    machine slows them all alike), after one warm-up round; and each one's last result."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    last = {name: fn() for name, fn in fns.items()}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            last[name] = fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(s) * 1000 for name, s in samples.items()}, last


def measure(conn, client: httpx.Client, layer, z: int, x: int, y: int, runs: int) -> str:
    import mapbox_vector_tile

    bare = bare_sql(layer, z, x, y)
    stmt, params = LayerTiles(layer).query(z, x, y)
    path = f"/collections/{layer.name}/tiles/WebMercatorQuad/{z}/{y}/{x}"
    ms, last = interleaved({
        "bare": lambda: conn.execute(bare).fetchone(),
        "same": lambda: conn.execute(stmt, params).fetchone(),
        "plain": lambda: client.get(path, headers={"Accept-Encoding": "identity"}),
        "gz": lambda: client.get(path, headers={"Accept-Encoding": "gzip"}),
    }, runs)
    resp = last["plain"]
    if resp.status_code != 200 or resp.content != bytes(last["same"][0]):
        raise SystemExit(f"{path}: endpoint answered {resp.status_code}, not the SQL's tile")
    n = len(mapbox_vector_tile.decode(resp.content).get(layer.name, {}).get("features", []))
    return (f"{layer.name + f' {z}/{y}/{x}':<26}{n:>9}{len(resp.content):>10}"
            f"{ms['bare']:>9.1f} {ms['same']:>9.1f} {ms['plain']:>9.1f} {ms['gz']:>11.1f} "
            f"{ms['plain'] / ms['same']:>6.2f} {ms['plain'] / ms['bare']:>7.2f}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(url: str, port: int) -> None:
    import uvicorn

    from twin.server.app import create_app

    settings = Settings(database_url=None, _env_file=None, port=port, pool_size=4)
    uvicorn.run(create_app(settings, url), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", help="SQLAlchemy URL of the database with the city loaded")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--lonlat", type=float, nargs=2, help="tile centre instead of densest spot")
    ap.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    settings = Settings(_env_file=None)
    url = args.url or settings.database_url or subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "twin"), "db", "url"],
        capture_output=True, text=True, check=True).stdout.strip()
    registry = load_registry(settings.layers_dir)
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", url, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        client = httpx.Client(base_url=base, timeout=120)
        for _ in range(300):
            try:
                client.get("/tileMatrixSets")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with psycopg.connect(libpq_url(url), autocommit=True,
                             options="-c jit=off -c TimeZone=UTC") as conn:
            print(f"{'tile':<26}{'features':>9}{'bytes':>10}{'bare SQL':>10}{'same SQL':>10}"
                  f"{'endpoint':>10}{'endpoint gz':>12}{'ratio':>7}{'vs bare':>8}")
            for name, z in CASES:
                layer = registry.get(name)
                x, y = (tile_index(*args.lonlat, z) if args.lonlat else densest(conn, layer, z))
                print(measure(conn, client, layer, z, x, y, args.runs))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
