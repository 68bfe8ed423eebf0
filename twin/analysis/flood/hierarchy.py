"""The depression hierarchy of a DEM (Barnes, Callaghan & Wickert 2020, Part 1).

Every cell drains downhill to a *basin*: a regional minimum (a pit or a flat with no
lower neighbour) or the outside of the DEM (edges and nodata, basin 0, "the ocean").
Basins are found by priority-flood from all their seeds at once: a cell takes the
label of the lower neighbour that reaches it first, so each label follows a
non-increasing path to its minimum.

Two basins meet at their lowest shared saddle: the smallest ``max(z_a, z_b)`` over
8-adjacent cell pairs straddling them. Taking saddles in increasing order and joining
basins with union-find (Kruskal) yields the binary merge tree: leaves are basins,
an internal node is the depression formed when its two children fill to its saddle
``level``. A node's *spill level* is its parent's level, its *capacity* the volume
below the spill level over its cells; nodes that hold the ocean never fill.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ._kernels import heap_pop, heap_push, index_type, offsets, padded, unpadded
from .fill import valid_mask

OCEAN = 0


@dataclass(frozen=True)
class Hierarchy:
    """Merge tree over the basins of one DEM; node ids < ``n_leaves`` are basins.

    ``labels`` (ny, nx) is each cell's basin (-1 on nodata); per node: ``parent``
    (-1 at the root), ``children`` (n, 2; -1 for leaves), ``entry`` (n, 2): the basin
    water enters when it crosses the node's saddle into child 0 / child 1, ``level``
    (saddle; a basin's lowest elevation for leaves), ``spill`` (parent's level),
    ``capacity`` (m³ at the spill level, inf when the node holds the ocean).
    """

    labels: np.ndarray
    parent: np.ndarray
    children: np.ndarray
    entry: np.ndarray
    level: np.ndarray
    spill: np.ndarray
    capacity: np.ndarray
    ocean: np.ndarray
    cell_area: float

    @property
    def n_leaves(self) -> int:
        return int(self.labels.max()) + 1

    @property
    def n_nodes(self) -> int:
        return len(self.parent)


def build(dem: np.ndarray, cell_area: float, nodata: float | None = None) -> Hierarchy:
    """The depression hierarchy of ``dem`` (2-D, metres) with cells of ``cell_area`` m²."""
    valid = valid_mask(dem, nodata)
    zp = padded(dem if dem.dtype == np.float32 else dem.astype(np.float64), np.nan)
    z = dem.astype(np.float64)
    itype = index_type(zp.size)
    labels = unpadded(_basins(zp, padded(valid, False), offsets(dem.shape[1] + 2, itype)),
                      dem.shape)
    n_leaves = int(labels.max()) + 1
    a, b, h, _ca, _cb = _saddles(labels, z)
    order = np.argsort(h, kind="stable")
    cells = np.flatnonzero(valid.ravel())
    cells = cells[np.argsort(z.ravel()[cells])]
    tree = _kruskal(n_leaves, a[order], b[order], h[order], labels.ravel(), z.ravel(), cells)
    parent, children, entry, level, count, zsum, ocean = tree
    leaf_min = np.full(n_leaves, np.inf)
    np.minimum.at(leaf_min, labels[valid], z[valid])
    level[:n_leaves] = leaf_min
    spill = np.where(parent >= 0, level[np.maximum(parent, 0)], np.inf)
    with np.errstate(invalid="ignore"):
        capacity = np.where(ocean, np.inf, (count * spill - zsum) * cell_area)
    return Hierarchy(labels, parent, children, entry, level, spill, capacity, ocean, cell_area)


@njit(cache=True)
def _basins(z, valid, off):
    """Basin label per padded cell: 0 for cells draining out of the DEM, 1.. for
    regional minima (8-connected groups of cells with no lower neighbour), -1 nodata."""
    n = z.size
    label = np.full(n, -1, np.int32)
    keys = np.empty(n, z.dtype)
    cells = np.empty(n, off.dtype)
    stack = np.empty(n, off.dtype)
    size = 0
    for i in range(n):
        if not valid[i]:
            continue
        for k in range(8):
            if not valid[i + off[k]]:
                label[i] = 0
                size = heap_push(keys, cells, size, z[i], i)
                break
    nxt = 1
    for i in range(n):
        if label[i] != -1 or not valid[i] or not _is_minimum(z, valid, off, i):
            continue
        label[i] = nxt
        size = heap_push(keys, cells, size, z[i], i)
        top = 0
        stack[top] = i
        top += 1
        while top > 0:
            top -= 1
            p = stack[top]
            for k in range(8):
                m = p + off[k]
                if label[m] == -1 and valid[m] and z[m] == z[p] and _is_minimum(z, valid, off, m):
                    label[m] = nxt
                    size = heap_push(keys, cells, size, z[m], m)
                    stack[top] = m
                    top += 1
        nxt += 1
    while size > 0:
        key, c, size = heap_pop(keys, cells, size)
        for k in range(8):
            m = c + off[k]
            if label[m] == -1 and valid[m]:
                label[m] = label[c]
                size = heap_push(keys, cells, size, max(z[m], key), m)
    return label


@njit(cache=True, inline="always")
def _is_minimum(z, valid, off, i):
    for k in range(8):
        m = i + off[k]
        if valid[m] and z[m] < z[i]:
            return False
    return True


def _saddles(labels: np.ndarray, z: np.ndarray):
    """Per pair of adjacent basins the lowest saddle: (basin a, basin b, level, cell in a,
    cell in b), a < b."""
    ny, nx = labels.shape
    flat = np.arange(ny * nx).reshape(ny, nx)
    parts = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = 0, ny - dr
        c0, c1 = max(0, -dc), nx - max(0, dc)
        la = labels[r0:r1, c0:c1]
        lb = labels[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
        cross = (la != lb) & (la >= 0) & (lb >= 0)
        ia, ib = flat[r0:r1, c0:c1][cross], flat[r0 + dr:r1 + dr, c0 + dc:c1 + dc][cross]
        parts.append((ia, ib))
    ia = np.concatenate([p[0] for p in parts])
    ib = np.concatenate([p[1] for p in parts])
    swap = labels.ravel()[ia] > labels.ravel()[ib]
    ia, ib = np.where(swap, ib, ia), np.where(swap, ia, ib)
    la, lb = labels.ravel()[ia], labels.ravel()[ib]
    h = np.maximum(z.ravel()[ia], z.ravel()[ib])
    pair = la.astype(np.int64) * (int(labels.max()) + 1) + lb
    order = np.lexsort((h, pair))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    sel = order[first]
    return la[sel], lb[sel], h[sel], ia[sel], ib[sel]


@njit(cache=True)
def _find(uf, i):
    root = i
    while uf[root] != root:
        root = uf[root]
    while uf[i] != root:
        uf[i], i = root, uf[i]
    return root


@njit(cache=True)
def _kruskal(n_leaves, a, b, h, labels, z, cells):
    """Merge tree from saddles sorted by level, crediting each cell (in ``cells``'s
    increasing-z order) to the node that is its basin's top at that elevation, so that
    ``count``/``zsum`` summed over a subtree give the cells below the node's spill."""
    n_max = 2 * n_leaves
    parent = np.full(n_max, -1, np.int64)
    children = np.full((n_max, 2), -1, np.int64)
    entry = np.full((n_max, 2), -1, np.int64)
    level = np.full(n_max, np.inf)
    count = np.zeros(n_max)
    zsum = np.zeros(n_max)
    ocean = np.zeros(n_max, np.bool_)
    ocean[0] = True
    uf = np.arange(n_leaves)
    top = np.arange(n_max)      # tree node of each union-find root
    n = n_leaves
    e = 0
    for ci in range(len(cells) + 1):
        zc = z[cells[ci]] if ci < len(cells) else np.inf
        while e < len(h) and h[e] <= zc:
            ra, rb = _find(uf, a[e]), _find(uf, b[e])
            if ra != rb:
                na, nb = top[ra], top[rb]
                children[n, 0], children[n, 1] = na, nb
                entry[n, 0], entry[n, 1] = a[e], b[e]
                level[n] = h[e]
                ocean[n] = ocean[na] or ocean[nb]
                parent[na] = parent[nb] = n
                uf[rb] = ra
                top[ra] = n
                n += 1
            e += 1
        if ci < len(cells):
            node = top[_find(uf, labels[cells[ci]])]
            count[node] += 1.0
            zsum[node] += zc
    for i in range(n):
        if parent[i] >= 0:
            count[parent[i]] += count[i]
            zsum[parent[i]] += zsum[i]
    return (parent[:n], children[:n], entry[:n], level[:n], count[:n], zsum[:n], ocean[:n])
