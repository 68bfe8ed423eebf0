"""The road network: lattice streets, cut by water, with smooth highways laid over them.

One connected network; segments meet exactly at shared endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import shapely

from twin.demo.admin import Admin
from twin.demo.curves import insert_curve
from twin.demo.frame import REFERENCE_DATE, random_dates
from twin.demo.geography import TO_LICH_HALF_WIDTH, Geography
from twin.demo.highways import all_curves, highway_names
from twin.demo.lattice import Lattice, build_lattice
from twin.demo.names import DISTRICTS, PREFIXED
from twin.demo.network import (
    RoadGraph,
    edge_geometries,
    keep_largest_component,
    lattice_graph,
    remove_duplicates,
    sync_curve_ends,
)

CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary", "residential", "service")
MOTORWAY, TRUNK, PRIMARY, SECONDARY, TERTIARY, RESIDENTIAL, SERVICE = range(7)
LANES = {0: ([4, 6], [0.4, 0.6]), 1: ([4, 6], [0.6, 0.4]), 2: ([4, 6], [0.7, 0.3]),
         3: ([2, 4], [0.5, 0.5]), 4: ([2], [1.0]), 5: ([1, 2], [0.35, 0.65]), 6: ([1], [1.0])}
SPEEDS = {0: [80, 90, 100], 1: [60, 70, 80], 2: [50, 60], 3: [40, 50], 4: [40], 5: [30],
          6: [20]}
SURFACES = ("asphalt", "concrete", "paving_stones", "gravel", "unpaved")
SURFACE_P = {4: [0.85, 0.15, 0, 0, 0], 5: [0.6, 0.32, 0.05, 0.02, 0.01],
             6: [0.25, 0.45, 0.05, 0.15, 0.10]}
CITY_AGENCY = "Sở Giao thông Vận tải Hà Nội"
REMOVED_MINOR = 0.03   # share of minor lattice edges left out, for less regular blocks


@dataclass
class Roads:
    graph: RoadGraph
    lattice: Lattice
    lattice_width: np.ndarray    # carriageway width of every lattice edge (m)
    edges: np.ndarray            # graph edge index of each output segment
    geoms: np.ndarray            # LineStrings (UTM)
    ids: np.ndarray
    attrs: dict[str, np.ndarray]
    district: np.ndarray         # index into admin.districts

    @property
    def klass(self) -> np.ndarray:
        return self.graph.klass[self.edges]


def _street_attrs(klass: np.ndarray, inner: np.ndarray, rng: np.random.Generator) -> dict:
    """Lanes, width, speed, surface and one-way flag per street (run or highway leg)."""
    n = len(klass)
    lanes, speed = np.ones(n, int), np.full(n, 30)
    surface = np.zeros(n, int)
    for c in range(7):
        m = klass == c
        options, p = LANES[c]
        lanes[m] = rng.choice(options, m.sum(), p=p)
        speed[m] = rng.choice(SPEEDS[c], m.sum())
        surface[m] = rng.choice(5, m.sum(), p=SURFACE_P.get(c, [0.95, 0.05, 0, 0, 0]))
    paving = inner & (klass == RESIDENTIAL) & (rng.random(n) < 0.15)
    surface[paving] = SURFACES.index("paving_stones")
    width = lanes * rng.uniform(3.0, 3.5, n) + np.where((lanes >= 4) & (klass <= PRIMARY), 2.0, 0)
    p_oneway = np.where(klass == RESIDENTIAL, np.where(inner, 0.3, 0.06),
                        np.where(klass == SERVICE, 0.1, 0.0))
    return {"lanes": lanes, "width": np.round(width, 1), "speed": speed,
            "surface": np.asarray(SURFACES, dtype=object)[surface],
            "oneway": rng.random(n) < p_oneway}


def _styled(name: str, inner: bool) -> str:
    if name in PREFIXED:
        return name
    return ("Phố " if inner else "Đường ") + name


def _street_names(klass: np.ndarray, district: np.ndarray, rng: np.random.Generator
                  ) -> np.ndarray:
    out = np.empty(len(klass), dtype=object)
    taken = highway_names()
    for k, d in enumerate(DISTRICTS):
        mine = np.flatnonzero(district == k)
        pool = np.asarray([s for s in d.streets if s not in taken], dtype=object)
        styled = np.array([_styled(p, d.inner) for p in pool], dtype=object)
        major = mine[klass[mine] <= TERTIARY]
        out[major] = styled[(rng.permutation(len(pool))[np.arange(len(major)) % len(pool)])]
        minor = mine[klass[mine] > TERTIARY]
        parent = styled[rng.integers(0, len(pool), len(minor))]
        num = rng.integers(1, 400, len(minor))
        sub = rng.integers(1, 80, len(minor))
        for m, p, nu, su in zip(minor, parent, num, sub, strict=False):
            out[m] = f"Ngõ {nu} {p}" if klass[m] == RESIDENTIAL else f"Ngách {nu}/{su} {p}"
    return out


def _runs(lat: Lattice, rng: np.random.Generator, scale: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Street (run) index of every lattice edge; each run's line class and first edge."""
    line, pos, cls = lat.edge_lines()
    n_lines = lat.ni + lat.nj
    stretch = np.sqrt(scale)
    length = np.where(np.concatenate([lat.row_class, lat.col_class]) < RESIDENTIAL,
                      rng.uniform(8, 18, n_lines), rng.uniform(3, 8, n_lines)) * stretch
    offset = rng.uniform(0, 1, n_lines) * length
    key = line.astype(np.int64) * 100_000 + np.floor((pos + offset[line]) / length[line])
    _, first, run = np.unique(key, return_index=True, return_inverse=True)
    return run, cls[first], first


def _run_classes(line_class: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    klass = line_class.copy()
    u = rng.random(len(klass))
    klass[(line_class == PRIMARY) & (u < 0.25)] = SECONDARY
    klass[(line_class == SECONDARY) & (u < 0.2)] = TERTIARY
    klass[(line_class == TERTIARY) & (u < 0.3)] = RESIDENTIAL
    klass[(line_class == RESIDENTIAL) & (u < 0.16)] = SERVICE
    return klass


def _run_districts(lat: Lattice, a, b, run, admin: Admin) -> np.ndarray:
    """District of each run: where the middle of its part inside the extent lies."""
    inside = (lat.inside[a] & lat.inside[b]).astype(float)
    mid = (lat.xy[a] + lat.xy[b]) / 2
    n = run.max() + 1
    count = np.bincount(run, inside, minlength=n)
    centre = np.column_stack([np.bincount(run, mid[:, k] * inside, minlength=n)
                              for k in (0, 1)]) / np.maximum(count, 1)[:, None]
    found = count > 0
    district = np.zeros(n, dtype=int)
    district[found] = admin.district_index(centre[found, 0], centre[found, 1])
    missing = np.flatnonzero(found & (district < 0))   # a bent run: its centre falls outside
    if len(missing):
        cent = np.array([d.geom.centroid.coords[0] for d in admin.districts])
        district[missing] = np.linalg.norm(centre[missing, None] - cent[None], axis=2).argmin(1)
    return np.maximum(district, 0)


def _lattice_streets(lat: Lattice, admin: Admin, rng: np.random.Generator, scale: float):
    """Per lattice edge: endpoints, run index; per run: class, attributes, name."""
    a, b = lat.edges()
    run, line_class, _ = _runs(lat, rng, scale)
    klass = _run_classes(line_class, rng)
    district = _run_districts(lat, a, b, run, admin)
    inner = np.array([d.inner for d in DISTRICTS])[district]
    attrs = _street_attrs(klass, inner, rng)
    attrs["name"] = _street_names(klass, district, rng)
    attrs["klass"] = klass
    return a, b, run, attrs


def _bends(xy, a, b, klass, rng) -> np.ndarray:
    length = np.linalg.norm(xy[b] - xy[a], axis=1)
    bent = (klass >= RESIDENTIAL) & (rng.random(len(a)) < 0.35)
    return np.where(bent, rng.uniform(-1, 1, len(a)) * np.minimum(0.03 * length, 2.5), 0.0)


def _initial_graph(lat: Lattice, admin: Admin, rng: np.random.Generator, scale: float
                   ) -> tuple[RoadGraph, dict]:
    a, b, run, streets = _lattice_streets(lat, admin, rng, scale)
    klass = streets["klass"][run]
    g = lattice_graph(lat.xy, lat.spacing, a, b, klass, run, _bends(lat.xy, a, b, klass, rng))
    g.name[:] = streets["name"][run]
    g.alive = lat.inside[a] & lat.inside[b]
    g.alive &= ~((klass >= RESIDENTIAL) & (rng.random(len(a)) < REMOVED_MINOR))
    return g, streets


def _drop_water(g: RoadGraph, geo: Geography) -> None:
    """Lattice nodes in water go; edges may not cross lakes or the river, and cross the
    Tô Lịch only over a short stretch (a bridge)."""
    deg = g.degree() > 0
    pts = shapely.points(g.xy)
    tl = shapely.LineString(geo.to_lich)
    wet = np.zeros(g.n_nodes, bool)
    wet[deg] = shapely.contains_xy(geo.hard_water, g.xy[deg, 0], g.xy[deg, 1]) | \
        shapely.dwithin(tl, pts[deg], TO_LICH_HALF_WIDTH + 4)
    g.alive &= ~wet[g.a] & ~wet[g.b]
    water = geo.water
    shapely.prepare(water)
    near = np.zeros(g.n_nodes, bool)
    near[deg] = shapely.dwithin(water, pts[deg], 1.5 * g.spacing[deg])
    cand = np.flatnonzero(g.alive & (near[g.a] | near[g.b]))
    _kill_wet_edges(g, geo, cand, np.zeros(len(cand), bool))


def _kill_wet_edges(g: RoadGraph, geo: Geography, cand: np.ndarray, may_bridge: np.ndarray
                    ) -> None:
    geoms = edge_geometries(g, cand)
    lakes = shapely.union_all([p for _, p in geo.lakes])
    for prepared in (lakes, geo.river.channel, geo.to_lich_channel):
        shapely.prepare(prepared)
    river = shapely.intersects(geo.river.channel, geoms)
    ok_river = river & may_bridge
    bad = shapely.intersects(lakes, geoms) | (river & ~ok_river)
    wet = np.flatnonzero(shapely.intersects(geo.to_lich_channel, geoms))
    wet_len = shapely.length(shapely.intersection(geoms[wet], geo.to_lich_channel))
    bad[wet[wet_len > 6 * TO_LICH_HALF_WIDTH]] = True
    g.alive[cand[bad]] = False
    g.bridge[cand[ok_river & ~bad]] = True


def build_graph(geo: Geography, admin: Admin, rng: np.random.Generator, scale: float
                ) -> tuple[RoadGraph, Lattice, dict]:
    lat = build_lattice(geo, rng, scale)
    g, streets = _initial_graph(lat, admin, rng, scale)
    _drop_water(g, geo)
    specs = all_curves(geo)
    for k, spec in enumerate(specs):
        insert_curve(g, spec, k)
    remove_duplicates(g)
    live = np.flatnonzero(g.alive)
    may_bridge = np.array([s.bridge for s in specs])[np.maximum(g.curve[live], 0)] & \
        (g.curve[live] >= 0)
    _kill_wet_edges(g, geo, live, may_bridge)
    live = np.flatnonzero(g.alive)
    margin = geo.extent.buffer(1.0)
    shapely.prepare(margin)
    inside = shapely.contains(margin, edge_geometries(g, live))
    g.alive[live[~inside]] = False
    keep_largest_component(g)
    sync_curve_ends(g)
    return g, lat, streets


def _curve_streets(g: RoadGraph, edges: np.ndarray, rng: np.random.Generator) -> dict:
    """Attributes of highway edges, drawn once per (curve, class, name)."""
    keys = [f"{c}|{k}|{n}"
            for c, k, n in zip(g.curve[edges], g.klass[edges], g.name[edges], strict=False)]
    uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    attrs = _street_attrs(g.klass[edges][first].astype(int), np.zeros(len(uniq), bool), rng)
    return {k: v[inv] for k, v in attrs.items()}


def _segment_attrs(g: RoadGraph, edges: np.ndarray, streets: dict, district: np.ndarray,
                   rng: np.random.Generator) -> dict:
    n = len(edges)
    lattice = g.curve[edges] < 0
    klass = g.klass[edges].astype(int)
    out = {k: np.empty(n, dtype=streets[k].dtype) for k in ("lanes", "width", "speed",
                                                             "surface", "oneway")}
    for k, column in out.items():
        column[lattice] = streets[k][g.run[edges[lattice]]]
    if (~lattice).any():
        for k, v in _curve_streets(g, edges[~lattice], rng).items():
            out[k][~lattice] = v
    major = klass <= SECONDARY
    condition = np.where(major, rng.choice(5, n, p=[0.03, 0.1, 0.3, 0.37, 0.2]),
                         rng.choice(5, n, p=[0.08, 0.17, 0.35, 0.28, 0.12])) + 1
    names = np.array([f"UBND quận {d.name}" for d in DISTRICTS], dtype=object)
    start = REFERENCE_DATE - timedelta(days=3 * 365)
    return {
        "name": g.name[edges].astype(object),
        "road_class": np.asarray(CLASSES, dtype=object)[klass],
        "surface": out["surface"], "lanes": out["lanes"].astype(np.int32),
        "width_m": out["width"].astype(float), "speed_limit_kmh": out["speed"].astype(np.int32),
        "oneway": out["oneway"].astype(bool), "condition": condition.astype(np.int32),
        "last_inspected": random_dates(rng, n, start, REFERENCE_DATE),
        "agency": np.where(major, CITY_AGENCY, names[district]).astype(object),
    }


def corridors(roads: Roads) -> np.ndarray:
    """Buffers of the segments that left the lattice (highways, moved or split streets):
    parcels must keep clear of these."""
    g, e = roads.graph, roads.edges
    n_lattice = len(roads.lattice_width)
    changed = (g.curve[e] >= 0) | (e >= n_lattice) | g.moved[g.a[e]] | g.moved[g.b[e]]
    width = roads.attrs["width_m"][changed]
    return shapely.buffer(roads.geoms[changed], width / 2 + 1.5, quad_segs=2)


def build_roads(geo: Geography, admin: Admin, rng: np.random.Generator, scale: float) -> Roads:
    g, lat, streets = build_graph(geo, admin, rng, scale)
    edges = np.flatnonzero(g.alive)
    geoms = edge_geometries(g, edges)
    mid = shapely.get_coordinates(shapely.line_interpolate_point(geoms, 0.5, normalized=True))
    district = np.maximum(admin.district_index(mid[:, 0], mid[:, 1]), 0)
    attrs = _segment_attrs(g, edges, streets, district, rng)
    ids = np.array([f"road-{k:06d}" for k in range(1, len(edges) + 1)], dtype=object)
    a, _ = lat.edges()
    lattice_width = streets["width"][g.run[: len(a)]]
    return Roads(g, lat, lattice_width, edges, geoms, ids, attrs, district)
