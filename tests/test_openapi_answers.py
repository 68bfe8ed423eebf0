"""Issue 17 point 6: the OpenAPI document describes what the server really answers.

Each case below is a class of failure schemathesis found with all its checks (see
tests/test_fuzz_api.py, which fuzzes every operation): a media type or a status the
document did not list, or a request the document forbids that the server accepted. Here
each class is pinned with one request, against the real server and its ``/openapi``.
"""

from __future__ import annotations

import base64

import httpx
import pytest

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="module")
def doc(server):
    response = httpx.get(server + "/openapi", params={"f": "json"}, timeout=60)
    response.raise_for_status()
    return response.json()


def _documented(doc: dict, path: str, status: int, method: str = "get") -> set[str]:
    """The media types ``doc`` lists for ``status`` of ``method path``."""
    response = doc["paths"][path][method]["responses"][str(status)]
    if "$ref" in response:
        response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return set(response.get("content", {}))


def _bare(media: str) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv`` (parameters that are not part of the
    documented media type)."""
    kind, *params = [p.strip() for p in media.split(";")]
    kept = [p for p in params if not p.startswith("charset=")]
    return "; ".join([kind, *kept])


# (path as documented, query): each answered a media type the document did not list
UNDOCUMENTED_MEDIA = [
    ("/", {"f": "jsonld"}),                                          # application/ld+json
    ("/collections", {"f": "jsonld"}),
    ("/collections/admin_areas", {"f": "jsonld"}),
    ("/collections/admin_areas/queryables", {}),                  # application/schema+json
    ("/collections/admin_areas/schema", {}),
    ("/collections/admin_areas/items", {"f": "csv", "limit": "2"}),
    ("/collections/admin_areas/items", {"f": "gpkg", "limit": "2"}),
    ("/collections/admin_areas/items", {"f": "fgb", "limit": "2"}),
    ("/collections/dem/coverage", {"f": "GTiff"}),        # image/tiff; application=geotiff
    ("/collections/dem/position", {"coords": "POINT(105.85 21.03)"}),
    ("/collections/sensor_readings/position",
     {"coords": "POINT(105.85 21.03)", "f": "csv"}),
    ("/collections/sensor_readings/position",
     {"coords": "POINT(105.85 21.03)", "f": "geojson"}),
    ("/collections/sensor_readings/locations", {}),
    ("/processes", {"f": "jsonld"}),
    # routes added after the document was made true (tests/test_openapi_routes.py)
    ("/catalogue/dcat", {}),                                         # application/ld+json
    ("/collections/admin_areas/changes", {"limit": "2"}),          # application/geo+json
    ("/collections/admin_areas/changes", {"limit": "2", "f": "html"}),
    ("/alerts/cap", {}),                                           # application/atom+xml
    ("/alerts", {"limit": "2"}),
    ("/alerts/rules", {}),
    ("/auth/whoami", {}),
    ("/viewer/config.json", {}),
    ("/TileMatrixSets", {}),
]


@pytest.mark.parametrize(("path", "query"), UNDOCUMENTED_MEDIA,
                         ids=[f"{p}?{'&'.join(f'{k}={v}' for k, v in q.items())}"
                              for p, q in UNDOCUMENTED_MEDIA])
def test_every_media_type_is_documented(doc, http, path, query):
    response = http.get(path, params=query)
    assert response.status_code == 200, response.text[:300]
    assert _bare(response.headers["content-type"]) in _documented(doc, path, 200)


# (path as documented, request, status): statuses the document did not list
UNDOCUMENTED_STATUS = [
    ("/collections/sensor_readings/area", "/collections/sensor_readings/area?coords=POINT(1 2)",
     400),
    ("/collections/sensor_readings/radius", "/collections/sensor_readings/radius?coords=", 400),
    ("/collections/sensor_readings/cube", "/collections/sensor_readings/cube?bbox=0,0,0,0", 400),
    ("/collections/sensor_readings/locations/{locId}",
     "/collections/sensor_readings/locations/no-such-station", 404),
]


@pytest.mark.parametrize(("path", "url", "status"), UNDOCUMENTED_STATUS,
                         ids=[u for _, u, _ in UNDOCUMENTED_STATUS])
def test_every_status_is_documented(doc, http, path, url, status):
    response = http.get(url)
    assert response.status_code == status, response.text[:300]
    assert set(response.json()) == {"code", "description"}
    assert "application/json" in _documented(doc, path, status)


# Requests the document says are invalid, which the server used to answer with 200.
REFUSED = [
    "/?f=",                                                  # f: empty is not in the enum
    "/collections/admin_areas?f=",
    "/collections/admin_areas/schema?f=",
    "/processes?f=",
    "/openapi?ui=bogus",                                     # ui: swagger or redoc
    "/collections/sensor_stations/items?kind=bogus",         # a queryable's enum
    "/collections/station_aqi/items?scale=",
    "/collections/station_aqi/items?level=9",                # a queryable's maximum
    "/collections/admin_areas/items?filter-crs=foo",         # checked without a filter too
    "/collections/admin_areas/items?filter-lang=cql3",
    "/collections/admin_areas/items?crs=",                   # crs: empty is not a CRS URI
    "/collections/admin_areas/items?properties=",            # properties: empty names
    "/collections/admin_areas/items?properties=name,,code",
    "/collections/dem/map?transparent=0.5",                  # a boolean, now read
]


@pytest.mark.parametrize("url", REFUSED)
def test_what_the_document_forbids_is_refused(http, url):
    response = http.get(url)
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and body["description"]


def test_what_the_document_allows_is_answered(doc, http):
    """``lang`` is a preference (an unknown tag falls back, as Accept-Language does) and
    ``limit`` above the page maximum is capped: the document sets no enum and no maximum
    on them, and the server answers 200."""
    lang = doc["components"]["parameters"]["lang"]["schema"]
    assert lang == {"type": "string"}
    assert http.get("/", params={"lang": "zz"}).status_code == 200
    items = doc["paths"]["/collections/admin_areas/items"]["get"]["parameters"]
    limit = next(p for p in items if p.get("name") == "limit")
    assert "maximum" not in limit["schema"]
    response = http.get("/collections/admin_areas/items", params={"limit": "1000000"})
    assert response.status_code == 200


def test_f_lists_exactly_what_each_route_takes(doc, http):
    """Every ``f`` value the document offers on an EDR query is answered, and a value it
    does not offer is refused (pygeoapi listed jsonld and html where twin refuses them)."""
    path = "/collections/sensor_readings/position"
    f = next(p for p in doc["paths"][path]["get"]["parameters"] if p.get("name") == "f")
    for value in f["schema"]["enum"]:
        response = http.get(path, params={"coords": "POINT(105.85 21.03)", "f": value})
        assert response.status_code == 200, (value, response.text[:200])
    response = http.get(path, params={"coords": "POINT(105.85 21.03)", "f": "jsonld"})
    assert response.status_code == 400


def test_basic_auth_is_documented_and_accepted(doc, http, city_engine):
    """HTTP Basic with an API key as the password (what QGIS sends) is a security scheme
    of every write, and the server takes it: OPTIONS then lists the editor's methods."""
    from twin.server.auth.keys import create_key

    post = doc["paths"]["/collections/admin_areas/items"]["post"]
    assert {"basic": []} in post["security"]
    key, _ = create_key(city_engine, "Basic auth check", "admin")
    basic = base64.b64encode(f"qgis:{key}".encode()).decode()
    response = http.options("/collections/admin_areas/items",
                            headers={"Authorization": f"Basic {basic}"})
    assert "POST" in response.headers["allow"]
    assert "POST" not in http.options("/collections/admin_areas/items").headers["allow"]


def test_transparent_false_gives_an_opaque_map(http):
    """``transparent`` was accepted and ignored; false now paints nodata white."""
    import io

    from PIL import Image

    bbox = {"bbox": "105.0,20.0,106.5,21.5", "width": "64", "height": "64"}
    alphas = {}
    for value in ("true", "false"):
        response = http.get("/collections/dem/map", params={**bbox, "transparent": value})
        assert response.status_code == 200, response.text[:200]
        alphas[value] = Image.open(io.BytesIO(response.content)).getchannel("A").getextrema()
    assert alphas["false"] == (255, 255)
    assert alphas["true"][0] == 0  # the bbox reaches beyond the city's DEM


# Integers the routes of the alerts and their delivery read: a digit that is not ASCII
# ("²" is a digit to str.isdigit, not to int) was taken for a number and raised a 500.
NOT_INTEGERS = [
    ("/alerts?limit=%C2%B2", {}),
    ("/alerts/%C2%B2/cap", {}),
    ("/admin/deliveries?limit=%C2%B2", "admin"),
    ("/admin/deliveries?offset=%C2%B2", "admin"),
]


@pytest.fixture(scope="module")
def admin_headers(city_engine):
    from twin.server.auth.keys import create_key

    return {"X-API-Key": create_key(city_engine, "OpenAPI answers", "admin")[0]}


@pytest.mark.parametrize(("url", "who"), NOT_INTEGERS, ids=[u for u, _ in NOT_INTEGERS])
def test_a_non_ascii_digit_is_refused(http, admin_headers, url, who):
    response = http.get(url, headers=admin_headers if who else None)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["code"] == "InvalidParameterValue"


def test_a_non_ascii_delivery_id_is_refused(http, admin_headers):
    response = http.post("/admin/deliveries/%C2%B2/retry", headers=admin_headers)
    assert response.status_code == 400, response.text[:300]


def test_a_non_ascii_last_event_id_is_refused(http):
    # b"\xb2" is "²" in Latin-1, as the server decodes header values
    response = http.get("/alerts/stream", headers={"Last-Event-ID": "²".encode("latin-1")})
    assert response.status_code == 400, response.text[:300]


def test_tile_cache_headers_are_documented(doc, http):
    """A vector tile's ETag and Cache-Control (the tile cache) are documented headers of
    its 200 and 304, and a tile carries them."""
    path = "/collections/admin_areas/tiles/{tms}/{tileMatrix}/{tileRow}/{tileCol}"
    responses = doc["paths"][path]["get"]["responses"]
    for status in ("200", "304"):
        assert {"ETag", "Cache-Control"} <= set(responses[status]["headers"])
    response = http.get("/collections/admin_areas/tiles/WebMercatorQuad/12/1803/3252")
    assert response.status_code == 200, response.text[:200]
    assert response.headers["etag"] and response.headers["cache-control"]
    again = http.get("/collections/admin_areas/tiles/WebMercatorQuad/12/1803/3252",
                     headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.headers["etag"] == response.headers["etag"]
