"""JSON documents of the tiles API: tileset lists, tileset metadata (OGC API - Tiles,
OGC 17-083r4 TileSetMetadata) and TileJSON 3.0.0, built from a layer and its extent."""

from __future__ import annotations

import math

from twin.registry import Layer
from twin.server.tiles.tms import CRS84_URI, CRS_URI, TMS_ID, TMS_URI

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
REL_TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
MAX_LAT = 85.0511287798066

GEOMETRY_DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1,
                      "Polygon": 2, "MultiPolygon": 2}


class Urls:
    """The URLs of one collection's tiles, with an optional query suffix for tile links."""

    def __init__(self, base: str, collection: str, query: str = ""):
        self.collection = f"{base.rstrip('/')}/collections/{collection}"
        self.tilesets = f"{self.collection}/tiles"
        self.tileset = f"{self.tilesets}/{TMS_ID}"
        self.tilejson = f"{self.tileset}/tilejson.json"
        self.tms = f"{base.rstrip('/')}/tileMatrixSets/{TMS_ID}"
        self.query = f"?{query}" if query else ""

    def tile_template(self, z: str, y: str, x: str) -> str:
        return f"{self.tileset}/{{{z}}}/{{{y}}}/{{{x}}}{self.query}"


def tile_index(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(col, row) of the WebMercatorQuad tile holding lon/lat at zoom z."""
    n = 2 ** z
    lat = max(-MAX_LAT, min(MAX_LAT, lat))
    col = int((lon + 180.0) / 360.0 * n)
    row = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return min(max(col, 0), n - 1), min(max(row, 0), n - 1)


def matrix_limits(bbox: list[float], minzoom: int, maxzoom: int) -> list[dict]:
    west, south, east, north = bbox
    limits = []
    for z in range(minzoom, maxzoom + 1):
        min_col, min_row = tile_index(west, north, z)
        max_col, max_row = tile_index(east, south, z)
        limits.append({"tileMatrix": str(z), "minTileRow": min_row, "maxTileRow": max_row,
                       "minTileCol": min_col, "maxTileCol": max_col})
    return limits


def center_zoom(layer: Layer) -> int:
    return min(max(13, layer.tiles.minzoom), layer.tiles.maxzoom)


# The documents' own words, per language (the layer's come from its file).
WORDS = {
    "vi": {"tilesets": "Các bộ ô bản đồ", "metadata": "mô tả bộ ô bản đồ",
           "definition": "định nghĩa {tms}", "this": "Bộ ô bản đồ này",
           "tiles": "Ô bản đồ vectơ Mapbox", "external_id": "Mã định danh ổn định"},
    "en": {"tilesets": "Tilesets", "metadata": "tileset metadata",
           "definition": "{tms} definition", "this": "This tileset",
           "tiles": "Mapbox vector tiles", "external_id": "Stable external identifier"},
}


def words(lang: str) -> dict[str, str]:
    return {k: v.format(tms=TMS_ID) for k, v in WORDS.get(lang, WORDS["vi"]).items()}


def properties_schema(layer: Layer, lang: str = "vi") -> dict:
    """JSON Schema of a tile feature's attributes: external_id and the public fields (a
    string list is the JSON text of the list in a tile)."""
    props = {"external_id": {"title": "external_id", "type": "string",
                             "description": words(lang)["external_id"]}}
    props.update({f.name: f.json_schema(lists_as_text=True, lang=lang)
                  for f in layer.public_fields()})
    required = ["external_id"] + [f.name for f in layer.public_fields() if f.required]
    return {"type": "object", "required": required, "properties": props}


def tilesets_doc(layer: Layer, urls: Urls, lang: str = "vi") -> dict:
    w, title = words(lang), layer.title_in(lang)
    return {
        "links": [
            {"rel": "self", "type": JSON, "href": urls.tilesets, "title": w["tilesets"]},
            {"rel": "collection", "type": JSON, "href": urls.collection, "title": title},
        ],
        "tilesets": [{
            "title": f"{title} ({TMS_ID})",
            "dataType": "vector",
            "crs": CRS_URI,
            "tileMatrixSetURI": TMS_URI,
            "links": [
                {"rel": "self", "type": JSON, "href": urls.tileset,
                 "title": f"{title}: {w['metadata']}"},
                {"rel": REL_TILING_SCHEME, "type": JSON, "href": urls.tms,
                 "title": w["definition"]},
                {"rel": "item", "type": MVT, "templated": True,
                 "href": urls.tile_template("tileMatrix", "tileRow", "tileCol")},
            ],
        }],
    }


def tileset_doc(layer: Layer, bbox: list[float], urls: Urls, lang: str = "vi") -> dict:
    rules = layer.tiles
    west, south, east, north = bbox
    w, title, description = words(lang), layer.title_in(lang), layer.description_in(lang)
    return {
        "title": title,
        "description": description,
        "keywords": layer.keywords_in(lang),
        "dataType": "vector",
        "crs": CRS_URI,
        "tileMatrixSetURI": TMS_URI,
        "tileMatrixSetLimits": matrix_limits(bbox, rules.minzoom, rules.maxzoom),
        "boundingBox": {"lowerLeft": [west, south], "upperRight": [east, north],
                        "crs": CRS84_URI},
        "centerPoint": {"coordinates": [(west + east) / 2, (south + north) / 2],
                        "tileMatrix": str(center_zoom(layer)), "crs": CRS84_URI},
        "layers": [{
            "id": layer.name,
            "title": title,
            "description": description,
            "dataType": "vector",
            "geometryDimension": GEOMETRY_DIMENSION[layer.geometry],
            "featureType": layer.name,
            "minTileMatrix": str(rules.minzoom),
            "maxTileMatrix": str(rules.maxzoom),
            "crs": CRS_URI,
            "propertiesSchema": properties_schema(layer, lang),
            "links": [{"rel": "collection", "type": JSON, "href": urls.collection,
                       "title": title}],
        }],
        "links": [
            {"rel": "self", "type": JSON, "href": urls.tileset, "title": w["this"]},
            {"rel": REL_TILING_SCHEME, "type": JSON, "href": urls.tms,
             "title": w["definition"]},
            {"rel": "item", "type": MVT, "templated": True, "title": w["tiles"],
             "href": urls.tile_template("tileMatrix", "tileRow", "tileCol")},
            {"rel": "describedby", "type": JSON, "href": urls.tilejson, "title": "TileJSON"},
            {"rel": "collection", "type": JSON, "href": urls.collection, "title": title},
        ],
    }


def tilejson_doc(layer: Layer, bbox: list[float], urls: Urls, lang: str = "vi") -> dict:
    rules = layer.tiles
    west, south, east, north = bbox
    description = layer.description_in(lang)
    fields = {"external_id": words(lang)["external_id"]}
    fields.update({f.name: f.description_in(lang) or f.type.value
                   for f in layer.public_fields()})
    return {
        "tilejson": "3.0.0",
        "name": layer.title_in(lang),
        "description": description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [urls.tile_template("z", "y", "x")],
        "minzoom": rules.minzoom,
        "maxzoom": rules.maxzoom,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, center_zoom(layer)],
        "vector_layers": [{"id": layer.name, "description": description,
                           "minzoom": rules.minzoom, "maxzoom": rules.maxzoom,
                           "fields": fields}],
    }


def tile_matrix_sets_doc(base: str) -> dict:
    href = f"{base.rstrip('/')}/tileMatrixSets/{TMS_ID}"
    return {
        "links": [{"rel": "self", "type": JSON, "href": f"{base.rstrip('/')}/tileMatrixSets"}],
        "tileMatrixSets": [{
            "id": TMS_ID, "title": "Google Maps Compatible for the World", "uri": TMS_URI,
            "crs": CRS_URI,
            "links": [{"rel": "self", "type": JSON, "href": href},
                      {"rel": REL_TILING_SCHEME, "type": JSON, "href": href}],
        }],
    }
