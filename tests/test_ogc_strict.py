"""Strict OGC behaviour (issue 17, points 2, 4, 5, 8 and 9), over real HTTP on the small
demo city: pages over the maximum are capped, not refused; every feature id is a path
segment as it is; impossible bboxes are 400s; coverage and EDR collections are not
described as feature collections and every advertised link resolves; GDAL's format
names are accepted on coverages."""

from __future__ import annotations

import pytest

from twin.server.limits import LIMITS

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions


def refused(r, *words: str) -> None:
    assert r.status_code == 400, (r.status_code, r.text)
    body = r.json()
    assert set(body) >= {"code", "description"}, body
    for word in words:
        assert word in body["description"], body


# --- point 2: limit over the maximum is capped ---------------------------------------

@pytest.mark.parametrize("path", ["/collections/bus_stops/items",
                                  "/collections/station_aqi/items",
                                  "/jobs"])
def test_limit_over_the_maximum_is_served(http, path):
    r = http.get(path, params={"limit": 1_000_000})
    assert r.status_code == 200, r.text


def test_a_capped_page_links_the_next(http):
    matched = http.get("/collections/land_parcels/items", params={"limit": 1}).json()
    r = http.get("/collections/land_parcels/items", params={"limit": 50_000})
    body = r.json()
    assert body["numberReturned"] == min(LIMITS.page_size, matched.get("numberMatched", 10**9))
    if body["numberReturned"] == LIMITS.page_size:
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        assert nxt and "cursor=" in nxt[0]


@pytest.mark.parametrize("limit", ["0", "-1", "abc"])
def test_limit_not_a_page_size_is_refused(http, limit):
    refused(http.get("/collections/bus_stops/items", params={"limit": limit}), "limit")


# --- point 9: GDAL's format names on coverages ---------------------------------------

@pytest.mark.parametrize("f", ["GTiff", "gtiff", "GeoTIFF", "tif", "TIFF", "image/tiff"])
def test_coverage_geotiff_aliases(http, f):
    r = http.get("/collections/dem/coverage", params={"f": f, "scale-size": "x(20),y(20)"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/tiff")


@pytest.mark.parametrize("f", ["CoverageJSON", "covjson", "json", "application/prs.coverage+json"])
def test_coverage_json_aliases(http, f):
    r = http.get("/collections/dem/coverage", params={"f": f, "scale-size": "x(20),y(20)"})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "Coverage"


# --- point 5: impossible bboxes ------------------------------------------------------

HUGE = "-1e30,-1e30,1e30,1e30"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"


@pytest.mark.parametrize("path,params,words", [
    ("/collections/bus_stops/items", {"bbox": "0,100,1,101"}, ("±90", "swapped")),
    ("/collections/bus_stops/items", {"bbox": "21,105,21.1,105.1"}, ("±90", "swapped")),
    ("/collections/bus_stops/items", {"bbox": "-200,0,1,1"}, ("±180",)),
    ("/collections/bus_stops/items", {"bbox": "105,21,106,22", "bbox-crs": EPSG.format(4326)},
     ("minlat,minlon", "swapped")),
    ("/collections/bus_stops/items", {"bbox": HUGE, "bbox-crs": EPSG.format(3405)},
     ("area of use",)),
    ("/collections/bus_stops/items", {"bbox": HUGE, "bbox-crs": EPSG.format(3857)},
     ("area of use",)),
    ("/collections/dem/coverage", {"bbox": "0,100,1,101"}, ("±90",)),
    ("/collections/dem/coverage", {"bbox": HUGE, "bbox-crs": "EPSG:3405"}, ("area of use",)),
    ("/collections/dem/map", {"bbox": "0,100,1,101"}, ("±90",)),
    ("/collections/sensor_readings/items", {"bbox": "0,100,1,101"}, ("±90",)),
    ("/collections/sensor_readings/cube", {"bbox": "0,100,1,101"}, ("±90",)),
])
def test_impossible_bboxes_are_400(http, path, params, words):
    if path.endswith("/cube"):  # datetime is required there: the collection's first hour
        start = http.get("/collections/sensor_readings").json()[
            "extent"]["temporal"]["interval"][0][0]
        params = {**params, "datetime": start}
    refused(http.get(path, params=params), "bbox", *words)


@pytest.mark.parametrize("params", [
    {"bbox": "105.8,21.0,105.9,21.1"},
    {"bbox": "21.0,105.8,21.1,105.9", "bbox-crs": EPSG.format(4326)},
    {"bbox": "-180,-90,180,90"},
    {"bbox": "570000,2310000,600000,2340000", "bbox-crs": EPSG.format(3405)},
    {"bbox": "-20037508,-20037508,20037508,20037508", "bbox-crs": EPSG.format(3857)},
])
def test_real_bboxes_still_served(http, params):
    r = http.get("/collections/bus_stops/items", params=params)
    assert r.status_code == 200, r.text


# --- point 4: every feature id is a path segment as it is -----------------------------

def test_every_feature_id_is_fetched_as_clients_build_the_url(http, server, registry):
    """100 random features of every collection, fetched at ``/items/{id}`` with the id
    as it is (no percent-encoding, as OWSLib and QGIS do): 200 each, the same feature."""
    import random
    import urllib.request

    from twin.feature_ids import unsafe_id

    rng = random.Random(17)
    # The small test city has no flood scenario and evaluates no alert rules on load:
    # those two layers are empty; every other layer must be fetched feature by feature.
    maybe_empty = {"flood_extents", "alerts"}
    empty = set()
    for layer in registry:
        page = http.get(f"/collections/{layer.name}/items", params={"limit": 2000}).json()
        ids = [f["id"] for f in page["features"]]
        if not ids:
            empty.add(layer.name)
        for fid in rng.sample(ids, min(100, len(ids))):
            assert not unsafe_id(str(fid)), (layer.name, fid)
            url = f"{server}/collections/{layer.name}/items/{fid}"  # as it is
            with urllib.request.urlopen(url) as r:  # raises on a 404
                assert r.status == 200
                assert str(__import__("json").load(r)["id"]) == str(fid)
    assert empty <= maybe_empty


def test_station_aqi_ids_use_no_slash(http):
    fid = http.get("/collections/station_aqi/items", params={"limit": 1}).json()[
        "features"][0]["id"]
    _code, scale, period, hour = fid.split("~")
    assert scale in ("vn", "us") and period in ("hour", "day") and hour.endswith("Z")


@pytest.mark.parametrize("bad", ["a/b", "a?b", "a#b", "50%", "a b", "tab\there"])
def test_loaders_refuse_ids_that_are_not_path_safe(db, registry, tmp_path, bad):
    from tests.city import EXTENT
    from tests.files import write_csv
    from twin.ingest.errors import LoadError
    from twin.ingest.vector import load_vector

    path = write_csv(tmp_path / "stations.csv", ["code", "name", "kind", "lon", "lat"],
                     [["AQ-1", "ok", "air", 105.85, 21.03], [bad, "bad", "air", 105.86, 21.04]])
    with pytest.raises(LoadError, match="may not contain"):
        load_vector(db, registry, "sensor_stations", path, extent=EXTENT)


# --- point 8: only feature collections look like features; every link resolves --------

def _links_of(doc: dict) -> list[dict]:
    return [link for link in doc.get("links", []) if link.get("href")]


def test_every_advertised_link_of_every_collection_resolves(http, server):
    collections = http.get("/collections").json()["collections"]
    failed = []
    for summary in collections:
        doc = http.get(f"/collections/{summary['id']}").json()
        for link in {link["href"]: link for link in _links_of(summary) + _links_of(doc)
                     if link["href"].startswith(server)}.values():
            if link.get("templated") or "{" in link["href"]:
                continue
            r = http.get(link["href"], headers={"Accept": link.get("type", "*/*")})
            if r.status_code >= 400:
                failed.append((link["href"], r.status_code))
    assert not failed, failed


def test_only_feature_collections_are_features(http, registry):
    features = {layer.name for layer in registry}
    for c in http.get("/collections").json()["collections"]:
        rels = {link["rel"] for link in c.get("links", [])}
        if c["id"] in features:
            assert c.get("itemType") == "feature", c["id"]
        elif c.get("itemType") == "record":  # the catalogue (issue 19): items are records
            assert c["id"] == "catalogue" and "items" in rels, (c["id"], rels)
        else:
            assert c.get("itemType") != "feature", c["id"]
            assert not rels & {"items", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                               "http://www.opengis.net/def/rel/ogc/1.0/schema"}, (c["id"], rels)


def test_gdal_lists_exactly_the_feature_collections(server, registry):
    import re
    import subprocess

    out = subprocess.run(["ogrinfo", "-ro", "-q", f"OAPIF:{server}"], capture_output=True,
                         text=True, check=True).stdout
    names = set(re.findall(r"^\d+: (\S+)", out, re.MULTILINE))
    # and the catalogue (issue 19): its records are GeoJSON features (their extents)
    assert names == {layer.name for layer in registry} | {"catalogue"}, out
