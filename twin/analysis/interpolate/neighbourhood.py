"""k-nearest-station sets for every cell of a regular grid, without a k-d tree query per cell.

The set of the k stations nearest to a point is constant over an order-k
Voronoi region, and those regions are convex (intersections of the
half-planes "closer to i than to j"). So when the four corner cells of a
rectangular block share one k-nearest set, every cell of the block has it.
Blocks are split in four until their corners agree or they are small. In a
small block every cell's k nearest stations are among the few stations
within ``d_k(centre) + 2 * half-diagonal`` of the block centre, so each cell
only sorts out those few candidates (dropping the farthest ones) instead of
searching the tree.

A set is identified by the sum of random 64-bit numbers drawn per station:
order-free, cheap to update when a candidate is dropped, and sortable as one
integer column. A second, independent sum detects collisions; every distinct
set is finally re-queried once and checked against its key, so a result is
either exact or the function falls back to querying every cell.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

_START = 64  # first block edge in cells
_SMALL = 16  # blocks fewer cells across than this are resolved from candidates
_CHUNK = 1024  # small blocks handled per vectorised step


def query_sets(tree: cKDTree, pts: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k nearest stations of each point, shape (m, k)."""
    _, idx = tree.query(pts, k=k, workers=-1)
    return np.asarray(idx).reshape(len(pts), k)


def _initial_blocks(ny: int, nx: int) -> np.ndarray:
    rs, cs = np.arange(0, ny, _START), np.arange(0, nx, _START)
    r0, c0 = np.meshgrid(rs, cs, indexing="ij")
    r1, c1 = np.minimum(r0 + _START, ny) - 1, np.minimum(c0 + _START, nx) - 1
    return np.stack([r0.ravel(), r1.ravel(), c0.ravel(), c1.ravel()], axis=1)


def _split(blocks: np.ndarray) -> np.ndarray:
    r0, r1, c0, c1 = blocks.T
    rm, cm = (r0 + r1) // 2, (c0 + c1) // 2
    parts = [(r0, rm, c0, cm), (r0, rm, cm + 1, c1), (rm + 1, r1, c0, cm), (rm + 1, r1, cm + 1, c1)]
    out = np.concatenate([np.stack(p, axis=1) for p in parts])
    return out[(out[:, 0] <= out[:, 1]) & (out[:, 2] <= out[:, 3])]


def _uniform_blocks(tree, x, y, blocks, k, draw, found) -> np.ndarray:
    """Key the blocks whose four corners share a set; return the others."""
    r0, r1, c0, c1 = blocks.T
    rows = np.stack([r0, r0, r1, r1], axis=1).ravel()
    cols = np.stack([c0, c1, c0, c1], axis=1).ravel()
    corners = query_sets(tree, np.column_stack([x[cols], y[rows]]), k).reshape(len(blocks), 4, k)
    corners.sort(axis=2)
    same = (corners == corners[:, :1]).all(axis=(1, 2))
    found.blocks.append(blocks[same])
    found.keys.append(draw[:, corners[same, 0]].sum(axis=2, dtype=np.uint64))  # (2, nsame)
    return blocks[~same]


def _candidate_keys(tree, x, y, blocks, k, draw, found) -> None:
    """Key every cell of small blocks from the stations that can be among its k nearest."""
    r0, r1, c0, c1 = blocks.T
    centre = np.column_stack([(x[c0] + x[c1]) / 2, (y[r0] + y[r1]) / 2])
    half = 0.5 * np.hypot(x[c1] - x[c0], y[r1] - y[r0])
    dist, _ = tree.query(centre, k=k, workers=-1)
    reach = np.asarray(dist).reshape(len(blocks), k)[:, -1] + 2 * half
    cands = tree.query_ball_point(centre, reach * (1 + 1e-12) + 1e-9, workers=-1)
    sizes = np.fromiter((len(c) for c in cands), dtype=np.intp, count=len(cands))
    jobs = []
    for size in np.unique(sizes):
        group = np.nonzero(sizes == size)[0]
        for at in range(0, len(group), _CHUNK):
            sel = group[at : at + _CHUNK]
            jobs.append((blocks[sel], np.array([cands[i] for i in sel])))
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        done = list(pool.map(lambda job: _resolve(tree.data, x, y, *job, k, draw), jobs))
    for cells, keys in done:
        found.cells.append(cells)
        found.cell_keys.append(keys)


def _resolve(xy, x, y, blocks, cand, k, draw) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Keep each cell's k nearest candidates and key the set by the sum of their draws.

    With few extra candidates the farthest are dropped one by one (each drop
    subtracts its draw); with many, one partition finds the k-th distance.
    A tie at the k-th distance would keep more than k stations, give a key no
    set has, and be caught by the final check in ``grid_sets``. Returns the
    cells (rows, cols) and their two keys (2, cells).
    """
    r0, r1, c0, c1 = blocks.T
    dr, dc = np.arange(int((r1 - r0).max()) + 1), np.arange(int((c1 - c0).max()) + 1)
    # (blocks, h, w) cell indices; clamped at the block edge, so a cell may repeat
    rows = np.minimum(r0[:, None] + dr, r1[:, None])[:, :, None] + 0 * dc
    cols = np.minimum(c0[:, None] + dc, c1[:, None])[:, None, :] + 0 * dr[:, None]
    d2 = (x[cols][..., None] - xy[cand, 0][:, None, None, :]) ** 2
    d2 += (y[rows][..., None] - xy[cand, 1][:, None, None, :]) ** 2
    w1, w2 = draw[0, cand][:, None, None, :], draw[1, cand][:, None, None, :]
    drop = cand.shape[1] - k
    if drop > 3:  # many candidates: one partition instead of repeated argmax
        keep = d2 <= np.partition(d2, k - 1, axis=3)[..., k - 1 : k]
        k1, k2 = (keep * w1).sum(axis=3, dtype=np.uint64), (keep * w2).sum(axis=3, dtype=np.uint64)
    else:
        w1, w2 = np.broadcast_to(w1, d2.shape), np.broadcast_to(w2, d2.shape)
        k1, k2 = (
            w1[..., 0] * 0 + w1.sum(axis=3, dtype=np.uint64),
            w2[..., 0] * 0 + w2.sum(axis=3, dtype=np.uint64),
        )
        for _ in range(drop):
            far = d2.argmax(axis=3)[..., None]
            k1 -= np.take_along_axis(w1, far, axis=3)[..., 0]
            k2 -= np.take_along_axis(w2, far, axis=3)[..., 0]
            np.put_along_axis(d2, far, -np.inf, axis=3)
    return (rows.ravel(), cols.ravel()), np.stack([k1.ravel(), k2.ravel()])


def grid_sets(tree: cKDTree, x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Label every cell of the grid (y rows, x columns) with its k-nearest set.

    Returns ``labels`` (ny, nx) int32 into ``sets`` (S, k), each row a sorted
    set of station indices.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    draw = np.random.default_rng(0).integers(0, 2**63, size=(2, tree.n), dtype=np.uint64)
    found = _Found([], [], [], [])
    pending = _initial_blocks(len(y), len(x))
    while len(pending):
        small = ((pending[:, 1] - pending[:, 0]) < _SMALL - 1) | (
            (pending[:, 3] - pending[:, 2]) < _SMALL - 1
        )
        if small.any():
            _candidate_keys(tree, x, y, pending[small], k, draw, found)
        pending = (
            _split(_uniform_blocks(tree, x, y, pending[~small], k, draw, found))
            if (~small).any()
            else []
        )
    keys = np.concatenate(found.keys + found.cell_keys, axis=1)
    _, first, inverse = np.unique(keys[0], return_index=True, return_inverse=True)
    inverse = inverse.ravel().astype(np.int32)
    sets = np.sort(query_sets(tree, found.point(first, x, y), k), axis=1)
    if not (
        np.array_equal(draw[0, sets].sum(axis=1, dtype=np.uint64), keys[0, first])
        and np.array_equal(draw[1, sets].sum(axis=1, dtype=np.uint64)[inverse], keys[1])
    ):
        return _query_every_cell(tree, x, y, k)
    return found.labels(inverse, len(y), len(x)), sets


@dataclass
class _Found:
    """Keyed blocks (uniform) and keyed single cells, in the order their keys were recorded."""

    blocks: list[np.ndarray]
    keys: list[np.ndarray]
    cells: list[tuple[np.ndarray, np.ndarray]]
    cell_keys: list[np.ndarray]

    def _all_blocks(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.empty((0, 4), dtype=np.intp)

    def _all_cells(self) -> tuple[np.ndarray, np.ndarray]:
        if not self.cells:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return np.concatenate([r for r, _ in self.cells]), np.concatenate(
            [c for _, c in self.cells]
        )

    def point(self, which: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """A cell centre for each recorded key index in ``which``."""
        blocks = self._all_blocks()
        rows, cols = self._all_cells()
        rows = np.concatenate([blocks[:, 0], rows])[which]
        cols = np.concatenate([blocks[:, 2], cols])[which]
        return np.column_stack([x[cols], y[rows]])

    def labels(self, inverse: np.ndarray, ny: int, nx: int) -> np.ndarray:
        out = np.empty((ny, nx), dtype=np.int32)
        blocks = self._all_blocks()
        labs = inverse[: len(blocks)].tolist()
        for (a, b, c, d), lab in zip(blocks.tolist(), labs, strict=False):
            out[a : b + 1, c : d + 1] = lab
        rows, cols = self._all_cells()
        out[rows, cols] = inverse[len(blocks) :]
        return out


def _query_every_cell(
    tree: cKDTree, x: np.ndarray, y: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    xx, yy = np.meshgrid(x, y)
    idx = np.sort(query_sets(tree, np.column_stack([xx.ravel(), yy.ravel()]), k), axis=1)
    sets, inverse = np.unique(idx, axis=0, return_inverse=True)
    return inverse.ravel().astype(np.int32).reshape(len(y), len(x)), sets
