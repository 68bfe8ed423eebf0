"""Real geography, synthetic shapes: the Red River with its flood plain and dykes, the
lakes, and the Tô Lịch river. Independent of ``scale``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.ops import split

from twin.demo.frame import extent_polygon_utm, utm_points
from twin.demo.shapes import blob, catmull_rom, offset_line, ribbon

# Red River centre line, north to south (lon, lat), reaching beyond the extent.
RED_RIVER = [(105.815, 21.125), (105.830, 21.100), (105.846, 21.074), (105.860, 21.050),
             (105.866, 21.025), (105.870, 21.000), (105.884, 20.975), (105.900, 20.950),
             (105.912, 20.930)]
# Tô Lịch from West Lake's south-west shore to the south edge.
TO_LICH = [(105.806, 21.0465), (105.8005, 21.038), (105.801, 21.026), (105.805, 21.013),
           (105.811, 21.002), (105.814, 20.990), (105.811, 20.977), (105.805, 20.963),
           (105.801, 20.945)]
TO_LICH_HALF_WIDTH = 17.5
WEST_LAKE = ("Hồ Tây", (105.8230, 21.0570), 5.0e6, 1.12, -15.0)
LAKES = [  # name, (lon, lat), area m², aspect (>1: wide), rotation in degrees
    ("Hồ Trúc Bạch", (105.8395, 21.0475), 220e3, 1.5, 10.0),
    ("Hồ Hoàn Kiếm", (105.8523, 21.0287), 115e3, 0.53, -8.0),
    ("Hồ Thiền Quang", (105.8445, 21.0205), 60e3, 1.1, 0.0),
    ("Hồ Bảy Mẫu", (105.8440, 21.0150), 200e3, 1.3, 20.0),
    ("Hồ Giảng Võ", (105.8225, 21.0285), 50e3, 1.3, 0.0),
    ("Hồ Thủ Lệ", (105.8085, 21.0320), 90e3, 1.2, 30.0),
    ("Hồ Thành Công", (105.8170, 21.0200), 80e3, 1.2, 0.0),
    ("Hồ Ngọc Khánh", (105.8140, 21.0265), 40e3, 1.5, 90.0),
    ("Hồ Linh Đàm", (105.8300, 20.9660), 700e3, 1.3, -20.0),
    ("Hồ Định Công", (105.8270, 20.9810), 150e3, 1.2, 10.0),
    ("Hồ Yên Sở", (105.8600, 20.9650), 450e3, 1.2, 0.0),
    ("Hồ Văn Quán", (105.7910, 20.9780), 180e3, 1.1, 0.0),
]


@dataclass
class River:
    """The Red River: centre line (north to south) with per-vertex half widths in metres.

    Offsets to the left of the centre line point east."""

    centre: np.ndarray
    half_channel: np.ndarray
    plain_west: np.ndarray
    plain_east: np.ndarray
    channel: shapely.Polygon
    between_dykes: shapely.Polygon
    dyke_west: np.ndarray
    dyke_east: np.ndarray

    @property
    def line(self) -> shapely.LineString:
        return shapely.LineString(self.centre)

    def widths_at(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(half channel, west plain, east plain) at distances ``s`` along the centre line."""
        along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(self.centre, axis=0),
                                                              axis=1))])
        return (np.interp(s, along, self.half_channel), np.interp(s, along, self.plain_west),
                np.interp(s, along, self.plain_east))


@dataclass
class Geography:
    extent: shapely.Polygon
    river: River
    west_lake: shapely.Polygon
    lakes: list[tuple[str, shapely.Polygon]]   # West Lake first
    to_lich: np.ndarray                         # centre line, north to south
    to_lich_channel: shapely.Polygon
    hard_water: shapely.Geometry                # river channel and lakes: no roads cross
    east_side: shapely.Polygon                  # extent east of the river centre line
    west_side: shapely.Polygon

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.extent.bounds

    @property
    def water(self) -> shapely.Geometry:
        return shapely.union(self.hard_water, self.to_lich_channel)


def build_river(rng: np.random.Generator) -> River:
    centre, _ = catmull_rom(utm_points(RED_RIVER), step=40.0)
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(centre, axis=0), axis=1))])
    ph = rng.uniform(0, 2 * np.pi, 6)
    half = 280 + 45 * np.sin(along / 3100 + ph[0]) + 20 * np.sin(along / 1300 + ph[1])
    west = 430 + 110 * np.sin(along / 4700 + ph[2]) + 40 * np.sin(along / 1900 + ph[3])
    east = 270 + 70 * np.sin(along / 3900 + ph[4]) + 30 * np.sin(along / 1500 + ph[5])
    return River(
        centre=centre, half_channel=half, plain_west=west, plain_east=east,
        channel=ribbon(centre, half, half),
        between_dykes=ribbon(centre, half + east, half + west),
        dyke_west=offset_line(centre, -(half + west)),
        dyke_east=offset_line(centre, half + east),
    )


def build_lakes(rng: np.random.Generator, river: River) -> list[tuple[str, shapely.Polygon]]:
    keep_clear = river.between_dykes.buffer(220)
    out = []
    for name, lonlat, area, aspect, angle in [WEST_LAKE, *LAKES]:
        wobble = 0.2 if name == WEST_LAKE[0] else 0.08
        poly = blob(utm_points([lonlat])[0], area, rng, aspect, angle, wobble=wobble)
        poly = shapely.difference(poly, keep_clear)
        if poly.geom_type == "MultiPolygon":
            poly = max(poly.geoms, key=lambda g: g.area)
        out.append((name, poly))
    return out


def build_to_lich(west_lake: shapely.Polygon) -> tuple[np.ndarray, shapely.Polygon]:
    pts = utm_points(TO_LICH)
    inside = np.asarray(west_lake.centroid.coords[0])
    towards = (pts[0] - inside) / np.linalg.norm(pts[0] - inside)
    start = inside + towards * 0.75 * np.sqrt(west_lake.area / np.pi)  # begin in the lake
    line, _ = catmull_rom(np.vstack([start, pts]), step=25.0)
    channel = shapely.LineString(line).buffer(TO_LICH_HALF_WIDTH, quad_segs=4)
    return line, shapely.difference(channel, west_lake)


def split_extent(extent: shapely.Polygon, river: River) -> tuple[shapely.Polygon, shapely.Polygon]:
    parts = sorted(split(extent, river.line).geoms, key=lambda g: g.centroid.x)
    return shapely.union_all(parts[:-1]), parts[-1]


def build_geography(rng: np.random.Generator) -> Geography:
    extent = extent_polygon_utm()
    river = build_river(rng)
    lakes = build_lakes(rng, river)
    to_lich, channel = build_to_lich(lakes[0][1])
    west, east = split_extent(extent, river)
    hard = shapely.union_all([river.channel, *[p for _, p in lakes]])
    shapely.prepare(hard)
    shapely.prepare(channel)
    return Geography(extent=extent, river=river, west_lake=lakes[0][1], lakes=lakes,
                     to_lich=to_lich, to_lich_channel=channel, hard_water=hard,
                     east_side=east, west_side=west)
