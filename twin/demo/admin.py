"""Districts and wards (the map until 30 June 2025): a weighted Voronoi-style partition
that tiles the extent. The map of 1 July 2025 is formed from these wards
(:mod:`twin.demo.admin2025`).

Many small Voronoi cells are assigned to the nearest district centre (distance
scaled by the district's real size, with smooth noise for organic boundaries);
each district's cells are then clustered into wards. Districts and wards are
unions of the same cells, so they tile the extent without gaps or overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely

from twin.demo.frame import utm_points
from twin.demo.geography import Geography
from twin.demo.names import DISTRICTS, LONG_BIEN, District
from twin.demo.shapes import ValueNoise

CELL = 230.0          # metres between Voronoi seeds
GRID = 0.01           # snapping grid (m) that keeps shared edges identical
# Cells go to the district minimising distance / sqrt(area * fudge); the fudge corrects
# for neighbours that are much larger or smaller than the district itself.
FUDGE = {"002": 0.55, "007": 1.7, "009": 1.3}


@dataclass
class AdminArea:
    id: str
    code: str
    name: str
    level: str
    parent_code: str | None
    population: int
    geom: shapely.Geometry
    valid_from: date | None = None    # first day in force (None: before the records)
    valid_to: date | None = None      # first day no longer in force (None: in force)


@dataclass
class Admin:
    districts: list[AdminArea]        # the former map (districts and their wards), which
    wards: list[AdminArea]            # the demo's other stages place things in
    meta: dict[str, District] = field(default_factory=dict)   # district code -> data
    new_map: list[AdminArea] = field(default_factory=list)    # from 1 July 2025

    @property
    def areas(self) -> list[AdminArea]:
        """Both maps: the former districts and wards, then the new communes and wards."""
        return [*self.districts, *self.wards, *self.new_map]

    def district_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index into ``districts`` of each point (-1 outside the extent)."""
        return _locate([d.geom for d in self.districts], x, y)

    def ward_index(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return _locate([w.geom for w in self.wards], x, y)


def _locate(geoms: list, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full(len(np.atleast_1d(x)), -1)
    for i, g in enumerate(geoms):
        shapely.prepare(g)
        hit = (out < 0) & shapely.contains_xy(g, x, y)
        out[hit] = i
    missing = np.flatnonzero(out < 0)
    if len(missing):  # points on a shared edge: take an area within a metre
        pts = shapely.points(np.atleast_1d(x)[missing], np.atleast_1d(y)[missing])
        hit_pt, hit_geom = shapely.STRtree(geoms).query(pts, predicate="dwithin", distance=1.0)
        out[missing[hit_pt[::-1]]] = hit_geom[::-1]
    return out


def _voronoi_pieces(geo: Geography, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Small polygons tiling the extent, each wholly west or east of the river (flag)."""
    x0, y0, x1, y1 = geo.bounds
    xs, ys = np.arange(x0 - CELL, x1 + CELL, CELL), np.arange(y0 - CELL, y1 + CELL, CELL)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()]) + rng.uniform(-0.35, 0.35, (gx.size, 2)) * CELL
    vor = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=geo.extent.buffer(3 * CELL))
    cells = shapely.get_parts(vor)
    pieces, east = [], []
    for side, flag in ((geo.west_side, False), (geo.east_side, True)):
        part = shapely.intersection(cells, side, grid_size=GRID)
        for geom in part[~shapely.is_empty(part)]:
            polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area > 1]
            pieces.extend(polys)
            east.extend([flag] * len(polys))
    return np.asarray(pieces, dtype=object), np.asarray(east)


def _assign_districts(pieces: np.ndarray, east: np.ndarray, geo: Geography,
                      rng: np.random.Generator) -> np.ndarray:
    cent = shapely.get_coordinates(shapely.centroid(pieces))
    centres = utm_points([d.centre for d in DISTRICTS])
    score = np.empty((len(DISTRICTS), len(pieces)))
    for k, d in enumerate(DISTRICTS):
        noise = ValueNoise(rng, geo.bounds, 1800.0)(cent[:, 0], cent[:, 1])
        weight = np.sqrt(d.area_km2 * FUDGE.get(d.code, 1.0))
        dist = np.linalg.norm(cent - centres[k], axis=1) / weight
        score[k] = dist * (1 + 0.10 * noise)
        score[k, east != (d.code == LONG_BIEN)] = np.inf
    return score.argmin(axis=0)


def _kmeans(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
            ) -> np.ndarray:
    """Cluster labels; farthest-point initialisation, a few Lloyd steps."""
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        d = np.min([np.linalg.norm(points - c, axis=1) for c in centres], axis=0)
        centres.append(points[d.argmax()])
    c = np.asarray(centres)
    for _ in range(12):
        label = np.linalg.norm(points[:, None, :] - c[None], axis=2).argmin(axis=1)
        for j in range(k):
            m = label == j
            if m.any():
                c[j] = np.average(points[m], axis=0, weights=weights[m])
    order = np.lexsort((c[:, 0], -c[:, 1]))       # name wards north to south
    rank = np.empty(k, dtype=int)
    rank[order] = np.arange(k)
    return rank[label]


def _split_population(total: int, weights: np.ndarray) -> np.ndarray:
    raw = total * weights / weights.sum()
    out = np.floor(raw).astype(int)
    out[np.argsort(raw - out)[::-1][: total - out.sum()]] += 1
    return out


def _district_areas(d: District, geom, pieces, rng, next_code: int
                    ) -> tuple[AdminArea, list[AdminArea]]:
    share = min(1.0, geom.area / 1e6 / d.area_km2)
    population = round(d.population * share)
    k = int(np.clip(len(d.wards), 4, 10))
    k = min(k, len(pieces))
    cent = shapely.get_coordinates(shapely.centroid(pieces))
    ward_label = _kmeans(cent, shapely.area(pieces), k, rng)
    ward_geoms = [shapely.union_all(pieces[ward_label == j], grid_size=GRID) for j in range(k)]
    weights = np.array([g.area for g in ward_geoms]) * rng.lognormal(0, 0.3, k)
    pops = _split_population(population, weights)
    wards = []
    for j, g in enumerate(ward_geoms):
        code = f"{next_code + 3 * j:05d}"
        name = f"Phường {d.wards[j]}" if j < len(d.wards) else f"Phường {d.name} {j + 1}"
        wards.append(AdminArea(f"ward-{code}", code, name, "ward", d.code, int(pops[j]), g))
    district = AdminArea(f"district-{d.code}", d.code, f"Quận {d.name}", "district", None,
                         population, geom)
    return district, wards


def build_admin(geo: Geography, rng: np.random.Generator) -> Admin:
    pieces, east = _voronoi_pieces(geo, rng)
    label = _assign_districts(pieces, east, geo, rng)
    districts, wards, code = [], [], 1
    for k, d in enumerate(DISTRICTS):
        mine = pieces[label == k]
        geom = shapely.union_all(mine, grid_size=GRID)
        district, ws = _district_areas(d, geom, mine, rng, code)
        districts.append(district)
        wards.extend(ws)
        code += 3 * 40
    return Admin(districts, wards, {d.code: d for d in DISTRICTS})
