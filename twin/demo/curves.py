"""Insert a smooth road (ring road, dyke road, radial, bridge) into the road graph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from twin.demo.network import MIN_GAP, RoadGraph, edge_geometries

SNAP = 0.3     # nodes closer than this many local spacings are moved onto the curve


@dataclass
class CurveSpec:
    coords: np.ndarray         # densified polyline (m)
    leg: np.ndarray            # per vertex: index into names/classes
    names: list[str]
    classes: list[int]
    bridge: bool = False       # may cross the Red River

    def __post_init__(self) -> None:
        self.along = _along(self.coords)

    def legs_at(self, t: np.ndarray) -> np.ndarray:
        k = np.searchsorted(self.along, t, side="right") - 1
        return self.leg[np.clip(k, 0, len(self.leg) - 1)]


def _along(coords: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(coords, axis=0), axis=1))])


def _near(xy: np.ndarray, coords: np.ndarray, reach: float, cell: float = 250.0) -> np.ndarray:
    """Indices of points within about ``reach`` of the polyline (a coarse grid test that
    may include a little more, never less)."""
    r = int(np.ceil(reach / cell)) + 1
    origin = coords.min(axis=0) - (r + 1) * cell
    base = np.floor((coords - origin) / cell).astype(np.int64)
    occupied = np.zeros(tuple(base.max(axis=0) + r + 2), bool)
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            occupied[base[:, 0] + dx, base[:, 1] + dy] = True
    own = np.floor((xy - origin) / cell).astype(np.int64)
    inside = (own >= 0).all(axis=1) & (own < occupied.shape).all(axis=1)
    idx = np.flatnonzero(inside)
    return idx[occupied[own[idx, 0], own[idx, 1]]]


def _snap_nodes(g: RoadGraph, line: shapely.LineString, spec: CurveSpec
                ) -> tuple[np.ndarray, np.ndarray]:
    """Move unpinned, connected nodes near the curve onto it; returns (nodes, positions)."""
    deg = g.degree()
    cand = _near(g.xy, spec.coords, SNAP * g.spacing.max())
    cand = cand[(deg[cand] > 0) & ~g.pinned[cand]]
    cand = cand[shapely.dwithin(line, shapely.points(g.xy[cand]), SNAP * g.spacing[cand])]
    if len(cand) == 0:
        return cand, np.empty(0)
    t = shapely.line_locate_point(line, shapely.points(g.xy[cand]))
    ok = (t > 1.0) & (t < line.length - 1.0)
    cand, t = cand[ok], t[ok]
    g.xy[cand] = shapely.get_coordinates(shapely.line_interpolate_point(line, t))
    g.pinned[cand] = g.moved[cand] = True
    on_curve = np.zeros(g.n_nodes, bool)
    on_curve[cand] = True
    g.alive &= ~(on_curve[g.a] & on_curve[g.b])   # those edges now lie along the curve
    return cand, t


def _crossings(g: RoadGraph, line: shapely.LineString, spec: CurveSpec, snapped: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Edges that cross the curve once, and where; others touching it are dropped."""
    live = np.zeros(g.n_nodes, bool)
    live[g.a[g.alive]] = live[g.b[g.alive]] = True
    cand = _near(g.xy, spec.coords, 2.0 * g.spacing.max() + 50)
    cand = cand[live[cand]]
    near = np.zeros(g.n_nodes, bool)
    near[cand] = shapely.dwithin(line, shapely.points(g.xy[cand]), 2.0 * g.spacing[cand] + 50)
    on = np.zeros(g.n_nodes, bool)
    on[snapped] = True
    cand = np.flatnonzero(g.alive & (near[g.a] | near[g.b]) & ~on[g.a] & ~on[g.b])
    geoms = edge_geometries(g, cand)
    hit = shapely.intersects(line, geoms)
    cand, cross = cand[hit], shapely.intersection(geoms[hit], line)
    single = shapely.get_type_id(cross) == 0
    g.alive[cand[~single]] = False   # touches along a stretch or twice: drop it
    return cand[single], shapely.get_coordinates(cross[single])


def _split_curve_coords(g: RoadGraph, old: np.ndarray, first: np.ndarray, p: np.ndarray
                        ) -> None:
    for e, f, q in zip(old, first, p, strict=False):
        if e not in g.coords:
            continue
        c = g.coords[int(e)]
        along = _along(c)
        cut = shapely.line_locate_point(shapely.LineString(c), shapely.Point(q))
        g.coords[int(f)] = np.vstack([c[0], c[(along > 0) & (along < cut)], q])
        g.coords[int(f) + 1] = np.vstack([q, c[(along > cut) & (along < along[-1])], c[-1]])


def _split_edges(g: RoadGraph, edges: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Split each edge at its point (reusing an endpoint within MIN_GAP); returns nodes."""
    a, b = g.a[edges], g.b[edges]
    use_a = np.linalg.norm(g.xy[a] - p, axis=1) < MIN_GAP
    use_b = ~use_a & (np.linalg.norm(g.xy[b] - p, axis=1) < MIN_GAP)
    nodes = np.where(use_a, a, b)
    reuse = use_a | use_b
    free = reuse & ~g.pinned[nodes]
    g.xy[nodes[free]] = p[free]
    g.pinned[nodes[reuse]] = True
    g.moved[nodes[free]] = True
    split = np.flatnonzero(~reuse)
    if len(split):
        e = edges[split]
        new = g.add_nodes(p[split], g.spacing[a[split]])
        nodes[split] = new
        g.alive[e] = False
        ends = np.column_stack([a[split], new, new, b[split]])      # two halves per edge
        rep = np.repeat(e, 2)
        added = g.add_edges(ends[:, [0, 2]].ravel(), ends[:, [1, 3]].ravel(), klass=g.klass[rep],
                            name=g.name[rep], curve=g.curve[rep], run=g.run[rep],
                            bridge=g.bridge[rep])
        _split_curve_coords(g, e, added[::2], p[split])
    return nodes


def _merge_close(g: RoadGraph, nodes: np.ndarray, ts: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Order nodes along the curve; drop repeats and merge nodes less than 1 m apart."""
    order = np.argsort(ts, kind="stable")
    out_n, out_t = [int(nodes[order[0]])], [float(ts[order[0]])]
    for n, t in zip(nodes[order[1:]], ts[order[1:]], strict=False):
        if n == out_n[-1]:
            continue
        if np.linalg.norm(g.xy[n] - g.xy[out_n[-1]]) < 1.0:
            g.a[g.a == n] = out_n[-1]
            g.b[g.b == n] = out_n[-1]
            g.alive &= g.a != g.b
            continue
        out_n.append(int(n))
        out_t.append(float(t))
    return np.asarray(out_n), np.asarray(out_t)


def _chain(g: RoadGraph, spec: CurveSpec, curve_id: int, nodes: np.ndarray, ts: np.ndarray
           ) -> None:
    """Connect the curve's nodes in order along it with new curve edges."""
    nodes, ts = _merge_close(g, nodes, ts)
    if len(nodes) < 2:
        return
    legs = spec.legs_at((ts[:-1] + ts[1:]) / 2)
    added = g.add_edges(nodes[:-1], nodes[1:], klass=np.asarray(spec.classes)[legs],
                        name=np.asarray(spec.names, dtype=object)[legs], curve=curve_id)
    lo = np.searchsorted(spec.along, ts[:-1] + 0.5, side="right")
    hi = np.searchsorted(spec.along, ts[1:] - 0.5, side="left")
    for e, n0, n1, i0, i1 in zip(added, nodes[:-1], nodes[1:], lo, hi, strict=False):
        g.coords[int(e)] = np.vstack([g.xy[n0], spec.coords[i0:i1], g.xy[n1]])


def insert_curve(g: RoadGraph, spec: CurveSpec, curve_id: int) -> None:
    line = shapely.LineString(spec.coords)
    shapely.prepare(line)
    snapped, t_snap = _snap_nodes(g, line, spec)
    edges, p = _crossings(g, line, spec, snapped)
    split_nodes = _split_edges(g, edges, p)
    t_split = shapely.line_locate_point(line, shapely.points(g.xy[split_nodes]))
    nodes = np.concatenate([snapped, split_nodes]).astype(int)
    ts = np.concatenate([t_snap, t_split])
    if len(nodes) >= 2:
        _chain(g, spec, curve_id, nodes, ts)
