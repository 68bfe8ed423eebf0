"""The pygeoapi bridge over real HTTP: landing page, collections, schema, OpenAPI and the
HTML pages of twin's routes, against the demo city in PostGIS."""

from __future__ import annotations

import html
import json
import re
from datetime import date

import pytest
import yaml
from pygeoapi.openapi import validate_openapi_document
from sqlalchemy import text

from twin.server.app import build_state
from twin.server.pygeoapi.config import DEFAULT_SERVER_FILE, ConfigError, build_config

EPSG = "http://www.opengis.net/def/crs/EPSG/0/{}"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"
PRIVATE = ("owner_name", "owner_id_number")


def links(doc: dict, rel: str) -> list[dict]:
    return [link for link in doc["links"] if link["rel"] == rel]


def local(http, href: str) -> str:
    """A link of this server as a path (the server's base URL is the test server's)."""
    base = str(http.base_url).rstrip("/")
    assert href.startswith(base), href
    path = href[len(base):]
    return path if path.startswith("/") else "/" + path


def assert_ogc_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "description"} and body["description"]
    if code:
        assert body["code"] == code
    return body


def html_ids(page: str, collection: str) -> set[str]:
    return set(re.findall(rf'/collections/{collection}/items/([^"?/]+)"', page))


# --- the generated configuration (no database needed) --------------------------------

@pytest.fixture()
def offline_state(settings, registry):
    """A server state whose extents are already known, so nothing connects."""
    state = build_state(settings, "postgresql+psycopg://nobody@127.0.0.1:1/none", registry)
    state.extents = {layer.name: {"bbox": [105.7, 20.9, 105.9, 21.1],
                                  "interval": ["2020-01-01", "2024-06-30"]}
                     for layer in registry}
    return state


def test_generated_config_is_valid_and_holds_no_private_field(offline_state, registry):
    config = build_config(offline_state, "src")
    layers = {k for k, v in config["resources"].items() if v["type"] == "collection"
              and v["providers"][0]["type"] == "feature"}
    assert layers == set(registry.names())
    parcels = config["resources"]["land_parcels"]
    provider = parcels["providers"][0]
    assert provider["name"] == "twin.server.pygeoapi.provider.TwinProvider"
    assert provider["id_field"] == "external_id" and provider["editable"] is False
    assert provider["storage_crs"] == EPSG.format(4326)
    cameras = config["resources"]["cameras"]  # a layer with a time field
    assert cameras["extents"]["temporal"]["end"].isoformat() == "2024-06-30T23:59:59+00:00"
    dumped = json.dumps(config, default=str)
    assert not [word for word in PRIVATE if word in dumped]
    assert "nobody@" not in dumped  # the configuration never holds the DSN


@pytest.mark.parametrize("change, where", [
    (lambda s: s["metadata"]["license"].pop("name"), "metadata/license"),
    (lambda s: s["map"].update(url=5), "server/map/url"),
    (lambda s: s.update(limits={"max_items": 50_000}), "limits.max_items"),
    (lambda s: s.update(languages=["xx-YY-ZZ"]), "languages"),
])
def test_invalid_server_file_names_the_problem(offline_state, tmp_path, change, where):
    server = yaml.safe_load(DEFAULT_SERVER_FILE.read_text(encoding="utf-8"))
    change(server)
    path = tmp_path / "server.yaml"
    path.write_text(yaml.safe_dump(server, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=where):
        build_config(offline_state, "src", path)


# --- landing page -------------------------------------------------------------------

def test_landing_page_links_to_twins_routes(http):
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    # Vietnamese is the default language (config/server.yaml: languages [vi-VN, en-US])
    assert doc["title"] == "twin — Bản sao số Hà Nội"
    assert http.get("/", params={"lang": "en"}).json()["title"] == "twin — Hà Nội digital twin"
    assert local(http, links(doc, "conformance")[0]["href"]) == "/conformance"
    assert local(http, links(doc, "service-desc")[0]["href"]) == "/openapi"
    assert local(http, links(doc, "data")[0]["href"]) == "/collections"
    assert [link for link in doc["links"] if link["rel"].endswith("/processes")]
    assert {"/viewer", "/styles", "/qgis/project.qgz"} <= {local(http, link["href"])
                                                          for link in doc["links"]}


def test_every_landing_page_link_answers(http):
    for link in http.get("/").json()["links"]:
        response = http.get(local(http, link["href"]))
        assert response.status_code == 200, (link, response.text[:300])
        media = link["type"].split(";")[0]
        assert response.headers["content-type"].split(";")[0] in (media, "application/json"), \
            link


def test_landing_page_html_and_negotiation(http):
    page = http.get("/", params={"f": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "twin — Bản sao số Hà Nội" in page.text  # Vietnamese by default
    assert "twin — Hà Nội digital twin" in http.get("/", params={"f": "html", "lang": "en"}).text
    browser = http.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.headers["content-type"].startswith("text/html")
    vi = http.get("/", params={"lang": "vi"})
    assert vi.headers["content-language"] == "vi-VN"
    assert vi.json()["description"].startswith("Bản sao số")


def test_bad_format_is_a_400_in_ogc_json(http):
    for path in ("/", "/collections", "/collections/road_segments",
                 "/collections/road_segments/schema"):
        assert_ogc_error(http.get(path, params={"f": "xml"}), 400, "InvalidParameterValue")


# --- collections --------------------------------------------------------------------

def test_collections_list_every_layer_with_extents_and_crs(http, registry, settings):
    doc = http.get("/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(registry.names()) <= set(by_id)  # and EDR and coverage collections
    x0, y0, x1, y1 = settings.plausible_extent
    for layer in registry:
        c = by_id[layer.name]
        assert c["title"] == layer.title  # Vietnamese by default, as layer.title
        (bx0, by0, bx1, by1), = c["extent"]["spatial"]["bbox"]
        assert x0 <= bx0 <= bx1 <= x1 and y0 <= by0 <= by1 <= y1, layer.name
        assert {CRS84, EPSG.format(3405), EPSG.format(5897), EPSG.format(4326)} <= set(c["crs"])
        assert c["storageCrs"] == EPSG.format(layer.srid)
        if layer.time_field or layer.history or layer.validity:  # history: [first, open]
            (begin, end), = c["extent"]["temporal"]["interval"]
            assert begin is None or end is None or begin <= end
            assert not layer.history or end is None
        else:
            assert "temporal" not in c["extent"]


def test_collection_links_to_items_queryables_schema_and_tiles(http, registry):
    for layer in registry:
        doc = http.get(f"/collections/{layer.name}").json()
        rels = {link["rel"] for link in doc["links"]}
        assert {"items", f"{OGC_REL}queryables", f"{OGC_REL}schema",
                f"{OGC_REL}tilesets-vector"} <= rels, layer.name
        for link in doc["links"]:
            if link["type"] in ("application/json", "application/geo+json",
                                "application/schema+json", "text/html"):
                response = http.get(local(http, link["href"]))
                assert response.status_code == 200, (link, response.text[:300])


def test_temporal_extent_matches_the_data(http, city_engine):
    with city_engine.connect() as conn:
        first, last = conn.execute(text(
            "SELECT min(installed_on), max(installed_on) FROM cameras")).one()
    (begin, end), = http.get("/collections/cameras").json()["extent"]["temporal"][
        "interval"]
    assert begin.startswith(first.isoformat()) and end.startswith(last.isoformat())


def test_unknown_collection_is_a_404_in_ogc_json(http):
    for path in ("/collections/nope", "/collections/nope/schema"):
        for f in ("json", "html"):
            assert_ogc_error(http.get(path, params={"f": f}), 404, "NotFound")


# --- schema -------------------------------------------------------------------------

def test_schema_describes_public_fields_only(http, registry):
    layer = registry.get("land_parcels")
    response = http.get("/collections/land_parcels/schema")
    assert response.headers["content-type"].startswith("application/schema+json")
    props = response.json()["properties"]
    assert set(props) == {"geometry", "area_m2"} | {f.name for f in layer.public_fields()}
    assert props["registered_on"]["format"] == "date"
    assert props["land_use"]["enum"][0] == "ODT"


# --- private fields -----------------------------------------------------------------

@pytest.fixture(scope="module")
def private_values(city_engine) -> list[str]:
    with city_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT owner_name, owner_id_number FROM land_parcels "
            "WHERE owner_name IS NOT NULL AND owner_id_number IS NOT NULL LIMIT 5")).all()
    return [v for row in rows for v in row]


def test_no_private_field_anywhere(http, private_values):
    first = http.get("/collections/land_parcels/items", params={"limit": 1}).json()
    fid = first["features"][0]["id"]
    pages = ["/", "/collections", "/collections/land_parcels",
             "/collections/land_parcels/schema", "/collections/land_parcels/queryables",
             "/collections/land_parcels/items", f"/collections/land_parcels/items/{fid}",
             "/openapi", "/conformance"]
    for path in pages:
        for f in ("json", "html"):
            response = http.get(path, params={"f": f, "limit": 50} if path.endswith("items")
                                else {"f": f})
            assert response.status_code == 200, (path, f, response.text[:300])
            for word in (*PRIVATE, *private_values):
                assert word not in response.text, (path, f, word)


def test_private_fields_cannot_be_asked_for_in_html(http):
    for params in ({"owner_name": "x"}, {"sortby": "owner_name"},
                   {"properties": "owner_name"}, {"filter": "owner_name = 'x'"}):
        assert_ogc_error(http.get("/collections/land_parcels/items",
                                  params={"f": "html", **params}), 400)


# --- HTML pages of twin's routes ----------------------------------------------------

def test_items_html_page_lists_the_features(http):
    body = http.get("/collections/road_segments/items", params={"limit": 5}).json()
    page = http.get("/collections/road_segments/items", params={"f": "html", "limit": 5})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert html_ids(page.text, "road_segments") == {f["id"] for f in body["features"]}


@pytest.mark.parametrize("params", [
    {"sortby": "-map_sheet,parcel_no", "limit": 7},
    {"filter": "land_use = 'ODT' AND parcel_no > 5", "limit": 20},
    {"offset": 15, "limit": 5},
])
def test_items_html_page_applies_the_query(http, params):
    if "datetime" in params:  # from the middle of the collection's time extent on
        (begin, end), = http.get("/collections/land_parcels").json()["extent"]["temporal"][
            "interval"]
        middle = date.fromordinal((date.fromisoformat(begin[:10]).toordinal()
                                   + date.fromisoformat(end[:10]).toordinal()) // 2)
        params = {**params, "datetime": f"{middle.isoformat()}/.."}
    body = http.get("/collections/land_parcels/items", params=params).json()
    page = http.get("/collections/land_parcels/items", params={**params, "f": "html"})
    assert page.status_code == 200, page.text[:300]
    assert html_ids(page.text, "land_parcels") == {f["id"] for f in body["features"]}


def test_items_html_bbox_in_each_axis_order(http, registry):
    extent = http.get("/collections/road_segments").json()["extent"]["spatial"]["bbox"][0]
    cx, cy = (extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2
    lon_lat = {"bbox": f"{cx - 0.02},{cy - 0.02},{cx + 0.02},{cy + 0.02}", "limit": 50}
    lat_lon = {"bbox": f"{cy - 0.02},{cx - 0.02},{cy + 0.02},{cx + 0.02}",
               "bbox-crs": "EPSG:4326", "limit": 50}
    expected = {f["id"] for f in http.get("/collections/road_segments/items",
                                          params=lon_lat).json()["features"]}
    assert expected
    for params in (lon_lat, lat_lon):
        page = http.get("/collections/road_segments/items", params={**params, "f": "html"})
        assert page.status_code == 200, page.text[:300]
        assert html_ids(page.text, "road_segments") == expected


def test_items_html_in_a_vn2000_crs(http):
    page = http.get("/collections/road_segments/items",
                    params={"f": "html", "crs": "EPSG:3405", "limit": 2})
    assert page.status_code == 200, page.text[:300]
    # VN-2000 / UTM 48N: eastings in the hundreds of thousands of metres. twin's items page
    # carries its GeoJSON in the map's data-geojson attribute (no inline script), escaped.
    coords = re.findall(r'"coordinates": ?\[+([-\d.]+), ?([-\d.]+)', html.unescape(page.text))
    assert coords and all(100_000 < float(x) < 900_000 for x, _ in coords)


def test_items_html_client_errors_are_400_not_500(http):
    for params in ({"filter": "parcel_no >"}, {"filter-lang": "cql2-json", "filter": "{}"},
                   {"bbox": "1,2,3"}, {"crs": "EPSG:2000"}):
        assert_ogc_error(http.get("/collections/land_parcels/items",
                                  params={"f": "html", **params}), 400)


def test_item_html_page(http):
    fid = http.get("/collections/bus_stops/items", params={"limit": 1}).json()[
        "features"][0]["id"]
    page = http.get(f"/collections/bus_stops/items/{fid}", params={"f": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert fid in page.text
    assert_ogc_error(http.get("/collections/bus_stops/items/no-such-stop",
                              params={"f": "html"}), 404, "NotFound")


def test_queryables_and_conformance_html(http):
    page = http.get("/collections/land_parcels/queryables", params={"f": "html"})
    assert page.status_code == 200 and "land_use" in page.text
    page = http.get("/conformance", params={"f": "html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for uri in http.get("/conformance").json()["conformsTo"]:
        assert uri in page.text


def test_static_files_are_served(http):
    page = http.get("/", params={"f": "html"}).text
    css = re.search(r'href="[^"]*(/static/css/[^"]+\.css)"', page).group(1)
    response = http.get(css)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")


# --- OpenAPI ------------------------------------------------------------------------

def test_openapi_document_is_valid_and_covers_every_collection(http, registry):
    response = http.get("/openapi")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = json.loads(response.content)
    assert validate_openapi_document(doc)
    paths = doc["paths"]
    for path in ("/", "/conformance", "/collections"):
        assert path in paths
    for layer in registry:
        base = f"/collections/{layer.name}"
        for path in (base, f"{base}/schema", f"{base}/queryables"):
            assert set(paths[path]) == {"get"}, path
        writes = ({"post", "options"}, {"put", "patch", "delete", "options"}) \
            if layer.access.edit and not layer.is_view else (set(), set())
        items = (f"{base}/items", f"{base}/items/{{featureId}}")
        for path, extra in zip(items, writes, strict=True):
            assert set(paths[path]) == {"get"} | extra, path
        names = {p.get("name") for p in paths[f"{base}/items"]["get"]["parameters"]}
        assert {"filter", "filter-lang"} <= names
        assert not names & {f.name for f in layer.fields.values() if f.private}
    # Every route is documented (tests/test_openapi_routes.py), the admin ones too, but
    # none of those without credentials: each operation requires a key, Basic or a token.
    for path in (p for p in paths if p.startswith("/admin")):
        for op in paths[path].values():
            assert op["security"] and {} not in op["security"], path
    assert "/processes/map-report/execution" in paths


def test_openapi_html_lists_the_api(http):
    # twin's page lists the OpenAPI document's paths with its own script (Swagger UI came
    # from a CDN, which an offline or intranet browser cannot reach)
    page = http.get("/openapi", params={"f": "html"})
    assert page.status_code == 200 and 'id="api-paths"' in page.text
    assert "/openapi?f=json" in page.text and "unpkg" not in page.text
