"""Every request limit answers with a clear 4xx OGC exception on the real server: 413
for bodies (declared or chunked, on twin's routes and pygeoapi's process execution
alike), 400 for vertices, page size, CQL2 text length and nesting depth. And the limits
the routes enforce are the ones twin/server/limits.py lists."""

from __future__ import annotations

import pytest

from twin.server.auth.keys import create_key
from twin.server.limits import LIMITS, MiB

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

ROADS = "/collections/road_segments/items"


@pytest.fixture(scope="module")
def transport(city_engine) -> dict[str, str]:
    return {"X-API-Key": create_key(city_engine, "limits test", "transport")[0]}


@pytest.fixture(scope="module")
def environment(city_engine) -> dict[str, str]:
    return {"X-API-Key": create_key(city_engine, "limits test", "environment")[0]}


def refused(response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text[:300]
    doc = response.json()
    assert set(doc) == {"code", "description"}
    for word in words:
        assert word in doc["description"], doc["description"]
    return doc["description"]


def _chunks(total: int, size: int = 256 * 1024):
    """A body sent chunked (no Content-Length): only counting can refuse it."""
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b" " * n


# --- bodies: 413 --------------------------------------------------------------------

def test_edit_body_over_its_limit(http, transport):
    body = b'{"type": "Feature", "pad": "' + b"x" * LIMITS.edit_body_bytes + b'"}'
    r = http.post(ROADS, content=body, headers={**transport,
                                                "Content-Type": "application/geo+json"})
    refused(r, 413, "larger than", f"{LIMITS.edit_body_bytes // 1024} KiB")
    assert r.json()["code"] == "RequestTooLarge"


def test_any_body_over_the_global_limit_declared(http, environment):
    r = http.post("/readings", content=b"[" + b" " * LIMITS.body_bytes + b"]",
                  headers={**environment, "Content-Type": "application/json"})
    refused(r, 413, "10 MiB")


def test_chunked_body_over_the_global_limit_on_a_pygeoapi_route(http):
    """pygeoapi's process execution reads the whole body itself: the middleware stops
    it at the limit."""
    r = http.post("/processes/map-report/execution",
                  content=_chunks(LIMITS.body_bytes + MiB),
                  headers={"Content-Type": "application/json"})
    refused(r, 413, "10 MiB", "split")


def test_body_under_the_limit_passes_through(http, transport):
    r = http.post(ROADS, content=b"{}", headers={**transport,
                                                 "Content-Type": "application/geo+json"})
    refused(r, 400, "Feature")  # reached the route, which explains what it needs


# --- geometry, page, filter: 400 ----------------------------------------------------

def test_geometry_with_too_many_vertices(http, transport):
    n = LIMITS.vertices + 1
    # short coordinates keep the body under the edit body limit
    coords = ",".join("[105.8,21]" if i % 2 else "[105.9,21.1]" for i in range(n))
    body = ('{"type":"Feature","properties":{"name":"Phố Huế","road_class":"tertiary"},'
            '"geometry":{"type":"LineString",'
            f'"coordinates":[{coords}]}}}}').encode()
    assert len(body) < LIMITS.edit_body_bytes
    r = http.post(ROADS, content=body, headers={**transport,
                                                "Content-Type": "application/geo+json"})
    refused(r, 400, f"{n} vertices", f"{LIMITS.vertices}")


@pytest.mark.parametrize("limit", [LIMITS.page_size + 1, 10**9])
def test_page_size_over_the_maximum_is_capped(http, limit):
    """Issue 17, point 2: OGC API Features caps a page over the maximum (and links the
    next page) rather than refusing it; 0, negative and non-integer stay a 400."""
    r = http.get("/collections/land_parcels/items", params={"limit": limit})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["numberReturned"] == LIMITS.page_size
    assert any(link["rel"] == "next" for link in body["links"])


@pytest.mark.parametrize("limit", ["0", "-5", "ten", "1.5"])
def test_page_size_that_is_not_one_is_refused(http, limit):
    r = http.get("/collections/sensor_stations/items", params={"limit": limit})
    refused(r, 400, "limit")


def test_page_size_at_the_maximum_is_served(http):
    r = http.get("/collections/bus_stops/items", params={"limit": LIMITS.page_size})
    assert r.status_code == 200


def test_filter_text_over_the_maximum(http):
    """The limit applies to CQL2 text and JSON alike; a filter that long must come in a
    URL the HTTP server still accepts, so it is a long IN list of short values."""
    values = ",".join("'a'" for _ in range(LIMITS.filter_chars // 4 + 1))
    text = f"name IN ({values})"
    assert len(text) > LIMITS.filter_chars
    r = http.get("/collections/sensor_stations/items", params={"filter": text})
    if r.status_code == 400 and r.headers.get("content-type", "").startswith("text/plain"):
        pytest.fail("the HTTP server refused the URL before twin saw the filter: "
                    "its request-line limit is below LIMITS.filter_chars")
    refused(r, 400, "filter", f"{LIMITS.filter_chars}")


def nested(levels: int) -> str:
    """A condition ``levels`` ANDs deep; with its comparison, ``levels + 1`` levels."""
    text = "kind = 'air'"
    for _ in range(levels):
        text = f"kind = 'air' AND ({text})"
    return text


def test_filter_nested_too_deep(http):
    r = http.get("/collections/sensor_stations/items",
                 params={"filter": nested(LIMITS.filter_depth)})
    refused(r, 400, "filter", "nested", f"{LIMITS.filter_depth}")


def test_filter_nested_at_the_limit_is_served(http):
    r = http.get("/collections/sensor_stations/items",
                 params={"filter": nested(LIMITS.filter_depth - 1)})
    assert r.status_code == 200, r.text[:300]


# --- one place ----------------------------------------------------------------------

def test_routes_enforce_the_limits_listed_in_one_place():
    """Until the routes import their numbers from twin.server.limits, they must agree."""
    from twin.server.edit.validate import Limits as EditLimits
    from twin.server.features import cql
    from twin.server.params import values as params
    from twin.server.readings.routes import Limits as ReadingsLimits

    edit, readings = EditLimits(), ReadingsLimits()
    assert (edit.body_bytes, edit.vertices, edit.features) == (
        LIMITS.edit_body_bytes, LIMITS.vertices, LIMITS.edit_features)
    assert (readings.body_bytes, readings.readings) == (
        LIMITS.readings_body_bytes, LIMITS.readings_per_request)
    assert (LIMITS.page_size,
                                                        LIMITS.default_page_size) == (
        params.MAX_LIMIT, params.DEFAULT_LIMIT)
    assert (LIMITS.filter_chars, LIMITS.filter_depth) == (cql.MAX_FILTER_LENGTH, cql.MAX_DEPTH)
    assert LIMITS.body_bytes >= max(LIMITS.edit_body_bytes, LIMITS.readings_body_bytes)
