"""Tiled connectivity: :func:`connect.connected` tile by tile, equal to it on the grid.

1. :func:`tile_labels` (per tile): label the tile's wet cells 8-connected
   (``scipy.ndimage.label``, as ``connected`` does) and note which labels hold a
   source. Only the labels on the tile's ring, and whether each holds a source, leave
   the tile.
2. :func:`solve_labels` (once): the ring labels of all tiles are the nodes; two wet
   ring cells 8-adjacent across a tile edge or corner join their labels (connected
   components of that graph: union-find over the edge pairs); a component holding a
   source keeps all its labels.
3. :func:`keep_tile` (per tile): a label is kept when it holds a source itself or
   its ring label was kept by the solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .connect import EIGHT
from .tiled_layout import Layout, Window, cross_pairs, ring, ring_offsets


@dataclass
class TileLabels:
    """A tile's ring labels (ring order, 0 where dry), its distinct wet ring labels
    and whether each holds a source within the tile."""

    ring_labels: np.ndarray
    labels: np.ndarray
    source: np.ndarray


def _label(wet: np.ndarray, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, count = ndimage.label(wet, structure=EIGHT)
    has = np.zeros(count + 1, dtype=bool)
    has[labels[sources & wet]] = True
    has[0] = False
    return labels, has


def tile_labels(wet: np.ndarray, sources: np.ndarray) -> TileLabels:
    """Stage 1 on one tile (its own cells, no halo)."""
    labels, has = _label(wet, sources)
    rows, cols = ring(*wet.shape)
    on_ring = labels[rows, cols]
    uniq = np.unique(on_ring[on_ring > 0])
    return TileLabels(on_ring.astype(np.int64), uniq.astype(np.int64), has[uniq])


def solve_labels(layout: Layout, tiles: Sequence[TileLabels]) -> list[np.ndarray]:
    """Stage 2: per tile, whether each of its distinct ring labels is kept."""
    offs = ring_offsets(layout)
    if len(tiles) != len(offs) - 1:
        raise ValueError(f"{len(tiles)} tiles' labels for {len(offs) - 1} tiles")
    base = np.r_[0, np.cumsum([len(t.labels) for t in tiles])].astype(np.int64)
    node = np.concatenate([
        np.where(t.ring_labels > 0,
                 base[i] + np.searchsorted(t.labels, t.ring_labels), -1)
        for i, t in enumerate(tiles)]) if tiles else np.zeros(0, np.int64)
    p, q = cross_pairs(layout)
    a, b = node[p], node[q]
    joined = (a >= 0) & (b >= 0)
    n = int(base[-1])
    if n == 0:
        return [np.zeros(0, dtype=bool) for _ in tiles]
    graph = coo_matrix((np.ones(int(joined.sum()), np.int8), (a[joined], b[joined])),
                       shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    source = np.concatenate([t.source for t in tiles])
    wet_comp = np.zeros(comp.max() + 1, dtype=bool)
    wet_comp[comp[source]] = True
    kept = wet_comp[comp]
    return [kept[base[i]:base[i + 1]] for i in range(len(tiles))]


def keep_tile(wet: np.ndarray, sources: np.ndarray, ring_labels: np.ndarray,
              ring_kept: np.ndarray) -> np.ndarray:
    """Stage 3 on one tile: its cells connected to a source anywhere on the grid."""
    labels, has = _label(wet, sources)
    has[ring_labels] |= ring_kept
    has[0] = False
    return has[labels]


def tiled_connected(wet: np.ndarray, sources: np.ndarray, tile: int | tuple[int, int]
                    ) -> np.ndarray:
    """:func:`connect.connected` computed tile by tile, in this process."""
    wet, sources = np.asarray(wet, bool), np.asarray(sources, bool)
    if wet.shape != sources.shape:
        raise ValueError(f"sources {sources.shape} do not match the wet grid {wet.shape}")
    layout = Layout.of(wet.shape, tile)
    windows: list[Window] = layout.windows()

    def part(grid: np.ndarray, w: Window) -> np.ndarray:
        return grid[w[0]:w[1], w[2]:w[3]]

    stage1 = [tile_labels(part(wet, w), part(sources, w)) for w in windows]
    out = np.zeros(wet.shape, dtype=bool)
    for w, t, kept in zip(windows, stage1, solve_labels(layout, stage1), strict=True):
        out[w[0]:w[1], w[2]:w[3]] = keep_tile(part(wet, w), part(sources, w), t.labels, kept)
    return out


__all__ = ["TileLabels", "keep_tile", "solve_labels", "tile_labels",
           "tiled_connected"]
