"""Tiles of a grid for the tiled flood algorithms, their perimeters, and the pairs of
perimeter cells that touch across tile edges.

A grid of ``shape`` is cut into tiles of ``tile`` cells (the last row and column of
tiles take the remainder, so any tile size works). Each tile is handed to its kernel
as a *halo* array: the tile plus a one-cell frame of its neighbours' cells, NaN where
the frame lies off the grid or on nodata. The halo tells a tile which of its edge
cells are next to nodata (where water leaves the DEM); everything else a tile learns
about its neighbours travels as its *ring*, the cells of its outermost row and
column in row-major order.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

Window = tuple[int, int, int, int]      # row0, row1, col0, col1 (half-open)


@dataclass(frozen=True)
class Layout:
    """The tiles of a ``shape`` grid, ``tile`` (rows, cols) cells each at most."""

    shape: tuple[int, int]
    tile: tuple[int, int]

    @classmethod
    def of(cls, shape: tuple[int, int], tile: int | tuple[int, int]) -> Layout:
        th, tw = (tile, tile) if isinstance(tile, int) else tile
        if th < 1 or tw < 1:
            raise ValueError(f"a tile is at least one cell, got {tile}")
        if len(shape) != 2 or min(shape) < 1:
            raise ValueError(f"a grid is 2-D and not empty, got shape {shape}")
        return cls((int(shape[0]), int(shape[1])), (int(th), int(tw)))

    @property
    def row_edges(self) -> np.ndarray:
        return np.r_[np.arange(0, self.shape[0], self.tile[0]), self.shape[0]]

    @property
    def col_edges(self) -> np.ndarray:
        return np.r_[np.arange(0, self.shape[1], self.tile[1]), self.shape[1]]

    def windows(self) -> list[Window]:
        """Every tile's window, row-major."""
        r, c = self.row_edges, self.col_edges
        return [(int(r[i]), int(r[i + 1]), int(c[j]), int(c[j + 1]))
                for i in range(len(r) - 1) for j in range(len(c) - 1)]


@lru_cache(maxsize=64)
def ring(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the outermost cells of an ``h`` x ``w`` tile, row-major."""
    m = np.zeros((h, w), dtype=bool)
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True
    rows, cols = np.nonzero(m)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def ring_size(window: Window) -> int:
    r0, r1, c0, c1 = window
    return len(ring(r1 - r0, c1 - c0)[0])


def halo(grid: np.ndarray, window: Window) -> np.ndarray:
    """The window of an in-memory ``grid`` with its one-cell frame (NaN off the grid)."""
    r0, r1, c0, c1 = window
    ny, nx = grid.shape
    out = np.full((r1 - r0 + 2, c1 - c0 + 2), np.nan, dtype=grid.dtype)
    a0, a1, b0, b1 = max(r0 - 1, 0), min(r1 + 1, ny), max(c0 - 1, 0), min(c1 + 1, nx)
    out[a0 - r0 + 1:a1 - r0 + 1, b0 - c0 + 1:b1 - c0 + 1] = grid[a0:a1, b0:b1]
    return out


def ring_offsets(layout: Layout) -> np.ndarray:
    """Start of each tile's ring in the rings of all tiles concatenated (tile order)."""
    sizes = [ring_size(w) for w in layout.windows()]
    return np.r_[0, np.cumsum(sizes)].astype(np.int64)


def _lines(layout: Layout, offs: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """For every inner tile edge across ``axis`` (0: the row edges, 1: the column
    edges), the ring positions of the cells just before (``a``) and just after (``b``)
    it, along the whole grid: arrays (edges, cells along), -1 where none."""
    edges = layout.row_edges if axis == 0 else layout.col_edges
    n = layout.shape[1 - axis]
    a = np.full((max(len(edges) - 2, 0), n), -1, np.int64)
    b = np.full_like(a, -1)
    for t, (r0, r1, c0, c1) in enumerate(layout.windows()):
        rows, cols = ring(r1 - r0, c1 - c0)
        lo, hi, start = (r0, r1, c0) if axis == 0 else (c0, c1, r0)
        along, across = (cols, rows) if axis == 0 else (rows, cols)
        k = int(np.searchsorted(edges, lo))      # this tile's index along ``axis``
        pos = offs[t] + np.arange(len(rows))
        if k < len(edges) - 2:                   # an inner edge after the tile
            sel = across == hi - lo - 1
            a[k, start + along[sel]] = pos[sel]
        if k > 0:                                # an inner edge before it
            sel = across == 0
            b[k - 1, start + along[sel]] = pos[sel]
    return a, b


def cross_pairs(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Ring positions (p, q) of every two 8-adjacent cells in different tiles, across
    an edge or a corner (each such pair at least once)."""
    offs = ring_offsets(layout)
    ps, qs = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for axis in (0, 1):
        a, b = _lines(layout, offs, axis)
        n = a.shape[1]
        for d in (-1, 0, 1):
            lo, hi = max(0, -d), n - max(0, d)
            p, q = a[:, lo:hi].ravel(), b[:, lo + d:hi + d].ravel()
            keep = (p >= 0) & (q >= 0)
            ps.append(p[keep])
            qs.append(q[keep])
    return np.concatenate(ps), np.concatenate(qs)
