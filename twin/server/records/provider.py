"""The pygeoapi provider of the catalogue collection: describes its fields, never reads
records. pygeoapi loads it for the collection's schema; the records themselves are
served by twin's routes (:mod:`twin.server.records.routes`), so a query through
pygeoapi is refused."""

from __future__ import annotations

from pygeoapi.provider.base import BaseProvider, ProviderQueryError

FIELDS = {
    "type": {"type": "string", "title": "dataset, coverage or process"},
    "title": {"type": "string", "title": "Title"},
    "description": {"type": "string", "title": "Description"},
    "keywords": {"type": "array", "title": "Keywords"},
    "owner": {"type": "string", "title": "Owning agency"},
    "license": {"type": "string", "title": "Licence"},
    "updateFrequency": {"type": "string", "title": "Update frequency"},
    "updated": {"type": "string", "format": "date-time", "title": "Last change"},
}


class CatalogueProvider(BaseProvider):
    def __init__(self, provider_def: dict):
        super().__init__(provider_def)
        self.get_fields()

    def get_fields(self) -> dict:
        if not self._fields:
            self._fields = dict(FIELDS)
        return self._fields

    def query(self, **_kwargs):
        raise ProviderQueryError("catalogue records are served by twin's catalogue routes")

    def get(self, identifier, **_kwargs):
        raise ProviderQueryError("catalogue records are served by twin's catalogue routes")
