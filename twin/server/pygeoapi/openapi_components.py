"""Local copies of the OGC OpenAPI components pygeoapi's document refers to by URL.

pygeoapi's generated document ``$ref``s parameters, responses and schemas published at
schemas.opengis.net and raw.githubusercontent.com. A client or a validator that is
offline (a city operations centre, CI) cannot resolve them, so twin serves a
self-contained document: :func:`localise` replaces every remote reference listed in
:data:`REMOTE` with a reference to a component defined here.

The components follow the OGC API – Features Part 1, EDR 1.0, Processes Part 1,
Coverages and Records building blocks for what twin returns. One deliberate choice: every
error twin answers is the OGC API – Features exception document ``{code, description}``
(twin/server/errors.py), so the Processes exception (RFC 7807, which requires ``type``)
resolves to that same schema: the document describes the server, not a second server.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

FEATURES = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"
EDR = "https://schemas.opengis.net/ogcapi/edr/1.0/openapi"
PROCESSES = "https://schemas.opengis.net/ogcapi/processes/part1/1.0/openapi"
TILES = "https://schemas.opengis.net/ogcapi/tiles/part1/1.0/openapi/ogcapi-tiles-1.yaml"
COVERAGES = ("https://raw.githubusercontent.com/opengeospatial/ogcapi-coverages/refs/heads/"
             "master/standard/openapi/ogcapi-coverages-1.yaml")
RECORDS = "https://raw.githubusercontent.com/opengeospatial/ogcapi-records/master/core/openapi"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def _schema(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_or_html(description: str, schema: str, media: str = "application/json") -> dict:
    return {"description": description,
            "content": {media: {"schema": _schema(schema)},
                        "text/html": {"schema": {"type": "string"}}}}


def _query(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "description": description, "required": required,
            "schema": schema, "style": "form", "explode": False}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "description": description, "required": True,
            "schema": {"type": "string"}}


def _coords(description: str, required: bool = True) -> dict:
    return _query("coords", description, {"type": "string"}, required)


# --- schemas -------------------------------------------------------------------------

def _geometry(kind: str, coordinates: dict) -> dict:
    return {"type": "object", "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": [kind]},
                           "coordinates": coordinates}}


_POSITION = {"type": "array", "minItems": 2, "items": {"type": "number"}}
_LINE = {"type": "array", "minItems": 2, "items": _POSITION}
_RING = {"type": "array", "minItems": 4, "items": _POSITION}
_POLYGON = {"type": "array", "items": _RING}
_SIMPLE = {
    "pointGeoJSON": _geometry("Point", _POSITION),
    "multipointGeoJSON": _geometry("MultiPoint", {"type": "array", "items": _POSITION}),
    "linestringGeoJSON": _geometry("LineString", _LINE),
    "multilinestringGeoJSON": _geometry("MultiLineString", {"type": "array", "items": _LINE}),
    "polygonGeoJSON": _geometry("Polygon", _POLYGON),
    "multipolygonGeoJSON": _geometry("MultiPolygon", {"type": "array", "items": _POLYGON}),
}

SCHEMAS: dict[str, dict] = {
    **_SIMPLE,
    "geometrycollectionGeoJSON": {
        "type": "object", "required": ["type", "geometries"],
        "properties": {"type": {"type": "string", "enum": ["GeometryCollection"]},
                       "geometries": {"type": "array",
                                      "items": _schema("geometryGeoJSON")}}},
    "geometryGeoJSON": {"oneOf": [_schema(name) for name in _SIMPLE]
                        + [_schema("geometrycollectionGeoJSON")]},
    "link": {
        "type": "object", "required": ["href", "rel"],
        "properties": {"href": {"type": "string"}, "rel": {"type": "string"},
                       "type": {"type": "string"}, "hreflang": {"type": "string"},
                       "title": {"type": "string"}, "length": {"type": "integer"}}},
    "exception": {
        "type": "object", "required": ["code"],
        "description": "Information about the exception: an error code plus an optional "
                       "description.",
        "properties": {"code": {"type": "string"}, "description": {"type": "string"}}},
    "landingPage": {
        "type": "object", "required": ["links"],
        "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                       "links": {"type": "array", "items": _schema("link")}}},
    "extent": {
        "type": "object",
        "properties": {
            "spatial": {"type": "object", "properties": {
                "bbox": {"type": "array", "minItems": 1,
                         "items": {"type": "array", "minItems": 4, "maxItems": 6,
                                   "items": {"type": "number"}}},
                "crs": {"type": "string", "default": CRS84}}},
            "temporal": {"type": "object", "properties": {
                "interval": {"type": "array", "minItems": 1,
                             "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                       "items": {"type": "string", "format": "date-time",
                                                 "nullable": True}}},
                "trs": {"type": "string"}}}}},
    "confClasses": {
        "type": "object", "required": ["conformsTo"],
        "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
    "collections": {
        "type": "object", "required": ["links", "collections"],
        "properties": {"links": {"type": "array", "items": _schema("link")},
                       "collections": {"type": "array", "items": _schema("collection")},
                       "numberMatched": {"type": "integer", "minimum": 0},
                       "numberReturned": {"type": "integer", "minimum": 0}}},
    "collection": {
        "type": "object", "required": ["id", "links"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                       "description": {"type": "string"},
                       "links": {"type": "array", "items": _schema("link")},
                       "extent": _schema("extent"),
                       "itemType": {"type": "string", "default": "feature"},
                       "crs": {"type": "array", "items": {"type": "string"},
                               "default": [CRS84]}}},
    "featureGeoJSON": {
        "type": "object", "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            # null for a feature without geometry (and skipGeometry=true), as GeoJSON allows
            "geometry": {"oneOf": [_schema("geometryGeoJSON")], "nullable": True},
            "properties": {"type": "object", "nullable": True},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "links": {"type": "array", "items": _schema("link")}}},
    "featureCollectionGeoJSON": {
        "type": "object", "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": _schema("featureGeoJSON")},
            "links": {"type": "array", "items": _schema("link")},
            "timeStamp": {"type": "string", "format": "date-time"},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0}}},
    # EDR 1.0 schemas/coverageJSON.yaml: a CoverageJSON document of any of its three types.
    "coverageJSON": {
        "type": "object", "required": ["type"],
        "properties": {
            "type": {"type": "string", "enum": ["Coverage", "CoverageCollection", "Domain"]},
            "domain": {"type": "object"}, "parameters": {"type": "object"},
            "ranges": {"type": "object"}, "coverages": {"type": "array",
                                                        "items": {"type": "object"}},
            "referencing": {"type": "array", "items": {"type": "object"}}}},
    "processSummary": {
        "type": "object", "required": ["id", "version"],
        "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                       "description": {"type": "string"}, "version": {"type": "string"},
                       "jobControlOptions": {"type": "array", "items": {
                           "type": "string",
                           "enum": ["sync-execute", "async-execute", "dismiss"]}},
                       "links": {"type": "array", "items": _schema("link")}}},
    "processList": {
        "type": "object", "required": ["processes", "links"],
        "properties": {"processes": {"type": "array", "items": _schema("processSummary")},
                       "links": {"type": "array", "items": _schema("link")}}},
    "statusInfo": {
        "type": "object", "required": ["jobID", "status"],
        "properties": {"processID": {"type": "string"}, "type": {"type": "string"},
                       "jobID": {"type": "string"},
                       "status": {"type": "string", "enum": [
                           "accepted", "running", "successful", "failed", "dismissed"]},
                       "message": {"type": "string"},
                       "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                       "links": {"type": "array", "items": _schema("link")}}},
    "execute": {
        "type": "object",
        "properties": {"inputs": {"type": "object", "additionalProperties": True},
                       "outputs": {"type": "object", "additionalProperties": True},
                       "response": {"type": "string", "enum": ["raw", "document"],
                                    "default": "raw"},
                       "subscriber": {"type": "object"}}},
}

# --- parameters and responses --------------------------------------------------------

PARAMETERS: dict[str, dict] = {
    "datetime": _query("datetime", "Either a date-time or an interval, half-bounded or "
                       "bounded (RFC 3339; '..' for an open end).", {"type": "string"}),
    "featureId": _path("featureId", "local identifier of a feature"),
    "sortby": _query("sortby", "Comma-separated property names, each optionally prefixed "
                     "with + (ascending) or - (descending).",
                     {"type": "array", "minItems": 1,
                      "items": {"type": "string", "pattern": "^[+-]?[A-Za-z_].*$"}}),
    "q": _query("q", "Comma-separated search terms (the catalogue: a record matching any "
                "of them, in either language, with or without diacritics).",
                {"type": "string"}),
    "subset": _query("subset", "Subset along an axis, e.g. Lat(20.9:21.1).",
                     {"type": "array", "items": {"type": "string"}}),
    "positionCoords": _coords("A WKT POINT or MULTIPOINT in the query CRS."),
    "radiusCoords": _coords("A WKT POINT (the centre of the circle)."),
    "areaCoords": _coords("A WKT POLYGON or MULTIPOLYGON."),
    "itemsCoords": _coords("A WKT geometry the items must intersect.", required=False),
    "edrBbox": _query("bbox", "Only locations inside this bounding box (4 or 6 numbers).",
                      {"type": "array", "minItems": 4, "maxItems": 6,
                       "items": {"type": "number"}}),
    "locationId": _path("locId", "Identifier of a location (a station code)."),
    "parameterName": _query("parameter-name", "Comma-separated parameters to return.",
                            {"type": "string"}),
    "z": _query("z", "A height or depth, a list or an interval of them.", {"type": "string"}),
}

_ERROR = {"application/json": {"schema": _schema("exception")},
          "text/html": {"schema": {"type": "string"}}}
RESPONSES: dict[str, dict] = {
    "LandingPage": _json_or_html("The landing page.", "landingPage"),
    "ConformanceDeclaration": _json_or_html("The conformance classes the server implements.",
                                            "confClasses"),
    "Collections": _json_or_html("The collections the server offers.", "collections"),
    "Collection": _json_or_html("Information about the feature collection.", "collection"),
    "Features": _json_or_html("The features of the collection.", "featureCollectionGeoJSON",
                              "application/geo+json"),
    "Feature": _json_or_html("A feature.", "featureGeoJSON", "application/geo+json"),
    "InvalidParameter": {"description": "A query parameter has an invalid value.",
                         "content": _ERROR},
    "NotFound": {"description": "The requested resource does not exist.", "content": _ERROR},
    "ServerError": {"description": "A server error occurred.", "content": _ERROR},
    "ProcessList": {"description": "Information about the available processes.",
                    "content": {"application/json": {"schema": _schema("processList")}}},
    "ExecuteAsync": {"description": "Started asynchronous execution; the job was created.",
                     "headers": {"Location": {"description": "URL of the job's status.",
                                              "schema": {"type": "string"}}},
                     "content": {"application/json": {"schema": _schema("statusInfo")}}},
}

# Remote reference -> local one.
REMOTE: dict[str, str] = {
    **{f"{FEATURES}#/components/responses/{name}": f"#/components/responses/{name}"
       for name in ("LandingPage", "Collection", "Features", "Feature", "InvalidParameter",
                    "NotFound", "ServerError")},
    f"{FEATURES}#/components/parameters/datetime": "#/components/parameters/datetime",
    f"{FEATURES}#/components/parameters/featureId": "#/components/parameters/featureId",
    f"{RECORDS}/parameters/sortby.yaml": "#/components/parameters/sortby",
    f"{RECORDS}/parameters/q.yaml": "#/components/parameters/q",
    f"{COVERAGES}#/components/parameters/subset": "#/components/parameters/subset",
    **{f"{EDR}/parameters/{name}.yaml": f"#/components/parameters/{name}"
       for name in ("positionCoords", "radiusCoords", "areaCoords", "itemsCoords",
                    "locationId", "z")},
    f"{EDR}/parameters/bbox.yaml": "#/components/parameters/edrBbox",
    f"{EDR}/parameters/parameter-name.yaml": "#/components/parameters/parameterName",
    f"{EDR}/schemas/coverageJSON.yaml": "#/components/schemas/coverageJSON",
    f"{TILES}#/components/schemas/link": "#/components/schemas/link",
    f"{PROCESSES}/schemas/exception.yaml": "#/components/schemas/exception",
    f"{PROCESSES}/schemas/execute.yaml": "#/components/schemas/execute",
    **{f"{PROCESSES}/responses/{name}.yaml": f"#/components/responses/{name}"
       for name in ("ProcessList", "ExecuteAsync", "NotFound", "ServerError")},
}

# pygeoapi documents the answers of these paths with the landing page's response.
OWN_RESPONSE = {"/conformance": "ConformanceDeclaration", "/collections": "Collections"}


def localise(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with every remote reference in :data:`REMOTE` pointing at a component of
    its own; those components are added to ``doc["components"]`` (pygeoapi's own
    components of the same name stay)."""
    out = _replace(doc)
    for path, response in OWN_RESPONSE.items():
        ok = out.get("paths", {}).get(path, {}).get("get", {}).get("responses", {})
        if "200" in ok:
            ok["200"] = {"$ref": f"#/components/responses/{response}"}
    components = out.setdefault("components", {})
    for section, entries in (("schemas", SCHEMAS), ("parameters", PARAMETERS),
                             ("responses", RESPONSES)):
        merged = deepcopy(entries)
        merged.update(components.get(section, {}))
        components[section] = merged
    return out


def _replace(node: Any) -> Any:
    if isinstance(node, list):
        return [_replace(v) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref in REMOTE:
        return {**node, "$ref": REMOTE[ref]}
    return {k: _replace(v) for k, v in node.items()}


def remote_refs(node: Any) -> set[str]:
    """Every ``$ref`` in ``node`` that points outside the document."""
    if isinstance(node, list):
        return set().union(*map(remote_refs, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    own = {node["$ref"]} if isinstance(node.get("$ref"), str) \
        and not node["$ref"].startswith("#") else set()
    return own.union(*map(remote_refs, node.values())) if node else own
