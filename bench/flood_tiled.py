"""The tiled priority-flood on dask.distributed against the in-memory fill (issue 20).

For each size N (default 5000, 10000, 20000): a synthetic DEM of N x N cells is
generated window by window (never whole in memory) as a COG: fractal value noise, nine
octaves from 2048 cells down to 8 with amplitude ~ scale^0.8, on a gentle regional
slope, 3-40 m like the Red River delta; its smallest octaves leave many closed
depressions and its large ones broad basins that cross tile edges. Then:

- tiled: ``twin.flood.distributed.fill_cog`` on a fresh LocalCluster of ``--workers``
  process workers (1 thread each, ``--memory`` limit each), COG in, COG out; peak RSS
  of each worker process sampled every 0.2 s; the time is the whole job (read, three
  stages, tile files, VRT and COG conversion);
- in memory: ``fill_depressions`` in a fresh process on the whole grid (read first,
  not timed), up to ``--in-memory-max`` cells a side; time and peak RSS (ru_maxrss).
  The in-memory time at the larger sizes is extrapolated by cells from the largest
  run (priority-flood is O(n log n) in the worst case and close to linear on terrain).

    .venv/bin/python -m bench.flood_tiled [--sizes 5000,10000,20000] [--tile 2048]
        [--workers 2] [--memory 4GiB] [--in-memory-max 10000] [--keep]

Writes bench/out/flood_tiled.md; the DEMs go to bench/out/flood_tiled/ (2 GB at 20k).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin
from rasterio.windows import Window

from bench.common import ensure_out, table

OCTAVES = [2 ** k for k in range(11, 2, -1)]         # 2048 ... 8 cells
CELL_M = 5.0


def _hash(i: np.ndarray, j: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Uniform [0, 1) per integer lattice point (splitmix64 of its coordinates)."""
    x = (i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
         ^ j.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
         ^ np.uint64(k * 0x165667B1 + seed))
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(2 ** 53)


def terrain(r0: int, r1: int, c0: int, c1: int, n: int, seed: int = 1) -> np.ndarray:
    """Elevation (m, float32) of rows r0:r1, columns c0:c1 of the N x N synthetic DEM;
    the same cells come out the same whatever the window."""
    rows, cols = np.arange(r0, r1, dtype=np.float64), np.arange(c0, c1, dtype=np.float64)
    z = np.zeros((r1 - r0, c1 - c0))
    for k, s in enumerate(OCTAVES):
        fr, fc = rows / s, cols / s
        i0, j0 = np.floor(fr).astype(np.int64), np.floor(fc).astype(np.int64)
        ti, tj = fr - i0, fc - j0
        ti, tj = ti * ti * (3 - 2 * ti), tj * tj * (3 - 2 * tj)     # smoothstep
        ii = np.arange(i0.min(), i0.max() + 2)
        jj = np.arange(j0.min(), j0.max() + 2)
        lat = _hash(ii[:, None], jj[None, :], k, seed)
        a, b = i0 - ii[0], j0 - jj[0]
        v00, v01 = lat[a][:, b], lat[a][:, b + 1]
        v10, v11 = lat[a + 1][:, b], lat[a + 1][:, b + 1]
        top = v00 + (v01 - v00) * tj[None, :]
        bot = v10 + (v11 - v10) * tj[None, :]
        z += (top + (bot - top) * ti[:, None]) * (s ** 0.8) * 0.02
    slope = 10.0 * (1 - (rows[:, None] + cols[None, :]) / (2 * n))
    return (3.0 + slope + z).astype(np.float32)


def make_dem(path: Path, n: int, band: int = 1024) -> float:
    """The N x N DEM as a COG at ``path``, written window by window; returns seconds."""
    t0 = time.perf_counter()
    tmp = path.with_suffix(".raw.tif")
    with rasterio.open(tmp, "w", driver="GTiff", width=n, height=n, count=1,
                       dtype="float32", crs="EPSG:32648", nodata=np.nan,
                       transform=from_origin(560000, 2360000, CELL_M, CELL_M), tiled=True,
                       blockxsize=512, blockysize=512, BIGTIFF="YES") as dst:
        for r0 in range(0, n, band):
            r1 = min(r0 + band, n)
            dst.write(terrain(r0, r1, 0, n, n), 1, window=Window(0, r0, n, r1 - r0))
    rasterio.shutil.copy(tmp, path, driver="COG", COMPRESS="DEFLATE", PREDICTOR="3",
                         BLOCKSIZE="512", BIGTIFF="YES", OVERVIEWS="NONE")
    tmp.unlink()
    return time.perf_counter() - t0


def _in_memory(path: str) -> tuple[float, float]:
    from twin.analysis.flood.fill import fill_depressions

    with rasterio.open(path) as src:
        z = src.read(1)
    t0 = time.perf_counter()
    fill_depressions(z)
    dt = time.perf_counter() - t0
    return dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20   # GiB


def in_memory(path: Path) -> tuple[float, float]:
    """Fill time (s) and peak RSS (GiB) of the in-memory fill in a fresh process."""
    with ProcessPoolExecutor(1) as pool:
        pool.submit(_in_memory, str(path.with_name("warm.tif"))).result()   # numba JIT
    with ProcessPoolExecutor(1) as pool:
        return pool.submit(_in_memory, str(path)).result()


class Peaks:
    """Peak RSS of each worker process, sampled in a thread."""

    def __init__(self, pids: list[int]):
        self.procs = [psutil.Process(p) for p in pids]
        self.peak = [0] * len(pids)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for k, p in enumerate(self.procs):
                with contextlib.suppress(psutil.Error):
                    self.peak[k] = max(self.peak[k], p.memory_info().rss)
            self.stop.wait(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def tiled(path: Path, out: Path, tile: int, workers: int, memory: str
          ) -> tuple[float, float, list[float]]:
    """Time (s) of the tiled fill, COG to COG, of which the mosaic and COG write after
    the last tile, and each worker's peak RSS (GiB)."""
    from twin.flood.distributed import dask_client, fill_cog

    with dask_client(n_workers=workers, processes=True, memory_limit=memory) as client:
        client.run(_warm, str(path.with_name("warm.tif")))
        pids = list(client.run(os.getpid).values())
        with Peaks(pids) as peaks:
            t0 = time.perf_counter()
            last = [t0]
            fill_cog(path, out, tile=tile, client=client,
                     progress=lambda *_: last.__setitem__(0, time.perf_counter()))
            t1 = time.perf_counter()
    return t1 - t0, t1 - last[0], [p / 2 ** 30 for p in peaks.peak]


def _warm(path: str) -> None:
    """Compile the kernels in a worker (numba's cache makes this a load)."""
    from twin.analysis.flood.tiled_fill import fill_tile, solve, tile_graph
    from twin.analysis.flood.tiled_layout import Layout, halo

    with rasterio.open(path) as src:
        z = src.read(1)
    lay = Layout.of(z.shape, 64)
    graphs = [tile_graph(halo(z, w)) for w in lay.windows()]
    for w, lv in zip(lay.windows(), solve(lay, graphs), strict=True):
        fill_tile(halo(z, w), lv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000,10000,20000")
    ap.add_argument("--tile", type=int, default=2048)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory", default="4GiB")
    ap.add_argument("--in-memory-max", type=int, default=10000)
    ap.add_argument("--keep", action="store_true", help="keep the DEMs for the next run")
    args = ap.parse_args()
    work = ensure_out() / "flood_tiled"
    work.mkdir(exist_ok=True)
    if not (work / "warm.tif").exists():
        make_dem(work / "warm.tif", 256)
    rows, ref = [], None
    for n in (int(s) for s in args.sizes.split(",")):
        dem = work / f"dem_{n}.tif"
        gen = make_dem(dem, n) if not dem.exists() else 0.0
        t_tiled, t_cog, peaks = tiled(dem, work / f"filled_{n}.tif", args.tile, args.workers,
                               args.memory)
        if n <= args.in_memory_max:
            t_mem, rss = in_memory(dem)
            ref, note = (n, t_mem), "measured"
        else:
            t_mem, rss = ref[1] * (n / ref[0]) ** 2, float("nan")
            note = f"extrapolated from {ref[0]}²"
        rows.append([f"{n}²", f"{n * n / 1e6:.0f} M", f"{gen:.0f}", f"{t_tiled:.1f}",
                     f"{t_cog:.1f}",
                     " / ".join(f"{p:.2f}" for p in peaks), f"{t_mem:.1f}", f"{rss:.2f}",
                     note, f"{t_tiled / t_mem:.2f}"])
        print(table(rows[-1:], HEADER), flush=True)
        (work / f"filled_{n}.tif").unlink(missing_ok=True)
        if not args.keep:
            dem.unlink()
    report = table(rows, HEADER)
    print("\n" + report)
    (ensure_out() / "flood_tiled.md").write_text(
        f"# Tiled priority-flood vs in-memory fill\n\ntile {args.tile}, {args.workers} "
        f"workers x 1 thread, memory limit {args.memory} each, {os.cpu_count()} CPUs\n\n"
        f"```\n{report}\n```\n")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


HEADER = ["DEM", "cells", "gen s", "tiled s", "of which COG s", "peak GiB/worker", "in-memory s",
          "in-mem peak GiB", "in-memory", "tiled/in-mem"]

if __name__ == "__main__":
    main()
