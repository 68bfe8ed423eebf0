"""Bus routes along the arterial network, with their stops, as a GTFS feed.

Each route is a shortest path (Dijkstra) between two terminals over trunk,
primary, secondary and tertiary roads. Stops stand beside the road at the
middle of selected segments, one per side, so routes sharing a street share
its stops.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import shapely

from twin.demo.assets import roadside
from twin.demo.frame import utm_points
from twin.demo.roads import PRIMARY, SECONDARY, TERTIARY, TRUNK, Roads
from twin.demo.shapes import ValueNoise

N_ROUTES, N_ELECTRIC = 130, 10
STOP_SPACING = 250.0        # stop spacing parameter (m): about 350 m between stops
MIN_STOP_GAP = 120.0
COST = {TRUNK: 1.0, PRIMARY: 1.0, SECONDARY: 1.12, TERTIARY: 1.35}
HUBS = [("Bến xe Gia Lâm", (105.8775, 21.0480)), ("Bến xe Giáp Bát", (105.8410, 20.9800)),
        ("Bến xe Mỹ Đình", (105.7780, 21.0285)), ("Bến xe Nước Ngầm", (105.8430, 20.9650)),
        ("Bến xe Yên Nghĩa", (105.7550, 20.9560)), ("Long Biên", (105.8490, 21.0410)),
        ("Trần Khánh Dư", (105.8600, 21.0200)), ("Bờ Hồ", (105.8515, 21.0300)),
        ("Times City", (105.8680, 20.9950)), ("Khu đô thị Linh Đàm", (105.8300, 20.9720)),
        ("Royal City", (105.8150, 21.0030)), ("Đại học Quốc gia", (105.7820, 21.0380)),
        ("Công viên Nghĩa Đô", (105.7950, 21.0440)), ("Khu đô thị Ciputra", (105.8000, 21.0760)),
        ("Khu đô thị Việt Hưng", (105.9000, 21.0580)), ("Aeon Mall Long Biên", (105.9000, 21.0270)),
        ("Sân vận động Mỹ Đình", (105.7640, 21.0200)), ("Bệnh viện Bạch Mai", (105.8410, 21.0010)),
        ("Công viên Thống Nhất", (105.8430, 21.0170)), ("Văn Miếu", (105.8360, 21.0280)),
        ("Khu đô thị Văn Phú", (105.7700, 20.9600)), ("Cầu Giấy", (105.8000, 21.0330)),
        ("Thượng Thanh", (105.8900, 21.0700)), ("Khu công nghiệp Sài Đồng", (105.9100, 21.0350)),
        ("Đại học Bách Khoa", (105.8440, 21.0050)), ("Bến xe Hà Đông", (105.7800, 20.9720)),
        ("Bến xe Kim Mã", (105.8275, 21.0320)), ("Ga Hà Nội", (105.8410, 21.0245)),
        ("Bến xe Lương Yên", (105.8620, 21.0130)), ("Ngọc Thụy", (105.8700, 21.0600)),
        ("Yên Sở", (105.8600, 20.9760)), ("Phú Thượng", (105.8100, 21.0840)),
        ("Cổ Nhuế", (105.7800, 21.0650)), ("Trung Văn", (105.7850, 21.0000))]


@dataclass
class BusNetwork:
    seg: np.ndarray       # road segment index of each bus-network edge
    a: np.ndarray
    b: np.ndarray
    indptr: np.ndarray    # CSR over graph nodes of directed half-edges
    head: np.ndarray      # target node of each half-edge
    edge: np.ndarray      # bus-network edge of each half-edge
    forward: np.ndarray   # half-edge runs a -> b


@dataclass
class Route:
    number: str
    name: str
    agency: str
    hubs: tuple[int, int]
    segs: np.ndarray      # road segments in travel order (direction 0)
    forward: np.ndarray   # each is travelled a -> b
    fare: int = 7000
    headway: int = 15
    stops: dict[int, list] = field(default_factory=dict)   # direction -> stop indices


def bus_network(roads: Roads) -> BusNetwork:
    from twin.demo.network import components

    g = roads.graph
    seg = np.flatnonzero((roads.klass >= TRUNK) & (roads.klass <= TERTIARY))
    a, b = g.a[roads.edges[seg]], g.b[roads.edges[seg]]
    label = components(g.n_nodes, a, b)
    counts = np.bincount(label[a], minlength=g.n_nodes)
    keep = label[a] == counts.argmax()
    seg, a, b = seg[keep], a[keep], b[keep]
    tail = np.concatenate([a, b])
    order = np.argsort(tail, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tail, minlength=g.n_nodes))])
    edge = np.concatenate([np.arange(len(seg))] * 2)[order]
    return BusNetwork(seg, a, b, indptr, np.concatenate([b, a])[order], edge,
                      np.concatenate([np.ones(len(seg), bool), np.zeros(len(seg), bool)])[order])


def dijkstra(net: BusNetwork, cost: np.ndarray, source: int) -> np.ndarray:
    """Shortest-path tree from ``source``: predecessor half-edge of every node (-1: none)."""
    n = len(net.indptr) - 1
    dist = np.full(n, np.inf)
    pred = np.full(n, -1)
    done = np.zeros(n, bool)
    dist[source] = 0.0
    heap = [(0.0, source)]
    indptr, head, edge = net.indptr.tolist(), net.head.tolist(), net.edge.tolist()
    cost = cost.tolist()
    while heap:
        d, u = heapq.heappop(heap)
        if done[u]:
            continue
        done[u] = True
        for h in range(indptr[u], indptr[u + 1]):
            v, nd = head[h], d + cost[edge[h]]
            if nd < dist[v]:
                dist[v], pred[v] = nd, h
                heapq.heappush(heap, (nd, v))
    return pred


def _path(net: BusNetwork, pred: np.ndarray, source: int, target: int
          ) -> tuple[np.ndarray, np.ndarray]:
    halves = []
    node = target
    while node != source and pred[node] >= 0:
        h = pred[node]
        halves.append(h)
        e = net.edge[h]
        node = net.a[e] if net.forward[h] else net.b[e]
    halves = np.asarray(halves[::-1], dtype=int)
    return net.seg[net.edge[halves]], net.forward[halves]


def _hub_nodes(net: BusNetwork, roads: Roads) -> np.ndarray:
    nodes = np.unique(np.concatenate([net.a, net.b]))
    xy = roads.graph.xy[nodes]
    hubs = utm_points([ll for _, ll in HUBS])
    return nodes[np.linalg.norm(xy[None] - hubs[:, None], axis=2).argmin(axis=1)]


def _pairs(hub_xy: np.ndarray, hub_node: np.ndarray, rng: np.random.Generator) -> list:
    n = len(hub_xy)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)
             if 3500 < np.linalg.norm(hub_xy[i] - hub_xy[j]) < 15000 and
             hub_node[i] != hub_node[j]]
    pairs = [pairs[k] for k in rng.permutation(len(pairs))]
    pairs += [(j, i) for i, j in pairs]      # if short of pairs, the reverse takes another path
    return pairs[:N_ROUTES]


def _join(first: tuple, second: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Path a->v then v->b (given as b->v), cancelling any out-and-back at v."""
    s1, f1 = list(first[0]), list(first[1])
    s2, f2 = list(second[0][::-1]), list(~second[1][::-1])
    while s1 and s2 and s1[-1] == s2[0]:
        s1.pop(), f1.pop(), s2.pop(0), f2.pop(0)
    return np.asarray(s1 + s2, dtype=int), np.asarray(f1 + f2, dtype=bool)


def _via(hub_xy: np.ndarray, i: int, j: int, nodes: np.ndarray, node_xy: np.ndarray,
         rng: np.random.Generator) -> int:
    """A node off the straight line between two terminals, so routes spread out."""
    d = hub_xy[j] - hub_xy[i]
    normal = np.array([-d[1], d[0]])
    p = hub_xy[i] + d * rng.uniform(0.3, 0.7) + normal * rng.uniform(-0.5, 0.5)
    return int(nodes[np.linalg.norm(node_xy - p, axis=1).argmin()])


def _route_paths(roads: Roads, net: BusNetwork, pairs: list, hub_node: np.ndarray,
                 rng: np.random.Generator) -> list:
    base = shapely.length(roads.geoms[net.seg]) * np.vectorize(COST.get)(roads.klass[net.seg])
    mid = shapely.get_coordinates(shapely.line_interpolate_point(roads.geoms[net.seg], 0.5,
                                                                 normalized=True))
    bounds = (*mid.min(axis=0), *mid.max(axis=0))

    def detours() -> np.ndarray:   # smooth, so that routes spread alike at any scale
        return np.exp(0.3 * ValueNoise(rng, bounds, 1500.0)(mid[:, 0], mid[:, 1]))
    trees = {h: dijkstra(net, base * detours(), int(hub_node[h]))
             for h in sorted({h for pair in pairs for h in pair})}
    nodes = np.unique(np.concatenate([net.a, net.b]))
    hub_xy, node_xy = roads.graph.xy[hub_node], roads.graph.xy[nodes]
    out = []
    for i, j in pairs:
        v = _via(hub_xy, i, j, nodes, node_xy, rng) if rng.random() < 0.85 else int(hub_node[j])
        first = _path(net, trees[i], int(hub_node[i]), v)
        second = _path(net, trees[j], int(hub_node[j]), v)
        segs, fwd = _join(first, second)
        if len(segs) >= 3:
            out.append((i, j, segs, fwd))
    return out


def plan_routes(roads: Roads, net: BusNetwork, rng: np.random.Generator) -> list[Route]:
    hub_node = _hub_nodes(net, roads)
    found = _route_paths(roads, net, _pairs(roads.graph.xy[hub_node], hub_node, rng), hub_node,
                         rng)
    routes = []
    for n, (i, j, segs, fwd) in enumerate(found, start=1):
        electric = n > len(found) - N_ELECTRIC
        km = shapely.length(roads.geoms[segs]).sum() / 1000
        routes.append(Route(
            number=f"E{n - len(found) + N_ELECTRIC:02d}" if electric else f"{n:02d}",
            name=f"{HUBS[i][0]} - {HUBS[j][0]}", agency="VinBus" if electric else "Transerco",
            hubs=(i, j), segs=segs, forward=fwd,
            fare=7000 if electric or km < 15 else 8000 if km < 25 else 9000,
            headway=int(rng.choice([10, 12, 15, 20]))))
    return routes


@dataclass
class Stops:
    keys: list            # ("hub", hub) or ("seg", segment, forward)
    xy: np.ndarray
    names: list[str]


def hub_stop_positions(roads: Roads, net: BusNetwork) -> np.ndarray:
    """Terminal stops stand a few metres off the intersection nearest each hub."""
    return roads.graph.xy[_hub_nodes(net, roads)] + np.array([9.0, 9.0])


def assign_stops(routes: list[Route], roads: Roads, hub_xy: np.ndarray,
                 rng: np.random.Generator) -> Stops:
    length = shapely.length(roads.geoms)
    bridge = roads.graph.bridge[roads.edges]
    eligible = (rng.random(len(length)) < 1 - np.exp(-length / STOP_SPACING)) & ~bridge
    index: dict[tuple, int] = {}
    for route in routes:
        for direction in (0, 1):
            segs, fwd = route.segs, route.forward
            hubs = route.hubs
            if direction:
                segs, fwd, hubs = segs[::-1], ~fwd[::-1], hubs[::-1]
            pos = np.concatenate([[0], np.cumsum(length[segs])])
            total, last = pos[-1], 0.0
            seq = [(index.setdefault(("hub", hubs[0]), len(index)), 0.0)]
            for s, f, start in zip(segs, fwd, pos[:-1], strict=False):
                mid = start + length[s] / 2
                if eligible[s] and mid - last >= MIN_STOP_GAP and total - mid >= MIN_STOP_GAP:
                    seq.append((index.setdefault(("seg", int(s), bool(f)), len(index)), mid))
                    last = mid
            seq.append((index.setdefault(("hub", hubs[1]), len(index)), total))
            route.stops[direction] = seq
    return _stop_places(list(index), roads, hub_xy)


def _stop_places(keys: list, roads: Roads, hub_xy: np.ndarray) -> Stops:
    xy = np.zeros((len(keys), 2))
    names = [""] * len(keys)
    seg_k = [k for k, key in enumerate(keys) if key[0] == "seg"]
    segs = np.array([keys[k][1] for k in seg_k], dtype=int)
    side = np.array([1.0 if keys[k][2] else -1.0 for k in seg_k])
    if len(seg_k):
        xy[seg_k], _ = roadside(roads.geoms[segs], np.full(len(segs), 0.5),
                                side * (roads.attrs["width_m"][segs] / 2 + 2.5))
    for k, key in enumerate(keys):
        if key[0] == "hub":
            xy[k] = hub_xy[key[1]]
            names[k] = HUBS[key[1]][0]
        else:
            number = 1 + (key[1] * 7919) % 300
            street = roads.attrs["name"][key[1]]
            names[k] = f"Số {number} {street}" if key[2] else f"Đối diện số {number} {street}"
    return Stops(keys, xy, names)
