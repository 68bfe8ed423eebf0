"""Raster serving latency: twin over HTTP against the raw rasterio read of the same data.

24 hourly PM2.5 surfaces of 1000 × 1000 cells at 25 m over Hà Nội are stored with
:func:`twin.rasters.catalogue.store_cube` into a scratch database and served by
``twin serve`` (1 worker). For each request, the median of N requests from one client
over one keep-alive connection (no gzip), against the median of N runs of its floor in
this process: the rasterio read that returns the same pixels (open + windowed read, and
for tiles and maps open + decimated read + reproject; for the EDR series, open and
sample each of the 24 files).

    .venv/bin/python -m bench.coverages [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from pyproj import Transformer
from rasterio.windows import Window

from bench.common import ensure_out, scratch_database, table
from bench.servers import Fleet, twin_server
from twin.config import REPO_ROOT
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.rasters import read
from twin.rasters.catalogue import store_cube
from twin.registry import load_registry
from twin.server.coverages.maps import tile_grid

DB_NAME = "twin_bench_coverages"
N, RES, HOURS = 1000, 25.0, 24
T0 = datetime(2024, 1, 15, tzinfo=UTC)
LON, LAT = 105.85, 21.03


def build(url: str, raster_dir: Path) -> tuple[Affine, list[Path]]:
    """The 24 surfaces, stored in one transaction; their transform and files."""
    x, y = Transformer.from_crs("OGC:CRS84", "EPSG:3405", always_xy=True).transform(LON, LAT)
    transform = Affine(RES, 0, round(x - N * RES / 2), 0, -RES, round(y + N * RES / 2))
    yy, xx = np.mgrid[0:N, 0:N].astype("float32")
    cube = np.stack([20 + 60 * np.sin(xx / 90 + h / 4) * np.cos(yy / 70) + 40 + h
                     for h in range(HOURS)]).astype("float32")
    times = np.array([(T0 + timedelta(hours=h)).replace(tzinfo=None) for h in range(HOURS)],
                     dtype="datetime64[ns]")
    data = xr.DataArray(cube, dims=("time", "y", "x"), coords={"time": times},
                        attrs={"crs": "EPSG:3405", "transform": tuple(transform)[:6]})
    engine = make_engine(url, pool_size=1)
    upgrade(engine, load_registry(REPO_ROOT / "layers"))
    with engine.begin() as conn:
        ids = store_cube(conn, data, kind="air_quality", variable="pm25", raster_dir=raster_dir)
    engine.dispose()
    return transform, [raster_dir / "air_quality" / f"{i}.tif" for i in ids]


def http_median(client: httpx.Client, path: str, params: dict, repeat: int) -> float:
    client.get(path, params=params).raise_for_status()  # warm: caches, first open
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def floor_median(fn, repeat: int) -> float:
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def cases(transform: Affine, files: list[Path]) -> list[tuple]:
    """(title, path, params, floor function)."""
    last = files[-1]
    e0, n1 = transform @ (372, 372)
    e1, n0 = transform @ (628, 628)
    z, n = 14, 2 ** 14
    tx = int((LON + 180) / 360 * n)
    lat = np.radians(LAT)
    ty = int((1 - np.log(np.tan(lat) + 1 / np.cos(lat)) / np.pi) / 2 * n)
    tile = tile_grid(z, tx, ty)
    lon_lat = f"POINT({LON} {LAT})"

    def window_read():
        with rasterio.open(last) as src:
            src.read(1, window=Window(372, 372, 256, 256))

    def tile_read():
        read.warp(last, "t", tile.crs, tile.transform, 256, 256)

    def map_read():
        with rasterio.open(last) as src:
            src.read(1, out_shape=(1024, 1024))

    def series_read():
        for path in files:
            with rasterio.open(path) as src:
                next(src.sample([transform @ (500.5, 500.5)]))

    cov = "/collections/pm25_surface"
    return [
        ("coverage 256×256 subset, GeoTIFF", f"{cov}/coverage",
         {"subset": f"E({e0}:{e1}),N({n0}:{n1})", "f": "GeoTIFF"}, window_read),
        ("coverage 256×256 subset, CoverageJSON", f"{cov}/coverage",
         {"subset": f"E({e0}:{e1}),N({n0}:{n1})", "f": "CoverageJSON"}, window_read),
        ("map tile z14 (PNG)", f"{cov}/map/tiles/WebMercatorQuad/{z}/{ty}/{tx}", {}, tile_read),
        ("map 1024×1024 whole grid (PNG)", f"{cov}/map",
         {"width": 1024, "height": 1024, "bbox-crs": "EPSG:3405", "crs": "EPSG:3405",
          "bbox": ",".join(str(v) for v in rasterio.transform.array_bounds(N, N, transform)
                           )}, map_read),
        ("EDR position, 24 h series", f"{cov}/position",
         {"coords": lon_lat, "datetime": "2024-01-15T00:00:00Z/2024-01-15T23:00:00Z"},
         series_read),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    out = ensure_out()
    with scratch_database(DB_NAME) as url, tempfile.TemporaryDirectory() as tmp:
        transform, files = build(url, Path(tmp))
        server = twin_server(url, 1, out)
        # the map tile case repeats one tile: measure its rendering, not the tile cache
        # (bench/map_tile_cache.py measures the cache)
        server.env = {**server.env, "TWIN_TILE_CACHE": "off"}
        rows = []
        with Fleet([server]), httpx.Client(base_url=f"http://127.0.0.1:{server.port}",
                                           headers={"Accept-Encoding": "identity"},
                                           timeout=60) as client:
            for title, path, params, floor in cases(transform, files):
                twin = http_median(client, path, params, args.repeat)
                raw = floor_median(floor, args.repeat)
                rows.append([title, f"{raw:.2f}", f"{twin:.2f}", f"{twin / raw:.1f}×"])
    text = table(rows, ["case", "rasterio floor ms", "twin ms", "ratio"])
    print(text)
    (out / "coverages.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
