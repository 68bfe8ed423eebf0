"""Catalogue records (OGC API - Records Part 1, GeoJSON encoding) of what twin publishes:
each layer, each raster series, each process (issue 19, point 1).

Records are built from plain inputs (the layer, its merged ``catalogue:`` spec, the live
facts of :mod:`twin.catalogue.live`, the extent, a URL maker), so the Records routes and
the DCAT writer (:mod:`twin.catalogue.dcat`) describe the same things the same way.
Texts are given in the language asked for, and in both under ``translations``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from twin.catalogue.live import LayerFacts, _iso, freshness
from twin.catalogue_model import CatalogueSpec
from twin.i18n import Text
from twin.registry import Layer

RECORD_CORE = "http://www.opengis.net/spec/ogcapi-records-1/1.0/req/record-core"
EU_THEMES = "http://publications.europa.eu/resource/authority/data-theme"
ID_SCHEME = "urn:x-twin:collection"
GEOJSON = "application/geo+json"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0"
LANGS = ("vi", "en")
# Update frequencies of raster series by kind (their rasters are written by twin itself).
SERIES_FREQUENCY = {"air_quality": "hourly", "rainfall": "hourly", "dem": "irregular",
                    "flood_depth": "irregular"}


@dataclass
class Subject:
    """What one record describes, before it is written in a language."""
    id: str
    type: str                        # dataset, coverage, process
    title: Text
    description: Text
    keywords: dict[str, list[str]]   # per language
    spec: CatalogueSpec              # merged with the server's defaults
    links: list[dict]
    bbox: tuple[float, float, float, float] | None = None
    interval: tuple[str | None, str | None] | None = None
    facts: LayerFacts | None = None
    last: datetime | None = None     # for subjects without facts (series)
    formats: tuple[tuple[str, str], ...] = ()   # (name, media type)


def _polygon(bbox) -> dict | None:
    if bbox is None:
        return None
    x0, y0, x1, y1 = bbox
    return {"type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def _contacts(spec: CatalogueSpec, publisher: Text | None, lang: str) -> list[dict]:
    out = []
    if spec.owner:
        out.append({"organization": spec.owner.pick(lang), "roles": ["owner"]})
    if spec.contact is not None:
        contact: dict = {"name": spec.contact.name, "roles": ["pointOfContact"]}
        if spec.owner:
            contact["organization"] = spec.owner.pick(lang)
        if spec.contact.email:
            contact["emails"] = [{"value": spec.contact.email}]
        if spec.contact.phone:
            contact["phones"] = [{"value": spec.contact.phone}]
        if spec.contact.url:
            contact["links"] = [{"href": spec.contact.url, "rel": "about"}]
        out.append(contact)
    if publisher:
        out.append({"organization": publisher.pick(lang), "roles": ["publisher"]})
    return out


def _keywords(subject: Subject, lang: str) -> list[str]:
    words = subject.keywords.get(lang) or subject.keywords.get("en") or []
    extra = subject.spec.keywords.get(lang) or ()
    return list(dict.fromkeys([*words, *extra]))


def _quality(facts: LayerFacts | None) -> dict | None:
    if facts is None:
        return None
    last = facts.loads[0] if facts.loads else None
    return {"features": facts.count,
            "repairedInLastLoad": last.repaired if last else None,
            "refusedInLastLoad": last.refused if last else None}


def record(subject: Subject, lang: str, now: datetime, publisher: Text | None = None) -> dict:
    """The record of ``subject`` in ``lang`` as a GeoJSON feature."""
    spec = subject.spec
    last = subject.facts.last_change if subject.facts is not None else subject.last
    props: dict = {
        "type": subject.type,
        "title": subject.title.pick(lang),
        "description": (spec.description or subject.description).pick(lang),
        "keywords": _keywords(subject, lang),
        "language": {"code": lang},
        "languages": [{"code": code} for code in LANGS],
        "translations": {code: {"title": subject.title.pick(code),
                                "description": (spec.description or subject.description
                                                ).pick(code),
                                "keywords": _keywords(subject, code)} for code in LANGS},
        "contacts": _contacts(spec, publisher, lang),
        "externalIds": [{"scheme": ID_SCHEME, "value": subject.id}],
        "updated": _iso(last),
        "updateFrequency": spec.frequency,
        "freshness": freshness(last, spec.frequency or "irregular", now),
    }
    if spec.owner:
        props["owner"] = spec.owner.pick(lang)
    if spec.licence is not None:
        props["license"] = spec.licence.name
        props["rights"] = spec.licence.url
    if spec.themes:
        props["themes"] = [{"scheme": EU_THEMES, "concepts": [
            {"id": t, "url": f"{EU_THEMES}/{t}"} for t in spec.themes]}]
    if subject.formats:
        props["formats"] = [{"name": n, "mediaType": m} for n, m in subject.formats]
    if subject.facts is not None:
        props["quality"] = _quality(subject.facts)
        props["lineage"] = {"loads": [load.as_dict() for load in subject.facts.loads]}
        if subject.facts.loads:
            props["created"] = _iso(subject.facts.loads[-1].started)
    time = None
    if subject.interval is not None:
        time = {"interval": [subject.interval[0] or "..", subject.interval[1] or ".."]}
    return {"type": "Feature", "id": subject.id, "conformsTo": [RECORD_CORE],
            "geometry": _polygon(subject.bbox), "time": time, "properties": props,
            "links": subject.links}


# --- subjects ----------------------------------------------------------------------

CSV, FGB, GPKG = "text/csv", "application/flatgeobuf", "application/geopackage+sqlite3"
LAYER_FORMATS = (("GeoJSON", GEOJSON), ("CSV", CSV), ("FlatGeobuf", FGB), ("GeoPackage", GPKG),
                 ("Mapbox Vector Tiles", "application/vnd.mapbox-vector-tile"))


def layer_links(layer: Layer, url: Callable[[str], str]) -> list[dict]:
    base = f"collections/{layer.name}"
    links = [
        {"rel": "collection", "type": "application/json", "title": "OGC API - Features "
         "collection", "href": url(base)},
        {"rel": "items", "type": GEOJSON, "title": "Features as GeoJSON",
         "href": url(f"{base}/items?f=json")},
        {"rel": "items", "type": "text/html", "title": "Features as HTML",
         "href": url(f"{base}/items?f=html")},
        {"rel": "enclosure", "type": CSV, "title": "Features as CSV",
         "href": url(f"{base}/items?f=csv")},
        {"rel": "enclosure", "type": FGB, "title": "FlatGeobuf",
         "href": url(f"{base}/items?f=fgb")},
        {"rel": "enclosure", "type": GPKG, "title": "GeoPackage",
         "href": url(f"{base}/items?f=gpkg")},
        {"rel": f"{OGC_REL}/queryables", "type": "application/schema+json",
         "title": "Queryables", "href": url(f"{base}/queryables")},
        {"rel": f"{OGC_REL}/tilesets-vector", "type": "application/json",
         "title": "Vector tiles (OGC API - Tiles)", "href": url(f"{base}/tiles")},
        {"rel": "describedby", "type": "application/json", "title": "Styles",
         "href": url(f"{base}/styles")},
    ]
    if not layer.is_view:
        links.append({"rel": "alternate", "type": GEOJSON,
                      "title": "Change feed (created, updated, deleted)",
                      "href": url(f"{base}/changes")})
    return links


def layer_texts(layer: Layer) -> tuple[Text, Text, dict[str, list[str]]]:
    """The layer's title, description and keywords in each language: the registry's
    bilingual texts where the layer has them (``title_text``...), else its plain ones."""
    title = getattr(layer, "title_text", None) or Text.of(layer.title)
    description = getattr(layer, "description_text", None) or Text.of(
        layer.description or layer.title)
    if hasattr(layer, "keywords_in"):
        keywords = {code: list(layer.keywords_in(code)) for code in LANGS}
    else:
        keywords = {code: list(layer.keywords) for code in LANGS}
    return title, description, keywords


def layer_subject(layer: Layer, spec: CatalogueSpec, facts: LayerFacts | None,
                  extent: dict | None, url: Callable[[str], str]) -> Subject:
    extent = extent or {}
    interval = extent.get("interval")
    title, description, keywords = layer_texts(layer)
    return Subject(
        id=layer.name, type="dataset", title=title, description=description,
        keywords=keywords, spec=spec,
        links=layer_links(layer, url), bbox=extent.get("bbox"),
        interval=(interval[0], interval[1]) if interval else None, facts=facts,
        formats=LAYER_FORMATS)
