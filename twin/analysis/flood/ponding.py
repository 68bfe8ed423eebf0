"""Pluvial ponding: rain that the drains cannot take fills the DEM's depressions,
and a full depression spills into its neighbour (fill-spill-merge).

What is modelled, exactly:

- *Runoff.* Each time step, every cell gets ``max(0, rain - drainage capacity x step)``
  of water depth; the drains take the rest (``drained``). Runoff depths accumulate over
  the event: ponds do not recede while it lasts (no infiltration, no evaporation, the
  drains do not empty ponds), so each step is an upper bound for its hour.
- *Routing.* A cell's runoff goes downhill to its basin's depression (see
  ``hierarchy``), instantly: steady state, no flow dynamics, no travel time.
- *Fill, spill, merge* (Barnes, Callaghan & Wickert 2020, Part 3). A depression
  stores water up to its spill level; beyond that the surplus crosses the saddle and
  enters the neighbouring depression at the basin on the other side, which fills in
  turn; two full neighbours merge into one lake that rises above their saddle.
  Water reaching the DEM's edge or nodata leaves the area (``outflow``).
- *Volume.* ``rain = drained + ponded + outflow`` to floating-point rounding, and the
  depth grid holds exactly ``ponded``: a lake's level is solved from its volume over
  the cells below its spill level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

from . import hierarchy
from .hierarchy import OCEAN, Hierarchy


@dataclass(frozen=True)
class PondingStep:
    """One step's ponding depth (m, float32, 0 where dry) and its water budget (m³,
    cumulative from the start of the event)."""

    depth: np.ndarray
    rain_m3: float
    drained_m3: float
    ponded_m3: float
    outflow_m3: float


class PondingModel:
    """A DEM prepared for ponding: the depression hierarchy is built once and each
    rainfall is then only a pass over the tree and the lakes' cells."""

    def __init__(self, dem: np.ndarray, cell_area: float, nodata: float | None = None):
        self.dem = dem.astype(np.float64)
        self.tree: Hierarchy = hierarchy.build(dem, cell_area, nodata)
        self.valid = self.tree.labels >= 0
        self._leaf_cells = np.bincount(self.tree.labels[self.valid],
                                       minlength=self.tree.n_leaves).astype(np.float64)

    def pond(self, runoff_m: float | np.ndarray) -> tuple[np.ndarray, float, float]:
        """Depth grid, ponded m³ and outflow m³ for a runoff depth (m; a scalar or a
        grid) routed over the DEM."""
        t = self.tree
        if np.ndim(runoff_m) == 0:
            inflow = self._leaf_cells * float(runoff_m) * t.cell_area
        else:
            inflow = np.bincount(t.labels[self.valid], weights=np.asarray(runoff_m)[self.valid],
                                 minlength=t.n_leaves) * t.cell_area
        water, full = _pour(inflow, t.parent, t.children, t.entry, t.capacity, t.n_leaves)
        outflow = float(water[OCEAN])
        ponded = float(inflow.sum()) - outflow
        return self._depth(water, full), ponded, outflow

    def run(self, rain_mm: Sequence[float], drainage_mm_h: float,
            step_h: float = 1.0) -> list[PondingStep]:
        """Ponding after each step of a hyetograph ``rain_mm`` (mm per step)."""
        area = float(self.valid.sum()) * self.tree.cell_area
        steps, rain, runoff = [], 0.0, 0.0
        for mm in rain_mm:
            rain += mm / 1000.0
            runoff += max(0.0, mm - drainage_mm_h * step_h) / 1000.0
            depth, ponded, outflow = self.pond(runoff)
            steps.append(PondingStep(depth, rain * area, (rain - runoff) * area, ponded, outflow))
        return steps

    def _depth(self, water: np.ndarray, full: np.ndarray) -> np.ndarray:
        t = self.tree
        lake = _lakes(t.parent, t.children, full, t.ocean)
        surface = np.where(full & ~t.ocean, t.spill, -np.inf)
        solve = ~full & ~t.ocean & (water > 0) & (lake == np.arange(t.n_nodes))
        cell_lake = np.full(t.labels.shape, -1, np.int64)
        cell_lake[self.valid] = lake[t.labels[self.valid]]
        if solve.any():
            surface = _solve_levels(surface, solve, water, cell_lake, self.dem, t)
        level = np.full(t.labels.shape, -np.inf)
        level[self.valid] = surface[cell_lake[self.valid]]
        depth = np.maximum(level - self.dem, 0.0)
        depth[~self.valid] = 0.0
        return depth.astype(np.float32)


def _solve_levels(surface, solve, water, cell_lake, dem, t: Hierarchy) -> np.ndarray:
    """Level of each partly filled lake: the l with sum(max(0, l - z)) * area = volume
    over the lake's cells below its spill level."""
    pick = solve[np.maximum(cell_lake, 0)] & (cell_lake >= 0)
    pick &= dem < t.spill[np.maximum(cell_lake, 0)]
    lakes, z = cell_lake[pick], dem[pick]
    order = np.lexsort((z, lakes))
    surface = surface.copy()
    _levels(lakes[order], z[order], water / t.cell_area, surface)
    return surface


@njit(cache=True)
def _levels(lakes, z, volume, surface):
    """Fill sorted (lake, z) runs: with the j lowest cells wet the level is
    (V + sum z) / j, valid while it does not reach the next cell."""
    i, n = 0, len(z)
    while i < n:
        q, j, zsum = lakes[i], i, 0.0
        level = z[i]
        while j < n and lakes[j] == q:
            zsum += z[j]
            level = (volume[q] + zsum) / (j - i + 1)
            if j + 1 >= n or lakes[j + 1] != q or level <= z[j + 1]:
                break
            j += 1
        surface[q] = level
        while j < n and lakes[j] == q:
            j += 1
        i = j


@njit(cache=True)
def _lakes(parent, children, full, ocean):
    """The lake each node's water belongs to: a full node whose sibling is full too
    belongs to its parent's lake (top-down, parents have higher ids)."""
    n = len(parent)
    lake = np.arange(n)
    for node in range(n - 1, -1, -1):
        p = parent[node]
        if p < 0 or ocean[p] or not full[node]:
            continue
        sib = children[p, 0] if children[p, 1] == node else children[p, 1]
        if full[sib]:
            lake[node] = lake[p]
    return lake


@njit(cache=True)
def _fill(node, x, water, full, cap):
    """Put up to ``x`` into ``node``'s own room; returns what is left."""
    room = cap[node] - water[node]
    take = min(x, room)
    water[node] += take
    if take >= room:
        full[node] = True
    return x - take


@njit(cache=True)
def _climb(leaf, x, top, water, extra, full, parent, children, entry, cap, n_leaves):
    """Pour ``x`` into ``leaf`` and let it rise through the tree up to ``top``: a full
    node's surplus crosses into its sibling at the sibling's entry basin when the sibling
    has room, and fills the parent's own room above the saddle once both are full.
    Totals are refreshed on the way. Returns the surplus leaving ``top``."""
    node = leaf
    x = _fill(leaf, x, water, full, cap)
    while node != top:
        p = parent[node]
        side = 0 if children[p, 1] == node else 1
        sib = children[p, side]
        if x > 0 and not full[sib]:
            node = entry[p, side]
            x = _fill(node, x, water, full, cap)
            continue
        a, b = children[p, 0], children[p, 1]
        room = cap[p] - water[a] - water[b] - extra[p]
        take = min(x, room) if x > 0 else 0.0
        extra[p] += take
        x -= take
        water[p] = water[a] + water[b] + extra[p]
        full[p] = full[a] and full[b] and take >= room
        node = p
    return x


@njit(cache=True)
def _pour(inflow, parent, children, entry, cap, n_leaves):
    """Water held by every node (its whole subtree) after the basins receive
    ``inflow``; the ocean leaf holds the outflow. Children before parents."""
    n = len(parent)
    water = np.zeros(n)
    extra = np.zeros(n)
    over = np.zeros(n)
    full = np.zeros(n, np.bool_)
    for leaf in range(n_leaves):
        over[leaf] = _fill(leaf, inflow[leaf], water, full, cap)
    for p in range(n_leaves, n):
        a, b = children[p, 0], children[p, 1]
        oa, ob = over[a], over[b]
        if oa > 0 and not full[b]:
            ob += _climb(entry[p, 1], oa, b, water, extra, full, parent, children, entry, cap,
                         n_leaves)
            oa = 0.0
        elif ob > 0 and not full[a]:
            oa += _climb(entry[p, 0], ob, a, water, extra, full, parent, children, entry, cap,
                         n_leaves)
            ob = 0.0
        base = water[a] + water[b]
        room = cap[p] - base
        x = oa + ob
        take = min(x, room)
        extra[p] = take
        water[p] = base + take
        full[p] = full[a] and full[b] and take >= room
        over[p] = x - take
    return water, full
