"""Fluvial flooding: cells below a water surface and hydraulically connected to it.

A cell is wet when the ground is below the water-surface elevation (WSE) *and* an
8-connected path of such cells links it to a source: a river cell or a gauge cell.
A hollow behind a levee whose floor is below the river level stays dry, because
every path to it crosses the levee crest, which is above the surface. This is the
static "bathtub with connectivity" model: no flow dynamics, no travel time, the
surface is whatever the interpolated gauges say.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rasterio.transform import Affine, rowcol, xy
from scipy import ndimage

EIGHT = np.ones((3, 3), dtype=bool)

# (gauge x, gauge y, levels, cell-centre xs, cell-centre ys) -> WSE (ny, nx), metres
SurfaceFn = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# (wet, sources) -> the wet cells connected to a source: ``connected`` or an equal one
# (the tiled form on a cluster, twin.flood.distributed)
ConnectFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def connected(wet: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """Cells of ``wet`` in an 8-connected component that holds a ``sources`` cell."""
    labels, count = ndimage.label(wet, structure=EIGHT)
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[sources & wet]] = True
    keep[0] = False
    return keep[labels]


def flood_depth(dem: np.ndarray, wse: np.ndarray | float, sources: np.ndarray,
                connect: ConnectFn | None = None) -> np.ndarray:
    """Depth (m, float32, 0 where dry) of water standing at ``wse`` over ``dem`` in the
    cells connected to ``sources`` (by ``connect``, default :func:`connected`). NaN in
    either grid is dry."""
    with np.errstate(invalid="ignore"):
        head = np.asarray(wse, dtype=np.float32) - dem
        wet = head > 0
    reached = (connect or connected)(wet, sources)
    depth = np.where(reached, head, np.float32(0)).astype(np.float32)
    return depth


def gauge_cells(gauges: Sequence[tuple[float, float, float]], transform: Affine,
                shape: tuple[int, int]) -> np.ndarray:
    """Boolean grid, True in the cells holding a gauge (gauges off the grid are ignored)."""
    mask = np.zeros(shape, dtype=bool)
    if not len(gauges):
        return mask
    g = np.asarray(gauges, dtype=float)
    rows, cols = rowcol(transform, g[:, 0], g[:, 1])
    rows, cols = np.asarray(rows), np.asarray(cols)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    mask[rows[inside], cols[inside]] = True
    return mask


def cell_centres(transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """1-D x of the columns and y of the rows of a north-up grid."""
    xs, _ = xy(transform, np.zeros(shape[1]), np.arange(shape[1]))
    _, ys = xy(transform, np.arange(shape[0]), np.zeros(shape[0]))
    return np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)


def surface(surface_fn: SurfaceFn, g: np.ndarray, xs: np.ndarray, ys: np.ndarray,
            step: int = 1) -> np.ndarray:
    """``surface_fn`` on the cell centres; with ``step`` > 1 on every step-th row and
    column only (the last one included), then bilinearly to every cell.

    A water surface interpolated from gauges kilometres apart is smooth at the scale of
    a few cells, so ``step`` 4-8 changes it by millimetres and cuts the interpolation
    ``step²`` times; 1 gives the surface function's own value in every cell."""
    if step <= 1:
        return np.asarray(surface_fn(g[:, 0], g[:, 1], g[:, 2], xs, ys), dtype=np.float32)
    ci = np.unique(np.r_[np.arange(0, len(xs), step), len(xs) - 1])
    ri = np.unique(np.r_[np.arange(0, len(ys), step), len(ys) - 1])
    coarse = np.asarray(surface_fn(g[:, 0], g[:, 1], g[:, 2], xs[ci], ys[ri]), dtype=np.float32)
    rows = _linear(coarse, ri, len(ys), axis=0)
    return _linear(rows, ci, len(xs), axis=1)


def _linear(values: np.ndarray, at: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Linear interpolation along ``axis`` from samples at indices ``at`` to 0..n-1."""
    pos = np.interp(np.arange(n), at, np.arange(len(at)))
    lo = np.minimum(pos.astype(np.int64), len(at) - 2)
    w = (pos - lo).astype(np.float32)
    a, b = np.take(values, lo, axis=axis), np.take(values, lo + 1, axis=axis)
    w = w[:, None] if axis == 0 else w[None, :]
    return a + (b - a) * w


def flood_from_levels(dem: np.ndarray, transform: Affine,
                      gauges: Sequence[tuple[float, float, float]], river_mask: np.ndarray,
                      surface_fn: SurfaceFn, surface_step: int = 1,
                      connect: ConnectFn | None = None) -> np.ndarray:
    """Depth grid from gauge levels: ``surface_fn`` interpolates the (x, y, level_m)
    gauges (grid CRS) to a WSE on the cell centres, and the water stands where it is
    above the ground and connected to the river cells or the gauges' cells.

    ``surface_fn(gx, gy, levels, xs, ys)`` gets the gauge coordinates and levels and the
    1-D cell-centre coordinates and returns the (ny, nx) WSE: the interpolation module
    (IDW, kriging) plugs in here. ``surface_step``: see ``surface``. ``connect``: see
    :func:`flood_depth`.
    """
    if dem.shape != river_mask.shape:
        raise ValueError(f"river mask {river_mask.shape} does not match the DEM {dem.shape}")
    g = np.asarray(gauges, dtype=float).reshape(-1, 3)
    if not len(g):
        raise ValueError("at least one gauge level is needed")
    xs, ys = cell_centres(transform, dem.shape)
    wse = surface(surface_fn, g, xs, ys, surface_step)
    if wse.shape != dem.shape:
        raise ValueError(f"surface_fn returned {wse.shape}, the DEM is {dem.shape}")
    sources = river_mask.astype(bool) | gauge_cells(g, transform, dem.shape)
    return flood_depth(dem, wse, sources, connect)
