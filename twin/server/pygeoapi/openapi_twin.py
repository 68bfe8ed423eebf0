"""twin's own routes in the OpenAPI document: pygeoapi documents only what it serves.

:func:`add_twin_paths` completes pygeoapi's document with the routes twin serves itself
(twin/server/*/routes.py): vector tiles and styles per public layer, map, legend and
position of the raster collections, readings ingest, metrics and probes, and the viewer.
Every error is the OGC exception document ``{code, description}`` of
twin/server/errors.py, referenced as ``#/components/schemas/exception`` (defined by
:mod:`twin.server.pygeoapi.openapi_components`). Writes name their security schemes:
an API key in ``X-API-Key``, the same key as the password of HTTP Basic (QGIS's stock
credentials dialog) or a bearer token (twin/server/auth/).
"""

from __future__ import annotations

from typing import Any

from twin.registry import Registry
from twin.server.auth.policy import can_read
from twin.server.auth.principal import ANONYMOUS

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
PNG = "image/png"
GEOTIFF = "image/tiff; application=geotiff"
COVJSON = "application/prs.coverage+json"  # what the coverages send
STYLE_FORMATS = {"mapbox": "application/vnd.mapbox.style+json",
                 "qml": "application/vnd.qgis.qml",
                 "sld": "application/vnd.ogc.sld+xml;version=1.1"}
SECURITY_SCHEMES = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "A twin API key (`twin keys create`); its role decides which "
                              "layers the caller may edit."},
    "basic": {"type": "http", "scheme": "basic",
              "description": "HTTP Basic with a twin API key as the password (any user "
                             "name): what QGIS's authentication dialog sends."},
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "An OpenID Connect access token of the city's identity provider."},
}
SECURED = [{"apiKey": []}, {"basic": []}, {"bearer": []}]
_ERROR = {"description": "",
          "content": {JSON: {"schema": {"$ref": "#/components/schemas/exception"}}}}
_OBJECT = {"type": "object"}
_BINARY = {"type": "string", "format": "binary"}


def add_twin_paths(doc: dict[str, Any], config: dict, registry: Registry) -> dict[str, Any]:
    """``doc`` with twin's own path items and security schemes added (in place)."""
    paths = doc.setdefault("paths", {})
    public = [layer.name for layer in registry if can_read(layer, ANONYMOUS)]
    rasters = [name for name, res in config.get("resources", {}).items()
               if any(p.get("type") == "coverage" for p in res.get("providers", []))]
    for builder, names in ((tile_paths, public), (style_paths, public),
                           (raster_paths, rasters)):
        for name in names:
            paths.update({p: item for p, item in builder(name).items() if p not in paths})
    for layer in registry.tables():
        if layer.access.edit and can_read(layer, ANONYMOUS):
            add_edit_operations(paths, layer.name)
    paths.update(service_paths())
    doc.setdefault("components", {}).setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    doc.setdefault("tags", []).extend(
        {"name": t, "description": d} for t, d in TAGS.items()
        if t not in {tag["name"] for tag in doc["tags"]})
    return doc


TAGS = {"tiles": "OGC API - Tiles: vector tiles of the layers",
        "styles": "OGC API - Styles: map styles of the layers and the city",
        "maps": "Maps, map tiles, legends and point values of the raster collections",
        "ingest": "Sensor readings ingest", "operations": "Metrics and health probes",
        "viewer": "The web map viewer",
        "edit": "OGC API - Features Part 4: create, replace, update and delete features"}


# --- building blocks -----------------------------------------------------------------

def _errors(*statuses: int) -> dict[str, dict]:
    texts = {400: "A parameter or the body is invalid.", 401: "Credentials are missing.",
             403: "The caller may not do this.", 404: "The resource does not exist.",
             409: "The change conflicts with stored data (an id taken, a reference).",
             413: "The request body is too large.", 415: "The body's media type is not JSON.",
             503: "The database is unavailable; retry after the Retry-After delay."}
    return {str(s): {**_ERROR, "description": texts[s]} for s in statuses}


def _ok(description: str, media: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {media: {"schema": schema or _OBJECT}}}


def _get(summary: str, tag: str, op_id: str, responses: dict, params: list | None = None,
         **extra: Any) -> dict:
    return {"get": {"summary": summary, "tags": [tag], "operationId": op_id,
                    "parameters": params or [], "responses": responses, **extra}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description, "style": "form", "explode": False}


def _path(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}


def _format(*values: str) -> dict:
    return _query("f", {"type": "string", "enum": list(values)}, "The response format.")


_DATETIME = _query("datetime", {"type": "string"},
                   "An instant or interval (RFC 3339, '..' for open ends).")
_TMS = _path("tms", {"type": "string", "enum": ["WebMercatorQuad"]}, "The tile matrix set.")
_ZXY = [_path("tileMatrix", {"type": "integer", "minimum": 0, "maximum": 24}, "Zoom level."),
        _path("tileRow", {"type": "integer", "minimum": 0}, "Row (y) of the tile."),
        _path("tileCol", {"type": "integer", "minimum": 0}, "Column (x) of the tile.")]


# --- editing (OGC API - Features Part 4, twin/server/edit/routes.py) -----------------

GEOJSON = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
_FEATURE_BODY = {"type": "object", "required": ["type"],
                 "properties": {"type": {"type": "string",
                                         "enum": ["Feature", "FeatureCollection"]}}}
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "The item's ETag as read: a concurrent edit then gets 412."}
_CONTENT_CRS = {"name": "Content-Crs", "in": "header", "required": False,
                "schema": {"type": "string"},
                "description": "CRS of the body's coordinates, as <URI> (default CRS84)."}


def _write(summary: str, op_id: str, responses: dict, body: dict | None = None,
           params: list | None = None) -> dict:
    op = {"summary": summary, "tags": ["edit"], "operationId": op_id, "security": SECURED,
          "parameters": params or [],
          "responses": {**responses, **_errors(400, 401, 403, 404, 409, 413, 415, 503)}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    return op


def _allow() -> dict:
    # An editor of the layer is allowed every method of the path item; an anonymous
    # caller or a reader gets GET, HEAD, OPTIONS (QGIS offers editing from this header).
    return {"description": "The methods the caller may use, in the Allow header: all of "
                           "this path's methods for an editor of the layer, else GET, "
                           "HEAD and OPTIONS.",
            "headers": {"Allow": {"schema": {"type": "string"}}}}


def add_edit_operations(paths: dict, name: str) -> None:
    """POST on items, PUT/PATCH/DELETE on an item and OPTIONS on both, for a layer some
    role may edit; the operations are added to pygeoapi's GET path items."""
    items = paths.setdefault(f"/collections/{name}/items", {})
    item = paths.setdefault(f"/collections/{name}/items/{{featureId}}", {})
    fid = _path("featureId", {"type": "string"}, "The feature's stable id.")
    geojson = {GEOJSON: {"schema": _FEATURE_BODY}, JSON: {"schema": _FEATURE_BODY}}
    done = {"description": "The feature as stored; ETag is its row version.",
            "headers": {"ETag": {"schema": {"type": "string"}}}}
    items["post"] = _write(f"Add features to {name}", f"create_{name}",
                           {"201": {**done, "description": "Created; Location names it."}},
                           geojson, [_CONTENT_CRS])
    items["options"] = {"summary": "Allowed methods", "tags": ["edit"],
                        "operationId": f"options_{name}", "responses": {"204": _allow()}}
    item["put"] = _write(f"Replace a feature of {name}", f"replace_{name}",
                         {"200": done, "412": {**_ERROR, "description": "If-Match failed."}},
                         geojson, [fid, _IF_MATCH, _CONTENT_CRS])
    item["patch"] = _write(f"Change properties of a feature of {name}", f"update_{name}",
                           {"200": done, "412": {**_ERROR, "description": "If-Match failed."}},
                           {MERGE_PATCH: {"schema": _OBJECT}, GEOJSON: {"schema": _OBJECT}},
                           [fid, _IF_MATCH, _CONTENT_CRS])
    item["delete"] = _write(f"Delete a feature of {name}", f"delete_{name}",
                            {"204": {"description": "Deleted."},
                             "412": {**_ERROR, "description": "If-Match failed."}},
                            None, [fid, _IF_MATCH])
    item["options"] = {"summary": "Allowed methods", "tags": ["edit"],
                       "operationId": f"options_item_{name}", "parameters": [fid],
                       "responses": {"204": _allow()}}


# --- per collection ------------------------------------------------------------------

# twin/server/tiles/routes.py and the map tiles of twin/server/coverages/routes.py: the
# tile cache's version (or the body's hash) as ETag, and TWIN_TILE_MAX_AGE for a CDN
# (else revalidate) as Cache-Control.
_TILE_CACHE = {
    "ETag": {"required": True, "schema": {"type": "string"},
             "description": "The tile's version: If-None-Match with it gives 304."},
    "Cache-Control": {"required": True, "schema": {"type": "string"},
                      "description": "public, max-age=TWIN_TILE_MAX_AGE when set, else "
                                     "revalidate with the ETag."}}

def tile_paths(name: str) -> dict[str, dict]:
    """OGC API - Tiles of one layer (twin/server/tiles/routes.py)."""
    base = f"/collections/{name}/tiles"
    meta = [_format("json")]
    return {
        base: _get(f"Tilesets of {name}", "tiles", f"{name}.tilesets",
                   {"200": _ok("The tileset list.", JSON), **_errors(400, 404)},
                   [*meta, _DATETIME]),
        base + "/{tms}": _get(f"Tileset metadata of {name}", "tiles", f"{name}.tileset",
                              {"200": _ok("Tileset metadata.", JSON), **_errors(400, 404)},
                              [_TMS, *meta, _DATETIME]),
        base + "/{tms}/tilejson.json": _get(
            f"TileJSON of {name}", "tiles", f"{name}.tilejson",
            {"200": _ok("TileJSON 3.0.0.", JSON), **_errors(400, 404)},
            [_TMS, *meta, _DATETIME]),
        base + "/{tms}/{tileMatrix}/{tileRow}/{tileCol}": _get(
            f"A vector tile of {name}", "tiles", f"{name}.tile",
            {"200": {**_ok("A Mapbox vector tile (empty when no feature).", MVT, _BINARY),
                     "headers": _TILE_CACHE},
             "204": {"description": "The zoom is outside the layer's zoom range.",
                     "headers": {"Cache-Control": _TILE_CACHE["Cache-Control"]}},
             "304": {"description": "Not modified (If-None-Match).", "headers": _TILE_CACHE},
             **_errors(400, 404)},
            [_TMS, *_ZXY, _format("mvt"), _DATETIME]),
    }


def style_paths(name: str) -> dict[str, dict]:
    """OGC API - Styles of one layer (twin/server/styles/routes.py)."""
    base = f"/collections/{name}/styles"
    sheets = {media: {"schema": _OBJECT if media.endswith("json") else {"type": "string"}}
              for media in STYLE_FORMATS.values()}
    return {
        base: _get(f"Styles of {name}", "styles", f"{name}.styles",
                   {"200": _ok("The style list.", JSON), **_errors(400, 404)},
                   [_format("json")]),
        base + "/{styleId}": _get(
            f"A stylesheet of {name}", "styles", f"{name}.stylesheet",
            {"200": {"description": "The stylesheet.", "content": sheets},
             "304": {"description": "Not modified (If-None-Match)."}, **_errors(400, 404)},
            [_path("styleId", {"type": "string", "enum": ["default"]}, "The style."),
             _format(*STYLE_FORMATS)]),
    }


def raster_paths(name: str) -> dict[str, dict]:
    """Maps, map tiles, legend and position of one raster collection
    (twin/server/coverages/routes.py); /coverage itself is pygeoapi's path item."""
    base = f"/collections/{name}"
    bbox = _query("bbox", {"type": "array", "minItems": 4, "maxItems": 4,
                           "items": {"type": "number"}}, "Bounding box of the map.")
    size = [_query(n, {"type": "integer", "minimum": 1, "maximum": 4096},
                   f"Map {n} in pixels.") for n in ("width", "height")]
    return {
        base + "/coverage/domainset": _get(
            f"Domain set of {name}", "maps", f"{name}.domainset",
            {"200": _ok("The coverage's domain set.", JSON), **_errors(400, 404)},
            [_format("json")]),
        base + "/coverage/rangetype": _get(
            f"Range type of {name}", "maps", f"{name}.rangetype",
            {"200": _ok("The coverage's range type.", JSON), **_errors(400, 404)},
            [_format("json")]),
        base + "/map": _get(
            f"Map of {name}", "maps", f"{name}.map",
            {"200": _ok("A PNG map.", PNG, _BINARY), **_errors(400, 404)},
                            [_format("png"), bbox, *size, _DATETIME,
             _query("transparent", {"type": "boolean", "default": True},
                    "Transparent where there is no data; false: white there.")]),
        base + "/map/tiles": _get(f"Map tilesets of {name}", "maps", f"{name}.maptilesets",
                                  {"200": _ok("The map tileset list.", JSON),
                                   **_errors(400, 404)}, [_format("json")]),
        base + "/map/tiles/{tms}/{tileMatrix}/{tileRow}/{tileCol}": _get(
            f"A map tile of {name}", "maps", f"{name}.maptile",
            {"200": {**_ok("A PNG map tile (transparent where there is no data).", PNG,
                           _BINARY), "headers": _TILE_CACHE},
             "304": {"description": "Not modified (If-None-Match).", "headers": _TILE_CACHE},
             **_errors(400, 404)},
            [_TMS, *_ZXY, _format("png"), _DATETIME]),
        base + "/legend": _get(f"Legend of {name}", "maps", f"{name}.legend",
                               {"200": {"description": "The legend.",
                                        "content": {PNG: {"schema": _BINARY},
                                                    JSON: {"schema": _OBJECT}}},
                                **_errors(400, 404)}, [_format("png", "json")]),
        base + "/position": _get(
            f"Value of {name} at a point", "maps", f"{name}.position",
            {"200": {"description": "The value at the point.",
                     "content": {COVJSON: {"schema": _OBJECT},
                                 "text/csv": {"schema": {"type": "string"}}}},
             **_errors(400, 404)},
            [{**_query("coords", {"type": "string"}, "POINT(lon lat) in CRS84."),
              "required": True}, _format("covjson", "coveragejson", "json", "csv"),
             _DATETIME]),
    }


# --- service-wide routes -------------------------------------------------------------

def service_paths() -> dict[str, dict]:
    """Routes that are not per collection."""
    tms = {"200": _ok("Tile matrix sets.", JSON), **_errors(400)}
    return {
        "/tileMatrixSets": _get("Tile matrix sets", "tiles", "tileMatrixSets", tms,
                                [_format("json")]),
        "/tileMatrixSets/{tms}": _get("A tile matrix set", "tiles", "tileMatrixSet",
                                      {**tms, **_errors(404)}, [_TMS, _format("json")]),
        "/styles": _get("The city style", "styles", "cityStyle",
                        {"200": _ok("A MapLibre style of every public layer.",
                                    STYLE_FORMATS["mapbox"]), **_errors(400)},
                        [_format("mapbox")]),
        "/qgis/project.qgz": _get("The QGIS project", "styles", "qgisProject",
                                  {"200": _ok("A QGIS project of every layer.",
                                              "application/zip", _BINARY)}),
        "/readings": _ingest("Post sensor readings", "postReadings"),
        "/readings/corrections": _corrections(),
        "/sta/v1.1/Observations": _ingest("Post SensorThings observations",
                                          "postObservations"),
        "/metrics": _get("Prometheus metrics", "operations", "metrics",
                         {"200": _ok("Metrics in the Prometheus text format.",
                                     "text/plain", {"type": "string"}),
                          **_errors(401, 403)}),  # TWIN_METRICS_ACCESS decides who may
        "/health": _get("Liveness", "operations", "health",
                        {"200": _ok("The worker is alive.", JSON, _status("alive"))}),
        "/ready": _get("Readiness", "operations", "ready",
                       {"200": _ok("The database answers.", JSON, _status("ready")),
                        **_errors(503)}),
        "/viewer": _get("The web map viewer", "viewer", "viewer",
                        {"200": _ok("The viewer's page.", "text/html", {"type": "string"})}),
    }


def _status(value: str) -> dict:
    return {"type": "object", "required": ["status"],
            "properties": {"status": {"type": "string", "enum": [value]}}}


def _corrections() -> dict:
    """Corrections of stored readings (twin/server/readings/corrections.py), audited."""
    return {"post": {
        "summary": "Correct stored readings (the station's agency or an admin; audited)",
        "tags": ["ingest"], "operationId": "correctReadings", "security": SECURED,
        "requestBody": {"required": True, "content": {JSON: {"schema": {
            "oneOf": [{"type": "array", "items": _OBJECT}, _OBJECT]}}}},
        "responses": {"200": _ok("The corrections were applied and audited.", JSON),
                      **_errors(400, 401, 403, 404, 413, 415, 503)}}}


def _ingest(summary: str, op_id: str) -> dict:
    """POST of readings (twin/server/readings/routes.py): one transaction, idempotent."""
    done = _ok("The readings were stored (201) or all were already there (200).", JSON)
    return {"post": {
        "summary": summary, "tags": ["ingest"], "operationId": op_id, "security": SECURED,
        "requestBody": {"required": True, "content": {JSON: {"schema": {
            "oneOf": [{"type": "array", "items": _OBJECT}, _OBJECT]}}}},
        "responses": {"200": done, "201": done, **_errors(400, 401, 403, 413, 415, 503)}}}
