"""The administrative map of 1 July 2025 (issue 16, part 5): the demo city holds both maps
(the districts and their wards until 30 June 2025, the wards formed by merging them from
1 July 2025); ``datetime`` on admin_areas selects the map in force (items API over HTTP);
reports, readings rollups and flood exposure by area use the map in force at each time;
a load mixing the maps is refused, naming the file and the row, and leaves the database
as it was."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.city import EXTENT, TZ
from twin.flood.areas import exposure_by_area
from twin.ingest.errors import LoadError
from twin.ingest.readings import load_readings
from twin.ingest.vector import load_vector
from twin.registry import RegistryError, load_layer
from twin.reports.area_rollups import area_rollups
from twin.reports.areas import resolve_area
from twin.reports.build import build_report
from twin.reports.request import parse_request
from twin.server.db import libpq_url

ITEMS = "/collections/admin_areas/items"
REFORM = date(2025, 7, 1)


def rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(query), params).all()]


@pytest.fixture(scope="module")
def maps(city_engine) -> dict[str, set[str]]:
    """The codes of each map, read from the database."""
    found = rows(city_engine, "SELECT external_id, level, valid_from, valid_to FROM admin_areas")
    return {"old": {c for c, _, f, t in found if f is None and t == REFORM},
            "new": {c for c, _, f, t in found if f == REFORM and t is None},
            "all": {c for c, *_ in found}}


@pytest.fixture(scope="module")
def conn(city_url):
    with psycopg.connect(libpq_url(city_url), autocommit=True) as connection:
        yield connection


# --- the two maps ---------------------------------------------------------------------

def test_demo_loads_both_maps_and_the_new_wards_merge_former_ones(city_engine, maps):
    assert maps["old"] | maps["new"] == maps["all"] and not maps["old"] & maps["new"]
    levels = dict(rows(city_engine, "SELECT level, count(*) FROM admin_areas "
                                    "WHERE valid_to IS NOT NULL GROUP BY 1"))
    assert levels["district"] == 12 and levels["ward"] > 100
    assert rows(city_engine, "SELECT DISTINCT level, parent_code FROM admin_areas "
                             "WHERE valid_from = '2025-07-01'") == [("ward", None)]
    assert 40 <= len(maps["new"]) < levels["ward"]
    # every former ward lies in exactly one new ward, and the new ward is their union
    merged = rows(city_engine, """
        SELECT n.external_id, abs(ST_Area(n.geom::geography)
                                  - sum(ST_Area(o.geom::geography))) / ST_Area(n.geom::geography)
        FROM admin_areas n JOIN admin_areas o
          ON o.level = 'ward' AND o.valid_to = '2025-07-01'
         AND ST_Covers(n.geom, ST_PointOnSurface(o.geom))
        WHERE n.valid_from = '2025-07-01' GROUP BY n.external_id, n.geom""")
    assert {m[0] for m in merged} == maps["new"]
    assert max(m[1] for m in merged) < 1e-6
    names = {r[0] for r in rows(city_engine, "SELECT name FROM admin_areas "
                                             "WHERE valid_from = '2025-07-01'")}
    assert {"Phường Hoàn Kiếm", "Phường Cửa Nam", "Phường Ba Đình"} <= names


def test_the_database_checks_the_validity(city_engine):
    with pytest.raises(Exception, match="ck_admin_areas_validity"), \
            city_engine.begin() as c:
        c.execute(text("UPDATE admin_areas SET valid_from = '2025-08-01' "
                       "WHERE valid_to = '2025-07-01' AND level = 'district'"))


# --- datetime selects the map in force (items API over HTTP) -------------------------

def codes(http, **params) -> set[str]:
    r = http.get(ITEMS, params={"limit": 1000, **params})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["numberReturned"] == len(doc["features"]) < 1000
    return {f["id"] for f in doc["features"]}


@pytest.mark.parametrize("when, expected", [
    ("2025-06-30", "old"),
    ("2025-07-01", "new"),
    ("2026-10-01", "new"),
    ("2020-01-01", "old"),
    ("2025-06-30T23:59:59+07:00", "old"),
    ("2025-07-01T00:30:00+07:00", "new"),
    ("../2025-06-30", "old"),
    ("2025-07-01/..", "new"),
    ("2025-06-01/2025-07-31", "all"),
    ("2025-06-30T12:00:00Z/2025-07-01T00:00:00+07:00", "all"),
])
def test_datetime_selects_the_map_in_force(http, maps, when, expected):
    assert codes(http, datetime=when) == maps[expected]


def test_without_datetime_both_maps_are_listed_and_carry_their_validity(http, maps):
    assert codes(http) == maps["all"]
    r = http.get(ITEMS, params={"limit": 1, "filter": "valid_from = DATE('2025-07-01')"})
    assert r.status_code == 200, r.text
    props = r.json()["features"][0]["properties"]
    assert props["valid_from"] == "2025-07-01" and props["valid_to"] is None
    assert props["level"] == "ward" and props["parent_code"] is None


def test_the_collection_has_a_time_dimension(http):
    doc = http.get("/collections/admin_areas").json()
    assert "temporal" in doc["extent"]


@pytest.mark.parametrize("bad", ["1 July 2025", "2025-07-01/2025-06-01", "2025-13-01"])
def test_a_bad_datetime_is_a_400_naming_it(http, bad):
    r = http.get(ITEMS, params={"datetime": bad})
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"code", "description"} and "datetime" in body["description"]


def test_tiles_draw_the_map_in_force(http, city_engine):
    import mapbox_vector_tile

    x, y, z = 3252, 1803, 12   # Hoàn Kiếm
    path = f"/collections/admin_areas/tiles/WebMercatorQuad/{z}/{y}/{x}"

    def levels(when: str) -> set[tuple]:
        r = http.get(path, params={"datetime": when})
        assert r.status_code in (200, 204), r.text
        tile = mapbox_vector_tile.decode(r.content) if r.content else {}
        return {(f["properties"]["level"], f["properties"].get("valid_to"))
                for f in tile.get("admin_areas", {}).get("features", [])}

    before, after = levels("2025-06-30"), levels("2025-07-01")
    assert ("district", "2025-07-01") in before and ("ward", "2025-07-01") in before
    assert after and all(level == "ward" and end is None for level, end in after)


def test_an_edit_that_ends_an_area_before_it_starts_is_a_400(http, city_engine):
    from twin.server.auth.keys import create_key

    key, _ = create_key(city_engine, "test admin 2025", "land_office")
    _, _, wkt = stored(city_engine, "Phường Cửa Nam", new=True)
    with city_engine.connect() as c:
        geometry = c.execute(text("SELECT ST_AsGeoJSON(ST_GeomFromText(:w))::json"),
                             {"w": wkt}).scalar()
    feature = {"type": "Feature", "id": "T-EDIT", "geometry": geometry, "properties": {
        "code": "T-EDIT", "name": "Phường Thử", "level": "commune",
        "valid_from": "2025-07-01", "valid_to": "2025-06-01"}}
    r = http.post(ITEMS, json=feature, headers={"X-API-Key": key})
    assert r.status_code == 400, r.text
    assert r.json() == {"code": "InvalidParameterValue",
                        "description": "a value breaks the rule ck_admin_areas_validity"}
    assert not rows(city_engine, "SELECT 1 FROM admin_areas WHERE external_id = 'T-EDIT'")


# --- reports -----------------------------------------------------------------------------

def test_a_name_from_either_map_and_the_map_the_period_uses(conn):
    june, october = (date(2025, 6, 1), date(2025, 6, 30)), (date(2026, 10, 1),
                                                            date(2026, 10, 2))
    old = resolve_area(conn, "Bồ Đề", *june)          # a name both maps have
    new = resolve_area(conn, "Bồ Đề", *october)
    assert old.name == new.name == "Phường Bồ Đề" and old.code != new.code
    assert old.valid_to == REFORM and new.valid_from == REFORM
    assert old.map_note == "The period uses the administrative map in force until 30/06/2025."
    assert new.map_note == "The period uses the administrative map in force from 01/07/2025."
    ward = resolve_area(conn, "phuong hoan kiem", *june)   # the full name: the new ward
    assert ward.name == "Phường Hoàn Kiếm" and ward.level == "ward"
    assert "Phường Hoàn Kiếm is an area of the administrative map in force from " \
           "01/07/2025, not of that map" in ward.map_note
    district = resolve_area(conn, "Hoàn Kiếm", *october)   # as before: a district first
    assert district.name == "Quận Hoàn Kiếm" and "not of that map" in district.map_note
    straddle = resolve_area(conn, "Bồ Đề", date(2025, 6, 20), date(2025, 7, 10))
    assert straddle.code == new.code
    assert straddle.map_note == ("The period spans a change of the administrative map on "
                                 "01/07/2025: the report uses the administrative map in "
                                 "force from 01/07/2025.")


def test_reports_before_and_after_say_which_map(conn):
    def html(area: str, start: str, end: str) -> str:
        request = parse_request({"area": area, "from": start, "to": end,
                                 "topics": "assets", "format": "html"}, TZ)
        return build_report(conn, request).decode()

    # Reports are in the city's language, Vietnamese, unless asked otherwise.
    before = html("Bồ Đề", "2025-06-01", "2025-06-30")
    after = html("Bồ Đề", "2026-10-01", "2026-10-02")
    assert "<h1>Phường Bồ Đề, Quận Long Biên</h1>" in before
    assert "có hiệu lực đến 30/06/2025" in before
    assert "<h1>Phường Bồ Đề</h1>" in after and "có hiệu lực từ 01/07/2025" in after


def test_cli_report_says_which_map(city_url, tmp_path):
    from twin.cli import main

    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, [
        "report", "--area", "Cửa Nam", "--from", "2025-06-25", "--to", "2025-07-05",
        "--topics", "assets", "-o", str(out)], env={"TWIN_DATABASE_URL": city_url})
    assert result.exit_code == 0, result.output
    assert "Phường Cửa Nam" in result.output
    # The CLI speaks the report's language: Vietnamese by default.
    assert "có thay đổi bản đồ hành chính vào ngày 01/07/2025" in result.output


# --- rollups and flood exposure by area --------------------------------------------------

@pytest.fixture()
def station_readings(city_engine, tmp_path):
    """Hourly PM2.5 of one demo air station on 30 June and 1 July 2025 (local days),
    loaded by the readings loader; removed with their rollups afterwards."""
    code, sid = rows(city_engine, "SELECT code, id FROM sensor_stations WHERE kind = 'air' "
                                  "ORDER BY id LIMIT 1")[0]
    zone = ZoneInfo(TZ)
    start = datetime(2025, 6, 30, tzinfo=zone)
    lines = ["station_code,observed_at,property,value,unit"]
    for h in range(48):
        t = start + timedelta(hours=h)
        lines.append(f"{code},{t.isoformat()},pm25,{30 + h},ug/m3")
    path = tmp_path / "r.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_readings(city_engine, path, tz=TZ)
    yield sid
    window = {"sid": sid, "a": datetime(2025, 6, 1, tzinfo=zone),
              "b": datetime(2025, 8, 1, tzinfo=zone)}
    with city_engine.begin() as c:
        for table, column in (("sensor_readings", "observed_at"),
                              ("reading_rollups", "bucket"),
                              ("reading_rollups_pending", "bucket"),
                              ("station_aqi", "observed_at")):
            c.execute(text(f"DELETE FROM {table} WHERE station_id = :sid "
                           f"AND {column} >= :a AND {column} < :b"), window)


def test_rollups_per_area_use_the_map_of_each_day(conn, city_engine, station_readings):
    zone = ZoneInfo(TZ)
    got = area_rollups(conn, "pm25", datetime(2025, 6, 30, tzinfo=zone),
                       datetime(2025, 7, 2, tzinfo=zone), "day", TZ)
    mine = rows(city_engine, """
        SELECT a.external_id, a.valid_from, a.valid_to FROM admin_areas a, sensor_stations s
        WHERE s.id = :sid AND a.level = 'ward' AND ST_Covers(a.geom, s.geom)""",
                sid=station_readings)
    old = next(c for c, f, t in mine if t == REFORM)
    new = next(c for c, f, t in mine if f == REFORM)
    by_day = {(r.day, r.code): r for r in got}
    assert (date(2025, 6, 30), old) in by_day and (date(2025, 7, 1), new) in by_day
    assert (date(2025, 6, 30), new) not in by_day and (date(2025, 7, 1), old) not in by_day
    assert {r.day for r in got} == {date(2025, 6, 30), date(2025, 7, 1)}
    june, july = by_day[(date(2025, 6, 30), old)], by_day[(date(2025, 7, 1), new)]
    assert (june.readings, june.min, june.max) == (24, 30.0, 53.0)
    assert (july.readings, july.min, july.max) == (24, 54.0, 77.0)
    assert june.stations == july.stations == 1


def test_cli_rollups_by_area(city_url, station_readings):
    from twin.cli import main

    result = CliRunner().invoke(main, [
        "rollups", "areas", "--property", "pm25", "--from", "2025-06-30", "--to",
        "2025-07-01"], env={"TWIN_DATABASE_URL": city_url})
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("bucket,day,code,name,level,stations")
    days = {line.split(",")[1] for line in lines[1:]}
    assert days == {"2025-06-30", "2025-07-01"}


def test_flood_exposure_by_area_uses_the_map_of_the_day(city_engine):
    roads = rows(city_engine, """
        SELECT r.id, ST_AsGeoJSON(r.geom)::json, r.length_m FROM road_segments r,
               admin_areas a
        WHERE a.name = 'Phường Cửa Nam' AND ST_Covers(a.geom, ST_LineInterpolatePoint(
              ST_GeometryN(r.geom, 1), 0.5)) ORDER BY r.id LIMIT 5""")
    assert len(roads) == 5
    features = [{"type": "Feature", "geometry": g,
                 "properties": {"layer": "road_segments", "feature_id": i,
                                "flooded_m": length}} for i, g, length in roads]
    with city_engine.connect() as c:
        after = exposure_by_area(c, features, date(2025, 7, 1))
        before = exposure_by_area(c, features, date(2025, 6, 30))
    assert after["map"] == "the administrative map in force from 01/07/2025"
    assert [a["name"] for a in after["areas"]] == ["Phường Cửa Nam"]
    assert after["areas"][0]["road_segments"] == 5
    km = sum(length for *_, length in roads) / 1000
    assert after["areas"][0]["road_km_flooded"] == pytest.approx(km, abs=1e-3)
    assert before["map"] == "the administrative map in force until 30/06/2025"
    assert before["areas"] and all(a["code"] < "20000" for a in before["areas"])
    assert sum(a["road_segments"] for a in before["areas"]) == 5


# --- loads that mix the maps are refused -----------------------------------------------

def fingerprint(engine) -> str:
    found = rows(engine, "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM admin_areas t")
    runs = rows(engine, "SELECT count(*) FROM load_runs")
    return hashlib.sha256(repr((found, runs)).encode()).hexdigest()


def area_csv(path, body: list[str]):
    path.write_text("code,name,level,parent_code,valid_from,valid_to,wkt\n"
                    + "\n".join(body) + "\n", encoding="utf-8")
    return path


def stored(engine, name: str, new: bool) -> tuple[str, str, str]:
    cond = "valid_from = '2025-07-01'" if new else "valid_to = '2025-07-01'"
    return rows(engine, f"SELECT code, parent_code, ST_AsText(geom) FROM admin_areas "
                        f"WHERE name = :n AND {cond}", n=name)[0]


def test_a_file_mixing_old_and_new_ward_names_is_refused(city_engine, registry, tmp_path):
    old_code, _, old_wkt = stored(city_engine, "Phường Hàng Trống", new=False)
    new_code, _, new_wkt = stored(city_engine, "Phường Cửa Nam", new=True)
    path = area_csv(tmp_path / "phuong.csv", [
        f'{new_code},Phường Cửa Nam,ward,,,,"{new_wkt}"',
        f'{old_code},Phường Hàng Trống,ward,,,,"{old_wkt}"'])
    before = fingerprint(city_engine)
    with pytest.raises(LoadError) as err:
        load_vector(city_engine, registry, "admin_areas", path, extent=EXTENT, mode="upsert")
    message = str(err.value)
    assert f"{path}: the file mixes the former and the current administrative map" in message
    assert "row 3: 'Phường Hàng Trống' names an area of the administrative map in force " \
           "until 30/06/2025" in message
    assert "row 2" not in message
    assert fingerprint(city_engine) == before


def test_the_cli_names_the_file_and_row(city_url, city_engine, tmp_path):
    from twin.cli import main

    _, parent, wkt = stored(city_engine, "Phường Hàng Trống", new=False)
    path = area_csv(tmp_path / "wards_2025.csv", [
        f'T-2025-1,Phường Hàng Trống Mới,ward,{parent},2025-07-01,,"{wkt}"'])
    before = fingerprint(city_engine)
    result = CliRunner().invoke(main, ["load", str(path), "--layer", "admin_areas"],
                                env={"TWIN_DATABASE_URL": city_url})
    assert result.exit_code == 1, result.output
    assert str(path) in result.output and "row 2: parent_code" in result.output
    assert "Quận Hoàn Kiếm" in result.output and "Traceback" not in result.output
    assert fingerprint(city_engine) == before


@pytest.mark.parametrize("row, words", [
    ('T-D,Quận Thử,district,,,,"{wkt}"', "row 2: 'Quận Thử' is a district, in force at every "
                                         "time (no validity), but districts were abolished"),
    ('T-W,Phường Thử,ward,,2025-07-01,2025-07-01,"{wkt}"',
     "row 2: valid_to 2025-07-01 is not after valid_from 2025-07-01"),
])
def test_other_rows_that_fit_no_map_are_refused(city_engine, registry, tmp_path, row, words):
    _, _, wkt = stored(city_engine, "Phường Cửa Nam", new=True)
    path = area_csv(tmp_path / "areas.csv", [row.format(wkt=wkt)])
    before = fingerprint(city_engine)
    with pytest.raises(LoadError) as err:
        load_vector(city_engine, registry, "admin_areas", path, extent=EXTENT)
    assert words in str(err.value) and str(path) in str(err.value)
    assert fingerprint(city_engine) == before


def test_a_new_map_row_with_validity_may_keep_a_former_name(city_engine, registry, tmp_path):
    _, _, wkt = stored(city_engine, "Phường Cửa Nam", new=True)
    path = area_csv(tmp_path / "kept.csv", [
        f'T-KEPT,Phường Hàng Trống,ward,,2030-01-01,,"{wkt}"'])
    try:
        summary = load_vector(city_engine, registry, "admin_areas", path, extent=EXTENT)
        assert summary.loaded == 1
    finally:
        with city_engine.begin() as c:
            c.execute(text("DELETE FROM admin_areas WHERE external_id = 'T-KEPT'"))


# --- the layer file ----------------------------------------------------------------------

@pytest.mark.parametrize("extra, words", [
    ("validity: {from: valid_from, to: ends}\n", "'ends' is not one of the fields"),
    ("validity: {from: valid_from, to: valid_to}\nhistory: true\n", "no history"),
    ("validity: {from: name, to: valid_to}\n", "both be dates"),
])
def test_the_registry_checks_validity(tmp_path, extra, words):
    path = tmp_path / "areas.yaml"
    path.write_text("title: Areas\ngeometry: MultiPolygon\n" + extra + """fields:
  name: {type: string}
  valid_from: {type: date}
  valid_to: {type: date}
""", encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_layer(path)
    assert words in str(err.value) and str(path) in str(err.value)
