"""Vector loaders against the real PostGIS, with good and bad real files."""

from __future__ import annotations

import pytest
import shapely
from pyproj import Geod, Transformer
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import (
    HOAN_KIEM,
    feature,
    road,
    write_csv,
    write_gdal,
    write_geojson,
    zip_shapefile,
)
from twin.ingest.errors import LoadError
from twin.ingest.vector import load_vector


def load(db, registry, layer, path, **kw):
    return load_vector(db, registry, layer, path, extent=EXTENT, **kw)


def rows(db, sql, **params):
    with db.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_geojson_roads_get_lengths_in_metres(db, registry, tmp_path):
    path = write_geojson(tmp_path / "roads.geojson", [road(i, lanes=2) for i in range(5)])
    summary = load(db, registry, "road_segments", path)
    assert (summary.loaded, summary.repaired, summary.rejected) == (5, [], [])
    (length,) = rows(db, "SELECT length_m FROM road_segments WHERE external_id = 'r0'")[0]
    coords = road(0)["geometry"]["coordinates"]
    expected = Geod(ellps="WGS84").line_length(*zip(*coords, strict=False))
    assert length == pytest.approx(expected, rel=1e-6)
    assert rows(db, "SELECT count(*) FROM load_runs")[0][0] == 1


def test_geopackage_in_vn2000_tm3_is_transformed(db, registry, tmp_path):
    to_tm3 = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True)
    x, y = to_tm3.transform(*HOAN_KIEM)
    square = shapely.box(x, y, x + 20, y + 30)
    path = write_gdal(tmp_path / "parcels.gpkg", [square], {
        "to_ban_do": [12], "so_thua": [345], "loai_dat": ["ODT"], "owner_name": ["Nguyễn Văn An"],
    }, crs="EPSG:5897", driver="GPKG", layer="parcels", geometry_type="Polygon")
    load(db, registry, "land_parcels", path)
    (area, wkt, sheet, owner) = rows(db, "SELECT area_m2, ST_AsText(ST_PointN(ST_ExteriorRing("
                                     "ST_GeometryN(geom, 1)), 1)), map_sheet, owner_name "
                                     "FROM land_parcels")[0]
    assert area == pytest.approx(600, rel=2e-3)  # 20 m x 30 m, measured on the spheroid
    assert (sheet, owner) == (12, "Nguyễn Văn An")
    lon, lat = shapely.from_wkt(wkt).coords[0]
    first = square.exterior.coords[0]
    back = Transformer.from_crs("EPSG:5897", "EPSG:4326", always_xy=True).transform(*first)
    assert (lon, lat) == pytest.approx(back, abs=1e-9)


def test_zipped_shapefile_in_utm(db, registry, tmp_path):
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)
    pts = [shapely.Point(*to_utm.transform(105.80 + i / 100, 21.0)) for i in range(3)]
    shp = write_gdal(tmp_path / "stops.shp", pts, {"stop_code": ["A", "B", "C"],
                     "stop_name": ["Cầu Giấy", "Kim Mã", "Láng"]}, crs="EPSG:3405",
                     driver="ESRI Shapefile", geometry_type="Point")
    summary = load(db, registry, "bus_stops", zip_shapefile(shp, tmp_path / "stops.zip"))
    assert summary.loaded == 3
    got = rows(db, "SELECT code, ST_X(geom), ST_Y(geom) FROM bus_stops ORDER BY code")
    assert [g[0] for g in got] == ["A", "B", "C"]
    assert got[1][1:] == pytest.approx((105.81, 21.0), abs=1e-7)


def test_csv_with_lonlat_and_lists(db, registry, tmp_path):
    path = write_csv(tmp_path / "stations.csv",
                     ["code", "name", "kind", "properties", "lon", "lat"],
                     [["AQ-1", "Hoàn Kiếm", "air", "pm25;pm10;no2", 105.85, 21.03],
                      ["WL-1", "Long Biên", "water_level", "water_level_m", 105.86, 21.04]])
    load(db, registry, "sensor_stations", path)
    got = rows(db, "SELECT external_id, properties FROM sensor_stations ORDER BY code")
    assert got == [("AQ-1", ["pm25", "pm10", "no2"]), ("WL-1", ["water_level_m"])]


def test_csv_with_wkt(db, registry, tmp_path):
    path = write_csv(tmp_path / "roads.csv", ["id", "name", "road_class", "wkt"],
                     [["a", "Đường Láng", "primary", "LINESTRING(105.80 21.00, 105.81 21.01)"]])
    assert load(db, registry, "road_segments", path).loaded == 1


def test_invalid_polygon_is_repaired_and_listed(db, registry, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[105.85, 21.02], [105.851, 21.021],
              [105.851, 21.02], [105.85, 21.021], [105.85, 21.02]]]}
    path = write_geojson(tmp_path / "p.geojson", [feature(bowtie, id="p1", to_ban_do=1,
                                                          so_thua=2, loai_dat="ODT")])
    summary = load(db, registry, "land_parcels", path)
    assert summary.loaded == 1 and len(summary.repaired) == 1
    assert "Self-intersection" in summary.repaired[0]
    assert rows(db, "SELECT ST_NumGeometries(geom), ST_IsValid(geom) FROM land_parcels")[0] \
        == (2, True)


def test_strict_refuses_invalid_and_writes_nothing(db, registry, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[105.85, 21.02], [105.851, 21.021],
              [105.851, 21.02], [105.85, 21.021], [105.85, 21.02]]]}
    path = write_geojson(tmp_path / "p.geojson", [feature(bowtie, id="p1", to_ban_do=1,
                                                          so_thua=2, loai_dat="ODT")])
    with pytest.raises(LoadError, match="strict") as err:
        load(db, registry, "land_parcels", path, strict=True)
    assert "Self-intersection" in str(err.value)
    assert rows(db, "SELECT count(*) FROM land_parcels")[0][0] == 0


def test_wrong_geometry_type_names_the_feature(db, registry, tmp_path):
    path = write_geojson(tmp_path / "x.geojson", [road(0)])
    with pytest.raises(LoadError, match="wrong geometry type") as err:
        load(db, registry, "bus_stops", path)
    assert "LineString where the layer holds Point" in str(err.value)


def test_unknown_crs(db, registry, tmp_path):
    path = write_geojson(tmp_path / "roads.geojson", [road(0)])
    with pytest.raises(LoadError, match="unknown CRS"):
        load(db, registry, "road_segments", path, crs="EPSG:999999")


def test_swapped_axes_are_detected(db, registry, tmp_path):
    path = write_csv(tmp_path / "s.csv", ["code", "name", "kind", "lon", "lat"],
                     [["AQ-1", "x", "air", 21.03, 105.85]])
    with pytest.raises(LoadError, match="swapped") as err:
        load(db, registry, "sensor_stations", path)
    assert "row 2" in str(err.value)


def test_wrong_crs_is_outside_the_extent(db, registry, tmp_path):
    path = write_geojson(tmp_path / "roads.geojson", [road(0)])
    with pytest.raises(LoadError, match="plausible extent"):
        load(db, registry, "road_segments", path, crs="EPSG:3405")


@pytest.mark.parametrize("name,content,message", [
    ("t.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feat', "cannot read"),
    ("e.geojson", b"", "empty"),
    ("l.geojson", b'{"type":"FeatureCollection","features":[]}', "no features"),
    ("n.geojson", '{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
                  '{"name":"Hàng Bè"},"geometry":null}]}'.encode("latin-1"), "not UTF-8"),
    ("n.csv", "id,name,road_class,wkt\nx,Hàng Bè,primary,POINT(1 2)\n".encode("latin-1"),
     "not UTF-8 text: byte 0x.. at line 2"),
    ("t.csv", b"id,name,road_class,wkt\nx,Hue,primary", "wrong number of values"),
    ("t.zip", b"PK\x03\x04 truncated", "not a valid zip"),
])
def test_bad_files_give_clear_errors(db, registry, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=message):
        load(db, registry, "road_segments", path)


def test_bad_values_name_row_and_field(db, registry, tmp_path):
    path = write_geojson(tmp_path / "r.geojson", [road(0), road(1, road_class="highway"),
                                                  road(2, lanes="many")])
    with pytest.raises(LoadError) as err:
        load(db, registry, "road_segments", path)
    text_ = str(err.value)
    assert "field road_class: 'highway' is not one of" in text_
    assert "field lanes: 'many' is not a valid integer" in text_


def test_failing_load_leaves_table_as_it_was(db, registry, tmp_path):
    load(db, registry, "road_segments", write_geojson(tmp_path / "a.geojson",
                                                      [road(i) for i in range(3)]))
    before = rows(db, "SELECT external_id, name, updated_at FROM road_segments ORDER BY 1")
    # 500 new roads and one that already exists: the database refuses at the very end.
    features = [road(i, name="Mới") for i in range(3, 503)] + [road(1, name="Changed")]
    with pytest.raises(LoadError, match="already exist"):
        load(db, registry, "road_segments", write_geojson(tmp_path / "b.geojson", features))
    assert rows(db, "SELECT external_id, name, updated_at FROM road_segments ORDER BY 1") == before
    assert rows(db, "SELECT count(*) FROM load_runs")[0][0] == 1


def test_upsert_and_replace(db, registry, tmp_path):
    load(db, registry, "road_segments", write_geojson(tmp_path / "a.geojson",
                                                      [road(i) for i in range(4)]))
    load(db, registry, "road_segments", write_geojson(
        tmp_path / "b.geojson", [road(1, name="Tràng Tiền")]), mode="upsert")
    assert rows(db, "SELECT name FROM road_segments WHERE external_id = 'r1'")[0][0] \
        == "Tràng Tiền"
    summary = load(db, registry, "road_segments", write_geojson(
        tmp_path / "c.geojson", [road(0), road(1)]), mode="replace")
    assert summary.deleted == 2
    assert [r[0] for r in rows(db, "SELECT external_id FROM road_segments ORDER BY 1")] \
        == ["r0", "r1"]


def test_field_mapping_override(db, registry, tmp_path):
    path = write_csv(tmp_path / "roads.csv", ["ma", "ten", "loai", "wkt"],
                     [["a", "Kim Mã", "secondary", "LINESTRING(105.80 21.00, 105.81 21.01)"]])
    load(db, registry, "road_segments", path, mapping={"ten": "name", "loai": "road_class"},
         id_column="ma")
    assert rows(db, "SELECT external_id, name, road_class FROM road_segments") == \
        [("a", "Kim Mã", "secondary")]


def test_signs_are_linked_to_the_nearest_road(db, registry, tmp_path):
    load(db, registry, "road_segments", write_geojson(tmp_path / "r.geojson",
                                                      [road(i) for i in range(5)]))
    sign = feature({"type": "Point", "coordinates": [105.8421, 21.0201]}, id="s1",
                   sign_code="P.102", category="prohibitory")
    summary = load(db, registry, "traffic_signs", write_geojson(tmp_path / "s.geojson", [sign]))
    assert any("road_segment filled" in n for n in summary.notes)
    assert rows(db, "SELECT road_segment FROM traffic_signs")[0][0] == "r2"


def test_sign_code_pattern_is_enforced(db, registry, tmp_path):
    sign = feature({"type": "Point", "coordinates": [105.84, 21.02]}, id="s1",
                   sign_code="STOP", category="prohibitory")
    with pytest.raises(LoadError, match="does not match"):
        load(db, registry, "traffic_signs", write_geojson(tmp_path / "s.geojson", [sign]))


def test_multi_layer_geopackage_needs_a_source_layer(db, registry, tmp_path):
    path = tmp_path / "two.gpkg"
    for name in ("a", "b"):
        write_gdal(path, [shapely.Point(105.85, 21.02)], {"code": ["x"], "name": ["y"]},
                   crs="EPSG:4326", driver="GPKG", layer=name, geometry_type="Point")
    with pytest.raises(LoadError, match="several layers"):
        load(db, registry, "bus_stops", path)
    assert load(db, registry, "bus_stops", path, source_layer="b").loaded == 1


def test_reloading_unchanged_features_changes_nothing(db, registry, tmp_path):
    path = write_geojson(tmp_path / "a.geojson", [road(i) for i in range(3)])
    load(db, registry, "road_segments", path)
    before = rows(db, "SELECT external_id, updated_at FROM road_segments ORDER BY 1")
    summary = load(db, registry, "road_segments", path, mode="upsert")
    assert summary.loaded == 0  # nothing differed, so nothing was written
    assert rows(db, "SELECT external_id, updated_at FROM road_segments ORDER BY 1") == before
