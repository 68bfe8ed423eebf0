"""GTFS, sensor readings (COPY) and raster (COG) loaders, against real PostGIS and files."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import rasterio
from sqlalchemy import text

from tests.city import EXTENT
from tests.files import write_csv, write_tiff
from twin.ingest.errors import LoadError
from twin.ingest.gtfs import load_gtfs
from twin.ingest.raster import load_raster
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector


def rows(db, sql):
    with db.connect() as conn:
        return conn.execute(text(sql)).all()


def gtfs_zip(path, stops_extra=""):
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
                      "TRANSERCO,Transerco,https://example.vn,Asia/Ho_Chi_Minh\n",
        "stops.txt": "stop_id,stop_code,stop_name,stop_lat,stop_lon,wheelchair_boarding\n"
                     "s1,BS01,Bờ Hồ,21.0287,105.8523,1\ns2,BS02,Tràng Tiền,21.0245,105.8560,2\n"
                     "s3,,Nhà Hát Lớn,21.0240,105.8580,0\n" + stops_extra,
        "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
                      "r09,TRANSERCO,09,Bờ Hồ - Cầu Giấy,3\n",
        "trips.txt": "route_id,service_id,trip_id,direction_id,shape_id\n"
                     "r09,daily,t1,0,sh1\nr09,daily,t2,1,sh1\n",
        "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                          "t1,06:00:00,06:00:00,s1,1\nt1,06:05:00,06:05:00,s2,2\n"
                          "t1,06:09:00,06:09:00,s3,3\nt2,07:00:00,07:00:00,s3,1\n"
                          "t2,07:05:00,07:05:00,s1,2\n",
        "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence\n"
                      "sh1,21.0287,105.8523,1\nsh1,21.0245,105.8560,2\nsh1,21.0240,105.8580,3\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def test_gtfs_feed(db, registry, tmp_path):
    summaries = load_gtfs(db, registry, gtfs_zip(tmp_path / "gtfs.zip"), extent=EXTENT)
    assert [s.loaded for s in summaries] == [3, 1, 5]
    assert rows(db, "SELECT external_id, code, wheelchair FROM bus_stops ORDER BY 1") == [
        ("s1", "BS01", True), ("s2", "BS02", False), ("s3", "s3", None)]
    order = rows(db, "SELECT l.direction, l.sequence, s.code FROM bus_route_stops l "
                     "JOIN bus_stops s ON s.id = l.stop_id ORDER BY 1, 2")
    assert order == [(0, 1, "BS01"), (0, 2, "BS02"), (0, 3, "s3"), (1, 1, "s3"), (1, 2, "BS01")]
    (number, length) = rows(db, "SELECT route_number, length_m FROM bus_routes")[0]
    assert number == "09" and 500 < length < 1000
    # Loading the same feed again updates in place.
    load_gtfs(db, registry, tmp_path / "gtfs.zip", extent=EXTENT)
    assert rows(db, "SELECT count(*) FROM bus_route_stops")[0][0] == 5


def test_gtfs_bad_stop_is_refused_whole(db, registry, tmp_path):
    path = gtfs_zip(tmp_path / "gtfs.zip", stops_extra="s4,BS04,Lạc,105.85,21.02,0\n")
    with pytest.raises(LoadError, match="swapped"):
        load_gtfs(db, registry, path, extent=EXTENT)
    assert rows(db, "SELECT count(*) FROM bus_stops")[0][0] == 0


@pytest.fixture()
def stations(db, registry, tmp_path):
    path = write_csv(tmp_path / "stations.csv", ["code", "name", "kind", "lon", "lat"],
                     [["AQ-1", "Hoàn Kiếm", "air", 105.85, 21.03],
                      ["AQ-2", "Cầu Giấy", "air", 105.80, 21.03]])
    load_vector(db, registry, "sensor_stations", path, extent=EXTENT)
    return db


START = datetime(2026, 9, 30, 12, tzinfo=timezone(timedelta(hours=7)))


def readings_file(path, hours=48, start=START):
    lines = []
    for h in range(hours):
        t = (start + timedelta(hours=h)).isoformat()
        for code in ("AQ-1", "AQ-2"):
            lines.append([code, t, "pm25", round(30 + 10 * np.sin(h / 4), 2), "µg/m³", "good"])
    lines.append(["AQ-1", start.isoformat(), "pm10", "", "µg/m³", "missing"])
    return write_csv(path, ["station_code", "observed_at", "property", "value", "unit",
                            "quality"], lines)


def test_readings_copy_is_idempotent_and_partitioned(stations, tmp_path):
    path = readings_file(tmp_path / "r.csv")
    first = load_readings(stations, path)
    assert (first.rows, first.inserted, first.partitions_created) == (97, 97, 2)
    second = load_readings(stations, path)
    assert (second.inserted, second.duplicates) == (0, 97)
    parts = rows(stations, "SELECT tableoid::regclass::text, count(*) FROM sensor_readings "
                           "GROUP BY 1 ORDER BY 1")
    assert [p[0] for p in parts] == ["sensor_readings_2026_09", "sensor_readings_2026_10"]
    assert rows(stations, "SELECT quality, value FROM sensor_readings WHERE property = 'pm10'") \
        == [("missing", None)]


def test_readings_bad_value_names_the_line_and_loads_nothing(stations, tmp_path):
    path = readings_file(tmp_path / "r.csv")
    lines = path.read_text().splitlines()
    lines[40] = "AQ-1,2026-10-01T09:00:00+07:00,pm25,lots,µg/m³,good"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LoadError, match="line 41, column value"):
        load_readings(stations, path)
    assert rows(stations, "SELECT count(*) FROM sensor_readings")[0][0] == 0


@pytest.mark.parametrize("row,message", [
    ("AQ-9,2026-10-01T09:00:00+07:00,pm25,3,x,good", "unknown stations"),
    ("AQ-1,not-a-time,pm25,3,x,good", "column observed_at"),
    ("AQ-1,infinity,pm25,3,x,good", "time out of range"),
    ("AQ-1,2026-10-01T09:00:00+07:00,pm25,3,x,great", "quality flag"),
])
def test_readings_refused(stations, tmp_path, row, message):
    path = readings_file(tmp_path / "r.csv")
    path.write_text(path.read_text() + row + "\n")
    with pytest.raises(LoadError, match=message):
        load_readings(stations, path)
    assert rows(stations, "SELECT count(*) FROM sensor_readings")[0][0] == 0


def test_readings_without_required_columns(stations, tmp_path):
    path = write_csv(tmp_path / "r.csv", ["station", "time", "value"], [["AQ-1", "2026-10-01", 1]])
    with pytest.raises(LoadError, match="missing column"):
        load_readings(stations, path)


def test_geotiff_becomes_a_metric_cog(db, tmp_path, raster_dir):
    dem = (np.arange(700 * 800, dtype="float32").reshape(700, 800) % 17) + 5
    dem[0, 0] = -9999
    src = write_tiff(tmp_path / "dem.tif", dem, "EPSG:4326", (105.80, 21.05), 0.0001)
    summary = load_raster(db, src, raster_dir, kind="dem", external_id="dem-test")
    assert summary.crs == "EPSG:3405" and summary.path.exists()
    with rasterio.open(summary.path) as cog:
        assert cog.crs.to_epsg() == 3405
        assert cog.profile["tiled"] and cog.overviews(1)
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        data = cog.read(1)
        assert np.nanmin(data) >= 5 and np.nanmax(data) <= 21
    (kind, crs, stats) = rows(db, "SELECT kind, crs, stats FROM rasters")[0]
    assert (kind, crs) == ("dem", "EPSG:3405") and stats["min"] >= 5


def test_truncated_geotiff(db, tmp_path, raster_dir):
    dem = np.ones((100, 100), dtype="float32")
    src = write_tiff(tmp_path / "dem.tif", dem, "EPSG:4326", (105.80, 21.05), 0.0001)
    src.write_bytes(src.read_bytes()[:3000])
    with pytest.raises(LoadError, match="truncated"):
        load_raster(db, src, raster_dir)
    assert rows(db, "SELECT count(*) FROM rasters")[0][0] == 0
    assert not raster_dir.exists() or not any(raster_dir.rglob("*.tif"))


def test_raster_without_crs(db, tmp_path, raster_dir):
    src = write_tiff(tmp_path / "dem.tif", np.ones((10, 10), dtype="float32"), None,
                     (0, 0), 1)
    with pytest.raises(LoadError, match="no CRS"):
        load_raster(db, src, raster_dir)


def test_readings_duplicates_within_one_file_and_late_rows(stations, tmp_path):
    path = readings_file(tmp_path / "r.csv")
    text_ = path.read_text()
    lines = text_.splitlines()
    path.write_text(text_ + lines[5] + "\n")  # the same reading twice in one new month
    first = load_readings(stations, path)
    assert (first.rows, first.inserted, first.duplicates) == (98, 97, 1)
    late = write_csv(tmp_path / "late.csv", ["station_code", "observed_at", "property", "value"],
                     [["AQ-2", "2026-09-30T13:30:00+07:00", "pm25", 12.5],   # late, old month
                      ["AQ-2", "2026-11-02T00:00:00+07:00", "pm25", 20.0]])  # a new month
    second = load_readings(stations, late)
    assert (second.inserted, second.partitions_created) == (2, 1)
    assert rows(stations, "SELECT count(*) FROM sensor_readings_2026_09 "
                          "WHERE value = 12.5")[0][0] == 1


def test_deleting_a_station_deletes_its_readings(stations, tmp_path):
    load_readings(stations, readings_file(tmp_path / "r.csv"))
    with stations.begin() as conn:
        conn.execute(text("DELETE FROM sensor_stations WHERE code = 'AQ-2'"))
    assert rows(stations, "SELECT count(DISTINCT station_id) FROM sensor_readings")[0][0] == 1
