"""Write the synthetic Hanoi as the ordinary files a user would have.

    hanoi.gpkg    admin_areas (the map until 30 June 2025 and the map from 1 July 2025),
                  road_segments, land_parcels (EPSG:5897), traffic_signs,
                  traffic_signals, cameras, parking_sites
    gtfs.zip      bus stops, routes, trips, stop times and shapes
    stations.csv  air-quality, water-level and rain stations
    readings.csv  their readings, October 2026
    dem.tif       10 m DEM in EPSG:32648

Every stage draws from its own generator seeded from ``seed``, so the output is
reproducible and ``scale`` (density of roads and parcels) changes nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from twin.demo import assets, cadastre, gpkg, sensors, transit
from twin.demo.admin import Admin, build_admin
from twin.demo.admin2025 import build_map_2025
from twin.demo.dem import Terrain, write_dem
from twin.demo.frame import UTM48N, VN2000_TM3_482, WGS84, stage_rng, to_crs
from twin.demo.geography import build_geography
from twin.demo.gtfs import write_gtfs
from twin.demo.parcels import build_parcels
from twin.demo.readings import write_readings
from twin.demo.roads import Roads, build_roads, corridors

FILES = {"gpkg": "hanoi.gpkg", "gtfs": "gtfs.zip", "stations": "stations.csv",
         "readings": "readings.csv", "dem": "dem.tif"}


class _Clock:
    def __init__(self, progress: Callable[[str], None] | None):
        self.progress = progress
        self.t = time.perf_counter()

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        if self.progress:
            self.progress(f"{message} [{now - self.t:.1f} s]")
        self.t = now


def _admin_layer(path: Path, admin: Admin) -> int:
    areas = admin.areas
    attrs = {"code": np.array([a.code for a in areas], dtype=object),
             "name": np.array([a.name for a in areas], dtype=object),
             "level": np.array([a.level for a in areas], dtype=object),
             "parent_code": np.array([a.parent_code for a in areas], dtype=object),
             "population": np.array([a.population for a in areas], dtype=np.int64),
             "valid_from": np.array([_day(a.valid_from) for a in areas], dtype=object),
             "valid_to": np.array([_day(a.valid_to) for a in areas], dtype=object)}
    geoms = to_crs(gpkg.as_multi(np.array([a.geom for a in areas], dtype=object)), WGS84)
    ids = np.array([a.id for a in areas], dtype=object)
    return gpkg.write_layer(path, "admin_areas", geoms, ids, attrs, "MultiPolygon", WGS84)


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _point_layers(path: Path, roads: Roads, admin: Admin, seed: int) -> dict[str, int]:
    rng = stage_rng(seed, "assets")
    layers = {"traffic_signs": assets.traffic_signs(roads, rng),
              "traffic_signals": assets.traffic_signals(roads, admin, rng),
              "cameras": assets.cameras(roads, admin, rng),
              "parking_sites": assets.parking_sites(roads, admin, rng)}
    return {name: gpkg.write_layer(path, name, to_crs(layer.geoms, WGS84), layer.ids,
                                   layer.attrs, "Point", WGS84)
            for name, layer in layers.items()}


def _vector_layers(path: Path, geo, admin: Admin, roads: Roads, seed: int, scale: float,
                   clock: _Clock) -> dict[str, int]:
    path.unlink(missing_ok=True)
    counts = {"admin_areas": _admin_layer(path, admin)}
    counts["road_segments"] = gpkg.write_layer(path, "road_segments", to_crs(roads.geoms, WGS84),
                                               roads.ids, roads.attrs, "LineString", WGS84)
    clock(f"roads: {counts['road_segments']:,} segments")
    parcels = build_parcels(roads.lattice, roads.graph, roads.lattice_width, corridors(roads),
                            geo, stage_rng(seed, "parcels"), scale)
    n_lattice = len(roads.lattice_width)
    geoms, attrs, ids = cadastre.parcel_table(parcels, roads.graph.name[:n_lattice], geo, admin,
                                              stage_rng(seed, "cadastre"))
    counts["land_parcels"] = gpkg.write_layer(path, "land_parcels", gpkg.as_multi(geoms), ids,
                                              attrs, "MultiPolygon", VN2000_TM3_482)
    clock(f"land parcels: {counts['land_parcels']:,} (EPSG:5897)")
    counts.update(_point_layers(path, roads, admin, seed))
    clock("signs {traffic_signs:,}, signals {traffic_signals}, cameras {cameras}, "
          "parking sites {parking_sites}".format(**counts))
    return counts


def _bus_feed(path: Path, roads: Roads, seed: int) -> tuple[int, int]:
    rng = stage_rng(seed, "transit")
    net = transit.bus_network(roads)
    routes = transit.plan_routes(roads, net, rng)
    stops = transit.assign_stops(routes, roads, transit.hub_stop_positions(roads, net), rng)
    write_gtfs(path, routes, stops, roads, rng)
    return len(routes), len(stops.keys)


def generate(out_dir: Path, seed: int = 20261124, scale: float = 1.0,
             progress: Callable[[str], None] | None = None, *, days: int = 30,
             readings: bool = True, dem: bool = True) -> dict[str, Path]:
    """Write the demo city's input files into ``out_dir``; returns name -> path.

    ``scale`` multiplies the density of roads and parcels; ``days`` is the length of the
    readings period from 2026-10-01; ``readings`` and ``dem`` can be switched off."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / v for k, v in FILES.items()}
    clock = _Clock(progress)
    geo = build_geography(stage_rng(seed, "geography"))
    admin = build_admin(geo, stage_rng(seed, "admin"))
    admin.new_map = build_map_2025(admin.districts, admin.wards)
    clock(f"geography: {len(admin.districts)} districts, {len(admin.wards)} wards; "
          f"{len(admin.new_map)} wards from 1 July 2025")
    roads = build_roads(geo, admin, stage_rng(seed, "roads"), scale)
    _vector_layers(paths["gpkg"], geo, admin, roads, seed, scale, clock)
    n_routes, n_stops = _bus_feed(paths["gtfs"], roads, seed)
    clock(f"buses: {n_routes} routes, {n_stops:,} stops")
    terrain = Terrain(geo, stage_rng(seed, "terrain"))
    stations = sensors.build_stations(geo, admin, terrain, stage_rng(seed, "stations"))
    sensors.write_stations(paths["stations"], stations)
    clock(f"stations: {len(stations)}")
    if readings:
        _, rows = write_readings(paths["readings"], stations, days, stage_rng(seed, "readings"))
        clock(f"readings: {rows:,} rows over {days} days")
    if dem:
        write_dem(paths["dem"], terrain)
        clock(f"DEM: 10 m in {UTM48N}")
    return {k: p for k, p in paths.items() if (k != "readings" or readings) and
            (k != "dem" or dem)}

