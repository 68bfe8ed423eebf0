"""Depth grids over time as an xarray cube (time, y, x), and what can run chunk by chunk.

Local steps run on dask chunks unchanged, because a cell needs nothing beyond itself
(or its chunk): ``depth = wse - dem`` and its clipping, classification into depth
classes, and vectorisation per chunk (``vectorise_chunked``; polygons are cut at
chunk edges, their exact areas still add up).

Two steps are global: a cell's answer can depend on the whole grid. Both exist in
memory (whole grid, one time step at a time) and tiled, equal to the in-memory form
bit for bit; the tiled forms are pure functions per tile plus one small solve, and
``twin.flood.distributed`` runs them as ``dask.distributed`` tasks (one per tile and
stage), the in-memory forms staying the default below ``TWIN_FLOOD_TILED_CELLS``.

- *Connectivity* (fluvial model): whether a cell is wet can depend on a path to the
  river across the whole grid. In memory: ``connect.connected`` (``scipy.ndimage.label``,
  ~6 M cells in well under a second). Tiled (``tiled_connect``): label each tile, join
  the labels of wet ring cells 8-adjacent across tile edges and corners (connected
  components over those pairs only, linear in the edge cells), keep the components
  that hold a source.
- *Priority-flood* (filling): a cell's spill level can depend on an outlet anywhere.
  In memory: ``fill.fill_depressions``. Tiled (``tiled_fill``, Barnes 2016, "Parallel
  priority-flood depression filling for trillion cell digital elevation models"):
  each tile is flooded alone from its ring cells, each its own label, and its true
  outlets; the spills between labels form a small graph per tile; the graphs and the
  pairs of ring cells touching across tile edges are solved by one priority-flood on
  a single node, giving every ring cell its level; each tile is then filled with its
  ring held at those levels. Communication is the tile perimeters only. Only the flat
  variant is tiled (the ε variant's ulp steps depend on queue order). The ponding
  hierarchy (``hierarchy``) is still built in memory, once per DEM (seconds for 6 M
  cells), so events only pay the per-step pour, linear in the depressions plus the
  cells under water.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr
from pyproj import CRS
from rasterio.transform import Affine

from .connect import SurfaceFn, flood_from_levels
from .ponding import PondingModel
from .vectorise import MIN_DEPTH_M, Extent, classify, vectorise


def coords(transform: Affine, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    ny, nx = shape
    return {"y": transform.f + transform.e * (np.arange(ny) + 0.5),
            "x": transform.c + transform.a * (np.arange(nx) + 0.5)}


def depth_cube(depths: Sequence[np.ndarray] | np.ndarray, times: Sequence, transform: Affine,
               crs: CRS | str, attrs: dict | None = None) -> xr.DataArray:
    """Stack depth grids into a (time, y, x) float32 DataArray carrying CRS and transform."""
    data = np.asarray(depths, dtype=np.float32)
    if data.ndim != 3 or len(data) != len(times):
        raise ValueError(f"need one 2-D grid per time, got {data.shape} for {len(times)} times")
    return xr.DataArray(
        data, dims=("time", "y", "x"),
        coords={"time": np.asarray(times, dtype="datetime64[ns]"),
                **coords(transform, data.shape[1:])},
        name="depth",
        attrs={"units": "m", "crs": CRS.from_user_input(crs).to_string(),
               "transform": tuple(transform)[:6], **(attrs or {})})


def gauge_cube(dem: np.ndarray, transform: Affine, crs, times: Sequence,
               levels: Sequence[Sequence[tuple[float, float, float]]], river_mask: np.ndarray,
               surface_fn: SurfaceFn) -> xr.DataArray:
    """One fluvial depth grid per time from that time's gauge levels (x, y, level_m)."""
    depths = [flood_from_levels(dem, transform, g, river_mask, surface_fn) for g in levels]
    return depth_cube(depths, times, transform, crs, {"model": "gauges+connectivity"})


def ponding_cube(model: PondingModel, rain_mm: Sequence[float], drainage_mm_h: float,
                 times: Sequence, transform: Affine, crs, step_h: float = 1.0) -> xr.DataArray:
    """One ponding depth grid per step of a hyetograph, with the water budget per step
    (m³, cumulative) in the attributes."""
    steps = model.run(rain_mm, drainage_mm_h, step_h)
    budget = {k: [getattr(s, f"{k}_m3") for s in steps]
              for k in ("rain", "drained", "ponded", "outflow")}
    return depth_cube([s.depth for s in steps], times, transform, crs,
                      {"model": "fill-spill-merge ponding",
                       **{f"{k}_m3": v for k, v in budget.items()}})


def depth_from_wse(wse: xr.DataArray, dem: xr.DataArray) -> xr.DataArray:
    """``max(wse - dem, 0)`` without connectivity: local, so lazy and chunked when the
    inputs are dask-backed (the connectivity mask is applied afterwards, in memory)."""
    return (wse - dem).clip(min=0).astype(np.float32)


def classify_cube(depth: xr.DataArray, min_depth_m: float = MIN_DEPTH_M) -> xr.DataArray:
    """Depth classes (uint8, see ``vectorise.CLASSES``) chunk by chunk."""
    return xr.apply_ufunc(classify, depth, kwargs={"min_depth_m": min_depth_m},
                          dask="parallelized", output_dtypes=[np.uint8])


def vectorise_chunked(depth: xr.DataArray, transform: Affine,
                      min_depth_m: float = MIN_DEPTH_M,
                      scheduler: Callable | None = None) -> list[Extent]:
    """Vectorise a 2-D (y, x) dask-backed depth grid block by block (each with its own
    transform), in parallel on the active dask scheduler."""
    import dask

    data = depth.data
    if not hasattr(data, "to_delayed"):
        return vectorise(np.asarray(data), transform, min_depth_m)
    row0 = np.concatenate([[0], np.cumsum(data.chunks[0])[:-1]])
    col0 = np.concatenate([[0], np.cumsum(data.chunks[1])[:-1]])
    tasks = [dask.delayed(vectorise)(block, transform @ Affine.translation(col0[j], row0[i]),
                                     min_depth_m)
             for (i, j), block in np.ndenumerate(data.to_delayed())]
    return [e for part in dask.compute(*tasks, scheduler=scheduler) for e in part]
