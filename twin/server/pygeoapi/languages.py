"""The languages of pygeoapi's configuration: twin writes each human-facing text of a
collection as pygeoapi's language struct (``{"vi": …, "en": …}``), and pygeoapi picks the
request's language from it (``pygeoapi.l10n``); its first locale is the city profile's
default language, the one a request that asks for none is answered in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from twin.i18n import normalise
from twin.layer_text import language_struct
from twin.measures import measure_field
from twin.registry import Layer, Registry
from twin.server.state import ServerState


def languages_section(state: ServerState, server: dict) -> list[str]:
    """pygeoapi's locales, the city profile's default language first (pygeoapi answers a
    request that asks for none in its first locale, as twin's own routes do)."""
    given = list(server.get("languages") or state.settings.city.languages)
    first = state.settings.city.language
    return sorted(given, key=lambda tag: normalise(tag) != first)


# twin's links of a layer's collection document: pygeoapi's configuration takes a link
# title as a plain string, so the English goes in and :func:`localised` writes the
# Vietnamese one.
TWIN_LINKS = {"tilesets-vector": ("{}: vector tilesets (Mapbox Vector Tiles)",
                                  "{}: bộ ô bản đồ vector (định dạng MVT)"),
              "styles": ("{}: styles (QGIS QML, SLD 1.1, MapLibre)",
                         "{}: kiểu hiển thị (QGIS QML, SLD 1.1, MapLibre)")}


def link_title(layer: Layer, rel: str, lang: str = "en") -> str:
    """The title of twin's ``rel`` link (``tilesets-vector``, ``styles``) of a layer."""
    en, vi = TWIN_LINKS[rel]
    return vi.format(layer.title_in("vi")) if lang == "vi" else en.format(layer.title_in("en"))


def layer_texts(layer: Layer) -> dict[str, Any]:
    """The collection's title, description and keywords as pygeoapi language structs."""
    description = layer.description_text if layer.description_text else layer.title_text
    return {"title": language_struct(layer.title_text) or layer.name,
            "description": language_struct(description) or layer.name,
            "keywords": {lang: layer.keywords_in(lang) or [layer.name]
                         for lang in ("vi", "en")}}



# --- pygeoapi's own words in its JSON documents (it ships no Vietnamese catalogue) ---------

LINK_TITLES_VI = {
    "This document as JSON": "Tài liệu này dạng JSON",
    "This document as RDF (JSON-LD)": "Tài liệu này dạng RDF (JSON-LD)",
    "This document as HTML": "Tài liệu này dạng HTML",
    "This document as CoverageJSON": "Tài liệu này dạng CoverageJSON",
    "The landing page of this server as JSON": "Trang chủ của máy chủ này dạng JSON",
    "The landing page of this server as HTML": "Trang chủ của máy chủ này dạng HTML",
    "The OpenAPI definition as JSON": "Định nghĩa OpenAPI dạng JSON",
    "The OpenAPI definition as HTML": "Định nghĩa OpenAPI dạng HTML",
    "Conformance": "Mức phù hợp tiêu chuẩn",
    "Collections": "Các tập dữ liệu",
    "Processes": "Các tiến trình",
    "Jobs": "Các công việc",
    "The list of supported tiling schemes as JSON": "Các lược đồ chia ô được hỗ trợ dạng JSON",
    "The list of supported tiling schemes as HTML": "Các lược đồ chia ô được hỗ trợ dạng HTML",
    "Record catalogue as JSON": "Danh mục bản ghi dạng JSON",
    "Record catalogue as HTML": "Danh mục bản ghi dạng HTML",
    "Schema of collection in JSON": "Lược đồ của tập dữ liệu dạng JSON",
    "Schema of collection in HTML": "Lược đồ của tập dữ liệu dạng HTML",
    "Queryables for this collection as JSON": "Các thuộc tính truy vấn được dạng JSON",
    "Queryables for this collection as HTML": "Các thuộc tính truy vấn được dạng HTML",
    "Items as RDF (GeoJSON-LD)": "Các đối tượng dạng RDF (GeoJSON-LD)",
    "Coverage data": "Dữ liệu lưới",
    "Tiles as JSON": "Ô bản đồ dạng JSON",
    "Tiles as HTML": "Ô bản đồ dạng HTML",
    "Instance as JSON": "Phiên bản dạng JSON",
    "Instance as HTML": "Phiên bản dạng HTML",
    # twin's links of a coverage collection (twin.server.coverages.config.links)
    "Coverage as GeoTIFF": "Lớp phủ dạng GeoTIFF",
    "Domain set of the coverage": "Miền xác định của lớp phủ",
    "Range type of the coverage": "Kiểu giá trị của lớp phủ",
    "Map (PNG)": "Bản đồ (PNG)",
    "Map tilesets (PNG)": "Các bộ ô bản đồ (PNG)",
    "Legend (PNG)": "Chú giải (PNG)",
    "Legend (JSON)": "Chú giải (JSON)",
    "EDR position query: values at a point over time":
        "Truy vấn EDR theo vị trí: giá trị tại một điểm theo thời gian",
    # twin's own links on the landing page (twin.server.pygeoapi.bridge.landing_links)
    "Web viewer of the city": "Bản đồ trực tuyến của thành phố",
    "Map style of the whole city (MapLibre)": "Kiểu bản đồ của toàn thành phố (MapLibre)",
    "QGIS project with every layer styled": "Dự án QGIS với mọi lớp đã có kiểu hiển thị",
}
ITEMS_AS = "Items as "


def link_title_vi(title: str) -> str:
    if title in LINK_TITLES_VI:
        return LINK_TITLES_VI[title]
    if title.startswith(ITEMS_AS):  # "Items as GeoJSON", "Items as CSV" …
        return "Các đối tượng dạng " + title[len(ITEMS_AS):]
    return title


def _vi_links(node: Any, registry: Registry) -> Any:
    if isinstance(node, list):
        return [_vi_links(v, registry) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _vi_links(v, registry) for k, v in node.items()}
    if isinstance(out.get("title"), str) and "href" in out:
        out["title"] = link_title_vi(out["title"])
        rel = str(out.get("rel", "")).rsplit("/", 1)[-1]
        m = re.search(r"/collections/([^/?]+)/(tiles|styles)$", str(out["href"]))
        if rel in TWIN_LINKS and m and m.group(1) in registry:
            out["title"] = link_title(registry.get(m.group(1)), rel, "vi")
    return out


def _fields(doc: dict, layer: Layer, lang: str) -> None:
    """The properties of a collection's schema: titled and described in ``lang``."""
    specs = {**layer.fields}
    measure = measure_field(layer)
    if measure is not None:
        specs[measure.name] = measure
    for name, prop in (doc.get("properties") or {}).items():
        spec = specs.get(name)
        if spec is not None and isinstance(prop, dict):
            said = spec.json_schema(lang=lang)
            prop["title"] = said["title"]
            if "description" in said:
                prop["description"] = said["description"]


def localised(result: tuple[dict, int, Any], lang: str, registry: Registry,
              layer: Layer | None = None) -> tuple[dict, int, Any]:
    """One of pygeoapi's JSON answers (headers, status, content) in ``lang``: its link
    titles in Vietnamese, and with ``layer`` (a schema), the fields' titles and
    descriptions. Anything else (HTML, an error, English without a layer) as it was."""
    headers, status, content = result
    media = str(headers.get("Content-Type", "application/json"))
    if status != 200 or "json" not in media or (lang != "vi" and layer is None):
        return result
    try:
        doc = json.loads(content)
    except (TypeError, ValueError):
        return result
    if lang == "vi":
        doc = _vi_links(doc, registry)
    if layer is not None and isinstance(doc, dict):
        _fields(doc, layer, lang)
    return headers, status, json.dumps(doc, ensure_ascii=False)
