"""Styles: the typed model, the ramps, the QML / SLD / MapLibre writers and the
OGC API – Styles routes of the running server."""

from __future__ import annotations

import contextlib
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile

import httpx
import pytest
from pydantic import ValidationError

from tests.conftest import _free_port, served
from twin.cli.styles import export_styles
from twin.registry import Access, Layer, Registry, RegistryError
from twin.server.auth.keys import create_key
from twin.style_model import Style
from twin.styles import ramps
from twin.styles.legend import legend
from twin.styles.maplibre import layer_style
from twin.styles.qml import qml_document
from twin.styles.resolve import resolve
from twin.styles.sld import NS, sld_document

QML = "application/vnd.qgis.qml"
SLD = "application/vnd.ogc.sld+xml;version=1.1"
MAPBOX = "application/vnd.mapbox.style+json"


# --- model, ramps, legend ----------------------------------------------------------------

def test_vn_aqi_classes_have_the_official_colours():
    classes = ramps.vn_aqi_classes()
    assert [c.colour for c in classes] == ["#00e400", "#ffff00", "#ff7e00", "#ff0000",
                                           "#8f3f97", "#7e0023"]
    assert classes[0].label.startswith("Tốt") and classes[-1].label.startswith("Nguy hại")
    assert ramps.classify(50, classes).label.startswith("Tốt")
    assert ramps.classify(51, classes).label.startswith("Trung bình")
    assert ramps.aqi_colour(175) == "#ff0000"
    assert ramps.classify(None, classes) is None
    assert [c.label.split(" (")[0] for c in ramps.us_aqi_classes()][2] == \
        "Unhealthy for Sensitive Groups"


def test_flood_depth_classes_are_a_blue_ramp():
    classes = ramps.flood_depth_classes()
    assert [(c.lower, c.upper) for c in classes] == [(0, 0.2), (0.2, 0.5), (0.5, 1),
                                                     (1, ramps.INF)]
    blues = [int(c.colour[5:7], 16) - int(c.colour[1:3], 16) for c in classes]
    assert all(b > 0 for b in blues)           # every class is bluer than it is red
    darkness = [sum(int(c.colour[i:i + 2], 16) for i in (1, 3, 5)) for c in classes]
    assert darkness == sorted(darkness, reverse=True)  # deeper water is darker
    assert ramps.classify(0.7, classes).label == "0.5–1 m"


def test_style_model_validates():
    assert Style(stroke_width=2).width == 2 and Style(width=3).width == 3
    assert Style(fill="#AABBCC").fill == "#aabbcc"
    with pytest.raises(ValidationError, match="not a colour"):
        Style(fill="red")
    with pytest.raises(ValidationError, match="colours needs by"):
        Style(colours={"a": "#000000"})
    with pytest.raises(ValidationError, match="minzoom is greater"):
        Style(minzoom=15, maxzoom=10)
    with pytest.raises(ValidationError):
        Style(opacity=2)


def test_style_naming_a_missing_or_private_field_is_refused(registry):
    roads = registry.get("road_segments")
    bad = roads.model_copy(update={"style": Style(by="colour_of_the_sky")})
    with pytest.raises(RegistryError,
                       match=re.escape("road_segments.yaml: style.by 'colour_of_the_sky'")):
        resolve(bad)
    parcels = registry.get("land_parcels")
    private = parcels.model_copy(update={"style": Style(label={"field": "owner_name"})})
    with pytest.raises(RegistryError, match="must be a public field"):
        resolve(private)


def test_legend_of_layers_and_ramps(registry):
    roads = legend(registry.get("road_segments"))
    assert [item["label"] for item in roads][:2] == ["motorway", "trunk"]
    assert {item["kind"] for item in roads} == {"line"}
    assert legend(registry.get("bus_stops")) == [
        {"label": "Điểm dừng xe buýt", "colour": "#0057b8", "kind": "point"}]
    assert [i["colour"] for i in legend("flood_depth")] == \
        [c.colour for c in ramps.flood_depth_classes()]
    assert len(legend("pm25")) == 6 and len(legend("vn_aqi")) == 6


# --- writers -------------------------------------------------------------------------------

def test_qml_has_a_renderer_per_layer(registry):
    for layer in registry:
        root = ET.fromstring(qml_document(layer).split("\n", 1)[1])
        renderer = root.find("renderer-v2")
        r = resolve(layer)
        if r.categories:
            assert renderer.get("type") == "categorizedSymbol"
            assert renderer.get("attr") == r.by
            values = [c.get("value") for c in renderer.find("categories")]
            assert values == [c.value for c in r.categories]
            assert len(renderer.find("symbols")) == len(values)
        else:
            assert renderer.get("type") == "singleSymbol"
        assert (root.find("labeling") is not None) == (r.label is not None)
        assert root.find("layerGeometryType").text == {"point": "0", "line": "1",
                                                       "polygon": "2"}[r.kind]


def test_sld_has_a_rule_per_category(registry):
    for layer in registry:
        root = ET.fromstring(sld_document(layer).encode())
        assert root.tag == f"{{{NS['sld']}}}StyledLayerDescriptor"
        assert root.get("version") == "1.1.0"
        rules = root.findall(".//se:Rule", NS)
        filtered = [rule.find("ogc:Filter/ogc:PropertyIsEqualTo/ogc:Literal", NS).text
                    for rule in rules if rule.find("ogc:Filter", NS) is not None]
        r = resolve(layer)
        assert filtered == [c.value for c in r.categories]
        if r.categories:
            assert sum(rule.find("se:ElseFilter", NS) is not None for rule in rules) == 1
        symbolizer = {"point": "PointSymbolizer", "line": "LineSymbolizer",
                      "polygon": "PolygonSymbolizer"}[r.kind]
        assert all(rule.find(f"se:{symbolizer}", NS) is not None or
                   rule.find("se:TextSymbolizer", NS) is not None for rule in rules)


def test_maplibre_layer_style_references_its_source(registry):
    flood = layer_style(registry.get("flood_extents"), "src")
    assert [s["id"] for s in flood] == ["flood_extents-fill"]
    assert flood[0]["source"] == "src" and flood[0]["source-layer"] == "flood_extents"
    assert flood[0]["paint"]["fill-color"][0] == "match"
    admin = layer_style(registry.get("admin_areas"), "a")
    assert [s["type"] for s in admin] == ["line"]  # fill: none -> outlines only


def _urls(value):
    if isinstance(value, str):
        if re.match(r"https?://", value):
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _urls(v)
    elif isinstance(value, list):
        for v in value:
            yield from _urls(v)


def test_exported_files(registry, tmp_path):
    written = export_styles(registry, tmp_path, "http://example.test")
    assert len(written) == 3 * len(registry) + 2
    ramps_doc = json.loads((tmp_path / "ramps.json").read_text())
    assert set(ramps_doc) == {"vn_aqi", "us_aqi", "flood_depth", "pm25"}
    ET.fromstring((tmp_path / "road_segments.sld").read_bytes())


# --- routes --------------------------------------------------------------------------------

def test_styles_list_links_every_encoding(http, server):
    response = http.get("/collections/road_segments/styles")
    assert response.status_code == 200
    doc = response.json()
    assert doc["default"] == "default"
    [style] = doc["styles"]
    links = {link["type"]: link["href"] for link in style["links"]}
    assert set(links) == {QML, SLD, MAPBOX}
    assert all(href.startswith(server) for href in links.values())
    for media, href in links.items():
        sheet = http.get(href)
        assert sheet.status_code == 200, href
        assert sheet.headers["content-type"].startswith(media.split(";")[0])
    assert style["legend"][0] == {"label": "motorway", "colour": "#e8467c", "kind": "line"}


def test_stylesheets_by_f_and_accept(http):
    base = "/collections/land_parcels/styles/default"
    qml = http.get(base, params={"f": "qml"})
    assert qml.headers["content-type"].startswith(QML)
    assert ET.fromstring(qml.text.split("\n", 1)[1]).find("renderer-v2").get("attr") == \
        "land_use"
    sld = http.get(base, params={"f": "sld"})
    assert sld.headers["content-type"] == SLD
    assert len(ET.fromstring(sld.content).findall(".//se:Rule", NS)) == 24 + 1
    assert http.get(base, headers={"Accept": SLD}).text == sld.text
    default = http.get(base)
    assert default.headers["content-type"].startswith(MAPBOX)
    assert default.json()["version"] == 8
    again = http.get(base, params={"f": "qml"}, headers={"If-None-Match": qml.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path,status,code", [
    ("/collections/nowhere/styles", 404, "NotFound"),
    ("/collections/nowhere/styles/default", 404, "NotFound"),
    ("/collections/road_segments/styles/fancy", 404, "NotFound"),
    ("/collections/road_segments/styles/default?f=png", 400, "InvalidParameterValue"),
    ("/collections/road_segments/styles?f=xml", 400, "InvalidParameterValue"),
    ("/styles?f=qml", 400, "InvalidParameterValue"),
])
def test_style_errors_are_ogc_exceptions(http, path, status, code):
    response = http.get(path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == code and response.json()["description"]


def test_city_style_is_offline_and_consistent(http, server, registry):
    response = http.get("/styles")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(MAPBOX)
    doc = response.json()
    assert doc["version"] == 8
    assert "glyphs" not in doc and "sprite" not in doc
    assert not [s for s in doc["layers"] if s["type"] == "symbol"]
    assert all(url.startswith(server + "/") for url in _urls(doc))
    assert set(doc["sources"]) == {layer.name for layer in registry}
    for spec in doc["layers"][1:]:
        source = doc["sources"][spec["source"]]
        tilejson = http.get(source["tiles"][0].split("/{z}")[0] + "/tilejson.json").json()
        assert spec["source-layer"] in {v["id"] for v in tilejson["vector_layers"]}
        assert tilejson["tiles"] == source["tiles"]
    # areas under outlines under lines under points
    ranks = [resolve(registry.get(spec["source"])).draw_rank for spec in doc["layers"][1:]]
    assert ranks == sorted(ranks)
    assert doc["layers"][-1]["type"] == "circle" and doc["layers"][1]["type"] == "fill"


def test_a_tile_of_the_city_style_answers(http):
    doc = http.get("/styles").json()
    url = doc["sources"]["road_segments"]["tiles"][0]
    tile = http.get(url.format(z=14, x=13009, y=7208))
    assert tile.status_code == 200 and tile.headers["content-type"].startswith(
        "application/vnd.mapbox-vector-tile")


# --- access control --------------------------------------------------------------------------


@contextlib.contextmanager
def serving(settings, registry, city_url):
    """Another instance of the real app under uvicorn, with its own registry."""
    from twin.server.app import create_app

    port = _free_port()
    url = city_url + ("&" if "?" in city_url else "?") + "application_name=twin-test-styles"
    app = create_app(settings.model_copy(update={"port": port, "public_url": None}), url,
                     registry)
    with served(app, port) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def test_styles_of_a_layer_the_caller_may_not_read_are_404(settings, registry, city_url,
                                                          city_engine):
    restricted: list[Layer] = [
        layer.model_copy(update={"access": Access(read=("land_office",))})
        if layer.name == "land_parcels" else layer for layer in registry]
    key, _record = create_key(city_engine, "Sở TN&MT Hà Nội", "land_office")
    with serving(settings, Registry(restricted), city_url) as client:
        for path in ("/collections/land_parcels/styles",
                     "/collections/land_parcels/styles/default?f=qml"):
            response = client.get(path)
            assert response.status_code == 404 and response.json()["code"] == "NotFound"
            assert client.get(path, headers={"X-API-Key": key}).status_code == 200
        assert "land_parcels" not in client.get("/styles").json()["sources"]
        project = client.get("/qgis/project.qgz")
        assert project.status_code == 200
        with zipfile.ZipFile(io.BytesIO(project.content)) as archive:
            assert b"land_parcels" not in archive.read(archive.namelist()[0])
