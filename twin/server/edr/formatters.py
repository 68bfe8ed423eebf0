"""pygeoapi formatters that hand over the body the provider already encoded.

The provider returns an :class:`Encoded` body (CoverageJSON, GeoJSON or CSV made by
PostgreSQL). pygeoapi would otherwise ``json.dumps`` a dict (it always does for
``f=json``); with a dataset formatter for each ``f`` it passes the provider's result
to ``write`` instead, and the text goes out as it came from the database.
"""

from __future__ import annotations

from pygeoapi.formatter.base import BaseFormatter


class Encoded(dict):
    """A response body and its media type (a dict, as pygeoapi expects query results)."""

    def __init__(self, body, media: str):
        """``body``: str or bytes, or a :class:`twin.server.edr.stream.Stream`."""
        super().__init__()
        self.body = body
        self.media = media


class PassThrough(BaseFormatter):
    """Writes an :class:`Encoded` body as it is; its media type becomes the response's."""
    f = ""
    media = ""
    extension = ""

    def __init__(self, formatter_def: dict):
        super().__init__(formatter_def)
        # pygeoapi keys a dataset's formatters by ``name`` and checks ``f`` against
        # those keys: the short name, not the dotted path it was loaded by.
        self.name = self.f = type(self).f
        self.mimetype = type(self).media
        self.extension = type(self).extension

    def write(self, options: dict | None = None, data: dict | None = None) -> str | bytes:
        if not isinstance(data, Encoded):
            raise TypeError(f"{type(self).__name__} writes the EDR provider's encoded "
                            f"bodies, not {type(data).__name__}")
        self.mimetype = data.media
        return data.body


class CoverageJSON(PassThrough):
    f, media, extension = "json", "application/vnd.cov+json", "covjson"


class GeoJSON(PassThrough):
    f, media, extension = "geojson", "application/geo+json", "geojson"


class CSV(PassThrough):
    f, media, extension = "csv", "text/csv; charset=utf-8", "csv"


FORMATTERS = [f"{__name__}.{cls.__name__}" for cls in (CoverageJSON, GeoJSON, CSV)]
