"""The catalogue in pygeoapi's configuration: one ``record`` collection, ``catalogue``, so
``/collections`` lists it with ``itemType: record`` (how OWSLib's Records client finds a
catalogue) and pygeoapi describes it (JSON, HTML, JSON-LD). Its records, queryables and
search are twin's routes (:mod:`.routes`): freshness and access are per request."""

from __future__ import annotations

from typing import Any

from twin.i18n import Text
from twin.server.records.catalogue import COLLECTION, defaults
from twin.server.state import ServerState

PROVIDER = "twin.server.records.provider.CatalogueProvider"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def language_struct(text: Text) -> str | dict[str, str]:
    """A text as pygeoapi's configuration writes one (it picks the request's language)."""
    return text.vi if text.vi == text.en else text.as_dict()


def resources(state: ServerState, source: str) -> dict[str, dict]:
    base = defaults(state)
    description = base.description or base.title
    resource: dict[str, Any] = {
        "type": "collection",
        "title": language_struct(base.title) or COLLECTION,
        "description": language_struct(description) or COLLECTION,
        "keywords": {"vi": ["danh mục", "siêu dữ liệu", "DCAT"],
                     "en": ["catalogue", "metadata", "DCAT"]},
        "links": [{"type": "application/ld+json", "rel": "alternate",
                   "title": "DCAT-AP (JSON-LD)", "href": state.url("catalogue/dcat")}],
        "extents": {"spatial": {"bbox": [float(v) for v in state.settings.plausible_extent],
                                "crs": CRS84_URI}},
        "providers": [{"type": "record", "name": PROVIDER, "data": {"source": source},
                       "id_field": "id", "editable": False}],
    }
    return {COLLECTION: resource}
