"""Numba building blocks shared by the priority-flood algorithms.

The grids are handled flat and padded: a one-cell frame of nodata around the DEM
means the eight neighbours of any inner cell are ``i + offsets[k]`` with no bounds
test, and "on the edge" becomes "next to nodata", the same rule as for holes in the
data. The heap is a binary min-heap on (elevation, cell) in two parallel arrays, so
a push or pop is a few array writes with no allocation; cell indices are int32
below 2**31 cells to halve the memory traffic. Together these let the filling match
C++ richdem.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def padded(values: np.ndarray, fill) -> np.ndarray:
    """``values`` with a one-cell frame of ``fill`` around it, as a flat C array."""
    ny, nx = values.shape
    out = np.full((ny + 2, nx + 2), fill, dtype=values.dtype)
    out[1:-1, 1:-1] = values
    return out.ravel()


def unpadded(flat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    ny, nx = shape
    return flat.reshape(ny + 2, nx + 2)[1:-1, 1:-1].copy()


def offsets(nx_padded: int, index_type) -> np.ndarray:
    """Flat offsets of the 8 neighbours in a padded grid ``nx_padded`` cells wide."""
    w = nx_padded
    return np.array([-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1], dtype=index_type)


def index_type(n: int):
    return np.int32 if n < 2**31 - 1 else np.int64


@njit(cache=True, inline="always")
def heap_push(keys, cells, size, key, cell):
    """Insert (key, cell); returns the new size. Capacity is the caller's business."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if keys[parent] <= key:
            break
        keys[i] = keys[parent]
        cells[i] = cells[parent]
        i = parent
    keys[i] = key
    cells[i] = cell
    return size + 1


@njit(cache=True, inline="always")
def heap_pop(keys, cells, size):
    """Remove the smallest key; returns (key, cell, new size)."""
    key, cell = keys[0], cells[0]
    size -= 1
    last_k, last_c = keys[size], cells[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= last_k:
            break
        keys[i] = keys[child]
        cells[i] = cells[child]
        i = child
    if size > 0:
        keys[i] = last_k
        cells[i] = last_c
    return key, cell, size


@njit(cache=True)
def seed_outlets(z, valid, off, closed, keys, cells):
    """Close nodata cells (the frame included) and push every valid cell next to one,
    where water leaves the DEM, onto the heap. Returns the heap size."""
    size = 0
    for i in range(z.size):
        if not valid[i]:
            closed[i] = 1
    for i in range(z.size):
        if closed[i]:
            continue
        for k in range(8):
            if not valid[i + off[k]]:
                closed[i] = 1
                size = heap_push(keys, cells, size, z[i], i)
                break
    return size
