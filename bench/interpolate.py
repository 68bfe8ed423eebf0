"""Interpolation speed: twin's IDW and ordinary kriging against PyKrige, GSTools and scipy.

Same stations, same grid, same variogram, one run. Every method runs in its
own subprocess, so that its peak resident memory (``ru_maxrss``) is its own;
"extra MB" is that peak minus the process's size just before the method ran
(interpreter, libraries, stations). Results are saved and compared with the
reference of the same kind in the parent:

- global kriging (ours, GSTools, PyKrige vectorized) against PyKrige's C backend,
- kriging from the 16 nearest stations (ours) against PyKrige C n_closest_points=16,
- IDW (ours) against the scipy cKDTree baseline (k=12, power 2).

Wall time is what the goals are about; CPU time (all threads) is printed
beside it because on a shared machine wall time also measures the neighbours.

PyKrige's vectorized backend holds an (cells x stations x 1) float64 array and
more (about 8 GB for a 1000 x 1000 grid), so it runs on the grid's top-left
``--small`` x ``--small`` corner; its time is scaled by the cell ratio and
marked as such.

    .venv/bin/python bench/interpolate.py                 # 200 stations, 1000 x 1000
    .venv/bin/python bench/interpolate.py --size 300      # quick
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table

CELL = 20.0  # metres
K_LOCAL, K_IDW = 16, 12


def make_data(n: int, size: int, small: int, workdir: Path) -> None:
    """Seeded stations over the grid and a smooth field with noise sampled at them."""
    rng = np.random.default_rng(2026)
    extent = size * CELL
    xy = rng.uniform(0, extent, (n, 2))
    z = 40 + 8 * np.sin(xy[:, 0] / 3000) * np.cos(xy[:, 1] / 4000) + rng.normal(0, 1.5, n)
    x = (np.arange(size) + 0.5) * CELL
    y = extent - (np.arange(size) + 0.5) * CELL
    np.savez(workdir / "data.npz", xy=xy, z=z, x=x, y=y, small=small)


def _vgm(args):
    from twin.analysis.interpolate import Variogram

    return Variogram(args.model, args.psill, args.range, args.nugget)


def _pykrige(d, args, grid, **kw):
    from pykrige.ok import OrdinaryKriging

    ok = OrdinaryKriging(
        d["xy"][:, 0],
        d["xy"][:, 1],
        d["z"],
        variogram_model=args.model,
        variogram_parameters=_vgm(args).as_pykrige(),
    )
    return lambda: [np.ma.getdata(a) for a in ok.execute("grid", *grid, **kw)]


def _gstools(d, args, grid):
    import gstools as gs

    v = _vgm(args)
    scale = {"spherical": 1.0, "exponential": 1 / 3, "gaussian": 4 / 7}[v.model]
    cls = {"spherical": gs.Spherical, "exponential": gs.Exponential, "gaussian": gs.Gaussian}[
        v.model
    ]
    model = cls(dim=2, var=v.psill, len_scale=v.range * scale, nugget=v.nugget, rescale=1.0)
    krige = gs.krige.Ordinary(
        model, cond_pos=(d["xy"][:, 0], d["xy"][:, 1]), cond_val=d["z"], exact=True
    )
    return lambda: [
        a.T for a in krige(grid, mesh_type="structured", return_var=True, chunk_size=20_000)
    ]


def _scipy_idw(d, grid):
    from scipy.spatial import cKDTree

    tree = cKDTree(d["xy"])

    def run():
        xx, yy = np.meshgrid(*grid)
        dist, idx = tree.query(np.column_stack([xx.ravel(), yy.ravel()]), k=K_IDW, workers=-1)
        with np.errstate(divide="ignore"):
            w = 1.0 / dist**2
        out = (w * d["z"][idx]).sum(axis=1) / w.sum(axis=1)
        hit = dist[:, 0] == 0
        out[hit] = d["z"][idx[hit, 0]]
        return [out.reshape(len(grid[1]), len(grid[0]))]

    return run


def _ours(d, args, grid, kind):
    from twin.analysis.interpolate import IDW, GlobalKriging, LocalKriging

    if kind == "idw":
        m = IDW.fit(d["xy"], d["z"], 2.0, K_IDW)
        return lambda: [m.predict_grid(*grid)[0]]
    local = kind.startswith("ok16")
    m = (
        LocalKriging.fit(_vgm(args), d["xy"], d["z"], K_LOCAL)
        if local
        else GlobalKriging.fit(_vgm(args), d["xy"], d["z"])
    )
    variance = kind.endswith("var")
    return lambda: [a for a in m.predict_grid(*grid, variance=variance) if a is not None]


METHODS = {
    # name: (label, reference, small grid?)
    "pykrige_vec": ("PyKrige vectorized", "pykrige_c", True),
    "pykrige_c": ("PyKrige C", None, False),
    "pykrige_c16": ("PyKrige C n_closest_points=16", None, False),
    "gstools": ("GSTools Ordinary", "pykrige_c", False),
    "scipy_idw": ("scipy cKDTree IDW k=12", None, False),
    "ours_ok": ("twin OK predictions", "pykrige_c", False),
    "ours_ok_var": ("twin OK + variance", "pykrige_c", False),
    "ours_ok16": ("twin OK k=16 predictions", "pykrige_c16", False),
    "ours_ok16_var": ("twin OK k=16 + variance", "pykrige_c16", False),
    "ours_idw": ("twin IDW k=12", "scipy_idw", False),
}


def run_one(name: str, args) -> None:
    """Child process: run one method, save its arrays, print time and memory as JSON."""
    d = dict(np.load(Path(args.workdir) / "data.npz"))
    small = int(d["small"])
    grid = (d["x"][:small], d["y"][:small]) if METHODS[name][2] else (d["x"], d["y"])
    if name.startswith("pykrige"):
        kw = {"backend": "vectorized"} if name == "pykrige_vec" else {"backend": "C"}
        fn = _pykrige(
            d, args, grid, **kw, **({"n_closest_points": K_LOCAL} if name == "pykrige_c16" else {})
        )
    elif name == "gstools":
        fn = _gstools(d, args, grid)
    elif name == "scipy_idw":
        fn = _scipy_idw(d, grid)
    else:
        fn = _ours(d, args, grid, name.removeprefix("ours_"))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, cpu = [], []
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        if times[-1] > 5:  # slow methods run once: their time is not in doubt
            break
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for i, a in enumerate(out):
        np.save(Path(args.workdir) / f"{name}_{i}.npy", np.asarray(a, dtype=float))
    print(
        json.dumps(
            {
                "time": min(times),
                "cpu": min(cpu),
                "peak_mb": peak,
                "extra_mb": peak - base,
                "cells": int(out[0].size),
            }
        )
    )


def _diff(workdir: Path, name: str, ref: str, small: int) -> tuple[float, float, float, float]:
    """Max abs and relative (to the reference's largest value) difference: prediction, variance."""
    out = []
    for i in (0, 1):
        a, b = workdir / f"{name}_{i}.npy", workdir / f"{ref}_{i}.npy"
        if not (a.exists() and b.exists()):
            out += [float("nan")] * 2
            continue
        ours, theirs = np.load(a), np.load(b)
        theirs = theirs[: ours.shape[0], : ours.shape[1]]
        diff = float(np.nanmax(np.abs(ours - theirs)))
        out += [diff, diff / float(np.nanmax(np.abs(theirs)))]
    return tuple(out)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--stations", type=int, default=200)
    p.add_argument("--size", type=int, default=1000, help="grid is size x size cells of 20 m")
    p.add_argument(
        "--small", type=int, default=250, help="grid edge for PyKrige's vectorized backend"
    )
    p.add_argument("--model", default="spherical", choices=["spherical", "exponential", "gaussian"])
    p.add_argument("--psill", type=float, default=10.0)
    p.add_argument("--range", type=float, default=9000.0)
    p.add_argument("--nugget", type=float, default=1.0)
    p.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per method (one if it takes > 5 s); the fastest counts",
    )
    p.add_argument(
        "--methods",
        default=",".join(METHODS),
        help="comma-separated subset of " + ",".join(METHODS),
    )
    p.add_argument("--run", help=argparse.SUPPRESS)
    p.add_argument("--workdir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        return run_one(args.run, args)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        make_data(args.stations, args.size, min(args.small, args.size), workdir)
        results = {}
        for name in args.methods.split(","):
            cmd = [
                sys.executable,
                __file__,
                "--run",
                name,
                "--workdir",
                tmp,
                "--model",
                args.model,
                "--psill",
                str(args.psill),
                "--range",
                str(args.range),
                "--nugget",
                str(args.nugget),
                "--repeat",
                str(args.repeat),
            ]
            done = subprocess.run(cmd, check=False, capture_output=True, text=True)
            if done.returncode:
                print(f"{name} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                continue
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"  {name}: {results[name]['time']:.3f} s", file=sys.stderr, flush=True)
        report(results, args, workdir)


def report(results: dict, args, workdir: Path) -> None:
    full = args.size * args.size
    for r in results.values():
        r["full_time"] = r["time"] * full / r["cells"]
        r["full_cpu"] = r["cpu"] * full / r["cells"]
    pyk = [results[m]["full_time"] for m in ("pykrige_c", "pykrige_c16") if m in results]
    fastest = min(pyk) if pyk else float("nan")
    rows = []
    for name, r in results.items():
        label, ref, small = METHODS[name]
        dp, rp, dv, rv = (
            _diff(workdir, name, ref, args.small) if ref in results else (float("nan"),) * 4
        )
        own = results[ref]["full_time"] / r["full_time"] if ref in results else float("nan")
        grid = f"{args.small}^2 x{full / r['cells']:.0f}" if small else f"{args.size}^2"
        rows.append(
            [
                label,
                grid,
                f"{r['full_time']:.3f}",
                f"{r['full_cpu']:.2f}",
                f"{r['peak_mb']:.0f}",
                f"{r['extra_mb']:.0f}",
                f"{dp:.1e}",
                f"{rp:.1e}",
                f"{dv:.1e}",
                f"{rv:.1e}",
                f"{own:.1f}",
                f"{fastest / r['full_time']:.1f}",
            ]
        )
    header = [
        "method",
        "grid",
        "wall s",
        "CPU s",
        "peak MB",
        "extra MB",
        "|dz|",
        "rel dz",
        "|dvar|",
        "rel dvar",
        "x vs ref",
        "x vs PyKrige fastest",
    ]
    print(
        f"\n{args.stations} stations, {args.size} x {args.size} grid, {args.model} variogram "
        f"(psill {args.psill}, range {args.range}, nugget {args.nugget}); "
        "reference = the method's PyKrige/scipy "
        "counterpart; relative differences are to the reference's largest magnitude\n"
    )
    print(table(rows, header))


if __name__ == "__main__":
    main()
