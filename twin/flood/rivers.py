"""Rivers from gauges: each gauge's channel cell, water bodies, fluvial depth per hour.

*Channel cells.* A gauge stands on the bank, and its own cell is dry at low water; the
river the connectivity model floods from is the lowest DEM cell within
``search_m`` of the gauge (the thalweg beside it), plus the cadastre's water parcels
that touch those cells.

*Water bodies.* Gauges on different rivers must not share one interpolated surface:
an IDW surface from the Red River (11 m in flood) and the Tô Lịch (6-9 m) would put
the city between them under a blend of both. Two gauges are on one water body when,
at the lower of their reference (low-water) levels, their channel cells are in one
8-connected region of cells below that level (single linkage). The lower level, not
the higher: at the Tô Lịch's upstream low water (10 m) most of the city is one region
below it, reaching the Red River's channel around the dykes' ends. Each body gets its own
surface, from its own gauges only, and floods from its own channel cells; the depth
of an hour is the largest over the bodies.

*Surface.* Inverse-distance weighting (``twin.analysis.interpolate.IDW``, power 2, the
8 nearest gauges of the body) within ``radius_m`` of a gauge: a gauge says nothing
about the water level kilometres away, and without the radius a low district far
from any gauge would be flooded to the interpolated level of distant ones. It is
evaluated every ``surface_step`` cells and bilinearly in between
(``twin.analysis.flood.connect.surface``).

*Permanent water.* The cells each body covers at its reference levels (and the water
parcels) are the river itself: the depth there is not flood and is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio.transform import Affine, rowcol
from scipy import ndimage

from twin.analysis.flood import flood_from_levels
from twin.analysis.flood.connect import EIGHT
from twin.analysis.interpolate import IDW
from twin.flood import distributed
from twin.flood.readings import Gauges
from twin.flood.request import FloodInputError


@dataclass(frozen=True)
class SurfaceParams:
    search_m: float = 60.0      # channel cell search around a gauge
    radius_m: float = 1500.0    # gauges inform the surface within this distance
    neighbours: int = 8
    surface_step: int = 8


def channel_cells(dem: np.ndarray, transform: Affine, x: np.ndarray, y: np.ndarray,
                  search_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the lowest valid cell within ``search_m`` of each point; -1
    for a point with no valid cell near it."""
    res = abs(transform.a)
    r = max(int(np.ceil(search_m / res)), 1)
    rows, cols = (np.asarray(v) for v in rowcol(transform, x, y))
    out_r, out_c = np.full(len(x), -1), np.full(len(x), -1)
    for k, (i, j) in enumerate(zip(rows, cols, strict=False)):
        i0, i1 = max(i - r, 0), min(i + r + 1, dem.shape[0])
        j0, j1 = max(j - r, 0), min(j + r + 1, dem.shape[1])
        if i0 >= i1 or j0 >= j1:
            continue
        win = dem[i0:i1, j0:j1]
        if not np.isfinite(win).any():
            continue
        a, b = np.unravel_index(np.nanargmin(win), win.shape)
        out_r[k], out_c[k] = i0 + a, j0 + b
    return out_r, out_c


def water_bodies(dem: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                 reference: np.ndarray) -> list[np.ndarray]:
    """Gauge indices grouped by water body (see the module docstring)."""
    n = len(rows)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    with np.errstate(invalid="ignore"):
        for level in np.unique(reference):
            labels, _ = ndimage.label(dem < level, structure=EIGHT)
            at = labels[rows, cols]
            for i in np.flatnonzero(reference == level):
                if at[i] == 0:
                    continue
                for j in np.flatnonzero((at == at[i]) & (reference >= level)):
                    parent[find(j)] = find(i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return [np.array(g) for g in groups.values()]


class RiverModel:
    """The fluvial model of one DEM and its gauges: bodies and permanent water are
    worked out once; each hour is then one surface and one labelling per body."""

    def __init__(self, dem: np.ndarray, transform: Affine, gauges: Gauges,
                 water: np.ndarray | None = None, params: SurfaceParams | None = None):
        self.dem, self.transform, self.p = dem, transform, params or SurfaceParams()
        rows, cols = channel_cells(dem, transform, gauges.x, gauges.y, self.p.search_m)
        keep = rows >= 0
        self.kept = keep          # gauges off the DEM are dropped; levels come per input gauge
        codes = [c for c, k in zip(gauges.codes, keep, strict=False) if k]
        self.gauges = Gauges(gauges.ids[keep], codes,
                             gauges.x[keep], gauges.y[keep], gauges.reference[keep])
        self.rows, self.cols = rows[keep], cols[keep]
        self.water = np.zeros(dem.shape, bool) if water is None else water
        self.bodies = water_bodies(dem, self.rows, self.cols, self.gauges.reference) \
            if len(self.gauges) else []
        self.sources = [self._sources(b) for b in self.bodies]
        self.permanent = self.water | self._baseline()

    def _sources(self, body: np.ndarray) -> np.ndarray:
        """The body's channel cells and the water parcels touching them."""
        mask = np.zeros(self.dem.shape, bool)
        mask[self.rows[body], self.cols[body]] = True
        if self.water.any():
            labels, _ = ndimage.label(self.water | mask, structure=EIGHT)
            mask |= np.isin(labels, labels[mask]) & (labels > 0)
        return mask

    def _surface(self, gx, gy, levels, xs, ys) -> np.ndarray:
        idw = IDW.fit(np.column_stack([gx, gy]), levels, k=self.p.neighbours,
                      radius=self.p.radius_m)
        return idw.predict_grid(xs, ys)[0]

    def _body_depth(self, b: int, levels: np.ndarray) -> np.ndarray | None:
        idx = self.bodies[b]
        have = np.isfinite(levels[idx])
        if not have.any():
            return None
        g = self.gauges
        pts = np.column_stack([g.x[idx][have], g.y[idx][have], levels[idx][have]])
        return flood_from_levels(self.dem, self.transform, pts, self.sources[b], self._surface,
                                 self.p.surface_step, distributed.connect)

    def _baseline(self) -> np.ndarray:
        """Cells under water at low water; ``self.low_water[b]``: each body's count."""
        wet = np.zeros(self.dem.shape, bool)
        self.low_water = []
        for b in range(len(self.bodies)):
            d = self._body_depth(b, self.gauges.reference)
            body = d > 0 if d is not None else np.zeros(self.dem.shape, bool)
            self.low_water.append(int(body.sum()))
            wet |= body
        return wet

    def depth(self, levels: np.ndarray) -> np.ndarray:
        """Flood depth (m, 0 where dry or permanent water) for one hour's levels, one
        per gauge as given to the model (NaN: no reading that hour)."""
        levels = np.asarray(levels, float)[self.kept]
        out = np.zeros(self.dem.shape, np.float32)
        for b in range(len(self.bodies)):
            d = self._body_depth(b, levels)
            if d is not None:
                np.maximum(out, d, out=out)
        out[self.permanent] = 0
        return out

    def main_body(self) -> int:
        """The body with the most water at low water: the main river."""
        if not self.bodies:
            raise FloodInputError("no water-level gauge with readings on the DEM")
        return int(np.argmax(self.low_water))

    def stage(self, stage_m: float) -> np.ndarray:
        """Flood depth with the main river flat at ``stage_m`` and the others at low water."""
        b = self.main_body()
        pts = [(self.gauges.x[i], self.gauges.y[i], stage_m) for i in self.bodies[b]]
        d = flood_from_levels(self.dem, self.transform, pts, self.sources[b],
                              lambda gx, gy, lv, xs, ys: np.full((len(ys), len(xs)), lv[0]),
                              connect=distributed.connect)
        d[self.permanent] = 0
        return d
