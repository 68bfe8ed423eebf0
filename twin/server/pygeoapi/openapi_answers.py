"""The answers of pygeoapi's path items as twin really gives them.

pygeoapi's generated document describes a generic pygeoapi: ``f`` is ``json, html,
jsonld`` everywhere, every answer is ``application/json``, the EDR queries answer only
200, and coverages share the features' response. twin serves these paths with its own
routes and formats (twin/server/params/negotiate.py), so :func:`describe_answers`
rewrites, per operation:

- the ``f`` parameter: exactly the names the route accepts (aliases included);
- the 200 response: one entry per media type the route sends, with its schema;
- the error statuses the route can give (400 for a bad parameter, 404 for an unknown
  path parameter, 413/415/429 for executions, 503 whenever the database is away); every
  error is the exception document ``{code, description}``;
- ``lang``: a preference like ``Accept-Language``; an unsupported tag falls back to the
  city's default language, so any string is valid (pygeoapi's enum was not enforced).

schemathesis (tests/test_fuzz_api.py) checks the result against the running server with
every check: status codes, content types, headers, schemas and negative data.
"""

from __future__ import annotations

import re
from typing import Any

from twin.server.params import negotiate
from twin.server.pygeoapi.openapi_twin import _errors

JSON, HTML, JSONLD = "application/json", "text/html", "application/ld+json"
GEOJSON, CSV, COVJSON = "application/geo+json", "text/csv", "application/vnd.cov+json"
SCHEMA_JSON = "application/schema+json"
FGB, GPKG = negotiate.FGB.media[0], negotiate.GPKG.media[0]
GEOTIFF, PRS_COVJSON = "image/tiff; application=geotiff", "application/prs.coverage+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
_TEXT, _BINARY, _OBJECT = {"type": "string"}, {"type": "string", "format": "binary"}, \
    {"type": "object"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# (path pattern, names of f, {media type sent: schema}). The first match wins.
_COLLECTION = r"/collections/[^/{}]+"
ANSWERS: list[tuple[str, list[str], dict[str, dict]]] = [
    (r"/conformance", ["json", "html"], {JSON: _ref("confClasses"), HTML: _TEXT}),
    (r"/openapi", ["json", "html", "jsonld"], {OPENAPI: _OBJECT, HTML: _TEXT}),
    (r"/", ["json", "html", "jsonld"],
     {JSON: _ref("landingPage"), HTML: _TEXT, JSONLD: _OBJECT}),
    (r"/collections", ["json", "html", "jsonld"],
     {JSON: _ref("collections"), HTML: _TEXT, JSONLD: _OBJECT}),
    (_COLLECTION, ["json", "html", "jsonld"],
     {JSON: _ref("collection"), HTML: _TEXT, JSONLD: _OBJECT}),
    (_COLLECTION + r"/(queryables|schema)", ["json", "jsonld", "html"],
     {SCHEMA_JSON: _OBJECT, HTML: _TEXT}),
    (_COLLECTION + r"/coverage", ["geotiff", "gtiff", "tif", "tiff", "covjson",
                                  "coveragejson", "json"],
     {GEOTIFF: _BINARY, PRS_COVJSON: _ref("coverageJSON")}),
    (r"/processes", ["json", "html", "jsonld"],
     {JSON: _ref("processList"), HTML: _TEXT, JSONLD: _OBJECT}),
    (r"/processes/[^/{}]+", ["json", "html", "jsonld"],
     {JSON: _OBJECT, HTML: _TEXT, JSONLD: _OBJECT}),
    (r"/jobs", ["json", "html", "jsonld"], {JSON: _OBJECT, HTML: _TEXT, JSONLD: _OBJECT}),
    (r"/jobs/\{jobId\}", ["json", "html", "jsonld"],
     {JSON: _ref("statusInfo"), HTML: _TEXT, JSONLD: _OBJECT}),
]
# The features' items and item (twin/server/features/params.py ITEM_FORMATS).
ITEMS = (["csv", "fgb", "flatgeobuf", "geojson", "gpkg", "html", "json", "jsonld"],
         {GEOJSON: _ref("featureCollectionGeoJSON"), HTML: _TEXT, CSV: _TEXT,
          FGB: _BINARY, GPKG: _BINARY})
ITEM = (["geojson", "json", "jsonld", "html"], {GEOJSON: _ref("featureGeoJSON"), HTML: _TEXT})
# EDR (twin/server/edr/routes.py): queries, locations and items.
EDR_QUERY = (["covjson", "coveragejson", "json", "geojson", "csv", "html"],
             {COVJSON: _ref("coverageJSON"), GEOJSON: _OBJECT, CSV: _TEXT, HTML: _TEXT})
EDR_LOCATIONS = (["geojson", "html"], {GEOJSON: _OBJECT, HTML: _TEXT})
EDR_ITEMS = (["geojson", "covjson", "coveragejson", "json"], {GEOJSON: _OBJECT})
_EDR_QUERIES = ("position", "radius", "area", "cube", "trajectory", "corridor")
_F_TEXT = "The response format (also chosen by the Accept header)."
# Listings that refuse a limit above their maximum (alerts, deliveries): kept as is.
REFUSED_LIMIT = ("/alerts", "/admin/")


def describe_answers(doc: dict[str, Any], kinds: dict[str, set[str]],
                     processes: dict[str, dict]) -> dict[str, Any]:
    """``doc`` (pygeoapi's localised document) with the answers twin gives (in place).
    ``kinds``: provider type (feature, edr, ...) -> the collections served by one;
    ``processes``: process id -> its outputs metadata."""
    components = doc.setdefault("components", {})
    lang = components.get("parameters", {}).get("lang")
    if lang:
        lang["schema"] = {"type": "string"}
        lang["description"] = ("The preferred language (a BCP 47 tag such as vi or en); "
                               "one the server does not offer falls back to Accept-Language, "
                               "then to the city's default language.")
    for path, item in doc.get("paths", {}).items():
        get = item.get("get")
        if get is not None:
            answer = _answer(path, kinds)
            if answer is not None:
                _set_answer(get, components, *answer)
            if re.fullmatch(_COLLECTION + r"/queryables", path):
                # twin's queryables route gives every queryable the caller may see
                get["parameters"] = [p for p in get.get("parameters", [])
                                     if p.get("name") not in ("properties", "profile")]
        post = item.get("post")
        match = re.fullmatch(r"/processes/([^/{}]+)/execution", path)
        if post is not None and match:
            _execution(post, processes.get(match.group(1), {}))
        for op in (v for k, v in item.items() if k in ("get", "post")):
            _add_errors(path, op, components)
            if not path.startswith(REFUSED_LIMIT):
                _capped_limit(op)
    return doc


def _answer(path: str, kinds: dict[str, set[str]]
            ) -> tuple[list[str], dict[str, dict]] | None:
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] == "collections":
        tail = "/".join(parts[3:])
        if parts[2] in kinds.get("edr", set()):
            if tail in _EDR_QUERIES or tail == "locations/{locId}":
                return EDR_QUERY
            return {"locations": EDR_LOCATIONS, "items": EDR_ITEMS}.get(tail)
        if parts[2] in kinds.get("feature", set()):
            return {"items": ITEMS, "items/{featureId}": ITEM}.get(tail) or \
                _listed(path)
    return _listed(path)


def _listed(path: str) -> tuple[list[str], dict[str, dict]] | None:
    for pattern, names, media in ANSWERS:
        if re.fullmatch(pattern, path):
            return names, media
    return None


def _set_answer(op: dict, components: dict, names: list[str], media: dict[str, dict]
                ) -> None:
    params = [_resolve(p, components) for p in op.get("parameters", [])]
    rest = [p for p, full in zip(op.get("parameters", []), params, strict=True)
            if full.get("name") != "f"]
    op["parameters"] = [*rest, {"name": "f", "in": "query", "required": False,
                                "description": _F_TEXT, "style": "form", "explode": False,
                                "schema": {"type": "string", "enum": names}}]
    ok = _resolve(op.get("responses", {}).get("200", {}), components, "responses")
    op.setdefault("responses", {})["200"] = {
        "description": ok.get("description") or "The resource.",
        **({"headers": ok["headers"]} if "headers" in ok else {}),
        "content": {m: {"schema": schema} for m, schema in media.items()}}


def _execution(op: dict, outputs: dict) -> None:
    """The synchronous answer of an execution: each output's media type (raw)."""
    content: dict[str, dict] = {}
    for output in outputs.values():
        schema = output.get("schema", {})
        for option in schema.get("oneOf", [schema]):
            media = option.get("contentMediaType", JSON)
            content[media] = {"schema": _OBJECT if option.get("type") == "object"
                              else _BINARY}
    responses = op.setdefault("responses", {})
    ok = responses.get("200", {})
    if content:
        responses["200"] = {"description": ok.get("description", "The result."),
                            "content": content}
    responses.update({k: v for k, v in _errors(400, 413, 415).items() if k not in responses})
    responses.setdefault("429", {**_errors(400)["400"], "description":
                                 "Too many executions; retry after the Retry-After delay."})


def _add_errors(path: str, op: dict, components: dict) -> None:
    responses = op.setdefault("responses", {})
    params = [_resolve(p, components) for p in op.get("parameters", [])]
    wanted = [503] if path != "/health" else []
    if any(p.get("in") == "query" for p in params) or "requestBody" in op:
        wanted.append(400)
    if "{" in path:
        wanted.append(404)
    for status, response in _errors(*wanted).items():
        responses.setdefault(status, response)


def _capped_limit(op: dict) -> None:
    """A ``limit`` above the page maximum is capped, not refused (OGC API - Features:
    the answer is a full page and a ``next`` link), so it has no ``maximum``."""
    for param in op.get("parameters", []):
        schema = param.get("schema", {})
        if param.get("name") == "limit" and "maximum" in schema:
            param["description"] = (f"The page size; a larger value than "
                                    f"{schema.pop('maximum')} gives pages of that "
                                    f"maximum, each with a next link.")


def _resolve(node: dict, components: dict, section: str = "parameters") -> dict:
    ref = node.get("$ref", "")
    prefix = f"#/components/{section}/"
    if ref.startswith(prefix):
        return components.get(section, {}).get(ref[len(prefix):], {})
    return node


def answers_of(doc: dict[str, Any], config: dict) -> dict[str, Any]:
    """:func:`describe_answers` for the collections and processes of ``config``."""
    from pygeoapi.plugin import load_plugin

    resources = config.get("resources", {})
    kinds: dict[str, set[str]] = {}
    for name, res in resources.items():
        for provider in res.get("providers", []):
            kinds.setdefault(provider.get("type", ""), set()).add(name)
    processes = {name: load_plugin("process", res["processor"]).metadata.get("outputs", {})
                 for name, res in resources.items() if res.get("type") == "process"}
    return describe_answers(doc, kinds, processes)
