"""The city is a profile: config/city.yaml (Hà Nội), config/cities/da-nang.yaml, and a
synthetic profile on Tokyo's clock to prove the zone is honoured, not assumed.

Đà Nẵng's data is loaded into a fresh database by the ordinary loaders and served over
HTTP by the real app; Hà Nội data is refused there as out of extent. Nothing is mocked.
"""

from __future__ import annotations

import ast
import math
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psycopg
import pytest
import yaml
from click.testing import CliRunner
from pyproj import Transformer
from sqlalchemy import text

from tests.conftest import TEST_DB, _free_port, fresh_database, served
from tests.files import write_csv
from twin.analysis.aqi import station_aqi
from twin.city import DEFAULT_PROFILE, CityProfileError, TransverseMercator, load_city
from twin.config import REPO_ROOT, Settings
from twin.db.engine import make_engine
from twin.db.schema import upgrade
from twin.ingest.dispatch import load_any
from twin.ingest.errors import LoadError
from twin.ingest.observations import parse_time
from twin.ingest.policy import Window
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

DA_NANG = REPO_ROOT / "config" / "cities" / "da-nang.yaml"
AGENCY = "Sở Tài nguyên và Môi trường Đà Nẵng"
DN_STATION = ("DN-AQ-01", 108.2208, 16.0678)
HANOI_STATION = ("HN-AQ-01", 105.8542, 21.0285)   # Hoàn Kiếm
# 00:30 local on 21 October in UTC+7: 17:30 UTC on the 20th.
LOCAL_TEXT, INSTANT = "2026-10-21 00:30:00", datetime(2026, 10, 20, 17, 30, tzinfo=UTC)
DN_DAY = datetime(2026, 10, 20, 17, tzinfo=UTC)      # midnight of 21 October, UTC+7
TOKYO_DAY = datetime(2026, 10, 20, 15, tzinfo=UTC)   # midnight of 21 October, UTC+9
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


# --- (1) the profiles load, and a broken one says which file and field -------------------

def test_both_profiles_load():
    hanoi, danang = load_city(DEFAULT_PROFILE), load_city(DA_NANG)
    assert (hanoi.name, danang.name) == ("Hà Nội", "Đà Nẵng")
    assert hanoi.timezone == danang.timezone == "Asia/Ho_Chi_Minh"
    assert (hanoi.local_epsg, hanoi.metric_epsg) == (5897, 3405)
    assert (danang.local_epsg, danang.metric_epsg) == (5899, 3406)
    assert hanoi.offered_epsg == (4756, 3405, 5897) and danang.offered_epsg == (4756, 3406, 5899)
    assert hanoi.plausible_extent.city == "Hà Nội"
    gauge = hanoi.gauges[0]
    assert gauge.alarm_levels_m == (9.5, 10.5, 11.5) and hanoi.gauge(gauge.code) is gauge
    assert hanoi.admin_levels == ["province", "commune"]
    x0, y0, x1, y1 = danang.extent.plausible
    assert x0 < DN_STATION[1] < x1 and y0 < DN_STATION[2] < y1
    assert not (x0 < HANOI_STATION[1] < x1 and y0 < HANOI_STATION[2] < y1)


def test_a_zone_without_epsg_code_is_built_from_its_parameters():
    """TM-3 107°45' from parameters on VN-2000 projects exactly as EPSG:5899, with PROJ's
    own VN-2000 -> WGS 84 transformation (EPSG:6960) between them and CRS84."""
    crs = TransverseMercator(central_meridian=107.75).crs()
    ours = Transformer.from_crs("OGC:CRS84", crs, always_xy=True).transform(108.2, 16.05)
    epsg = Transformer.from_crs("OGC:CRS84", "EPSG:5899", always_xy=True).transform(108.2, 16.05)
    assert ours == pytest.approx(epsg, abs=1e-6)
    hanoi = Transformer.from_crs("OGC:CRS84", "EPSG:5897", always_xy=True).transform(108.2, 16.05)
    assert abs(ours[0] - hanoi[0]) > 1000   # a different zone, not a different name


def _variant(tmp_path: Path, **changes) -> Path:
    doc = yaml.safe_load(DA_NANG.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node, *path, last = [doc, *dotted.split("__")]
        for key in path:
            node = node[key]
        node[last] = value
    out = tmp_path / f"profile-{uuid.uuid4().hex[:6]}.yaml"
    out.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return out


@pytest.mark.parametrize("changes,words", [
    ({"timezone": "Europe/Paris"}, "daylight saving"),
    ({"timezone": "Asia/Kolkata"}, "part-hour"),
    ({"timezone": "Mars/Olympus"}, "not an IANA time zone"),
    ({"timezone": "Asia/Ho_Chi_Minh'; DROP TABLE x; --"}, "timezone"),
    ({"view__center": [105.85, 21.03]}, "view.center must lie inside view.bounds"),
    ({"extent__plausible": [109.0, 14.7, 107.0, 16.45]}, "extent.plausible"),
    ({"crs__local": "EPSG:999999"}, "crs.local"),
    ({"crs__local": {"central_meridian": 107.75, "k": 1}}, "crs.local"),
    ({"gauges": [{"code": "G", "name": "g", "alarm_levels_m": [3, 2, 1]}]}, "must rise"),
    ({"aqi_scale": "eu"}, "aqi_scale"),
])
def test_a_broken_profile_names_file_and_field(tmp_path, changes, words):
    path = _variant(tmp_path, **changes)
    with pytest.raises(CityProfileError) as err:
        load_city(path)
    assert str(path) in str(err.value) and words in str(err.value)


def test_a_missing_profile_is_refused_by_the_settings(tmp_path):
    with pytest.raises(ValueError, match="cannot read the city profile"):
        Settings(city_profile=tmp_path / "nowhere.yaml", _env_file=None)


# --- (2) Đà Nẵng: data there loads and serves, Hà Nội data is refused --------------------

@pytest.fixture(scope="module")
def danang(settings, registry, tmp_path_factory):
    """A fresh database for Đà Nẵng, its settings (the profile read by the settings, as
    TWIN_CITY_PROFILE would), a station loaded by the ordinary loader and a day of
    pm25 readings stamped in local time without an offset."""
    city = Settings(database_url=None, layers_dir=REPO_ROOT / "layers", city_profile=DA_NANG,
                    _env_file=None)
    url, drop = fresh_database(settings, f"{TEST_DB}_danang")
    engine = make_engine(url, pool_size=2)
    upgrade(engine, registry)
    folder = tmp_path_factory.mktemp("danang")
    code, lon, lat = DN_STATION
    write_csv(folder / "stations.csv", ["code", "name", "kind", "agency", "properties",
                                        "lon", "lat"],
              [[code, "Trạm Hải Châu", "air", AGENCY, "pm25", lon, lat]])
    load_any(engine, registry, city, folder / "stations.csv", "sensor_stations")
    start = datetime(2026, 10, 20, 0, 30)   # local, naive: 72 hours over 20-22 October
    rows = [[code, (start + timedelta(hours=h)).isoformat(sep=" "), "pm25",
             20.0 + 10 * math.sin(h / 4), "µg/m³"] for h in range(72)]
    write_csv(folder / "readings.csv", ["station_code", "observed_at", "property", "value",
                                        "unit"], rows)
    load_any(engine, registry, city, folder / "readings.csv", "sensor_readings")
    yield {"settings": city, "url": url, "engine": engine, "folder": folder}
    engine.dispose()
    drop()


@pytest.fixture(scope="module")
def danang_http(danang, tmp_path_factory):
    from twin.server.app import create_app

    port = _free_port()
    app_settings = danang["settings"].model_copy(update={
        "port": port, "public_url": None, "data_dir": tmp_path_factory.mktemp("served-dn")})
    key, _ = create_key(danang["engine"], AGENCY, "environment")
    with served(create_app(app_settings, danang["url"]), port) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        client.headers["X-API-Key"] = key  # reads stay public; the key is for writes
        yield client


def test_hanoi_data_is_refused_with_the_city_named(danang, registry):
    code, lon, lat = HANOI_STATION
    path = write_csv(danang["folder"] / "hanoi.csv", ["code", "name", "kind", "lon", "lat"],
                     [[code, "Trạm Hoàn Kiếm", "air", lon, lat]])
    with pytest.raises(LoadError) as err:
        load_any(danang["engine"], registry, danang["settings"], path, "sensor_stations")
    assert "plausible extent of Đà Nẵng" in str(err.value)
    assert len(err.value.problems) == 1 and "lon 105.85420, lat 21.02850" in err.value.problems[0]
    with danang["engine"].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sensor_stations")).scalar() == 1


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def test_danang_serves_items_and_tiles(danang_http):
    items = danang_http.get("/collections/sensor_stations/items").json()
    assert [f["id"] for f in items["features"]] == [DN_STATION[0]]
    x, y = _tile(DN_STATION[1], DN_STATION[2], 14)
    tile = danang_http.get(f"/collections/sensor_stations/tiles/WebMercatorQuad/14/{y}/{x}")
    assert tile.status_code == 200 and len(tile.content) > 0
    assert DN_STATION[0].encode() in tile.content   # the feature id is in the MVT


def test_danang_offers_its_own_zone_not_hanois(danang_http):
    local = danang_http.get("/collections/sensor_stations/items", params={"crs": "EPSG:5899"})
    assert local.status_code == 200
    assert local.headers["Content-Crs"] == f"<{EPSG.format(5899)}>"
    expected = Transformer.from_crs("OGC:CRS84", "EPSG:5899", always_xy=True).transform(
        *DN_STATION[1:])
    assert local.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(
        expected, abs=0.01)
    hanoi = danang_http.get("/collections/sensor_stations/items", params={"crs": "EPSG:5897"})
    assert hanoi.status_code == 400
    body = hanoi.json()
    assert body["code"] == "InvalidParameterValue" and "not offered" in body["description"]
    crs = danang_http.get("/collections/sensor_stations").json()["crs"]
    assert EPSG.format(5899) in crs and EPSG.format(3406) in crs
    assert EPSG.format(5897) not in crs and EPSG.format(3405) not in crs


def test_an_edit_in_hanoi_is_a_400_naming_the_city(danang_http):
    feature = {"type": "Feature", "id": "DN-T-1",
               "geometry": {"type": "Point", "coordinates": list(HANOI_STATION[1:])},
               "properties": {"code": "DN-T-1", "name": "Nhầm thành phố", "kind": "air",
                              "agency": AGENCY}}
    r = danang_http.post("/collections/sensor_stations/items", json=feature)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) >= {"code", "description"} and "Đà Nẵng" in body["description"]


def test_viewer_and_styles_follow_the_profile(danang_http):
    config = danang_http.get("/viewer/config.json").json()
    assert config["title"] == "twin — Đà Nẵng"
    assert config["time"]["timezone"] == "Asia/Ho_Chi_Minh"
    assert config["style"]["center"] == [108.2233, 16.072]
    west, south, east, north = config["bbox"]
    assert 107 <= west <= east <= 109 and 14.7 <= south <= north <= 16.45
    style = danang_http.get("/styles", params={"f": "mapbox"}).json()
    assert all(s["bounds"] == [107.0, 14.7, 109.0, 16.45] for s in style["sources"].values())


# --- (3) times are local to the city --------------------------------------------------

def _day_bucket(url: str, when: datetime) -> datetime:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(
            "SELECT bucket FROM reading_rollups WHERE grain = 'day' AND property = 'pm25' "
            "AND bucket <= %s ORDER BY bucket DESC LIMIT 1", (when,)).fetchone()[0]


def _aqi_days(url: str) -> list[datetime]:
    with psycopg.connect(libpq_url(url)) as conn:
        return [r[0] for r in conn.execute(
            "SELECT observed_at FROM station_aqi WHERE scale = 'vn' AND period = 'day' "
            "ORDER BY 1").fetchall()]


def test_naive_times_and_local_days_are_the_citys(danang):
    with psycopg.connect(libpq_url(danang["url"])) as conn:
        stored = conn.execute("SELECT observed_at FROM sensor_readings ORDER BY 1").fetchall()
    assert INSTANT in [r[0] for r in stored]   # '2026-10-21 00:30' read as UTC+7
    assert _day_bucket(danang["url"], INSTANT) == DN_DAY
    assert DN_DAY in _aqi_days(danang["url"])


def test_a_posted_naive_time_is_local_time(danang, danang_http):
    r = danang_http.post("/readings", json=[{"station": DN_STATION[0], "property": "pm25",
                                             "time": "2026-10-23T00:30:00", "value": 12.5}])
    assert r.status_code == 201, r.text
    with psycopg.connect(libpq_url(danang["url"])) as conn:
        row = conn.execute("SELECT observed_at FROM sensor_readings WHERE value = 12.5"
                           ).fetchone()
    assert row[0] == datetime(2026, 10, 22, 17, 30, tzinfo=UTC)


def _cli(args: list[str], url: str, profile: Path, data_dir: Path):
    from twin.cli import main

    return CliRunner().invoke(main, args, env={"TWIN_DATABASE_URL": url,
                                               "TWIN_CITY_PROFILE": str(profile),
                                               "TWIN_DATA_DIR": str(data_dir)})


def test_another_zone_moves_the_days_and_the_report_dates(danang, tmp_path):
    """Tokyo's clock (UTC+9) on Đà Nẵng's data: ``twin rollups rebuild`` under that
    profile puts the same reading in the day that starts at 15:00 UTC, the AQI days
    follow, and a report's dates are that zone's days."""
    from twin.reports.data import daily_aqi
    from twin.reports.request import parse_request

    tokyo = _variant(tmp_path, timezone="Asia/Tokyo")
    url = danang["url"]
    try:
        done = _cli(["rollups", "rebuild"], url, tokyo, tmp_path)
        assert done.exit_code == 0, done.output
        assert _day_bucket(url, INSTANT) == TOKYO_DAY
        assert TOKYO_DAY in _aqi_days(url) and DN_DAY not in _aqi_days(url)
        request = parse_request({"area": "x", "from": "2026-10-21", "to": "2026-10-21"},
                                "Asia/Tokyo")
        assert request.begins == TOKYO_DAY and request.ends == TOKYO_DAY + timedelta(days=1)
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            sid = conn.execute("SELECT id FROM sensor_stations").fetchone()[0]
            rows = daily_aqi(conn, [sid], request.begins, request.ends, request.timezone)
        assert [r[1] for r in rows] == [date(2026, 10, 21)]
    finally:
        done = _cli(["rollups", "rebuild"], url, DA_NANG, tmp_path)
        assert done.exit_code == 0, done.output
    assert _day_bucket(url, INSTANT) == DN_DAY


def test_pure_time_functions_take_the_zone():
    # The AQI's local days are the given zone's, whatever the input's stamps.
    index = pd.date_range("2026-10-20 12:00", periods=36, freq="h", tz="UTC")
    frame = pd.DataFrame({"pm25": np.full(36, 20.0)}, index=index)
    days = station_aqi(frame, "vn", "day", tz="Asia/Tokyo").index
    assert list(days) == [pd.Timestamp("2026-10-21", tz="Asia/Tokyo")]
    # Streams read naive times in their window's zone.
    now = datetime(2026, 10, 22, tzinfo=UTC)
    assert parse_time("2026-10-21T00:30", now, window=Window(tz="Asia/Tokyo")) == \
        datetime(2026, 10, 20, 15, 30, tzinfo=UTC)
    assert parse_time("2026-10-21T00:30", now, window=Window(tz="Asia/Ho_Chi_Minh")) == INSTANT
    # Flood runs: a date is the zone's local day.
    from twin.flood.request import EventRequest, parse

    event = parse(EventRequest, {"start": "2026-10-21", "end": "2026-10-21"}, "Asia/Tokyo")
    assert event.start == TOKYO_DAY and event.name == "event-20261021"


# --- (4) no module names the city ---------------------------------------------------------

def _docstrings(tree: ast.AST) -> set[int]:
    """Docstrings (module, class, function, attribute): prose, not code."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for stmt in node.body:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
                        and isinstance(stmt.value.value, str):
                    out.add(id(stmt.value))
    return out


def test_no_module_names_the_city():
    """The zone, Hà Nội's TM-3 code and its extent's numbers appear in no code string or
    number under twin/ (the synthetic demo city, twin/demo/, is Hà Nội by design)."""
    hanoi = load_city(DEFAULT_PROFILE)
    numbers = {round(v, 6) for v in (*hanoi.extent.plausible, *hanoi.extent.municipality,
                                     *hanoi.view.center, *hanoi.view.bounds)}
    words = re.compile(r"Asia/Ho_Chi_Minh|5897")
    found = []
    root = REPO_ROOT / "twin"
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).parts[0] == "demo":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        prose = _docstrings(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or id(node) in prose:
                continue
            value = node.value
            named = isinstance(value, str) and words.search(value) is not None
            counted = isinstance(value, int | float) and not isinstance(value, bool) \
                and round(float(value), 6) in numbers
            if named or counted:
                found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {value!r:.60}")
    assert found == []
