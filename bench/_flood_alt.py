"""Run inside bench/.venv-flood: time one depression-filling tool on a .npy DEM.

    python bench/_flood_alt.py TOOL DEM.npy OUT.npy REPEAT

Prints one JSON line {"tool", "seconds"} (best of REPEAT) or {"tool", "skipped": reason}.
Kept free of twin imports: that venv has a different NumPy.
"""

import contextlib
import io
import json
import sys
import time

import numpy as np


def richdem_fill(z, epsilon):
    import richdem as rd
    r = rd.rdarray(z.copy(), no_data=-9999.0)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        out = rd.FillDepressions(r, epsilon=epsilon, in_place=False)
        return time.perf_counter() - start, np.asarray(out)


def pysheds_fill(z):
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder
    view = ViewFinder(shape=z.shape, nodata=np.float32(-9999.0))
    raster = Raster(z.copy(), viewfinder=view)
    grid = Grid(viewfinder=view)
    start = time.perf_counter()
    out = grid.fill_depressions(raster)
    return time.perf_counter() - start, np.asarray(out)


def skimage_fill(z):
    from skimage.morphology import reconstruction
    seed = z.copy()
    seed[1:-1, 1:-1] = z.max()
    start = time.perf_counter()
    out = reconstruction(seed, z, method="erosion", footprint=np.ones((3, 3)))
    return time.perf_counter() - start, out.astype(z.dtype)


TOOLS = {"richdem": lambda z: richdem_fill(z, False),
         "richdem-epsilon": lambda z: richdem_fill(z, True),
         "pysheds": pysheds_fill, "skimage": skimage_fill}


def main():
    tool, src, dst, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    z = np.load(src)
    try:
        runs = [TOOLS[tool](z) for _ in range(repeat)]
    except ImportError as exc:
        print(json.dumps({"tool": tool, "skipped": f"not installed: {exc}"}))
        return
    np.save(dst, runs[-1][1])
    print(json.dumps({"tool": tool, "seconds": min(r[0] for r in runs)}))


if __name__ == "__main__":
    main()
