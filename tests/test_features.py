"""OGC API - Features (parts 1-3) over real HTTP against the demo city in PostGIS."""

from __future__ import annotations

import csv
import io
import json

import pyogrio
import pytest
from pyproj import Transformer
from sqlalchemy import text

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def sql_ids(engine, query: str, **params) -> set[str]:
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(text(query), params)}


def sql_scalar(engine, query: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(query), params).scalar()


def ids(body: dict) -> set[str]:
    return {f["id"] for f in body["features"]}


def all_pages(http, url: str, params: dict) -> list[str]:
    seen, body = [], http.get(url, params=params).json()
    while True:
        seen += [f["id"] for f in body["features"]]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return seen
        body = http.get(nxt[0]).json()


def test_conformance_lists_what_qgis_looks_for(http):
    classes = set(http.get("/conformance").json()["conformsTo"])
    for needed in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson",
                   "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/filter",
                   "ogcapi-features-3/1.0/conf/features-filter", "cql2/1.0/conf/cql2-text",
                   "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/cql2-json"):
        assert any(c.endswith(needed) for c in classes), needed


def test_following_next_returns_every_feature_once(http, city_engine):
    seen = all_pages(http, "/collections/road_segments/items", {"limit": 700})
    assert len(seen) == len(set(seen))
    assert len(seen) == sql_scalar(city_engine, "SELECT count(*) FROM road_segments")


def test_offset_paging_matches_cursor_paging(http):
    first = http.get("/collections/road_segments/items", params={"limit": 50}).json()
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    by_cursor = http.get(nxt).json()
    by_offset = http.get("/collections/road_segments/items",
                         params={"limit": 50, "offset": 50}).json()
    assert [f["id"] for f in by_cursor["features"]] == [f["id"] for f in by_offset["features"]]
    assert any(link["rel"] == "prev" for link in by_offset["links"])


def test_number_matched_is_exact(http, city_engine):
    body = http.get("/collections/bus_stops/items", params={"limit": 1}).json()
    assert body["numberMatched"] == sql_scalar(city_engine, "SELECT count(*) FROM bus_stops")
    assert body["numberReturned"] == 1


@pytest.mark.parametrize("srid", [3405, 5897, 3857])
def test_crs_round_trip_matches_pyproj(http, srid):
    base = http.get("/collections/bus_stops/items", params={"limit": 3}).json()
    proj = http.get("/collections/bus_stops/items",
                    params={"limit": 3, "crs": EPSG.format(srid)})
    assert proj.headers["content-crs"] == f"<{EPSG.format(srid)}>"
    to = Transformer.from_crs("OGC:CRS84", f"EPSG:{srid}", always_xy=True)
    for a, b in zip(base["features"], proj.json()["features"], strict=False):
        assert a["id"] == b["id"]
        x, y = to.transform(*a["geometry"]["coordinates"])
        assert b["geometry"]["coordinates"] == pytest.approx([x, y], abs=0.002)


def test_epsg_4326_is_latitude_first(http):
    base = http.get("/collections/bus_stops/items", params={"limit": 1}).json()
    flipped = http.get("/collections/bus_stops/items",
                       params={"limit": 1, "crs": EPSG.format(4326)}).json()
    lon, lat = base["features"][0]["geometry"]["coordinates"]
    assert flipped["features"][0]["geometry"]["coordinates"] == pytest.approx([lat, lon])


def test_bbox_in_another_crs(http, city_engine):
    box84 = (105.83, 21.01, 105.86, 21.04)
    to = Transformer.from_crs("OGC:CRS84", "EPSG:3405", always_xy=True)
    x0, y0 = to.transform(box84[0], box84[1])
    x1, y1 = to.transform(box84[2], box84[3])
    a = http.get("/collections/bus_stops/items", params={
        "limit": 1000, "bbox": ",".join(map(str, box84))}).json()
    b = http.get("/collections/bus_stops/items", params={
        "limit": 1000, "bbox": f"{x0},{y0},{x1},{y1}", "bbox-crs": EPSG.format(3405)}).json()
    expected = sql_ids(city_engine, "SELECT external_id FROM bus_stops WHERE ST_Intersects(geom, "
                       "ST_MakeEnvelope(105.83, 21.01, 105.86, 21.04, 4326))")
    assert ids(a) == expected and len(expected) > 0
    assert len(ids(a) ^ ids(b)) <= 0.05 * len(expected)  # a UTM box is not a lon/lat box


CQL_CASES = [
    ("road_class = 'primary' AND lanes >= 4", "road_class = 'primary' AND lanes >= 4"),
    ("name LIKE 'Phố%'", "name LIKE 'Phố%'"),
    ("road_class IN ('motorway', 'trunk')", "road_class IN ('motorway', 'trunk')"),
    ("condition BETWEEN 1 AND 2", "condition BETWEEN 1 AND 2"),
    ("NOT (oneway = true) AND speed_limit_kmh > 50", "NOT oneway AND speed_limit_kmh > 50"),
    ("last_inspected < DATE('2025-01-01')", "last_inspected < '2025-01-01'"),
    ("CASEI(road_class) = CASEI('PRIMARY')", "road_class = 'primary'"),
    ("S_INTERSECTS(geometry, POLYGON((105.84 21.02, 105.86 21.02, 105.86 21.04, 105.84 21.02)))",
     "ST_Intersects(geom, ST_GeomFromText('POLYGON((105.84 21.02, 105.86 21.02, 105.86 21.04, "
     "105.84 21.02))', 4326))"),
]


@pytest.mark.parametrize("cql,where", CQL_CASES)
def test_cql2_text_matches_sql(http, city_engine, cql, where):
    got = all_pages(http, "/collections/road_segments/items", {"filter": cql, "limit": 5000})
    expected = sql_ids(city_engine, f"SELECT external_id FROM road_segments WHERE {where}")
    assert set(got) == expected


def test_cql2_json_equals_text(http):
    doc = {"op": "and", "args": [{"op": "=", "args": [{"property": "road_class"}, "primary"]},
                                 {"op": ">=", "args": [{"property": "lanes"}, 4]}]}
    a = http.get("/collections/road_segments/items", params={
        "filter": json.dumps(doc), "filter-lang": "cql2-json", "limit": 5000}).json()
    b = http.get("/collections/road_segments/items", params={
        "filter": "road_class = 'primary' AND lanes >= 4", "limit": 5000}).json()
    assert ids(a) == ids(b) and ids(a)


def _camera_day(city_engine) -> str:
    return str(sql_scalar(city_engine, "SELECT installed_on FROM cameras GROUP BY 1 "
                                       "ORDER BY count(*) DESC, 1 LIMIT 1"))


@pytest.mark.parametrize("dt,where", [
    ("DAY", "installed_on = :day"),
    ("2022-01-01/2023-06-30", "installed_on BETWEEN '2022-01-01' AND '2023-06-30'"),
    ("../2021-06-30", "installed_on <= '2021-06-30'"),
    ("2024-01-01/..", "installed_on >= '2024-01-01'"),
    ("2023-01-01T00:00:00Z/2023-02-01T00:00:00Z",
     "installed_on BETWEEN '2023-01-01' AND '2023-02-01'"),
])
def test_datetime_on_the_time_field(http, city_engine, dt, where):
    day = _camera_day(city_engine)
    got = all_pages(http, "/collections/cameras/items",
                    {"datetime": dt.replace("DAY", day), "limit": 5000})
    expected = sql_ids(city_engine, f"SELECT external_id FROM cameras WHERE {where}", day=day)
    assert set(got) == expected and (expected or dt != "DAY")


def test_measures_are_queryable(http, city_engine):
    got = all_pages(http, "/collections/road_segments/items",
                    {"filter": "length_m > 300", "sortby": "-length_m", "limit": 5000})
    assert set(got) == sql_ids(city_engine, "SELECT external_id FROM road_segments "
                               "WHERE length_m > 300")


def test_property_filter_sort_properties_skip_geometry(http, city_engine):
    body = http.get("/collections/road_segments/items", params={
        "road_class": "primary", "sortby": "-lanes,name",
        "properties": "name,lanes", "skipGeometry": "true", "limit": 20}).json()
    feats = body["features"]
    assert feats and all(f["geometry"] is None for f in feats)
    assert all(set(f["properties"]) == {"name", "lanes"} for f in feats)
    lanes = [f["properties"]["lanes"] for f in feats]
    assert lanes == sorted(lanes, reverse=True)
    n = sql_scalar(city_engine, "SELECT count(*) FROM road_segments WHERE road_class='primary'")
    assert body["numberMatched"] == n


PRIVATE = ("owner_name", "owner_id_number")


@pytest.mark.parametrize("params", [{"limit": 5}, {"limit": 5, "f": "csv"}])
def test_private_fields_never_served(http, params):
    r = http.get("/collections/land_parcels/items", params=params)
    assert r.status_code == 200
    for name in PRIVATE:
        assert name not in r.text
    fid = http.get("/collections/land_parcels/items", params={"limit": 1}).json()["features"][0]
    single = http.get(f"/collections/land_parcels/items/{fid['id']}")
    assert single.status_code == 200 and not any(n in single.text for n in PRIVATE)
    assert not any(n in http.get("/collections/land_parcels/queryables").text for n in PRIVATE)


@pytest.mark.parametrize("params", [
    {"filter": "owner_name LIKE 'Nguyễn%'"}, {"sortby": "owner_name"},
    {"properties": "owner_id_number"}, {"owner_name": "x"},
])
def test_private_fields_cannot_be_probed(http, params):
    r = http.get("/collections/land_parcels/items", params=params)
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"


def test_etag_and_304(http):
    r = http.get("/collections/cameras/items", params={"limit": 5})
    etag = r.headers["etag"]
    again = http.get("/collections/cameras/items", params={"limit": 5},
                     headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    item = r.json()["features"][0]["id"]
    one = http.get(f"/collections/cameras/items/{item}")
    assert http.get(f"/collections/cameras/items/{item}",
                    headers={"If-None-Match": one.headers["etag"]}).status_code == 304


def test_gzip(http):
    r = http.get("/collections/road_segments/items", params={"limit": 200},
                 headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip" and r.json()["numberReturned"] == 200


@pytest.mark.parametrize("path,params,status", [
    ("/collections/road_segments/items", {"bbox": "1,2,3"}, 400),
    ("/collections/road_segments/items", {"bbox": "a,b,c,d"}, 400),
    ("/collections/road_segments/items", {"bbox": "106,21,105,22"}, 400),
    ("/collections/road_segments/items", {"crs": "EPSG:9999"}, 400),
    ("/collections/road_segments/items", {"crs": "nonsense"}, 400),
    ("/collections/road_segments/items", {"bbox-crs": EPSG.format(3405)}, 400),
    ("/collections/road_segments/items", {"datetime": "yesterday"}, 400),
    ("/collections/road_segments/items", {"datetime": "2025-02-01/2025-01-01"}, 400),
    ("/collections/road_segments/items", {"filter": "road_class = "}, 400),
    ("/collections/road_segments/items", {"filter": "lanes = 'four'"}, 400),
    ("/collections/road_segments/items", {"filter": "{bad", "filter-lang": "cql2-json"}, 400),
    ("/collections/road_segments/items", {"filter": "x", "filter-lang": "sql"}, 400),
    ("/collections/road_segments/items", {"limit": "0"}, 400),  # over the maximum: capped
    ("/collections/road_segments/items", {"limit": "-1"}, 400),
    ("/collections/road_segments/items", {"offset": "x"}, 400),
    ("/collections/road_segments/items", {"cursor": "bogus!"}, 400),
    ("/collections/road_segments/items", {"sortby": "nope"}, 400),
    ("/collections/road_segments/items", {"lanes": "many"}, 400),
    ("/collections/road_segments/items", {"unknown": "1"}, 400),
    ("/collections/road_segments/items", {"f": "xml"}, 400),
    ("/collections/road_segments/items", {"skipGeometry": "maybe"}, 400),
    ("/collections/nope/items", {}, 404),
    ("/collections/road_segments/items/does-not-exist", {}, 404),
    ("/collections/road_segments/items/a%00b", {}, 400),
    ("/collections/road_segments/items", {"name": "a\x00b"}, 400),
    ("/collections/road_segments/items", {"datetime": "9999-12-31"}, 400),
    ("/collections/cameras/items", {"datetime": "9999-12-31T23:00:00-05:00"}, 400),
    ("/collections/nope/queryables", {}, 404),
])
def test_bad_requests_get_ogc_exceptions(http, path, params, status):
    r = http.get(path, params=params)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "description"} and body["description"]


def test_csv_and_binary_downloads(http, city_engine, tmp_path):
    n = sql_scalar(city_engine, "SELECT count(*) FROM traffic_signals")
    rows = list(csv.DictReader(io.StringIO(http.get(
        "/collections/traffic_signals/items", params={"f": "csv"}).text)))
    assert len(rows) == n and rows[0]["wkt"].startswith("POINT")
    for fmt in ("fgb", "gpkg"):
        r = http.get("/collections/traffic_signals/items", params={"f": fmt})
        assert r.status_code == 200
        path = tmp_path / f"signals.{fmt}"
        path.write_bytes(r.content)
        info = pyogrio.read_info(path)
        assert info["features"] == n and "EPSG" in info["crs"]


def test_gdal_ogr_reads_every_collection(server, city_engine, registry, tmp_path):
    import shutil
    import subprocess

    if shutil.which("ogr2ogr") is None:
        pytest.skip("gdal-bin is not installed (make install provides it)")
    for layer in registry:
        expected = sql_scalar(city_engine, f"SELECT count(*) FROM {layer.table}")
        out = tmp_path / f"{layer.name}.gpkg"
        subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server}",
                        "-oo", "PAGE_SIZE=1000", layer.name], check=True, capture_output=True,
                       timeout=300)
        got = pyogrio.read_info(out, layer=layer.name)["features"] if expected else 0
        assert got == expected, layer.name
    info = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{server}", "traffic_signals"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    n = sql_scalar(city_engine, "SELECT count(*) FROM traffic_signals")
    assert f"Feature Count: {n}" in info


def test_owslib_reads_collections_queryables_items(server):
    from owslib.ogcapi.features import Features

    api = Features(server)
    names = {c["id"] for c in api.collections()["collections"]}
    assert {"road_segments", "land_parcels", "bus_stops"} <= names
    queryables = api.collection_queryables("road_segments")
    assert "road_class" in queryables["properties"]
    items = api.collection_items("road_segments", limit=5)
    assert items["numberReturned"] == 5 and len(items["features"]) == 5
