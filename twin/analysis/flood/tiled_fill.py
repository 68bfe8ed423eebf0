"""Tiled priority-flood: depression filling tile by tile, after Barnes (2016),
"Parallel priority-flood depression filling for trillion cell digital elevation
models", equal bit for bit to :func:`fill.fill_depressions` (the flat variant).

A filled cell's level is the smallest, over the 8-connected paths from it to an
outlet (a cell next to nodata or the grid's border), of the highest cell on the path.
The level is a choice among the DEM's own values, with no arithmetic, so any correct
order of work gives the same bits. Three stages:

1. :func:`tile_graph` (per tile, in parallel): priority-flood of the tile alone from
   its ring cells, each its own label, and from its true outlets (label 0). Where two
   labels meet, the larger of the two cells' flood levels is a spill between them;
   the smallest spill per pair of labels is kept. Bottleneck distances between the
   seeds of a multi-source priority-flood are preserved by this label graph, so the
   graph says all the tile's interior can tell about its ring.
2. :func:`solve` (once): the tiles' label graphs, joined by the pairs of ring cells
   that touch across tile edges (weight: the higher of the two), with an edge from
   the outlet node to every ring cell that is a true outlet, are priority-flooded
   from the outlet node. That gives every ring cell its final level. Only rings and
   label graphs travel: O(perimeter) per tile.
3. :func:`fill_tile` (per tile, in parallel): the ordinary in-memory fill of the tile
   with its ring cells raised to their solved levels and held there as outlets. A
   path from a cell out of its tile leaves through a ring cell, whose solved level
   accounts for the rest of the path, so the tile's fill is the global one.

Only the flat variant is tiled: Priority-Flood+ε (``epsilon=True``) raises cells by
one ulp per cell from the spill point in the order of the queue, which tiles do not
reproduce bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from ._kernels import heap_pop, heap_push, index_type, offsets
from .fill import _fill_flat, valid_mask
from .tiled_layout import Layout, Window, cross_pairs, halo, ring, ring_offsets

_STEPS = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclass
class TileGraph:
    """What a tile tells the solve: its ring (elevation, NaN on nodata, and whether
    water leaves the DEM there) and its label graph. Label 0 is the tile's interior
    outlets, label ``k + 1`` the ring cell ``k``; ``w`` the spill between ``a`` and ``b``."""

    ring_z: np.ndarray
    outlet: np.ndarray
    a: np.ndarray
    b: np.ndarray
    w: np.ndarray


def _outlets(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valid cells of the tile inside halo ``h`` and those with an invalid neighbour."""
    ok = np.isfinite(h)
    inner = ok[1:-1, 1:-1]
    ny, nx = inner.shape
    bad = np.zeros_like(inner)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                bad |= ~ok[1 + dr:1 + dr + ny, 1 + dc:1 + dc + nx]
    return inner, inner & bad


def _framed(h: np.ndarray) -> np.ndarray:
    """The halo as a flat padded grid whose frame is nodata (the tile alone)."""
    z = h.copy()
    z[0, :] = z[-1, :] = z[:, 0] = z[:, -1] = np.nan
    return z.ravel()


@njit(cache=True)
def _label_depression(z, label, off, closed, level, dq, dhead, dtail, tq, ttail):
    """``fill._flood_depression`` passing each cell's label on to the cells it floods."""
    while dhead < dtail:
        p = dq[dhead]
        dhead += 1
        for k in range(8):
            m = p + off[k]
            if closed[m]:
                continue
            closed[m] = 1
            label[m] = label[p]
            if z[m] <= level:
                z[m] = level
                dq[dtail] = m
                dtail += 1
            else:
                tq[ttail] = m
                ttail += 1
    return dtail, ttail


@njit(cache=True)
def _label_slopes(z, label, off, closed, tq, thead, ttail, keys, cells, size):
    """``fill._trace_slopes`` passing each cell's label on up the slope."""
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
                label[m] = label[p]
                tq[ttail] = m
                ttail += 1
            else:
                boundary = True
        if boundary:
            size = heap_push(keys, cells, size, z[p], p)
    return ttail, size


@njit(cache=True)
def _label_flood(z, label, off, template):
    """Multi-source priority-flood, the flat filling of ``fill._fill_flat`` (Zhou et al.
    2016): cells with a label >= 0 are the seeds at their own elevation; every other
    finite cell is raised to its flood level in ``z`` and gets the label of the cell
    it was reached from, so a label's cells are joined to its seed by a path no
    higher than their level."""
    n = z.size
    closed = np.zeros(n, np.uint8)
    keys = np.empty(n, z.dtype)
    cells, dq, tq = np.empty_like(template), np.empty_like(template), np.empty_like(template)
    size = 0
    for i in range(n):
        if not np.isfinite(z[i]):
            closed[i] = 1
        elif label[i] >= 0:
            closed[i] = 1
            size = heap_push(keys, cells, size, z[i], i)
    dtail = ttail = 0
    while size > 0:
        level, c, size = heap_pop(keys, cells, size)
        for k in range(8):
            m = c + off[k]
            if closed[m]:
                continue
            closed[m] = 1
            label[m] = label[c]
            thead = ttail
            if z[m] <= level:
                z[m] = level
                dhead = dtail
                dq[dtail] = m
                dtail += 1
                dtail, ttail = _label_depression(z, label, off, closed, level, dq, dhead,
                                                 dtail, tq, ttail)
            else:
                tq[ttail] = m
                ttail += 1
            ttail, size = _label_slopes(z, label, off, closed, tq, thead, ttail, keys,
                                        cells, size)


def _spills(level: np.ndarray, label: np.ndarray) -> tuple[np.ndarray, ...]:
    """The smallest spill (the higher flood level of two 8-adjacent cells of different
    labels) per pair of labels, as arrays a < b, w."""
    ny, nx = label.shape
    aa, bb, ww = [], [], []
    for dr, dc in _STEPS:
        c0, c1 = max(0, -dc), nx - max(0, dc)
        la, lb = label[:ny - dr, c0:c1], label[dr:, c0 + dc:c1 + dc]
        m = (la >= 0) & (lb >= 0) & (la != lb)
        za, zb = level[:ny - dr, c0:c1][m], level[dr:, c0 + dc:c1 + dc][m]
        la, lb = la[m], lb[m]
        aa.append(np.minimum(la, lb))
        bb.append(np.maximum(la, lb))
        ww.append(np.maximum(za, zb))
    a, b, w = (np.concatenate(x) for x in (aa, bb, ww))
    key = a.astype(np.int64) * (int(label.max()) + 1) + b
    order = np.lexsort((w, key))
    _, first = np.unique(key[order], return_index=True)
    pick = order[first]
    return a[pick], b[pick], w[pick]


def tile_graph(h: np.ndarray) -> TileGraph:
    """Stage 1 on one tile, given as its halo (float, NaN where no data)."""
    ny, nx = h.shape[0] - 2, h.shape[1] - 2
    valid, outlet = _outlets(h)
    rows, cols = ring(ny, nx)
    label = np.full((ny, nx), -1, np.int32)
    label[outlet] = 0
    label[rows, cols] = np.arange(1, len(rows) + 1, dtype=np.int32)
    label[~valid] = -1
    z = _framed(h)
    flat = np.full((ny + 2, nx + 2), -1, np.int32)
    flat[1:-1, 1:-1] = label
    flat = flat.ravel()
    itype = index_type(z.size)
    _label_flood(z, flat, offsets(nx + 2, itype), np.empty(z.size, itype))
    level = z.reshape(ny + 2, nx + 2)[1:-1, 1:-1]
    a, b, w = _spills(level, flat.reshape(ny + 2, nx + 2)[1:-1, 1:-1])
    inner = h[1:-1, 1:-1]
    return TileGraph(inner[rows, cols].copy(), outlet[rows, cols], a, b, w)


@njit(cache=True)
def _minimax(indptr, nbr, wt, n):
    """Priority-flood of a graph from node 0: each node's smallest, over paths from
    node 0, of the largest edge weight on the path."""
    dist = np.full(n, np.inf)
    done = np.zeros(n, np.uint8)
    keys = np.empty(nbr.size + 1, np.float64)
    cells = np.empty(nbr.size + 1, np.int64)
    dist[0] = -np.inf
    size = heap_push(keys, cells, 0, -np.inf, 0)
    while size > 0:
        d, u, size = heap_pop(keys, cells, size)
        if done[u]:
            continue
        done[u] = 1
        for e in range(indptr[u], indptr[u + 1]):
            v = nbr[e]
            c = max(d, wt[e])
            if c < dist[v]:
                dist[v] = c
                size = heap_push(keys, cells, size, c, v)
    return dist


def solve(layout: Layout, graphs: Sequence[TileGraph]) -> list[np.ndarray]:
    """Stage 2: every tile's ring levels (ring order, NaN on nodata) from all tiles'
    graphs (in ``layout.windows()`` order)."""
    offs = ring_offsets(layout)
    if len(graphs) != len(offs) - 1:
        raise ValueError(f"{len(graphs)} tile graphs for {len(offs) - 1} tiles")
    rz = np.concatenate([g.ring_z for g in graphs]).astype(np.float64)
    routlet = np.concatenate([g.outlet for g in graphs])
    us, vs, ws = [], [], []
    for t, g in enumerate(graphs):            # label L -> node: 0 stays 0, k+1 -> offs+k+1
        us.append(np.where(g.a == 0, 0, g.a + offs[t]))
        vs.append(np.where(g.b == 0, 0, g.b + offs[t]))
        ws.append(g.w.astype(np.float64))
    p, q = cross_pairs(layout)
    keep = np.isfinite(rz[p]) & np.isfinite(rz[q])
    p, q = p[keep], q[keep]
    us.append(p + 1)
    vs.append(q + 1)
    ws.append(np.maximum(rz[p], rz[q]))
    out = np.flatnonzero(routlet)
    us.append(np.zeros(len(out), np.int64))
    vs.append(out + 1)
    ws.append(rz[out])
    u, v, w = (np.concatenate(x) for x in (us, vs, ws))
    n = len(rz) + 1
    src, dst, wt = np.r_[u, v], np.r_[v, u], np.r_[w, w]
    order = np.argsort(src, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(src, minlength=n))].astype(np.int64)
    level = _minimax(indptr, dst[order].astype(np.int64), wt[order], n)[1:]
    level[~np.isfinite(rz)] = np.nan
    return [level[offs[t]:offs[t + 1]] for t in range(len(graphs))]


def fill_tile(h: np.ndarray, ring_level: np.ndarray) -> np.ndarray:
    """Stage 3 on one tile: the tile (no halo) filled, NaN where it has no data."""
    ny, nx = h.shape[0] - 2, h.shape[1] - 2
    rows, cols = ring(ny, nx)
    if len(ring_level) != len(rows):
        raise ValueError(f"{len(ring_level)} ring levels for a ring of {len(rows)} cells")
    z = _framed(h).reshape(ny + 2, nx + 2)
    inner = z[1:-1, 1:-1]
    ok = np.isfinite(inner[rows, cols])
    inner[rows[ok], cols[ok]] = ring_level[ok].astype(z.dtype)
    flat = z.ravel()
    itype = index_type(flat.size)
    _fill_flat(flat, np.isfinite(flat), offsets(nx + 2, itype), np.empty(flat.size, itype))
    return flat.reshape(ny + 2, nx + 2)[1:-1, 1:-1].copy()


def as_float(dem: np.ndarray, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    """``dem`` as the fill sees it (float32/64, NaN where no data) and its valid mask."""
    if dem.ndim != 2:
        raise ValueError(f"a DEM is 2-D, got shape {dem.shape}")
    if dem.dtype not in (np.float32, np.float64):
        dem = dem.astype(np.float64)
    valid = valid_mask(dem, nodata)
    return np.where(valid, dem, dem.dtype.type(np.nan)), valid


def tiled_fill(dem: np.ndarray, tile: int | tuple[int, int], nodata: float | None = None
               ) -> np.ndarray:
    """:func:`fill.fill_depressions` (flat) computed tile by tile, in this process: the
    reference for the distributed form and a check of the stages."""
    z, valid = as_float(dem, nodata)
    out = dem.astype(z.dtype, copy=True)
    layout = Layout.of(z.shape, tile)
    windows: list[Window] = layout.windows()
    graphs = [tile_graph(halo(z, w)) for w in windows]
    for w, lv in zip(windows, solve(layout, graphs), strict=True):
        r0, r1, c0, c1 = w
        part = fill_tile(halo(z, w), lv)
        ok = valid[r0:r1, c0:c1]
        out[r0:r1, c0:c1][ok] = part[ok]
    return out
