"""The catalogue as DCAT (JSON-LD) with DCAT-AP's mandatory and recommended properties,
for national and city open-data portals to harvest (issue 19, point 2).

One ``dcat:Catalog`` (title, description, publisher, language, licence, homepage), one
``dcat:Dataset`` per record (title, description, identifier, keywords and texts in
Vietnamese and English, publisher = the owning agency, contact point, themes, update
frequency, spatial and temporal coverage, last modification) and one
``dcat:Distribution`` per way it is served (access URL, media type, licence). Every
node that DCAT-AP gives a class is typed, so the DCAT-AP SHACL shapes (with their
range shapes) validate it as it is (tests/test_dcat.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from twin.catalogue.records import LANGS, Subject
from twin.catalogue_model import CatalogueDefaults, CatalogueSpec, dcat_frequency
from twin.i18n import Text

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/", "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#", "xsd": "http://www.w3.org/2001/XMLSchema#",
    "locn": "http://www.w3.org/ns/locn#", "gsp": "http://www.opengis.net/ont/geosparql#",
}
EU = "http://publications.europa.eu/resource/authority"
LANGUAGE = {"vi": f"{EU}/language/VIE", "en": f"{EU}/language/ENG"}
IANA = "https://www.iana.org/assignments/media-types/"


def _texts(text: Text) -> list[dict]:
    return [{"@value": text.pick(code), "@language": code} for code in LANGS
            if text.pick(code)]


def _moment(moment: datetime | str) -> dict:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"@value": text, "@type": "xsd:dateTime"}


def _agent(iri: str, name: Text) -> dict:
    return {"@id": iri, "@type": "foaf:Agent", "foaf:name": _texts(name)}


def _licence(spec: CatalogueSpec) -> dict | None:
    if spec.licence is None:
        return None
    return {"@id": spec.licence.url, "@type": "dct:LicenseDocument",
            "dct:title": spec.licence.name}


def _contact(spec: CatalogueSpec, iri: str) -> dict | None:
    if spec.contact is None:
        return None
    node = {"@id": iri, "@type": "vcard:Kind", "vcard:fn": spec.contact.name}
    if spec.contact.email:
        node["vcard:hasEmail"] = {"@id": f"mailto:{spec.contact.email}"}
    if spec.contact.url:
        node["vcard:hasURL"] = {"@id": spec.contact.url}
    return node


def _spatial(bbox) -> dict:
    x0, y0, x1, y1 = bbox
    wkt = (f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))")
    return {"@type": "dct:Location", "dcat:bbox": {"@value": wkt, "@type": "gsp:wktLiteral"}}


def _temporal(interval) -> dict | None:
    start, end = interval
    if start is None and end is None:
        return None
    node: dict = {"@type": "dct:PeriodOfTime"}
    if start is not None:
        node["dcat:startDate"] = _moment(start)
    if end is not None:
        node["dcat:endDate"] = _moment(end)
    return node


def _distributions(subject: Subject, iri: str, licence: dict | None) -> list[dict]:
    out = []
    for n, link in enumerate(link for link in subject.links
                             if link.get("type") and link["rel"] != "collection"):
        media = link["type"].split(";")[0].strip()
        node = {"@id": f"{iri}#distribution-{n}", "@type": "dcat:Distribution",
                "dct:title": link.get("title") or link["rel"],
                "dcat:accessURL": {"@id": link["href"]},
                "dcat:mediaType": {"@id": IANA + media, "@type": "dct:MediaType"}}
        if licence is not None:
            node["dct:license"] = licence
        out.append(node)
    return out


def dataset(subject: Subject, url: Callable[[str], str], now: datetime) -> dict:
    """The ``dcat:Dataset`` of one record."""
    spec = subject.spec
    iri = url(f"collections/catalogue/items/{subject.id}")
    description = spec.description or subject.description
    node: dict = {
        "@id": iri, "@type": "dcat:Dataset",
        "dct:identifier": subject.id,
        "dct:title": _texts(subject.title),
        "dct:description": _texts(description) or _texts(subject.title),
        "dcat:keyword": [{"@value": word, "@language": code} for code in LANGS
                         for word in dict.fromkeys([*(subject.keywords.get(code) or []),
                                                    *(spec.keywords.get(code) or ())])],
        "dct:language": [{"@id": LANGUAGE[code], "@type": "dct:LinguisticSystem"}
                         for code in LANGS],
        "dcat:landingPage": {"@id": f"{iri}?f=html", "@type": "foaf:Document"},
    }
    if spec.owner:
        node["dct:publisher"] = _agent(f"{iri}#owner", spec.owner)
    contact = _contact(spec, f"{iri}#contact")
    if contact is not None:
        node["dcat:contactPoint"] = contact
    if spec.themes:
        node["dcat:theme"] = [{"@id": f"{EU}/data-theme/{t}", "@type": "skos:Concept",
                               "skos:prefLabel": t} for t in spec.themes]
    if spec.frequency:
        node["dct:accrualPeriodicity"] = {
            "@id": f"{EU}/frequency/{dcat_frequency(spec.frequency)}",
            "@type": "dct:Frequency"}
    if subject.bbox is not None:
        node["dct:spatial"] = _spatial(subject.bbox)
    temporal = _temporal(subject.interval) if subject.interval else None
    if temporal is not None:
        node["dct:temporal"] = temporal
    last = subject.facts.last_change if subject.facts is not None else subject.last
    if last is not None:
        node["dct:modified"] = _moment(last)
    node["dcat:distribution"] = _distributions(subject, iri, _licence(spec))
    return node


def catalogue_graph(subjects: list[Subject], defaults: CatalogueDefaults,
                    url: Callable[[str], str], now: datetime) -> dict:
    """The JSON-LD document: the catalogue and its datasets."""
    iri = url("catalogue/dcat")
    publisher = defaults.publisher or defaults.owner or Text.of("twin")
    datasets = [dataset(s, url, now) for s in subjects]
    catalog: dict = {
        "@id": iri, "@type": "dcat:Catalog",
        "dct:title": _texts(defaults.title),
        "dct:description": _texts(defaults.description or defaults.title),
        "dct:publisher": _agent(f"{iri}#publisher", publisher),
        "dct:language": [{"@id": LANGUAGE[code], "@type": "dct:LinguisticSystem"}
                         for code in LANGS],
        "foaf:homepage": {"@id": url(""), "@type": "foaf:Document"},
        "dct:modified": _moment(now),
        "dcat:dataset": [{"@id": d["@id"]} for d in datasets],
    }
    licence = _licence(defaults)
    if licence is not None:
        catalog["dct:license"] = licence
    return {"@context": CONTEXT, "@graph": [catalog, *datasets]}
