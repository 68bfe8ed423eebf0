"""Flood models on a 2,500 x 2,500 DEM of the demo city, 24 hourly steps.

    python -m bench.flood [--size 2500] [--steps 24] [--repeat 1] [--no-alt]

The DEM is the demo city's terrain (twin.demo.dem: dykes, river bed, lakes, the Tô
Lịch) resampled bilinearly from its 10 m grid to size x size cells. Timed:

- depression filling: twin (Zhou-style flat fill, Barnes ε variant) against richdem
  (the same two algorithms in C++), pysheds and scikit-image morphological
  reconstruction, each run in bench/.venv-flood (bench/setup-flood-venv.sh) on the
  same array; every result is checked equal to twin's;
- the gauge model per hour: gauge levels along the Red River (a flood wave to 12.5 m,
  above alert level III) interpolated by twin.analysis.interpolate's IDW (or a plain
  IDW when that module is missing) on every cell, and on every 8th cell with bilinear
  in between (``surface_step``), then flooded with connectivity from the river;
- the rainfall model: the depression hierarchy once, then each hour of a 24-hour
  storm (250 mm, peak 60 mm/h) less 25 mm/h of drainage (Hà Nội's drains take about
  50 mm per 2 h);
- vectorising the peak hour of each model.

Prints the tables and writes bench/out/flood.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import shapely
from rasterio.features import rasterize
from rasterio.transform import Affine
from scipy import ndimage

from bench.common import ensure_out, table
from twin.analysis.flood import PondingModel, fill_depressions, flood_from_levels, vectorise

ALT_PYTHON = Path(__file__).parent / ".venv-flood" / "bin" / "python"
ALT_TOOLS = ("richdem", "richdem-epsilon", "pysheds", "skimage")
SURFACE_STEP = 8      # the gauge surface is interpolated every 8th cell, bilinear between


def city_dem(size: int):
    """(DEM float32, transform, river channel mask, river centre line) at size x size."""
    from twin.demo.dem import Terrain, dem_grid
    from twin.demo.frame import stage_rng
    from twin.demo.geography import build_geography

    geo = build_geography(stage_rng(20261124, "geography"))
    z10, t10 = dem_grid(Terrain(geo, stage_rng(20261124, "terrain")))
    fy, fx = size / z10.shape[0], size / z10.shape[1]
    z = ndimage.zoom(z10, (fy, fx), order=1).astype(np.float32)
    transform = Affine(t10.a / fx, 0, t10.c, 0, t10.e / fy, t10.f)
    river = rasterize([geo.river.channel], out_shape=z.shape, transform=transform).astype(bool)
    return z, transform, river, geo.river.line


def surface_fn():
    """twin's IDW when the interpolation module is there, else a plain IDW."""
    try:
        from twin.analysis.interpolate import IDW
    except ImportError:
        IDW = None
    if IDW is not None:
        return "twin IDW (k=8)", lambda gx, gy, lv, xs, ys: IDW.fit(
            np.column_stack([gx, gy]), lv, power=2.0, k=8).predict_grid(xs, ys)[0]

    def plain(gx, gy, lv, xs, ys):
        X, Y = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
        num = np.zeros(X.shape, np.float32)
        den = np.zeros(X.shape, np.float32)
        for x, y, v in zip(gx, gy, lv, strict=False):
            w = 1.0 / np.maximum((X - x) ** 2 + (Y - y) ** 2, 1e-6)
            num += w * v
            den += w
        return num / den
    return "plain IDW (bench)", plain


def gauge_levels(line: shapely.LineString, steps: int) -> list[list[tuple[float, float, float]]]:
    """Ten gauges along the river; a flood wave 9 -> 12.5 -> 10 m at the upstream end,
    falling 0.1 m per km downstream."""
    s = np.linspace(0.05, 0.95, 10) * line.length
    pts = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
    hours = np.arange(steps)
    stage = 9.0 + 3.5 * np.exp(-(((hours - 0.6 * steps) / (0.25 * steps)) ** 2))
    return [[(x, y, float(h - 1e-4 * d)) for (x, y), d in zip(pts, s, strict=False)] for h in stage]


def storm(steps: int, total_mm: float = 250.0) -> list[float]:
    t = np.arange(steps) + 0.5
    shape = np.exp(-(((t - 0.4 * steps) / (0.15 * steps)) ** 2))
    return list(total_mm * shape / shape.sum())


def time_fill(z: np.ndarray, repeat: int, alt: bool, out: Path) -> list[dict]:
    fill_depressions(z[:64, :64])
    fill_depressions(z[:64, :64], epsilon=True)
    rows = []
    ours = {}
    for name, eps in (("twin", False), ("twin-epsilon", True)):
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            ours[name] = fill_depressions(z, epsilon=eps)
            best = min(best, time.perf_counter() - start)
        rows.append({"tool": name, "seconds": best, "equal": "-"})
    if not alt:
        return rows
    if not ALT_PYTHON.exists():
        return rows + [{"tool": t, "skipped": "no bench/.venv-flood: run bench/setup-flood-venv.sh"}
                       for t in ALT_TOOLS]
    src = out / "flood_dem.npy"
    np.save(src, z)
    for tool in ALT_TOOLS:
        dst = out / f"flood_fill_{tool}.npy"
        run = subprocess.run([str(ALT_PYTHON), str(Path(__file__).parent / "_flood_alt.py"), tool,
                              str(src), str(dst), str(repeat)], capture_output=True, text=True)
        lines = [ln for ln in run.stdout.splitlines() if ln.startswith("{")]
        if run.returncode or not lines:
            why = (run.stderr.strip().splitlines() or ["failed"])[-1]
            rows.append({"tool": tool, "skipped": why})
            continue
        row = json.loads(lines[-1])
        if "seconds" in row:
            ref = ours["twin-epsilon" if tool.endswith("epsilon") else "twin"]
            other = np.load(dst).astype(z.dtype)
            row["equal"] = bool(np.array_equal(other, ref)) if not tool.endswith("epsilon") else \
                f"max diff {float(np.abs(other - ref).max()):.1e} m"
            dst.unlink()
        rows.append(row)
    src.unlink()
    return rows


def time_gauges(z, transform, river, line, steps, surface_step):
    label, fn = surface_fn()
    levels = gauge_levels(line, steps)
    timings, depths = [], []
    for g in levels:
        start = time.perf_counter()
        depths.append(flood_from_levels(z, transform, g, river, fn, surface_step))
        timings.append(time.perf_counter() - start)
    return label, timings, depths


def time_rain(z, transform, steps):
    area = abs(transform.a * transform.e)
    start = time.perf_counter()
    model = PondingModel(z, area)
    build = time.perf_counter() - start
    runoff, rain, timings, results = 0.0, 0.0, [], []
    for mm in storm(steps):
        rain += mm
        runoff += max(0.0, mm - 25.0) / 1000.0
        start = time.perf_counter()
        depth, ponded, outflow = model.pond(runoff)
        timings.append(time.perf_counter() - start)
        results.append((depth, rain, ponded, outflow))
    return model, build, timings, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=2500)
    ap.add_argument("--steps", type=int, default=24)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-alt", action="store_true", help="skip richdem, pysheds, scikit-image")
    args = ap.parse_args()
    out = ensure_out()
    z, transform, river, line = city_dem(args.size)
    print(f"DEM {z.shape[0]} x {z.shape[1]} cells of {transform.a:.2f} x {-transform.e:.2f} m, "
          f"{np.nanmin(z):.1f}-{np.nanmax(z):.1f} m")

    fill = time_fill(z, args.repeat, not args.no_alt, out)
    others = [r["seconds"] for r in fill if "seconds" in r and not r["tool"].startswith("twin")]
    fastest = min(others, default=None)
    twin_s = fill[0]["seconds"]
    print("\nDepression filling (8-connected), best of", args.repeat)
    print(table([[r["tool"], f"{r['seconds']:.3f}" if "seconds" in r else "-",
                  f"{r['seconds'] / twin_s:.2f}" if "seconds" in r else "-",
                  r.get("equal", r.get("skipped", ""))] for r in fill],
                ["tool", "seconds", "÷ twin", "same as twin / skipped"]))

    label, g_exact, exact_depths = time_gauges(z, transform, river, line, args.steps, 1)
    _, g_times, g_depths = time_gauges(z, transform, river, line, args.steps, SURFACE_STEP)
    pairs = list(zip(exact_depths, g_depths, strict=False))
    moved = max(float(np.abs(a - b).max()) for a, b in pairs)
    flips = max(int(((a > 0) != (b > 0)).sum()) for a, b in pairs)
    model, build, r_times, r_results = time_rain(z, transform, args.steps)
    gpeak = int(np.argmax([d.sum() for d in g_depths]))
    rpeak = int(np.argmax([r[2] for r in r_results]))
    start = time.perf_counter()
    g_ext = vectorise(g_depths[gpeak], transform)
    g_vec = time.perf_counter() - start
    start = time.perf_counter()
    r_ext = vectorise(r_results[rpeak][0], transform)
    r_vec = time.perf_counter() - start

    cell = abs(transform.a * transform.e)
    rows = [
        ["gauge model, per hour, surface every cell", f"{np.median(g_exact):.3f}",
         f"{max(g_exact):.3f}", f"{sum(g_exact):.2f}", label],
        [f"gauge model, per hour, surface every {SURFACE_STEP} cells", f"{np.median(g_times):.3f}",
         f"{max(g_times):.3f}", f"{sum(g_times):.2f}",
         f"peak {int((g_depths[gpeak] > 0.05).sum() * cell / 1e4)} ha wet"],
        ["rainfall model, hierarchy (once)", f"{build:.3f}", "-", "-",
         f"{model.tree.n_leaves:,} basins"],
        ["rainfall model, per hour", f"{np.median(r_times):.3f}", f"{max(r_times):.3f}",
         f"{sum(r_times):.2f}",
         f"peak {int((r_results[rpeak][0] > 0.05).sum() * cell / 1e4)} ha wet"],
        ["vectorise gauge peak hour", f"{g_vec:.3f}", "-", "-", f"{len(g_ext):,} polygons"],
        ["vectorise rainfall peak hour", f"{r_vec:.3f}", "-", "-", f"{len(r_ext):,} polygons"],
    ]
    print(f"\nFlood models, {args.steps} hourly steps")
    print(table(rows, ["step", "median s", "max s", "total s", "result"]))
    depth, rain, ponded, outflow = r_results[-1]
    rain_m3 = rain / 1000 * np.isfinite(z).sum() * cell
    print(f"\nrainfall budget after {args.steps} h: rain {rain_m3:,.0f} m³ = drained "
          f"{rain_m3 - ponded - outflow:,.0f} + ponded {ponded:,.0f} + outflow {outflow:,.0f}; "
          f"depth grid holds {depth.astype(float).sum() * cell:,.0f} m³")
    print(f"surface every {SURFACE_STEP} cells vs every cell: depths differ by at most "
          f"{moved:.3f} m, at most {flips} cells change wet/dry in any hour")
    verdict = {
        "fill_ratio_vs_fastest": None if fastest is None else fastest / twin_s,
        "gauge_hour_under_1s": bool(np.median(g_times) < 1.0),
        "gauge_hour_exact_surface_under_1s": bool(np.median(g_exact) < 1.0),
    }
    print("\n" + json.dumps(verdict))
    (out / "flood.json").write_text(json.dumps({
        "size": z.shape, "cell_m": [transform.a, -transform.e], "fill": fill,
        "gauge_seconds": g_times, "gauge_seconds_exact_surface": g_exact,
        "rain_build_seconds": build, "rain_seconds": r_times,
        "vectorise_seconds": {"gauge": g_vec, "rain": r_vec}, **verdict}, indent=1))


if __name__ == "__main__":
    main()
