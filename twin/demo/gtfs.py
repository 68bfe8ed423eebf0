"""Write the bus network as a GTFS feed (a zip of CSV tables)."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
import shapely

from twin.demo.frame import utm_to_lonlat
from twin.demo.roads import Roads
from twin.demo.transit import Route, Stops

SPEED = 18 / 3.6          # scheduled bus speed (m/s)
DWELL = 20                # seconds per stop
AGENCIES = [("Transerco", "Tổng Công ty Vận tải Hà Nội", "https://transerco.vn"),
            ("VinBus", "Công ty TNHH Dịch vụ Vận tải VinBus", "https://vinbus.vn")]
STAMP = (2026, 10, 1, 0, 0, 0)   # fixed member times keep the zip reproducible


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _table(header: list[str], rows: list[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _shape(route: Route, direction: int, roads: Roads) -> np.ndarray:
    segs, fwd = route.segs, route.forward
    if direction:
        segs, fwd = segs[::-1], ~fwd[::-1]
    parts = []
    for k, (s, f) in enumerate(zip(segs, fwd, strict=False)):
        c = shapely.get_coordinates(roads.geoms[s])
        c = c if f else c[::-1]
        parts.append(c if k == 0 else c[1:])
    return np.vstack(parts)


def _stop_rows(stops: Stops, rng: np.random.Generator) -> list[list]:
    lon, lat = utm_to_lonlat(stops.xy[:, 0], stops.xy[:, 1])
    wheel = rng.choice([0, 1, 2], len(lon), p=[0.1, 0.3, 0.6])
    shelter = (rng.random(len(lon)) < 0.45).astype(int)
    return [[f"S{k + 1:05d}", f"BS{k + 1:05d}", name, f"{la:.6f}", f"{lo:.6f}", w, sh]
            for k, (name, lo, la, w, sh)
            in enumerate(zip(stops.names, lon, lat, wheel, shelter, strict=False))]


def _trip_rows(routes: list[Route], roads: Roads) -> tuple[list, list, list, list]:
    trips, times, shapes, freqs = [], [], [], []
    for n, r in enumerate(routes):
        rid = f"R{r.number}"
        for direction in (0, 1):
            trip = f"{rid}-{direction}"
            coords = _shape(r, direction, roads)
            dist = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(coords, axis=0), axis=1))])
            lon, lat = utm_to_lonlat(coords[:, 0], coords[:, 1])
            shapes += [[trip, f"{la:.6f}", f"{lo:.6f}", k + 1, f"{d:.1f}"]
                       for k, (lo, la, d) in enumerate(zip(lon, lat, dist, strict=False))]
            headsign = r.name.split(" - ")[1 - direction]
            trips.append([rid, "DAILY", trip, headsign, direction, trip])
            start = 5.5 * 3600 + (n % 30) * 60
            for k, (stop, at) in enumerate(r.stops[direction]):
                t = _clock(start + at / SPEED + k * DWELL)
                times.append([trip, t, t, f"S{stop + 1:05d}", k + 1, f"{at:.1f}"])
            freqs.append([trip, "05:00:00", "22:00:00", r.headway * 60])
    return trips, times, shapes, freqs


def write_gtfs(path: Path, routes: list[Route], stops: Stops, roads: Roads,
               rng: np.random.Generator) -> Path:
    trips, times, shapes, freqs = _trip_rows(routes, roads)
    tables = {
        "agency.txt": _table(["agency_id", "agency_name", "agency_url", "agency_timezone",
                              "agency_lang"], [[*a, "Asia/Ho_Chi_Minh", "vi"] for a in AGENCIES]),
        "stops.txt": _table(["stop_id", "stop_code", "stop_name", "stop_lat", "stop_lon",
                             "wheelchair_boarding", "shelter"], _stop_rows(stops, rng)),
        "routes.txt": _table(["route_id", "agency_id", "route_short_name", "route_long_name",
                              "route_type", "fare_vnd", "headway_min"],
                             [[f"R{r.number}", r.agency, r.number, r.name, 3, r.fare, r.headway]
                              for r in routes]),
        "trips.txt": _table(["route_id", "service_id", "trip_id", "trip_headsign",
                             "direction_id", "shape_id"], trips),
        "stop_times.txt": _table(["trip_id", "arrival_time", "departure_time", "stop_id",
                                  "stop_sequence", "shape_dist_traveled"], times),
        "shapes.txt": _table(["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence",
                              "shape_dist_traveled"], shapes),
        "calendar.txt": _table(["service_id", "monday", "tuesday", "wednesday", "thursday",
                                "friday", "saturday", "sunday", "start_date", "end_date"],
                               [["DAILY", 1, 1, 1, 1, 1, 1, 1, "20260101", "20261231"]]),
        "frequencies.txt": _table(["trip_id", "start_time", "end_time", "headway_secs"], freqs),
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in tables.items():
            info = zipfile.ZipInfo(name, date_time=STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return path
