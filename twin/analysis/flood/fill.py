"""Depression filling by priority-flood (Barnes, Lehman & Mulla 2014), 8-connected.

Water leaves the DEM at its edges and into nodata cells. Every other cell is raised
to the lowest level at which it can drain there: the smallest, over all paths to an
outlet, of the highest cell on the path. Priority-flood grows the drained region
from the outlets, always from its lowest cell, so each cell is reached at exactly
that level.

Two variants:

- flat filling (default) follows Zhou, Sun & Fu (2016): cells inside a depression
  are flooded by a plain FIFO at the spill level, and cells on slopes rising away
  from the drained region are traced upward by FIFO too; only cells from which the
  terrain goes down again return to the priority queue. The result is the same as
  Barnes' Algorithm 2 with far fewer heap operations (the reason richdem uses it).
- ``epsilon=True`` is Barnes' Priority-Flood+ε (Algorithm 3): filled cells rise by
  one unit in the last place per cell away from the spill point, so every cell has
  a strictly lower neighbour toward an outlet and D8 flow directions exist everywhere.

Priority-flood is global (a cell's level can depend on an outlet anywhere on the
grid); see ``cube.py`` for how it scales.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import heap_pop, heap_push, index_type, offsets, padded, seed_outlets, unpadded


def valid_mask(dem: np.ndarray, nodata: float | None = None) -> np.ndarray:
    """True where ``dem`` holds an elevation: finite and not equal to ``nodata``."""
    valid = np.isfinite(dem)
    if nodata is not None and np.isfinite(nodata):
        valid &= dem != nodata
    return valid


def fill_depressions(dem: np.ndarray, nodata: float | None = None,
                     epsilon: bool = False) -> np.ndarray:
    """A copy of ``dem`` with every depression filled to its spill level.

    ``dem`` is 2-D float (float32 or float64, the result keeps the dtype); cells that
    are NaN or equal to ``nodata`` act as outlets and are returned unchanged.
    """
    if dem.ndim != 2:
        raise ValueError(f"a DEM is 2-D, got shape {dem.shape}")
    if dem.dtype not in (np.float32, np.float64):
        dem = dem.astype(np.float64)
    z = padded(dem, np.nan)
    valid = padded(valid_mask(dem, nodata), False)
    itype = index_type(z.size)
    off = offsets(dem.shape[1] + 2, itype)
    if epsilon:
        _fill_epsilon(z, valid, off, np.empty(z.size, itype))
    else:
        _fill_flat(z, valid, off, np.empty(z.size, itype))
    return unpadded(z, dem.shape)


@njit(cache=True)
def _flood_depression(z, off, closed, level, dq, dhead, dtail, tq, ttail):
    """FIFO flood of the depression cells queued in dq[dhead:dtail] to ``level``;
    slope cells met on its rim go to the trace queue. Returns (dtail, ttail)."""
    while dhead < dtail:
        p = dq[dhead]
        dhead += 1
        for k in range(8):
            m = p + off[k]
            if closed[m]:
                continue
            closed[m] = 1
            if z[m] <= level:
                z[m] = level
                dq[dtail] = m
                dtail += 1
            else:
                tq[ttail] = m
                ttail += 1
    return dtail, ttail


@njit(cache=True)
def _trace_slopes(z, off, closed, tq, thead, ttail, keys, cells, size):
    """FIFO walk up the slope cells queued in tq[thead:ttail]: a higher unclosed
    neighbour keeps its own elevation (it drains through this cell) and is traced in
    turn; a cell with a lower or equal unclosed neighbour goes back on the heap, since
    that neighbour's level must wait for the queue. Returns (ttail, heap size)."""
    while thead < ttail:
        p = tq[thead]
        thead += 1
        boundary = False
        for k in range(8):
            m = p + off[k]
            if closed[m]:
                continue
            if z[m] > z[p]:
                closed[m] = 1
                tq[ttail] = m
                ttail += 1
            else:
                boundary = True
        if boundary:
            size = heap_push(keys, cells, size, z[p], p)
    return ttail, size


@njit(cache=True)
def _fill_flat(z, valid, off, template):
    n = z.size
    closed = np.zeros(n, np.uint8)
    keys = np.empty(n, z.dtype)
    cells, dq, tq = np.empty_like(template), np.empty_like(template), np.empty_like(template)
    size = seed_outlets(z, valid, off, closed, keys, cells)
    dtail = ttail = 0
    while size > 0:
        level, c, size = heap_pop(keys, cells, size)
        for k in range(8):
            m = c + off[k]
            if closed[m]:
                continue
            closed[m] = 1
            thead = ttail
            if z[m] <= level:
                z[m] = level
                dhead = dtail
                dq[dtail] = m
                dtail += 1
                dtail, ttail = _flood_depression(z, off, closed, level, dq, dhead, dtail,
                                                 tq, ttail)
            else:
                tq[ttail] = m
                ttail += 1
            ttail, size = _trace_slopes(z, off, closed, tq, thead, ttail, keys, cells, size)


@njit(cache=True)
def _fill_epsilon(z, valid, off, template):
    """Barnes et al. (2014) Algorithm 3 with the pit queue."""
    n = z.size
    closed = np.zeros(n, np.uint8)
    keys = np.empty(n, z.dtype)
    cells, pit = np.empty_like(template), np.empty_like(template)
    phead = ptail = 0
    size = seed_outlets(z, valid, off, closed, keys, cells)
    up = z.dtype.type(np.inf)
    while size > 0 or phead < ptail:
        if phead < ptail and not (size > 0 and keys[0] == z[pit[phead]]):
            c = pit[phead]
            phead += 1
        else:
            _, c, size = heap_pop(keys, cells, size)
        raised = np.nextafter(z[c], up)
        for k in range(8):
            m = c + off[k]
            if closed[m]:
                continue
            closed[m] = 1
            if z[m] <= raised:
                z[m] = raised
                pit[ptail] = m
                ptail += 1
            else:
                size = heap_push(keys, cells, size, z[m], m)
