"""Land parcels: each lattice block, inset from its streets, split into a grid of quads.

Neighbouring parcels in a block share their edges exactly (one bilinear grid of
points per block); blocks are separated by the streets, so parcels never overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from twin.demo.frame import CENTRE_LONLAT, utm_points
from twin.demo.geography import Geography
from twin.demo.landuse import block_use, parcel_counts, parcel_use
from twin.demo.lattice import Lattice
from twin.demo.network import RoadGraph
from twin.demo.shapes import ValueNoise

SETBACK = 1.0        # metres between a carriageway edge and the parcels
CORES = [(CENTRE_LONLAT, 1.0, 5500.0), ((105.778, 20.968), 0.6, 2200.0),
         ((105.885, 21.045), 0.55, 2500.0), ((105.775, 21.025), 0.55, 2500.0),
         ((105.795, 21.032), 0.5, 2500.0)]


@dataclass
class Blocks:
    """Lattice blocks that can hold parcels."""

    corners: np.ndarray     # (M, 4, 2) outer corners, counter-clockwise
    inner: np.ndarray       # (M, 4, 2) inset corners
    sides: np.ndarray       # (M, 4) lattice edge of each side (bottom, right, top, left)
    zone: np.ndarray        # (M,) index into landuse.ZONES


def _cell_index(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    ni = lat.ni
    i, j = np.meshgrid(np.arange(lat.ni - 1), np.arange(lat.nj - 1))
    i, j = i.ravel(), j.ravel()
    k00 = j * ni + i
    nodes = np.column_stack([k00, k00 + 1, k00 + 1 + ni, k00 + ni])
    sides = np.column_stack([lat.h_edge(i, j), lat.v_edge(i + 1, j), lat.h_edge(i, j + 1),
                             lat.v_edge(i, j)])
    keep = lat.inside[nodes].all(axis=1)
    return nodes[keep], sides[keep]


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]


def inset_quads(p: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move each side of the CCW quads ``p`` (M,4,2) inwards by ``d`` (M,4).

    Returns the inner quads and a mask of those that are still convex and sizeable."""
    t = np.roll(p, -1, axis=1) - p                              # side k: p[k] -> p[k+1]
    length = np.linalg.norm(t, axis=2, keepdims=True)
    n = np.stack([-t[..., 1], t[..., 0]], axis=2) / np.maximum(length, 1e-9)
    base = p + n * d[..., None]                                 # a point on offset side k
    t_prev, base_prev = np.roll(t, 1, axis=1), np.roll(base, 1, axis=1)
    denom = _cross(t_prev, t)
    s = _cross(base - base_prev, t) / np.where(np.abs(denom) < 1e-9, np.nan, denom)
    q = base_prev + t_prev * s[..., None]
    e = np.roll(q, -1, axis=1) - q
    turn = _cross(e, np.roll(e, -1, axis=1))
    area = 0.5 * _cross(q, np.roll(q, -1, axis=1)).sum(axis=1)
    outer_turn = _cross(t, np.roll(t, -1, axis=1))
    ok = np.isfinite(q).all(axis=(1, 2)) & (turn > 0).all(axis=1) & (outer_turn > 0).all(axis=1)
    ok &= area > 0.15 * 0.5 * _cross(p, np.roll(p, -1, axis=1)).sum(axis=1)
    return q, ok


def _zones(centres: np.ndarray, geo: Geography, rng: np.random.Generator) -> np.ndarray:
    u = np.zeros(len(centres))
    for lonlat, weight, radius in CORES:
        c = utm_points([lonlat])[0]
        u = np.maximum(u, weight * np.exp(-np.linalg.norm(centres - c, axis=1) / radius))
    u += 0.12 * ValueNoise(rng, geo.bounds, 1500.0)(centres[:, 0], centres[:, 1])
    zone = np.select([u > 0.55, u > 0.35, u > 0.2], [0, 1, 2], 3)
    plain = shapely.contains_xy(geo.river.between_dykes, centres[:, 0], centres[:, 1])
    return np.where(plain, 4, zone)


def build_blocks(lat: Lattice, g: RoadGraph, width: np.ndarray, geo: Geography,
                 rng: np.random.Generator) -> Blocks:
    nodes, sides = _cell_index(lat)
    corners = lat.xy[nodes]
    n_lat = len(width)
    inset = width[sides] / 2 + np.abs(g.bend[:n_lat][sides]) + SETBACK
    inner, ok = inset_quads(corners, inset)
    corners, inner, sides = corners[ok], inner[ok], sides[ok]
    zone = _zones(corners.mean(axis=1), geo, rng)
    return Blocks(corners, inner, sides, zone)


def _breaks(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """(m, n+1) increasing breakpoints from 0 to 1 with irregular spacing."""
    w = rng.uniform(0.75, 1.25, (m, n))
    c = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
    return np.concatenate([np.zeros((m, 1)), c], axis=1)


def subdivide(q: np.ndarray, nx: int, ny: int, rng: np.random.Generator) -> np.ndarray:
    """Quads (M,4,2) -> parcel rings (M*nx*ny, 5, 2) on a shared bilinear grid.

    Parcel (a, b) of block m is at index (m*nx + a)*ny + b."""
    u, v = _breaks(len(q), nx, rng), _breaks(len(q), ny, rng)
    uu, vv = u[:, :, None, None], v[:, None, :, None]
    q0, q1, q2, q3 = (q[:, k][:, None, None, :] for k in range(4))
    grid = (1 - uu) * (1 - vv) * q0 + uu * (1 - vv) * q1 + uu * vv * q2 + (1 - uu) * vv * q3
    rings = np.stack([grid[:, :-1, :-1], grid[:, 1:, :-1], grid[:, 1:, 1:], grid[:, :-1, 1:],
                      grid[:, :-1, :-1]], axis=3)
    return rings.reshape(-1, 5, 2)


@dataclass
class Parcels:
    geoms: np.ndarray       # polygons (UTM)
    use: np.ndarray         # land-use code
    street_edge: np.ndarray  # lattice edge of the block side nearest the parcel
    frontage: np.ndarray    # parcel touches that side (else it lies inside the block)


def _split_blocks(blocks: Blocks, nx: np.ndarray, ny: np.ndarray, rng: np.random.Generator):
    rings, block, street = [], [], []
    frontage = []
    for x, y in sorted(set(zip(nx.tolist(), ny.tolist(), strict=False))):
        m = np.flatnonzero((nx == x) & (ny == y))
        rings.append(subdivide(blocks.inner[m], x, y, rng))
        a, b = (v.ravel() for v in np.meshgrid(np.arange(x), np.arange(y), indexing="ij"))
        gap = np.stack([b, x - 1 - a, y - 1 - b, a])        # distance to each side
        side = gap.argmin(axis=0)
        block.append(np.repeat(m, x * y))
        street.append(blocks.sides[m][:, side].ravel())
        frontage.append(np.tile(gap.min(axis=0) == 0, len(m)))
    order = np.argsort(np.concatenate(block), kind="stable")
    cat = [np.concatenate(v)[order] for v in (rings, block, street, frontage)]
    return cat


def _clear(geoms: np.ndarray, geo: Geography, corridor: np.ndarray) -> np.ndarray:
    """Parcels clear of water, inside the extent and off the highway corridors."""
    water = geo.water
    shapely.prepare(water)
    shapely.prepare(geo.extent)
    ok = ~shapely.intersects(water, geoms) & shapely.contains_properly(geo.extent, geoms)
    hit = shapely.STRtree(geoms).query(corridor, predicate="intersects")[1]
    ok[hit] = False
    return ok


def build_parcels(lat: Lattice, g: RoadGraph, lattice_width: np.ndarray, corridor: np.ndarray,
                  geo: Geography, rng: np.random.Generator, scale: float) -> Parcels:
    blocks = build_blocks(lat, g, lattice_width, geo, rng)
    use = block_use(blocks.zone, rng)
    nx, ny = parcel_counts(blocks.inner, blocks.zone, use, scale, rng)
    rings, block, street, frontage = _split_blocks(blocks, nx, ny, rng)
    geoms = shapely.polygons(rings)
    ok = _clear(geoms, geo, corridor)
    codes = parcel_use(use[block], rng)
    return Parcels(geoms[ok], codes[ok], street[ok], frontage[ok])
