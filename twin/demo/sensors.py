"""Sensor stations: air-quality monitors, water-level gauges on the Red River and the
Tô Lịch, and rain gauges. Independent of ``scale``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import shapely

from twin.demo.admin import Admin
from twin.demo.dem import Terrain
from twin.demo.frame import random_dates, utm_to_lonlat
from twin.demo.geography import TO_LICH_HALF_WIDTH, Geography
from twin.demo.names import DISTRICTS
from twin.demo.shapes import offset_line

AIR_PER_DISTRICT = {"BD": 3, "HK": 3, "TH": 2, "LB": 3, "CG": 3, "DD": 3, "HB": 3, "HM": 3,
                    "TX": 3, "NT": 2, "BT": 1, "HD": 1}
RAIN_PER_DISTRICT = {"BD": 2, "HK": 2, "TH": 1, "LB": 2, "CG": 2, "DD": 2, "HB": 2, "HM": 2,
                     "TX": 2, "NT": 1, "BT": 1, "HD": 1}
# Red River gauges: latitude and bank (-1 west, +1 east).
RED_RIVER_GAUGES = [(21.080, -1), (21.062, -1), (21.043, 1), (21.030, -1), (21.010, -1),
                    (20.990, -1), (20.965, 1)]
TO_LICH_GAUGES = (0.06, 0.18, 0.30, 0.42, 0.54, 0.66, 0.80, 0.93)
AIR_PROPERTIES = ("pm25", "pm10", "no2", "o3", "co", "so2", "temperature", "humidity")
AIR_AGENCY = "Sở Tài nguyên và Môi trường Hà Nội"
HYDRO_AGENCY = "Trung tâm Khí tượng Thủy văn quốc gia"
DRAINAGE_AGENCY = "Công ty TNHH MTV Thoát nước Hà Nội"


@dataclass
class Station:
    code: str
    name: str
    kind: str                  # air | water_level | rain
    agency: str
    properties: tuple[str, ...]
    x: float
    y: float
    elevation: float
    installed_on: np.datetime64
    river: str = ""            # "red" or "to_lich" for water-level gauges
    position: float = 0.0      # metres along the river (red) or fraction (to_lich)
    bed: float = 0.0           # channel bed elevation below the gauge


def _land_points(geo: Geography, area: shapely.Geometry, n: int, spacing: float,
                 rng: np.random.Generator) -> np.ndarray:
    """n random points in ``area``, off the water and flood plain, ``spacing`` apart."""
    x0, y0, x1, y1 = area.bounds
    wet = shapely.union(geo.water, geo.river.between_dykes).buffer(60)
    out: list[np.ndarray] = []
    for _ in range(4000):
        p = rng.uniform([x0, y0], [x1, y1])
        if len(out) == n:
            break
        if not area.contains(shapely.Point(p)) or wet.contains(shapely.Point(p)):
            continue
        if all(np.linalg.norm(p - q) >= spacing for q in out):
            out.append(p)
    return np.asarray(out)


def _ward_name(admin: Admin, xy: np.ndarray) -> str:
    k = admin.ward_index(xy[:1, 0], xy[:1, 1])[0]
    return admin.wards[max(k, 0)].name.removeprefix("Phường ")


def _district_stations(geo, admin, terrain, rng, per_district: dict, kind: str
                       ) -> list[Station]:
    out = []
    for d, area in zip(DISTRICTS, admin.districts, strict=False):
        pts = _land_points(geo, area.geom, per_district[d.abbrev], 900.0, rng)
        for k, p in enumerate(pts, start=1):
            ward = _ward_name(admin, p[None])
            if kind == "air":
                code, name = f"AQ-{d.abbrev}-{k:02d}", f"Trạm quan trắc không khí {ward}"
                agency, props = AIR_AGENCY, AIR_PROPERTIES
                since = (date(2017, 1, 1), date(2024, 12, 31))
            else:
                code, name = f"RG-{d.abbrev}-{k:02d}", f"Điểm đo mưa {ward}"
                agency, props, since = DRAINAGE_AGENCY, ("rain_mm",), (date(2005, 1, 1),
                                                                      date(2022, 12, 31))
            out.append(Station(code, name, kind, agency, props, p[0], p[1],
                               float(terrain.at(p[0], p[1])[0]),
                               random_dates(rng, 1, *since)[0]))
    return out


def _gauge(geo, admin, terrain, rng, counts: dict, p: np.ndarray, bed_at: np.ndarray,
           river: str, position: float) -> Station:
    k = max(admin.district_index(p[:1], p[1:2])[0], 0)
    abbrev = DISTRICTS[k].abbrev
    counts[abbrev] = counts.get(abbrev, 0) + 1
    ward = _ward_name(admin, p[None])
    label = "Sông Hồng" if river == "red" else "Sông Tô Lịch"
    agency = HYDRO_AGENCY if river == "red" else DRAINAGE_AGENCY
    since = (date(1990, 1, 1), date(2010, 12, 31)) if river == "red" else \
        (date(2012, 1, 1), date(2022, 12, 31))
    return Station(f"WL-{abbrev}-{counts[abbrev]:02d}", f"{label} - {ward}", "water_level",
                   agency, ("water_level_m",), p[0], p[1], float(terrain.at(p[0], p[1])[0]),
                   random_dates(rng, 1, *since)[0], river, position,
                   float(terrain.at(bed_at[0], bed_at[1])[0]))


def _water_gauges(geo: Geography, admin: Admin, terrain: Terrain, rng: np.random.Generator
                  ) -> list[Station]:
    river, counts, out = geo.river, {}, []
    _, lats = utm_to_lonlat(river.centre[:, 0], river.centre[:, 1])
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(river.centre, axis=0),
                                                          axis=1))])
    for lat, side in RED_RIVER_GAUGES:
        k = int(np.abs(lats - lat).argmin())
        p = offset_line(river.centre, side * (river.half_channel + 15.0))[k]
        out.append(_gauge(geo, admin, terrain, rng, counts, p, river.centre[k], "red", along[k]))
    line = shapely.LineString(geo.to_lich)
    for f in TO_LICH_GAUGES:
        q = np.asarray(line.interpolate(f, normalized=True).coords[0])
        ahead = np.asarray(line.interpolate(f + 0.002, normalized=True).coords[0])
        t = (ahead - q) / np.linalg.norm(ahead - q)
        p = q + np.array([-t[1], t[0]]) * (TO_LICH_HALF_WIDTH + 15.0)
        out.append(_gauge(geo, admin, terrain, rng, counts, p, q, "to_lich", f))
    return out


def build_stations(geo: Geography, admin: Admin, terrain: Terrain, rng: np.random.Generator
                   ) -> list[Station]:
    return [*_district_stations(geo, admin, terrain, rng, AIR_PER_DISTRICT, "air"),
            *_water_gauges(geo, admin, terrain, rng),
            *_district_stations(geo, admin, terrain, rng, RAIN_PER_DISTRICT, "rain")]


def write_stations(path: Path, stations: list[Station]) -> Path:
    lon, lat = utm_to_lonlat([s.x for s in stations], [s.y for s in stations])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["code", "name", "kind", "agency", "properties", "lon", "lat",
                         "elevation_m", "installed_on"])
        for s, lo, la in zip(stations, lon, lat, strict=False):
            writer.writerow([s.code, s.name, s.kind, s.agency, ";".join(s.properties),
                             f"{lo:.6f}", f"{la:.6f}", f"{s.elevation:.2f}", str(s.installed_on)])
    return path
