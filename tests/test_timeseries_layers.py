"""Time-series overlays served as layers: the AQI of each station per hour and day, and the
latest reading per station and property. Both are views over tables the ingest keeps up
to date; they are read-only and filter by ``datetime`` in Features and Tiles. Checked
against SQL on the demo city."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from twin.ingest.errors import LoadError

MVT = "application/vnd.mapbox-vector-tile"


def rows(engine, query: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return list(conn.execute(text(query), params))


@pytest.fixture(scope="module")
def busy_hour(city_engine):
    """The UTC hour with the most VN hourly AQI values in the demo city."""
    (hour,), = rows(city_engine, "SELECT observed_at FROM station_aqi WHERE scale = 'vn' AND "
                                 "period = 'hour' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
    return hour


def test_station_aqi_at_an_hour_matches_the_table(http, city_engine, busy_hour):
    when = busy_hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = http.get("/collections/station_aqi/items", params={
        "datetime": when, "scale": "vn", "period": "hour", "limit": 1000})
    assert resp.status_code == 200, resp.text
    got = {f["properties"]["station_code"]: f["properties"] for f in resp.json()["features"]}
    want = {code: (aqi, pollutant, colour) for code, aqi, pollutant, colour in rows(
        city_engine, "SELECT s.code, a.aqi, a.pollutant, a.colour FROM station_aqi a JOIN "
        "sensor_stations s ON s.id = a.station_id WHERE a.scale = 'vn' AND a.period = 'hour' "
        "AND a.observed_at = :t", t=busy_hour)}
    assert want and set(got) == set(want)
    for code, (aqi, pollutant, colour) in want.items():
        p = got[code]
        assert (p["aqi"], p["pollutant"], p["colour"]) == (aqi, pollutant, colour)
        assert p["scale"] == "vn" and p["period"] == "hour"
        assert p["observed_at"].startswith(busy_hour.strftime("%Y-%m-%dT%H:%M"))


def test_station_aqi_series_of_one_station(http, city_engine):
    (code, n), = rows(city_engine, "SELECT s.code, count(*) FROM station_aqi a JOIN "
                                   "sensor_stations s ON s.id = a.station_id WHERE a.scale = "
                                   "'us' AND a.period = 'hour' GROUP BY 1 ORDER BY 2 DESC LIMIT 1")
    resp = http.get("/collections/station_aqi/items", params={
        "station_code": code, "scale": "us", "period": "hour", "sortby": "observed_at",
        "limit": 10000})
    assert resp.status_code == 200, resp.text
    times = [f["properties"]["observed_at"] for f in resp.json()["features"]]
    assert len(times) == n and times == sorted(times)


def test_station_aqi_collection_has_a_temporal_extent(http, city_engine):
    """The extent of a derived layer follows its data (read again at most every
    DERIVED_EXTENT_TTL_S seconds, as readings stream in): it covers the AQI rows."""
    doc = http.get("/collections/station_aqi", params={"f": "json"}).json()
    begin, end = doc["extent"]["temporal"]["interval"][0]
    (lo, hi), = rows(city_engine, "SELECT min(observed_at), max(observed_at) FROM station_aqi")
    assert begin[:13] <= lo.strftime("%Y-%m-%dT%H") and end[:13] >= hi.strftime("%Y-%m-%dT%H")


def test_latest_readings_match_the_newest_raw_reading(http, city_engine):
    resp = http.get("/collections/latest_readings/items", params={
        "property": "water_level_m", "limit": 1000})
    assert resp.status_code == 200, resp.text
    got = {f["properties"]["station_code"]: f["properties"] for f in resp.json()["features"]}
    want = rows(city_engine, """
        SELECT DISTINCT ON (s.code) s.code, r.value, r.observed_at FROM sensor_readings r
        JOIN sensor_stations s ON s.id = r.station_id
        WHERE r.property = 'water_level_m' AND r.value IS NOT NULL
          AND r.quality IN ('good', 'suspect')
        ORDER BY s.code, r.observed_at DESC""")
    assert want and set(got) == {code for code, _, _ in want}
    for code, value, when in want:
        assert math.isclose(got[code]["value"], value)
        assert got[code]["observed_at"].startswith(when.strftime("%Y-%m-%dT%H:%M"))
    feature = resp.json()["features"][0]
    assert feature["id"] == f"{feature['properties']['station_code']}:water_level_m"


def test_station_aqi_tile_filtered_by_datetime(http, city_engine, busy_hour):
    (lon, lat), = rows(city_engine, "SELECT ST_X(geom), ST_Y(geom) FROM sensor_stations "
                                    "WHERE kind = 'air' ORDER BY code LIMIT 1")
    z = 10
    x = int((lon + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2 ** z)
    when = busy_hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = http.get(f"/collections/station_aqi/tiles/WebMercatorQuad/{z}/{y}/{x}",
                    params={"datetime": when})
    assert resp.status_code == 200 and resp.headers["content-type"] == MVT
    features = mapbox_vector_tile.decode(resp.content)["station_aqi"]["features"]
    assert features
    assert {f["properties"]["observed_at"][:16] for f in features} == {
        busy_hour.strftime("%Y-%m-%dT%H:%M")}


@pytest.mark.parametrize("collection", ["station_aqi", "latest_readings"])
def test_derived_layers_are_read_only(http, collection):
    resp = http.post(f"/collections/{collection}/items", json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [105.85, 21.03]},
        "properties": {}}, headers={"Content-Type": "application/geo+json"})
    assert resp.status_code in (401, 403, 405), resp.text
    assert "code" in resp.json()


def test_a_view_layer_cannot_be_loaded(engine, registry, tmp_path):
    from twin.ingest.vector import load_vector

    path = tmp_path / "x.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(LoadError, match="view"):
        load_vector(engine, registry, "station_aqi", path, extent=(105, 20, 107, 22))
