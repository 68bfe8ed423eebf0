"""OGC API – EDR over the readings, over real HTTP against the small demo city (2 days of
readings), every query checked value for value against SQL on the same database."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import yaml
from sqlalchemy import text

from tests.conftest import _free_port, served
from twin.feature_ids import unsafe_id
from twin.server.pygeoapi.config import DEFAULT_SERVER_FILE

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

BASE = "/collections/sensor_readings"
UTC = UTC
OBSERVED = {"pm25", "pm10", "no2", "o3", "co", "so2", "temperature", "humidity",
            "water_level_m", "rain_mm"}
UCUM = {"pm25": "ug/m3", "temperature": "Cel", "humidity": "%", "water_level_m": "m",
        "rain_mm": "mm"}


# --- SQL truth ---------------------------------------------------------------------

def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


READINGS = ("SELECT station_id, observed_at, property, value, unit, quality "
            "FROM sensor_readings")
AQI = ("SELECT station_id, observed_at, 'aqi_' || scale, aqi::float8, 'AQI', 'good' "
       "FROM station_aqi WHERE period = 'hour'")


def sql_rows(engine, codes, names, t0=None, t1=None) -> list[tuple]:
    """(code, observed_at, property, value, unit, quality), ordered as the CSV is; the
    hourly AQI rows too when station_aqi exists."""
    with engine.connect() as conn:
        aqi = conn.execute(text("SELECT to_regclass('station_aqi') IS NOT NULL")).scalar()
        source = f"({READINGS} UNION ALL {AQI})" if aqi else f"({READINGS})"
        return [tuple(r) for r in conn.execute(text(
            "SELECT s.code, r.observed_at, r.property, r.value, r.unit, r.quality "
            f"FROM {source} AS r (station_id, observed_at, property, value, unit, quality) "
            "JOIN sensor_stations s ON s.id = r.station_id "
            "WHERE s.code = ANY(:codes) AND r.property = ANY(:names) "
            "AND (CAST(:t0 AS timestamptz) IS NULL OR r.observed_at >= :t0) "
            "AND (CAST(:t1 AS timestamptz) IS NULL OR r.observed_at <= :t1) "
            "ORDER BY s.code, r.observed_at, r.property"),
            {"codes": list(codes), "names": list(names), "t0": t0, "t1": t1})]


def usable(value, quality):
    ok = quality in ("good", "suspect") and value is not None and math.isfinite(value)
    return value if ok else None


def expected_coverages(rows) -> dict[str, dict]:
    """code -> {"t": [...], "ranges": {name: [values along t]}} as CoverageJSON has it."""
    out: dict[str, dict] = {}
    for code, moment, prop, value, _unit, quality in rows:
        cov = out.setdefault(code, {"cells": {}, "props": set()})
        cov["cells"][(moment, prop)] = usable(value, quality)
        cov["props"].add(prop)
    for code, cov in out.items():
        axis = sorted({m for m, _ in cov["cells"]})
        out[code] = {"t": axis, "ranges": {p: [cov["cells"].get((m, p)) for m in axis]
                                           for p in cov["props"]}}
    return out


def assert_matches(doc: dict, rows) -> None:
    """A CoverageCollection equals the SQL rows, value for value."""
    expected = expected_coverages(rows)
    got = {c["id"]: c for c in doc["coverages"]}
    assert set(got) == set(expected)
    for code, want in expected.items():
        cov = got[code]
        axis = [stamp(t) for t in cov["domain"]["axes"]["t"]["values"]]
        assert axis == want["t"], code
        assert set(cov["ranges"]) == set(want["ranges"]), code
        for name, values in want["ranges"].items():
            rng = cov["ranges"][name]
            assert rng["shape"] == [len(axis)] and rng["axisNames"] == ["t"]
            assert rng["values"] == values, (code, name)


def station(engine, code: str) -> tuple[float, float]:
    with engine.connect() as conn:
        return tuple(conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM sensor_stations "
                                       "WHERE code = :c"), {"c": code}).one())


def codes_where(engine, condition: str, params: dict) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(
            f"SELECT code FROM sensor_stations WHERE {condition}"), params)}


@pytest.fixture(scope="module")
def span(city_engine) -> tuple[datetime, datetime]:
    with city_engine.connect() as conn:
        return tuple(conn.execute(text(
            "SELECT min(observed_at), max(observed_at) FROM sensor_readings")).one())


def edr(http, query: str, **params) -> httpx.Response:
    return http.get(f"{BASE}/{query}", params=params)


def ok_json(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


# --- the collection ------------------------------------------------------------------

def test_collection_describes_parameters_and_extent(http, city_engine, span):
    doc = ok_json(http.get(BASE))
    params = doc["parameter_names"]
    assert set(params) >= OBSERVED
    for name, code in UCUM.items():
        assert params[name]["unit"]["symbol"]["value"] == code
        assert params[name]["observedProperty"]["label"]["en"]
    assert {"position", "radius", "area", "cube", "locations"} <= set(doc["data_queries"])
    begin, end = doc["extent"]["temporal"]["interval"][0]
    assert (stamp(begin), stamp(end)) == span
    with city_engine.connect() as conn:
        box = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                "(SELECT ST_Extent(geom) e FROM sensor_stations) s")).one()
    assert doc["extent"]["spatial"]["bbox"][0] == pytest.approx(list(box))


def test_aqi_parameters_follow_the_table(http, city_engine):
    with city_engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('station_aqi') IS NOT NULL")).scalar()
    params = ok_json(http.get(BASE))["parameter_names"]
    assert ({"aqi_vn", "aqi_us"} <= set(params)) == exists


def test_openapi_lists_the_edr_paths(http):
    paths = http.get("/openapi").json()["paths"]
    for path in ("position", "radius", "area", "cube", "locations", "locations/{locId}"):
        assert "get" in paths[f"{BASE}/{path}"], path


# --- query types, value for value --------------------------------------------------

def test_position_is_the_nearest_station(http, city_engine, span):
    lon, lat = station(city_engine, "AQ-BD-01")
    t0, t1 = span[0] + timedelta(hours=3), span[0] + timedelta(hours=27)
    doc = ok_json(edr(http, "position", coords=f"POINT({lon + 0.001} {lat})",
                      datetime=f"{iso(t0)}/{iso(t1)}", **{"parameter-name": "pm25"}))
    assert doc["type"] == "CoverageCollection" and doc["domainType"] == "PointSeries"
    assert [c["id"] for c in doc["coverages"]] == ["AQ-BD-01"]
    assert_matches(doc, sql_rows(city_engine, ["AQ-BD-01"], ["pm25"], t0, t1))
    axes = doc["coverages"][0]["domain"]["axes"]
    assert axes["x"]["values"] == [pytest.approx(lon)] and axes["y"]["values"] == \
        [pytest.approx(lat)]


def test_position_far_from_every_station_is_empty(http):
    doc = ok_json(edr(http, "position", coords="POINT(105.0 20.0)"))
    assert doc["coverages"] == []


def test_radius_selects_stations_within_the_distance(http, city_engine, span):
    lon, lat = station(city_engine, "AQ-BD-01")
    t0 = span[0] + timedelta(hours=10)
    t1 = t0 + timedelta(hours=2)
    want = codes_where(city_engine, "ST_DWithin(geom::geography, ST_MakePoint(:x, :y)"
                       "::geography, 3000)", {"x": lon, "y": lat})
    assert len(want) >= 2
    names = ["pm25", "water_level_m", "rain_mm"]
    doc = ok_json(edr(http, "radius", coords=f"POINT({lon} {lat})", within="3",
                      **{"within-units": "km", "datetime": f"{iso(t0)}/{iso(t1)}",
                         "parameter-name": ",".join(names)}))
    assert_matches(doc, sql_rows(city_engine, want, names, t0, t1))
    metres = ok_json(edr(http, "radius", coords=f"POINT({lon} {lat})", within="3000",
                         **{"within-units": "m", "datetime": f"{iso(t0)}/{iso(t1)}",
                            "parameter-name": ",".join(names)}))
    assert metres == doc


def test_area_selects_stations_in_the_polygon(http, city_engine, span):
    polygon = "POLYGON((105.80 21.00,105.86 21.00,105.86 21.06,105.80 21.06,105.80 21.00))"
    t0 = span[0] + timedelta(hours=20)
    want = codes_where(city_engine, "ST_Intersects(geom, ST_GeomFromText(:w, 4326))",
                       {"w": polygon})
    assert want
    doc = ok_json(edr(http, "area", coords=polygon, datetime=f"{iso(t0)}/{iso(t0)}"))
    every = ok_json(http.get(BASE))["parameter_names"]    # AQI too, if the table exists
    assert_matches(doc, sql_rows(city_engine, want, every, t0, t0))


def test_cube_selects_stations_in_the_bbox(http, city_engine, span):
    t0 = span[0] + timedelta(hours=30)
    t1 = t0 + timedelta(minutes=30)
    bbox = (105.82, 21.00, 105.88, 21.05)
    want = codes_where(city_engine, "geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)",
                       dict(zip("abcd", bbox, strict=False)))
    doc = ok_json(edr(http, "cube", bbox=",".join(map(str, bbox)),
                      datetime=f"{iso(t0)}/{iso(t1)}", z="0",
                      **{"parameter-name": "temperature,humidity"}))
    assert_matches(doc, sql_rows(city_engine, want, ["temperature", "humidity"], t0, t1))


def test_locations_lists_the_stations(http, city_engine):
    response = edr(http, "locations")
    assert response.headers["content-type"].startswith("application/geo+json")
    doc = ok_json(response)
    assert {f["id"] for f in doc["features"]} == codes_where(city_engine, "TRUE", {})
    air = next(f for f in doc["features"] if f["id"] == "AQ-BD-01")
    assert {"pm25", "pm10"} <= set(air["properties"]["parameter-name"])
    assert air["links"][0]["href"].endswith(f"{BASE}/locations/AQ-BD-01")


def test_location_series_with_inclusive_datetime_bounds(http, city_engine, span):
    t0, t1 = span[0] + timedelta(hours=1), span[0] + timedelta(hours=5)
    names = ["pm25", "pm10", "no2"]
    doc = ok_json(edr(http, "locations/AQ-BD-01", datetime=f"{iso(t0)}/{iso(t1)}",
                      **{"parameter-name": ",".join(names)}))
    rows = sql_rows(city_engine, ["AQ-BD-01"], names, t0, t1)
    assert_matches(doc, rows)
    axis = doc["coverages"][0]["domain"]["axes"]["t"]["values"]
    assert (stamp(axis[0]), stamp(axis[-1])) == (t0, t1)   # both ends included


def test_datetime_instant_and_open_intervals(http, city_engine, span):
    t = span[0] + timedelta(hours=12)
    instant = ok_json(edr(http, "locations/WL-TX-01", datetime=iso(t)))
    assert_matches(instant, sql_rows(city_engine, ["WL-TX-01"], OBSERVED, t, t))
    before = ok_json(edr(http, "locations/WL-TX-01", datetime=f"../{iso(t)}"))
    assert_matches(before, sql_rows(city_engine, ["WL-TX-01"], OBSERVED, None, t))
    after = ok_json(edr(http, "locations/WL-TX-01", datetime=f"{iso(t)}/.."))
    assert_matches(after, sql_rows(city_engine, ["WL-TX-01"], OBSERVED, t, None))


def test_missing_readings_are_null_in_coverages_and_flagged_in_csv(http, city_engine):
    with city_engine.connect() as conn:
        row = conn.execute(text(
            "SELECT s.code, r.property, r.observed_at FROM sensor_readings r "
            "JOIN sensor_stations s ON s.id = r.station_id WHERE r.quality = 'missing' "
            "ORDER BY 1, 2, 3 LIMIT 1")).one_or_none()
    if row is None:
        pytest.skip("the demo city has no missing readings")
    code, prop, moment = row
    window = f"{iso(moment - timedelta(hours=1))}/{iso(moment + timedelta(hours=1))}"
    doc = ok_json(edr(http, f"locations/{code}", datetime=window,
                      **{"parameter-name": prop}))
    cov = doc["coverages"][0]
    at = [stamp(t) for t in cov["domain"]["axes"]["t"]["values"]].index(moment)
    assert cov["ranges"][prop]["values"][at] is None
    lines = list(csv.DictReader(io.StringIO(edr(http, f"locations/{code}", datetime=window,
                                                f="csv", **{"parameter-name": prop}).text)))
    flagged = [r for r in lines if stamp(r["observed_at"]) == moment]
    assert flagged[0]["quality"] == "missing" and flagged[0]["value"] == ""


# --- output formats --------------------------------------------------------------------

def test_csv_rows_equal_sql(http, city_engine, span):
    t0, t1 = span[0], span[0] + timedelta(hours=6)
    names = ["pm25", "o3", "rain_mm"]
    response = edr(http, "cube", bbox="105.7,20.9,106.0,21.2", f="csv",
                   datetime=f"{iso(t0)}/{iso(t1)}", **{"parameter-name": ",".join(names)})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(response.text)))
    assert lines[0] == ["station_code", "observed_at", "property", "value", "unit",
                        "quality"]
    got = [(c, stamp(t), p, float(v) if v else None, u, q) for c, t, p, v, u, q in lines[1:]]
    assert got == sql_rows(city_engine, codes_where(city_engine, "TRUE", {}), names, t0, t1)


def test_geojson_has_a_feature_per_station_and_time(http, city_engine, span):
    t0, t1 = span[0] + timedelta(hours=2), span[0] + timedelta(hours=3)
    names = ["pm25", "humidity"]
    response = edr(http, "locations/AQ-BD-01", f="geojson", datetime=f"{iso(t0)}/{iso(t1)}",
                   **{"parameter-name": ",".join(names)})
    assert response.headers["content-type"].startswith("application/geo+json")
    doc = ok_json(response)
    assert doc["type"] == "FeatureCollection"
    assert [p["id"] for p in doc["parameters"]] == names
    want = expected_coverages(sql_rows(city_engine, ["AQ-BD-01"], names, t0, t1))["AQ-BD-01"]
    assert [stamp(f["properties"]["datetime"]) for f in doc["features"]] == want["t"]
    for i, feature in enumerate(doc["features"]):
        assert feature["geometry"]["type"] == "Point"
        assert feature["properties"]["station"] == "AQ-BD-01"
        # path-safe (clients build URLs from ids as they are), one per station and hour
        assert not unsafe_id(feature["id"])
        assert feature["id"] == "AQ-BD-01~" + iso(want["t"][i])
        for name in names:
            assert feature["properties"][name] == want["ranges"][name][i]


def test_formats_by_accept_header_and_html(http):
    cov = http.get(f"{BASE}/locations/RG-BD-01", params={"datetime": "2026-10-01"},
                   headers={"Accept": "application/vnd.cov+json"})
    assert cov.headers["content-type"].startswith("application/vnd.cov+json")
    page = http.get(f"{BASE}/locations/RG-BD-01", params={"datetime": "2026-10-01"},
                    headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


# --- refusals --------------------------------------------------------------------------

BAD = [
    ("position", {"coords": "POINT(105.8"}),
    ("position", {"coords": "LINESTRING(105.8 21, 105.9 21.1)"}),
    ("position", {}),
    ("area", {"coords": "POINT(105.8 21)"}),
    ("area", {"coords": "POLYGON((105.8 21, 105.9 21.1, 105.9 21, 105.8 21.1, 105.8 21))"}),
    ("position", {"coords": "POINT(105.8 21)", "parameter-name": "pm25,pm26"}),
    ("position", {"coords": "POINT(105.8 21)", "datetime": "yesterday"}),
    ("position", {"coords": "POINT(105.8 21)", "datetime": "2026-10-02/2026-10-01"}),
    ("position", {"coords": "POINT(105.8 21)", "datetime": "2031-01-01"}),
    ("radius", {"coords": "POINT(105.8 21)", "within": "2"}),
    ("radius", {"coords": "POINT(105.8 21)", "within": "2", "within-units": "parsec"}),
    ("radius", {"coords": "POINT(105.8 21)", "within": "-1", "within-units": "km"}),
    ("radius", {"coords": "POINT(105.8 21)", "within": "lots", "within-units": "km"}),
    ("cube", {"bbox": "1,2,3"}),
    ("cube", {}),
    ("cube", {"bbox": "106,21,105,20"}),
    ("position", {"coords": "POINT(105.8 21)", "f": "xml"}),
    ("position", {"coords": "POINT(105.8 21)", "withn": "2"}),
]


@pytest.mark.parametrize("query,params", BAD, ids=[f"{q}-{'&'.join(p)}" for q, p in BAD])
def test_bad_requests_are_ogc_400s(http, query, params):
    response = edr(http, query, **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"code", "description"} and body["description"]


def test_unknown_parameter_is_named(http):
    body = edr(http, "position", coords="POINT(105.8 21)",
               **{"parameter-name": "pm25,pm26"}).json()
    assert "pm26" in body["description"]


def test_unknown_location_is_404(http):
    response = edr(http, "locations/NOPE-01")
    assert response.status_code == 404 and response.json()["code"] == "NotFound"


@pytest.fixture(scope="module")
def limited(settings, registry, city_url, tmp_path_factory):
    """A second server on the demo city whose config/server.yaml sets a small value
    limit (``edr.value_limit``)."""
    from twin.server.app import create_app

    server_file = tmp_path_factory.mktemp("edr") / "server.yaml"
    config = yaml.safe_load(DEFAULT_SERVER_FILE.read_text(encoding="utf-8"))
    config["edr"] = {"value_limit": 5000}
    server_file.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    port = _free_port()
    app = create_app(settings.model_copy(update={"port": port, "server_config": server_file,
                                                 "public_url": None}), city_url, registry)
    with served(app, port) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_requests_over_the_value_limit_are_refused(limited, span):
    big = limited.get(f"{BASE}/cube", params={"bbox": "105.7,20.9,106.0,21.2"})
    assert big.status_code == 400
    assert "narrow datetime" in big.json()["description"]
    small = limited.get(f"{BASE}/cube", params={
        "bbox": "105.7,20.9,106.0,21.2", "datetime": iso(span[0] + timedelta(hours=1))})
    assert small.status_code == 200, small.text


# --- AQI, when the table exists ----------------------------------------------------------

@pytest.fixture()
def aqi_rows(city_engine, span):
    """AQ-BD-01's hourly AQI rows; three of each scale are added when the table is empty
    for it (removed afterwards), so the comparison is never vacuous."""
    with city_engine.begin() as conn:
        if not conn.execute(text("SELECT to_regclass('station_aqi') IS NOT NULL")).scalar():
            pytest.skip("station_aqi does not exist (migration 0005 not applied)")
        sid = conn.execute(text("SELECT id FROM sensor_stations WHERE code = 'AQ-BD-01'"))\
            .scalar()
        have = conn.execute(text("SELECT count(*) FROM station_aqi WHERE station_id = :s "
                                 "AND period = 'hour'"), {"s": sid}).scalar()
        added = [] if have else [(scale, span[0] + timedelta(hours=h), 40 + h + len(scale))
                                 for scale in ("vn", "us") for h in range(3)]
        for scale, moment, aqi in added:
            conn.execute(text("INSERT INTO station_aqi (station_id, scale, period, "
                              "observed_at, aqi) VALUES (:s, :c, 'hour', :t, :a)"),
                         {"s": sid, "c": scale, "t": moment, "a": aqi})
    with city_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT 'AQ-BD-01', observed_at, 'aqi_' || scale, aqi::float8, 'AQI', 'good' "
            "FROM station_aqi WHERE station_id = :s AND period = 'hour' ORDER BY 2, 3"),
            {"s": sid}).all()
    yield [tuple(r) for r in rows]
    with city_engine.begin() as conn:
        for scale, moment, _ in added:
            conn.execute(text("DELETE FROM station_aqi WHERE station_id = :s AND scale = :c "
                              "AND period = 'hour' AND observed_at = :t"),
                         {"s": sid, "c": scale, "t": moment})


def test_aqi_series_equal_station_aqi(http, aqi_rows):
    assert aqi_rows
    doc = ok_json(edr(http, "locations/AQ-BD-01", **{"parameter-name": "aqi_vn,aqi_us"}))
    assert_matches(doc, aqi_rows)
    mixed = ok_json(edr(http, "locations/AQ-BD-01", **{"parameter-name": "aqi_vn,pm25"}))
    assert set(mixed["coverages"][0]["ranges"]) == {"aqi_vn", "pm25"}


def test_items_are_the_stations(http, city_engine):
    response = edr(http, "items")
    if response.status_code == 404 and "collection" in response.json()["description"]:
        pytest.skip("twin's features route answers /collections/sensor_readings/items "
                    "before the EDR route (it does not yet hand over to the items hook)")
    doc = ok_json(response)
    assert {f["id"] for f in doc["features"]} == codes_where(city_engine, "TRUE", {})
    one = ok_json(edr(http, "items/AQ-BD-01"))
    assert one["id"] == "AQ-BD-01" and one["geometry"]["type"] == "Point"
    assert edr(http, "items/NOPE-01").status_code == 404
