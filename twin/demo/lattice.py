"""A warped, jittered lattice of street intersections.

The lattice is regular in "u-space"; a radial warp makes blocks smaller in the
centre and larger at the edge, and a blend of per-district rotations turns the
grid a little differently in each district. Every few lattice lines is an
arterial, jittered only along its own direction so that it stays smooth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from twin.demo.frame import CENTRE_LONLAT, utm_points
from twin.demo.geography import Geography
from twin.demo.names import DISTRICTS

BASE_SPACING = 130.0     # metres between intersections in the centre at scale 1
GROWTH = 1.0e-4          # spacing grows by this fraction per metre from the centre
ROTATION_DEG = 11.0      # largest per-district rotation
ROTATION_SIGMA = 2300.0  # metres over which district rotations blend
JITTER = 0.075           # standard deviation of the jitter, in lattice spacings

PRIMARY, SECONDARY, TERTIARY, RESIDENTIAL = 2, 3, 4, 5


@dataclass
class Lattice:
    ni: int
    nj: int
    xy: np.ndarray          # (ni*nj, 2) node positions, index j*ni + i
    spacing: np.ndarray     # local spacing at each node (m)
    inside: np.ndarray      # node lies inside the extent
    row_class: np.ndarray   # (nj,) class of horizontal lattice lines
    col_class: np.ndarray   # (ni,) class of vertical lattice lines

    @property
    def n_horizontal(self) -> int:
        return (self.ni - 1) * self.nj

    def edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Endpoints of all lattice edges: horizontal ones first, then vertical ones."""
        ni, nj = self.ni, self.nj
        i, j = np.meshgrid(np.arange(ni - 1), np.arange(nj))
        ha = (j * ni + i).ravel()
        i, j = np.meshgrid(np.arange(ni), np.arange(nj - 1))
        va = (j * ni + i).ravel()
        return np.concatenate([ha, va]), np.concatenate([ha + 1, va + ni])

    def edge_lines(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(line id, position along the line, class) of each edge."""
        ni, nj = self.ni, self.nj
        i, j = np.meshgrid(np.arange(ni - 1), np.arange(nj))
        hl, hp, hc = j.ravel(), i.ravel(), self.row_class[j.ravel()]
        i, j = np.meshgrid(np.arange(ni), np.arange(nj - 1))
        vl, vp, vc = nj + i.ravel(), j.ravel(), self.col_class[i.ravel()]
        return np.concatenate([hl, vl]), np.concatenate([hp, vp]), np.concatenate([hc, vc])

    def h_edge(self, i, j):
        return j * (self.ni - 1) + i

    def v_edge(self, i, j):
        return self.n_horizontal + j * self.ni + i


def arterial_period(scale: float) -> int:
    return max(4, round(12 * np.sqrt(scale)))


def _line_classes(n: int, centre: int, period: int) -> np.ndarray:
    rel = (np.arange(n) - centre) % period
    cls = np.full(n, RESIDENTIAL)
    cls[rel == period // 4] = TERTIARY
    cls[rel == period // 2] = SECONDARY
    cls[rel == 0] = PRIMARY
    return cls


def _warp(u: np.ndarray, centre: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """u-space offsets from the centre -> world positions (radial growth + rotations)."""
    r = np.linalg.norm(u, axis=1, keepdims=True)
    p = centre + u * (1 + GROWTH * r / 2)
    centres = utm_points([d.centre for d in DISTRICTS])
    theta = np.radians(rng.uniform(-ROTATION_DEG, ROTATION_DEG, len(centres)))
    shift, total = np.zeros_like(p), np.full(len(p), 1e-12)
    for c, t in zip(centres, theta, strict=False):
        dx, dy = p[:, 0] - c[0], p[:, 1] - c[1]
        w = np.exp(-(dx * dx + dy * dy) / (2 * ROTATION_SIGMA ** 2))
        shift[:, 0] += w * (dx * (np.cos(t) - 1) - dy * np.sin(t))
        shift[:, 1] += w * (dx * np.sin(t) + dy * (np.cos(t) - 1))
        total += w
    return p + shift / total[:, None]


def build_lattice(geo: Geography, rng: np.random.Generator, scale: float) -> Lattice:
    s = BASE_SPACING / np.sqrt(scale)
    centre = utm_points([CENTRE_LONLAT])[0]
    corners = shapely.get_coordinates(geo.extent.envelope)
    reach = np.linalg.norm(corners - centre, axis=1).max() + 1500
    n = int(np.ceil((-1 + np.sqrt(1 + 2 * GROWTH * reach)) / GROWTH / s))
    ni = nj = 2 * n + 1
    period = arterial_period(scale)
    col_class, row_class = _line_classes(ni, n, period), _line_classes(nj, n, period)
    gi, gj = np.meshgrid(np.arange(ni), np.arange(nj))
    jit = np.clip(rng.normal(0, JITTER, (ni * nj, 2)), -2.2 * JITTER, 2.2 * JITTER)
    jit[col_class[gi.ravel()] < RESIDENTIAL, 0] = 0    # arterial columns stay smooth
    jit[row_class[gj.ravel()] < RESIDENTIAL, 1] = 0
    u = (np.column_stack([gi.ravel(), gj.ravel()]) - n + jit) * s
    xy = _warp(u, centre, rng)
    spacing = s * (1 + GROWTH * np.linalg.norm(u, axis=1))
    inside = shapely.contains_xy(geo.extent, xy[:, 0], xy[:, 1])
    return Lattice(ni, nj, xy, spacing, inside, row_class, col_class)
