"""Street assets: traffic signs, signalised intersections, cameras and parking sites.

Their counts are the city's published figures and do not change with ``scale``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import shapely

from twin.demo.admin import Admin
from twin.demo.frame import CENTRE_LONLAT, REFERENCE_DATE, random_dates, utm_points
from twin.demo.names import DISTRICTS
from twin.demo.roads import SECONDARY, TERTIARY, TRUNK, Roads

N_SIGNS, N_SIGNALS, N_CAMERAS, N_PARKING = 3600, 179, 500, 165
CITY_AGENCY = "Sở Giao thông Vận tải Hà Nội"
POLICE = "Phòng Cảnh sát giao thông - Công an TP Hà Nội"
PARKING_COMPANY = "Công ty TNHH MTV Khai thác điểm đỗ xe Hà Nội"
# QCVN 41:2019 codes with weights on major and on minor roads.
SIGNS = [("P.102", 3, 6), ("P.103a", 3, 4), ("P.123a", 6, 3), ("P.124a", 5, 2),
         ("P.127", 10, 3), ("P.130", 6, 3), ("P.131a", 5, 8), ("DP.135", 3, 1),
         ("W.201a", 3, 3), ("W.202a", 2, 2), ("W.205a", 5, 6), ("W.207a", 4, 5),
         ("W.208", 3, 4), ("W.224", 6, 5), ("W.225", 3, 6), ("W.227", 2, 1),
         ("R.302a", 4, 1), ("R.303", 2, 1), ("R.407a", 2, 4), ("R.411", 3, 0),
         ("I.408", 2, 2), ("I.409", 3, 1), ("I.423b", 6, 3), ("I.434a", 4, 1),
         ("S.501", 4, 3), ("S.502", 2, 1)]
CATEGORY = {"P": "prohibitory", "DP": "prohibitory", "W": "warning", "R": "mandatory",
            "I": "information", "S": "auxiliary"}


@dataclass
class PointLayer:
    geoms: np.ndarray          # points (UTM)
    ids: np.ndarray
    attrs: dict[str, np.ndarray]


def roadside(geoms: np.ndarray, frac: np.ndarray, offset: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Points ``offset`` m right of each line at ``frac`` of its length, and the line's
    azimuth there (degrees clockwise from grid north)."""
    length = shapely.length(geoms)
    at = frac * length
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.maximum(at - 1, 0)))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(geoms, np.minimum(at + 1, length)))
    p = shapely.get_coordinates(shapely.line_interpolate_point(geoms, at))
    t = (p1 - p0) / np.linalg.norm(p1 - p0, axis=1, keepdims=True)
    xy = p + np.column_stack([t[:, 1], -t[:, 0]]) * offset[:, None]
    return xy, np.degrees(np.arctan2(t[:, 0], t[:, 1])) % 360


def _pick(weights: np.ndarray, n: int, rng: np.random.Generator, replace=True) -> np.ndarray:
    return np.sort(rng.choice(len(weights), n, replace=replace, p=weights / weights.sum()))


def _codes(prefix: str, district: np.ndarray) -> np.ndarray:
    counts: dict[int, int] = {}
    out = []
    for d in district:
        counts[d] = counts.get(d, 0) + 1
        out.append(f"{prefix}-{DISTRICTS[d].abbrev}-{counts[d]:03d}")
    return np.asarray(out, dtype=object)


def _choice(options, p, n, rng) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=p)]


def traffic_signs(roads: Roads, rng: np.random.Generator) -> PointLayer:
    klass = roads.klass
    weight = shapely.length(roads.geoms) * np.array([1.5, 2, 3, 2.5, 2, 1, 0.5])[klass]
    seg = _pick(weight, N_SIGNS, rng)
    oneway = roads.attrs["oneway"][seg]
    side = np.where(oneway | (rng.random(N_SIGNS) < 0.5), 1.0, -1.0)
    offset = side * (roads.attrs["width_m"][seg] / 2 + rng.uniform(1.5, 3.5, N_SIGNS))
    xy, az = roadside(roads.geoms[seg], rng.uniform(0.25, 0.75, N_SIGNS), offset)
    codes, w_major, w_minor = zip(*SIGNS, strict=False)
    major = klass[seg] <= SECONDARY
    code = np.where(major, _choice(codes, np.divide(w_major, sum(w_major)), N_SIGNS, rng),
                    _choice(codes, np.divide(w_minor, sum(w_minor)), N_SIGNS, rng))
    code = np.where(oneway & (rng.random(N_SIGNS) < 0.4),
                    _choice(["R.407a", "P.102"], [0.5, 0.5], N_SIGNS, rng), code)
    attrs = {
        "sign_code": code, "category": np.array([CATEGORY[c.split(".")[0]] for c in code],
                                                dtype=object),
        "bearing_deg": np.round((az + np.where(side > 0, 180, 0)) % 360, 1),
        "condition": _choice(["good", "fair", "poor", "damaged", "missing"],
                             [0.6, 0.22, 0.1, 0.05, 0.03], N_SIGNS, rng),
        "installed_on": random_dates(rng, N_SIGNS, date(2008, 1, 1), REFERENCE_DATE, 1.3),
        "road_segment": roads.ids[seg],
    }
    ids = np.array([f"sign-{k:06d}" for k in range(1, N_SIGNS + 1)], dtype=object)
    return PointLayer(shapely.points(xy), ids, attrs)


def _crossings(roads: Roads) -> dict[str, np.ndarray]:
    """Per node: incident segments, distinct major / major-or-tertiary street names,
    and incident motorway segments."""
    g = roads.graph
    n = g.n_nodes
    a, b, klass = g.a[roads.edges], g.b[roads.edges], roads.klass
    node = np.concatenate([a, b])
    k2 = np.concatenate([klass, klass])
    name = np.concatenate([roads.attrs["name"], roads.attrs["name"]])
    _, name_id = np.unique(name.astype(str), return_inverse=True)

    def distinct(mask):
        pairs = np.unique(node[mask].astype(np.int64) * (name_id.max() + 1) + name_id[mask])
        return np.bincount(pairs // (name_id.max() + 1), minlength=n)
    major = (k2 >= TRUNK) & (k2 <= SECONDARY)
    return {"deg": np.bincount(node, minlength=n), "major": distinct(major),
            "arterial": distinct(major | (k2 == TERTIARY)),
            "motorway": np.bincount(node[k2 == 0], minlength=n)}


def _signal_nodes(roads: Roads, rng: np.random.Generator) -> np.ndarray:
    """Signalised intersections: crossings of two major streets first, then of a major
    and a tertiary street; nearer the centre is likelier."""
    inc = _crossings(roads)
    xy = roads.graph.xy
    centre = utm_points([CENTRE_LONLAT])[0]
    weight = np.exp(-np.linalg.norm(xy - centre, axis=1) / 6000)
    base = (inc["deg"] >= 3) & (inc["motorway"] == 0)
    chosen = np.zeros(len(xy), bool)
    for tier in (inc["major"] >= 2, (inc["major"] >= 1) & (inc["arterial"] >= 2),
                 inc["arterial"] >= 2, inc["arterial"] >= 1, inc["deg"] >= 3):
        cand = np.flatnonzero(base & tier & ~chosen)
        take = min(N_SIGNALS - int(chosen.sum()), len(cand))
        if take > 0:
            p = weight[cand] / weight[cand].sum()
            chosen[rng.choice(cand, take, replace=False, p=p)] = True
    return np.flatnonzero(chosen)


def _intersection_names(roads: Roads, nodes: np.ndarray) -> np.ndarray:
    g = roads.graph
    a, b = g.a[roads.edges], g.b[roads.edges]
    names: dict[int, list] = {int(n): [] for n in nodes}
    for end in (a, b):
        for k in np.flatnonzero(np.isin(end, nodes)):
            names[int(end[k])].append((int(roads.klass[k]), roads.attrs["name"][k]))
    kind = {3: "Ngã ba", 4: "Ngã tư", 5: "Ngã năm", 6: "Ngã sáu"}
    out = []
    for n in nodes:
        roads_here = sorted(names[int(n)], key=lambda x: x[0])
        unique = list(dict.fromkeys(name for _, name in roads_here))
        label = kind.get(len(roads_here), "Nút giao")
        out.append(f"{label} {' - '.join(unique[:2])}")
    return np.asarray(out, dtype=object)


def traffic_signals(roads: Roads, admin: Admin, rng: np.random.Generator) -> PointLayer:
    nodes = _signal_nodes(roads, rng)
    xy = roads.graph.xy[nodes]
    n = len(nodes)
    control = _choice(["fixed_time", "actuated", "adaptive", "pedestrian"],
                      [0.6, 0.2, 0.15, 0.05], n, rng)
    attrs = {
        "code": _codes("DTH", np.maximum(admin.district_index(xy[:, 0], xy[:, 1]), 0)),
        "intersection": _intersection_names(roads, nodes), "control_type": control,
        "phases": np.where(control == "pedestrian", 2, rng.integers(2, 5, n)).astype(np.int32),
        "status": _choice(["operational", "fault", "offline"], [0.9, 0.06, 0.04], n, rng),
        "installed_on": random_dates(rng, n, date(2000, 1, 1), REFERENCE_DATE, 1.2),
    }
    ids = np.array([f"signal-{k:04d}" for k in range(1, n + 1)], dtype=object)
    return PointLayer(shapely.points(xy), ids, attrs)


def cameras(roads: Roads, admin: Admin, rng: np.random.Generator) -> PointLayer:
    n = N_CAMERAS
    weight = shapely.length(roads.geoms) * (roads.klass <= SECONDARY)
    seg = _pick(weight, n, rng)
    near_start = rng.random(n) < 0.5
    frac = np.where(near_start, rng.uniform(0.05, 0.2, n), rng.uniform(0.8, 0.95, n))
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    xy, az = roadside(roads.geoms[seg], frac, side * (roads.attrs["width_m"][seg] / 2 + 2.0))
    kind = _choice(["monitoring", "enforcement", "anpr", "surveillance"],
                   [0.5, 0.2, 0.15, 0.15], n, rng)
    agency = np.where(kind == "monitoring", CITY_AGENCY,
                      np.where(kind == "surveillance", "Công an TP Hà Nội", POLICE))
    attrs = {
        "code": _codes("CAM", np.maximum(admin.district_index(xy[:, 0], xy[:, 1]), 0)),
        "kind": kind, "direction_deg": np.round((az + np.where(near_start, 180, 0)) % 360, 1),
        "status": _choice(["online", "offline", "maintenance"], [0.88, 0.07, 0.05], n, rng),
        "installed_on": random_dates(rng, n, date(2012, 1, 1), REFERENCE_DATE, 1.5),
        "agency": agency.astype(object),
    }
    ids = np.array([f"camera-{k:04d}" for k in range(1, n + 1)], dtype=object)
    return PointLayer(shapely.points(xy), ids, attrs)


def parking_sites(roads: Roads, admin: Admin, rng: np.random.Generator) -> PointLayer:
    n = N_PARKING
    centre = utm_points([CENTRE_LONLAT])[0]
    mid = shapely.get_coordinates(shapely.line_interpolate_point(roads.geoms, 0.5,
                                                                 normalized=True))
    near = np.exp(-np.linalg.norm(mid - centre, axis=1) / 2500)
    ok = (roads.klass >= SECONDARY) & (roads.klass <= TERTIARY + 1)
    seg = _pick(shapely.length(roads.geoms) * near * ok, n, rng, replace=False)
    xy, _ = roadside(roads.geoms[seg], np.full(n, 0.5), roads.attrs["width_m"][seg] / 2 + 3.0)
    kind = _choice(["on_street", "surface_lot", "garage"], [0.65, 0.25, 0.10], n, rng)
    street = roads.attrs["name"][seg]
    label = {"on_street": "Điểm đỗ xe", "surface_lot": "Bãi đỗ xe", "garage": "Nhà đỗ xe"}
    iparking = np.where(kind == "on_street", rng.random(n) < 0.95, rng.random(n) < 0.4)
    capacity = np.select([kind == "on_street", kind == "surface_lot"],
                         [rng.integers(8, 60, n), rng.integers(50, 300, n)],
                         rng.integers(150, 800, n))
    attrs = {
        "code": _codes("PK", np.maximum(admin.district_index(xy[:, 0], xy[:, 1]), 0)),
        "name": np.array([f"{label[k]} {s}" for k, s in zip(kind, street, strict=False)],
                         dtype=object),
        "kind": kind, "capacity": capacity.astype(np.int32), "iparking": iparking,
        "operator": np.where(iparking, PARKING_COMPANY,
                             _choice(["Công ty CP Đầu tư và Dịch vụ Đô thị Hà Nội",
                                      "HTX Dịch vụ Thương mại Thăng Long",
                                      "Công ty TNHH Bãi đỗ xe Hà Thành"], None, n, rng)
                             ).astype(object),
        "fee_vnd_per_hour": (rng.integers(4, 9, n) * 5000).astype(np.int32),
    }
    ids = np.array([f"parking-{k:03d}" for k in range(1, n + 1)], dtype=object)
    return PointLayer(shapely.points(xy), ids, attrs)
