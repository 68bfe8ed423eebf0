"""The smooth roads laid over the lattice: dyke roads, the ring road with the Nhật Tân
and Thanh Trì bridges, the other Red River bridges and a few radial arterials."""

from __future__ import annotations

import numpy as np

from twin.demo.curves import CurveSpec
from twin.demo.frame import utm_points, utm_to_lonlat
from twin.demo.geography import Geography, River
from twin.demo.shapes import catmull_rom, offset_line

MOTORWAY, TRUNK, PRIMARY, SECONDARY, TERTIARY = 0, 1, 2, 3, 4

WEST_DYKE = [(21.065, "Âu Cơ", PRIMARY), (21.045, "Yên Phụ", PRIMARY),
             (21.022, "Trần Quang Khải", PRIMARY), (21.012, "Trần Khánh Dư", PRIMARY),
             (20.995, "Nguyễn Khoái", PRIMARY), (-90.0, "Lĩnh Nam", SECONDARY)]
EAST_DYKE = [(21.05, "Ngọc Thụy", SECONDARY), (21.0, "Thạch Bàn", SECONDARY),
             (-90.0, "Cự Khối", SECONDARY)]
BRIDGES = [(21.0430, "Cầu Long Biên", PRIMARY), (21.0330, "Cầu Chương Dương", PRIMARY),
           (21.0020, "Cầu Vĩnh Tuy", TRUNK)]
NHAT_TAN, THANH_TRI = 21.0820, 20.9750
# The ring (Vành đai 3-like): waypoints after the Nhật Tân crossing, clockwise; each
# tuple names the leg that starts there.
RING_EAST = [((105.906, 21.074), "Vành đai 3", TRUNK), ((105.914, 21.030), "Vành đai 3", TRUNK),
             ((105.911, 20.992), "Vành đai 3", TRUNK)]
RING_WEST = [((105.855, 20.9765), "Vành đai 3", MOTORWAY),
             ((105.830, 20.9775), "Nghiêm Xuân Yêm", MOTORWAY),
             ((105.806, 20.9850), "Nguyễn Xiển", MOTORWAY),
             ((105.796, 21.0000), "Khuất Duy Tiến", MOTORWAY),
             ((105.787, 21.0200), "Phạm Hùng", MOTORWAY),
             ((105.7835, 21.0400), "Phạm Văn Đồng", MOTORWAY),
             ((105.7865, 21.0580), "Phạm Văn Đồng", MOTORWAY),
             ((105.800, 21.0720), "Võ Chí Công", TRUNK),
             ((105.815, 21.0790), "Võ Chí Công", TRUNK)]
RADIALS = [
    [((105.8415, 21.0075), "Giải Phóng", PRIMARY), ((105.8410, 20.9850), "Giải Phóng", PRIMARY),
     ((105.8440, 20.9650), "Giải Phóng", PRIMARY), ((105.8470, 20.9450), "", 0)],
    [((105.8205, 21.0030), "Nguyễn Trãi", PRIMARY), ((105.8060, 20.9950), "Nguyễn Trãi", PRIMARY),
     ((105.7880, 20.9860), "Nguyễn Trãi", PRIMARY), ((105.7740, 20.9720), "Quang Trung", PRIMARY),
     ((105.7600, 20.9620), "Quang Trung", PRIMARY), ((105.7450, 20.9540), "", 0)],
    [((105.8205, 21.0030), "Trường Chinh", PRIMARY), ((105.8300, 20.9990), "Trường Chinh", PRIMARY),
     ((105.8425, 21.0005), "", 0)],
    [((105.8420, 21.0310), "Kim Mã", PRIMARY), ((105.8280, 21.0320), "Kim Mã", PRIMARY),
     ((105.8120, 21.0345), "Cầu Giấy", PRIMARY), ((105.7990, 21.0362), "Xuân Thủy", PRIMARY),
     ((105.7780, 21.0378), "Hồ Tùng Mậu", PRIMARY), ((105.7450, 21.0410), "", 0)],
    [((105.8700, 21.0380), "Nguyễn Văn Cừ", PRIMARY),
     ((105.8850, 21.0460), "Nguyễn Văn Cừ", PRIMARY),
     ((105.9000, 21.0550), "Ngô Gia Tự", PRIMARY), ((105.9250, 21.0650), "", 0)],
]
TO_LICH_ROADS = [(21.045, 21.024, "Đường Bưởi", SECONDARY), (21.024, 21.002, "Đường Láng", PRIMARY),
                 (20.995, 20.972, "Kim Giang", SECONDARY)]


def highway_names() -> set[str]:
    """Names the smooth roads use; lattice streets avoid them."""
    names = {n for _, n, _ in WEST_DYKE + EAST_DYKE + RING_EAST + RING_WEST}
    names |= {n for way in RADIALS for _, n, _ in way} | {n for *_, n, _ in TO_LICH_ROADS}
    return {n.removeprefix("Đường ") for n in names if n} | names


def _by_latitude(coords: np.ndarray, bands) -> tuple[np.ndarray, list[str], list[int]]:
    _, lat = utm_to_lonlat(coords[:, 0], coords[:, 1])
    leg = np.zeros(len(coords), dtype=int)
    for k in range(len(bands) - 1, -1, -1):
        leg[lat > bands[k][0]] = k
    return leg, [n for _, n, _ in bands], [c for _, _, c in bands]


def dyke_roads(river: River) -> list[CurveSpec]:
    out = []
    for coords, bands in ((river.dyke_west, WEST_DYKE), (river.dyke_east, EAST_DYKE)):
        leg, names, classes = _by_latitude(coords, bands)
        out.append(CurveSpec(coords, leg, names, classes))
    return out


def _crossing(river: River, lat: float, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Points ``margin`` metres beyond the west and east dykes at latitude ``lat``."""
    _, lats = utm_to_lonlat(river.centre[:, 0], river.centre[:, 1])
    k = int(np.abs(lats - lat).argmin())
    west = offset_line(river.centre, -(river.half_channel + river.plain_west + margin))[k]
    east = offset_line(river.centre, river.half_channel + river.plain_east + margin)[k]
    return west, east


def bridges(river: River) -> list[CurveSpec]:
    out = []
    for lat, name, klass in BRIDGES:
        west, east = _crossing(river, lat, 250.0)
        n = int(np.linalg.norm(east - west) // 40) + 2
        coords = np.linspace(west, east, n)
        out.append(CurveSpec(coords, np.zeros(n, int), [name], [klass], bridge=True))
    return out


def ring_road(river: River) -> CurveSpec:
    nt_w, nt_e = _crossing(river, NHAT_TAN, 300.0)
    tt_w, tt_e = _crossing(river, THANH_TRI, 300.0)
    pts = [nt_w, nt_e, *utm_points([p for p, _, _ in RING_EAST]), tt_e, tt_w,
           *utm_points([p for p, _, _ in RING_WEST])]
    names = ["Cầu Nhật Tân", "Vành đai 3", *[n for _, n, _ in RING_EAST], "Cầu Thanh Trì",
             "Vành đai 3", *[n for _, n, _ in RING_WEST]]
    classes = [TRUNK, TRUNK, *[c for _, _, c in RING_EAST], TRUNK, MOTORWAY,
               *[c for _, _, c in RING_WEST]]
    coords, leg = catmull_rom(np.asarray(pts), step=30.0, closed=True)
    return CurveSpec(coords, leg, names, classes, bridge=True)


def radials() -> list[CurveSpec]:
    out = []
    for way in RADIALS:
        coords, leg = catmull_rom(utm_points([p for p, _, _ in way]), step=30.0)
        out.append(CurveSpec(coords, np.minimum(leg, len(way) - 2),
                             [n for _, n, _ in way[:-1]], [c for _, _, c in way[:-1]]))
    return out


def to_lich_roads(geo: Geography) -> list[CurveSpec]:
    line = offset_line(geo.to_lich, 45.0)   # east bank
    _, lat = utm_to_lonlat(line[:, 0], line[:, 1])
    out = []
    for north, south, name, klass in TO_LICH_ROADS:
        part = line[(lat <= north) & (lat >= south)]
        if len(part) >= 2:
            out.append(CurveSpec(part, np.zeros(len(part), int), [name], [klass]))
    return out


def all_curves(geo: Geography) -> list[CurveSpec]:
    """In insertion order: dykes, ring, bridges, radials, Tô Lịch roads."""
    return [*dyke_roads(geo.river), ring_road(geo.river), *bridges(geo.river), *radials(),
            *to_lich_roads(geo)]
