"""A planar road graph: lattice edges plus smooth curves inserted into it.

Nodes are intersections; an edge is a road segment between two of them. Lattice
edges are straight (optionally bent at their midpoint); edges of inserted curves
carry their own vertices. Inserting a curve snaps nearby lattice nodes onto it
and splits the edges that cross it, so every crossing becomes an intersection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

MIN_GAP = 3.0   # metres: closer curve crossings reuse an existing node


@dataclass
class RoadGraph:
    xy: np.ndarray          # (N, 2) node positions
    spacing: np.ndarray     # (N,) local block size, sets snapping distances
    pinned: np.ndarray      # (N,) node lies on an inserted curve
    moved: np.ndarray       # (N,) node was moved off its lattice position
    a: np.ndarray           # (E,) from-node
    b: np.ndarray           # (E,) to-node
    alive: np.ndarray       # (E,) bool
    curve: np.ndarray       # (E,) -1: lattice edge, else index of the inserted curve
    klass: np.ndarray       # (E,) road class index
    run: np.ndarray         # (E,) lattice run (street) key, -1 for curves
    name: np.ndarray        # (E,) street name (object)
    bend: np.ndarray        # (E,) mid-vertex offset of lattice edges (m, left positive)
    bridge: np.ndarray      # (E,) crosses the Red River
    coords: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.xy)

    def add_nodes(self, xy: np.ndarray, spacing: np.ndarray) -> np.ndarray:
        start = len(self.xy)
        self.xy = np.vstack([self.xy, xy])
        self.spacing = np.concatenate([self.spacing, spacing])
        self.pinned = np.concatenate([self.pinned, np.ones(len(xy), bool)])
        self.moved = np.concatenate([self.moved, np.zeros(len(xy), bool)])
        return np.arange(start, len(self.xy))

    def add_edges(self, a, b, klass, name, curve, run=-1, bridge=False) -> np.ndarray:
        n = len(np.atleast_1d(a))
        start = len(self.a)

        def grow(arr, value, dtype=None):
            return np.concatenate([arr, np.broadcast_to(np.asarray(value, dtype=dtype or
                                                                   arr.dtype), (n,))])
        self.a, self.b = grow(self.a, a), grow(self.b, b)
        self.alive = grow(self.alive, True)
        self.curve, self.klass = grow(self.curve, curve), grow(self.klass, klass)
        self.run, self.bend = grow(self.run, run), grow(self.bend, 0.0)
        self.bridge = grow(self.bridge, bridge)
        names = np.empty(n, dtype=object)
        names[:] = name if name is None or isinstance(name, str) else list(name)
        self.name = np.concatenate([self.name, names])
        return np.arange(start, start + n)

    def degree(self) -> np.ndarray:
        live = self.alive
        return np.bincount(np.concatenate([self.a[live], self.b[live]]), minlength=self.n_nodes)


def lattice_graph(xy, spacing, a, b, klass, run, bend) -> RoadGraph:
    n, e = len(xy), len(a)
    return RoadGraph(xy=xy.copy(), spacing=spacing.copy(), pinned=np.zeros(n, bool),
                     moved=np.zeros(n, bool), a=a.copy(), b=b.copy(), alive=np.ones(e, bool),
                     curve=np.full(e, -1), klass=klass.astype(np.int8), run=run.copy(),
                     name=np.full(e, None, dtype=object), bend=bend.astype(float),
                     bridge=np.zeros(e, bool))


def edge_geometries(g: RoadGraph, idx: np.ndarray) -> np.ndarray:
    """Shapely LineStrings of edges ``idx`` in their current node positions."""
    idx = np.asarray(idx, dtype=np.int64)
    out = np.empty(len(idx), dtype=object)
    lat = g.curve[idx] < 0
    li = idx[lat]
    p, q = g.xy[g.a[li]], g.xy[g.b[li]]
    bend = g.bend[li]
    d = q - p
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.maximum(
        np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    mid = (p + q) / 2 + normal * bend[:, None]
    bent = bend != 0
    geoms = np.empty(len(li), dtype=object)
    if (~bent).any():
        geoms[~bent] = shapely.linestrings(np.stack([p[~bent], q[~bent]], axis=1))
    if bent.any():
        geoms[bent] = shapely.linestrings(np.stack([p[bent], mid[bent], q[bent]], axis=1))
    out[lat] = geoms
    for k in np.flatnonzero(~lat):
        out[k] = shapely.LineString(g.coords[int(idx[k])])
    return out


def sync_curve_ends(g: RoadGraph) -> None:
    """Make curve-edge vertices end exactly on their (possibly merged) nodes."""
    for e, c in g.coords.items():
        c[0], c[-1] = g.xy[g.a[e]], g.xy[g.b[e]]


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest node index) of every node; vectorised."""
    parent = np.arange(n)
    while True:
        pa, pb = parent[a], parent[b]
        lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        todo = lo != hi
        if not todo.any():
            return parent
        np.minimum.at(parent, hi[todo], lo[todo])
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


def keep_largest_component(g: RoadGraph) -> None:
    live = np.flatnonzero(g.alive)
    label = components(g.n_nodes, g.a[live], g.b[live])
    used = np.zeros(g.n_nodes, bool)
    used[g.a[live]] = used[g.b[live]] = True
    counts = np.bincount(label[used], minlength=g.n_nodes)
    g.alive[live] = label[g.a[live]] == counts.argmax()


def remove_duplicates(g: RoadGraph) -> None:
    """Drop self-loops, zero-length edges and parallel duplicates (keep the first)."""
    g.alive &= g.a != g.b
    g.alive &= np.linalg.norm(g.xy[g.a] - g.xy[g.b], axis=1) > 0.5
    live = np.flatnonzero(g.alive)
    lo, hi = np.minimum(g.a[live], g.b[live]), np.maximum(g.a[live], g.b[live])
    _, first = np.unique(lo.astype(np.int64) * (g.n_nodes + 1) + hi, return_index=True)
    keep = np.zeros(len(live), bool)
    keep[first] = True
    g.alive[live[~keep]] = False
