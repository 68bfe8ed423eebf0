"""The synthetic demo city: files, counts, validity, non-overlap, connectivity and
reproducibility, at a small scale and with two days of readings (no database)."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pytest
import rasterio
import shapely
from pyogrio import list_layers, raw

from twin.demo import generate
from twin.demo.network import components

SCALE, DAYS = 0.2, 2
LAYERS = {"admin_areas": "EPSG:4326", "road_segments": "EPSG:4326",
          "land_parcels": "EPSG:5897", "traffic_signs": "EPSG:4326",
          "traffic_signals": "EPSG:4326", "cameras": "EPSG:4326", "parking_sites": "EPSG:4326"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict:
    return generate(tmp_path_factory.mktemp("demo"), scale=SCALE, days=DAYS)


def read_layer(path, layer: str) -> tuple[np.ndarray, dict, str]:
    meta, _, wkb, values = raw.read(path, layer=layer)
    return shapely.from_wkb(wkb), dict(zip(meta["fields"], values, strict=False)), meta["crs"]


def test_writes_the_input_files(demo):
    assert set(demo) == {"gpkg", "gtfs", "stations", "readings", "dem"}
    assert [p.name for p in demo.values()] == ["hanoi.gpkg", "gtfs.zip", "stations.csv",
                                               "readings.csv", "dem.tif"]
    assert all(p.stat().st_size > 0 for p in demo.values())
    assert {name for name, _ in list_layers(demo["gpkg"])} == set(LAYERS)


def test_layers_have_ids_crs_and_valid_geometries(demo):
    for layer, crs in LAYERS.items():
        geoms, cols, layer_crs = read_layer(demo["gpkg"], layer)
        assert layer_crs == crs, layer
        assert shapely.is_valid(geoms).all(), layer
        assert len(set(cols["id"])) == len(geoms), layer


def test_counts_follow_scale_but_assets_do_not(demo):
    counts = {layer: len(read_layer(demo["gpkg"], layer)[0]) for layer in LAYERS}
    assert 15_000 * SCALE * 0.9 < counts["road_segments"] < 15_000 * SCALE * 1.6
    assert counts["land_parcels"] > 30_000 * SCALE * 0.5
    assert (counts["traffic_signs"], counts["traffic_signals"], counts["cameras"],
            counts["parking_sites"]) == (3600, 179, 500, 165)


def test_districts_and_wards_tile_the_extent(demo):
    """Both administrative maps (issue 16): the districts and their wards until 30 June
    2025, and the wards formed from them on 1 July 2025, each tile the extent."""
    geoms, cols, _ = read_layer(demo["gpkg"], "admin_areas")
    extent = shapely.box(105.75, 20.95, 105.92, 21.09)
    former, new = cols["valid_to"] == "2025-07-01", cols["valid_from"] == "2025-07-01"
    assert (former ^ new).all()
    district, ward = cols["level"] == "district", cols["level"] == "ward"
    for parts in (geoms[former & district], geoms[former & ward], geoms[new]):
        assert shapely.area(parts).sum() == pytest.approx(extent.area, rel=1e-6)
        assert shapely.union_all(parts).area == pytest.approx(extent.area, rel=1e-6)
    assert (former & district).sum() == 12
    assert set(cols["parent_code"][former & ward]) == set(cols["code"][former & district])
    assert ward[new].all() and set(cols["parent_code"][new]) == {None}
    assert (former & ward).sum() > new.sum() >= 40


def test_road_network_is_one_connected_planar_graph(demo):
    geoms, cols, _ = read_layer(demo["gpkg"], "road_segments")
    assert (shapely.length(geoms) > 0).all()
    ends = np.vstack([shapely.get_coordinates(shapely.get_point(geoms, 0)),
                      shapely.get_coordinates(shapely.get_point(geoms, -1))])
    _, node = np.unique(ends, axis=0, return_inverse=True)
    node = node.ravel()
    label = components(node.max() + 1, node[: len(geoms)], node[len(geoms):])
    assert len(np.unique(label[node])) == 1
    crossing = shapely.STRtree(geoms).query(geoms, predicate="crosses")
    assert crossing.shape[1] == 0
    assert {"motorway", "trunk", "primary", "residential"} <= set(cols["road_class"])
    assert {"Cầu Long Biên", "Cầu Vĩnh Tuy"} <= set(cols["name"])


def test_parcels_do_not_overlap_each_other_or_roads(demo):
    parcels, cols, _ = read_layer(demo["gpkg"], "land_parcels")
    a, b = shapely.STRtree(parcels).query(parcels, predicate="intersects")
    keep = a < b
    shared = shapely.area(shapely.intersection(parcels[a[keep]], parcels[b[keep]]))
    assert keep.sum() > 0 and shared.max() < 1e-3      # m², EPSG:5897
    key = cols["to_ban_do"].astype(np.int64) * 1_000_000 + cols["so_thua"]
    assert len(np.unique(key)) == len(key)
    from twin.demo.frame import to_crs

    roads, _, _ = read_layer(demo["gpkg"], "road_segments")
    hits = shapely.STRtree(roads).query(to_crs(parcels, "EPSG:4326", src="EPSG:5897"),
                                        predicate="intersects")
    assert hits.shape[1] == 0


def test_gtfs_feed(demo):
    with zipfile.ZipFile(demo["gtfs"]) as archive:
        feed = {n: list(csv.DictReader(io.StringIO(archive.read(n).decode("utf-8"))))
                for n in archive.namelist()}
    assert {"agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt",
            "shapes.txt"} <= set(feed)
    assert len(feed["routes.txt"]) >= 100 and len(feed["stops.txt"]) >= 1000
    assert len(feed["trips.txt"]) == 2 * len(feed["routes.txt"])
    assert {"shelter", "wheelchair_boarding"} <= set(feed["stops.txt"][0])
    stop_ids = {s["stop_id"] for s in feed["stops.txt"]}
    assert {t["stop_id"] for t in feed["stop_times.txt"]} == stop_ids
    shapes = {p["shape_id"] for p in feed["shapes.txt"]}
    assert {t["shape_id"] for t in feed["trips.txt"]} <= shapes


def test_stations_and_readings(demo):
    with open(demo["stations"], encoding="utf-8") as fh:
        stations = list(csv.DictReader(fh))
    kinds = [s["kind"] for s in stations]
    assert (kinds.count("air"), kinds.count("water_level"), kinds.count("rain")) == (30, 15, 20)
    with open(demo["readings"], encoding="utf-8") as fh:
        header = fh.readline().strip().split(",")
        rows = list(csv.reader(fh))
    assert header == ["station_code", "observed_at", "property", "value", "unit", "quality"]
    assert len(rows) == DAYS * (30 * 8 * 144 + 35 * 288)
    assert rows[0][1] == "2026-10-01T00:00:00+07:00"
    quality = {r[5] for r in rows}
    assert quality == {"good", "suspect", "missing"}
    assert all(r[3] == "" for r in rows if r[5] == "missing")


def test_dem(demo):
    with rasterio.open(demo["dem"]) as src:
        assert src.crs.to_epsg() == 32648 and src.res == (10.0, 10.0)
        assert src.dtypes[0] == "float32" and src.nodata == -9999
        assert src.profile["compress"] == "deflate"
        z = src.read(1)
    assert 1.5 < z.min() < 4 and 12 < z.max() <= 21


def test_same_seed_same_city(demo, tmp_path):
    again = generate(tmp_path, scale=SCALE, days=DAYS, dem=False)
    assert "dem" not in again
    assert again["readings"].read_bytes() == demo["readings"].read_bytes()
    assert again["gtfs"].read_bytes() == demo["gtfs"].read_bytes()
    for layer in ("road_segments", "land_parcels"):
        first, second = read_layer(demo["gpkg"], layer)[0], read_layer(again["gpkg"], layer)[0]
        assert np.array_equal(shapely.get_coordinates(first), shapely.get_coordinates(second))
