"""Collection documents that say what each collection is (issue 17, point 8).

pygeoapi writes ``schema`` and ``queryables`` links for coverage collections and
``items``/``data`` links for EDR ones that twin does not serve (404) or that need
parameters (EDR queries need ``coords``/``bbox``, a 400 without). GDAL's OAPIF driver
and QGIS then list such collections as vector layers they cannot open. Here a JSON
collection document that is not one of the city's layers loses its feature links
(items, queryables, schema) and links in formats its endpoints do not serve, gets an
``itemType`` other than ``feature`` (and ``layerDataType: Coverage``, which GDAL reads),
and has its query links marked templated (``{coords}`` or ``{bbox}`` in the href; also
CoverageJSON of a whole coverage, which may be over its cell limit), so every plain link
resolves and the clients list exactly the feature collections.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
FEATURE_RELS = {"items", f"{OGC_REL}/queryables", f"{OGC_REL}/schema"}
# EDR query types and the parameter each needs, as a URI template.
QUERIES = {"position": "coords", "radius": "coords", "area": "coords", "trajectory": "coords",
           "corridor": "coords", "cube": "bbox"}


# Links pygeoapi writes in formats the endpoint does not serve (twin's routes answer
# these, not pygeoapi's): dropped. ``items`` of a collection that is not features: dropped.
UNSERVED = {"coverage": {"html"}, "locations": {"json", "csv"}}


def _endpoint_and_f(href: str) -> tuple[str, str | None]:
    parts = urlsplit(href)
    f = parse_qs(parts.query).get("f", [None])[0]
    return parts.path.rstrip("/").rsplit("/", 1)[-1], (f.lower() if f else None)


def _keep(link: dict) -> bool:
    endpoint, f = _endpoint_and_f(link.get("href", ""))
    return link.get("rel") not in FEATURE_RELS and endpoint != "items" \
        and f not in UNSERVED.get(endpoint, ())


def _query_of(href: str) -> str | None:
    path = href.split("?", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    return last if last in QUERIES else None


# A whole coverage as CoverageJSON can be over its cell limit (a 400): a bbox is asked for.
BOXED = {("coverage", "json"), ("coverage", "covjson")}


def _templated(link: dict) -> dict:
    href = link["href"]
    name = QUERIES.get(_query_of(href) or "", "bbox")
    joiner = "&" if "?" in href else "?"
    return {**link, "href": f"{href}{joiner}{name}={{{name}}}", "templated": True}


def strict(doc: dict, is_feature: Callable[[str], bool], kind_of: Callable[[str], str]) -> dict:
    """One collection document, described as what it is."""
    cid = doc.get("id")
    if cid is None or is_feature(cid) or doc.get("itemType") == "record":
        return doc  # a record collection (the catalogue) has records: items and queryables
    kept = []
    for link in doc.get("links", []):
        if not _keep(link):
            continue
        endpoint, f = _endpoint_and_f(link["href"])
        if (_query_of(link["href"]) or (endpoint, f) in BOXED) and not link.get("templated"):
            link = _templated(link)
        kept.append(link)
    doc["links"] = kept
    doc["itemType"] = kind_of(cid)
    # GDAL's OAPIF driver skips a collection whose layerDataType is Coverage (an
    # extension maps.ecere.com started); EDR answers are coverages too (CoverageJSON).
    doc["layerDataType"] = "Coverage"
    return doc


def rewrite(body: bytes, is_feature: Callable[[str], bool],
            kind_of: Callable[[str], str]) -> bytes:
    """``/collections`` or ``/collections/{id}`` JSON, each collection made strict."""
    doc = json.loads(body)
    if "collections" in doc:
        doc["collections"] = [strict(c, is_feature, kind_of) for c in doc["collections"]]
    else:
        doc = strict(doc, is_feature, kind_of)
    return json.dumps(doc, ensure_ascii=False).encode()
