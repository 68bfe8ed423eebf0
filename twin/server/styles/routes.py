"""Routes of the draft OGC API – Styles, the city style and the QGIS project.

- ``/collections/{id}/styles``: the styles of a collection, with a link per encoding
- ``/collections/{id}/styles/{styleId}?f=mapbox|qml|sld``: one stylesheet
- ``/styles``: the whole city as one MapLibre style (every collection with tiles)
- ``/qgis/project.qgz``: a QGIS project wired to this server

A collection the caller may not read is a 404, as in the Features API. Without ``f``
the stylesheet follows the Accept header and defaults to the MapLibre encoding. The
stylesheets are encoded once per worker at start-up, which also checks every layer's
style against its fields before the first request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from twin.i18n import content_language
from twin.qgis.project import ProjectOptions, build_qgz
from twin.qgis.rasters import CATALOGUE_SQL, raster_layers, vsicurl
from twin.registry import Layer
from twin.server.auth.policy import can_read
from twin.server.auth.principal import ANONYMOUS, principal_of
from twin.server.errors import NotFound
from twin.server.http import VARY, cached
from twin.server.middleware.language import language_of
from twin.server.params.negotiate import JSON, Format, negotiate
from twin.server.state import ServerState
from twin.styles.legend import legend
from twin.styles.maplibre import style_document
from twin.styles.qml import QML_TYPE, qml_document
from twin.styles.sld import SLD_TYPE, sld_document

MAPBOX_TYPE = "application/vnd.mapbox.style+json"
JSON_TYPE = "application/json"
QGZ_TYPE = "application/zip"
DEFAULT_STYLE = "default"


@dataclass(frozen=True)
class Encoding:
    key: str          # the f= value
    media: str
    title: str

    @property
    def format(self) -> Format:
        return Format(self.key, (self.media.split(";")[0],))


ENCODINGS = (Encoding("mapbox", MAPBOX_TYPE, "MapLibre / Mapbox GL style"),
             Encoding("qml", QML_TYPE, "QGIS layer style (QML)"),
             Encoding("sld", SLD_TYPE, "OGC SLD 1.1 / Symbology Encoding 1.1"))
BY_KEY = {e.key: e for e in ENCODINGS}
# The styles document's words in Vietnamese (the request's language; English above)
VIETNAMESE = {"mapbox": "Kiểu MapLibre / Mapbox GL", "qml": "Kiểu lớp của QGIS (QML)",
              "sld": "OGC SLD 1.1 / Symbology Encoding 1.1",
              "default": "{} (kiểu mặc định của twin)"}
STYLESHEETS = tuple(e.format for e in ENCODINGS)  # the default first: MapLibre


def _json(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


class StyleService:
    def __init__(self, state: ServerState):
        self.state = state
        self.sheets: dict[str, dict[str, bytes]] = {
            layer.name: self._encode(layer) for layer in state.registry}

    def _encode(self, layer: Layer) -> dict[str, bytes]:
        return {"mapbox": _json(style_document([layer], self.state.base_url,
                                               include=lambda _layer: True,
                                               city=self.state.settings.city)),
                "qml": qml_document(layer).encode(),
                "sld": sld_document(layer).encode()}

    def _layer(self, request: Request) -> Layer:
        name = request.path_params["collection"]
        if name not in self.state.registry or not can_read(
                self.state.registry.get(name), principal_of(request)):
            raise NotFound(f"collection {name!r} not found")
        return self.state.registry.get(name)

    @staticmethod
    def _encoding(request: Request) -> Encoding:
        fmt = negotiate(request.query_params, request.headers.get("accept"), STYLESHEETS)
        return BY_KEY[fmt.key]

    def _style_entry(self, layer: Layer, lang: str) -> dict:
        base = self.state.url(f"collections/{layer.name}/styles/{DEFAULT_STYLE}")
        vi = lang == "vi"
        title = (VIETNAMESE["default"] if vi else "{} (twin default)").format(
            layer.title_in(lang))
        return {
            "id": DEFAULT_STYLE, "title": title,
            "links": [{"rel": "stylesheet", "type": e.media,
                       "title": VIETNAMESE[e.key] if vi else e.title,
                       "href": f"{base}?f={e.key}"} for e in ENCODINGS],
            "legend": legend(layer),
        }

    async def styles(self, request: Request) -> Response:
        layer = self._layer(request)
        negotiate(request.query_params, request.headers.get("accept"), (JSON,))
        here = self.state.url(f"collections/{layer.name}/styles")
        lang = language_of(request, self.state.settings.city.language)
        doc = {"styles": [self._style_entry(layer, lang)], "default": DEFAULT_STYLE,
               "links": [{"rel": "self", "type": JSON_TYPE, "href": here},
                         {"rel": "collection", "type": JSON_TYPE,
                          "title": layer.title_in(lang),
                          "href": self.state.url(f"collections/{layer.name}")}]}
        return cached(request, _json(doc), JSON_TYPE, private=principal_of(request).authenticated)

    async def stylesheet(self, request: Request) -> Response:
        layer = self._layer(request)
        style_id = request.path_params["style"]
        if style_id != DEFAULT_STYLE:
            raise NotFound(f"collection {layer.name} has no style {style_id!r}; "
                           f"its styles: {DEFAULT_STYLE}")
        enc = self._encoding(request)
        headers = {"Content-Disposition": f'inline; filename="{layer.name}.{enc.key}'
                   f'{".json" if enc.key == "mapbox" else ""}"'}
        return cached(request, self.sheets[layer.name][enc.key], enc.media, headers,
                      private=principal_of(request).authenticated)

    async def city(self, request: Request) -> Response:
        """Every collection the caller may read and that has tiles (the public ones)."""
        negotiate(request.query_params, request.headers.get("accept"), STYLESHEETS[:1])
        who = principal_of(request)
        doc = style_document(self.state.registry, self.state.base_url,
                             include=lambda lyr: can_read(lyr, who) and can_read(lyr, ANONYMOUS),
                             city=self.state.settings.city)
        return cached(request, _json(doc), MAPBOX_TYPE, private=who.authenticated)

    async def _rasters(self) -> list:
        """Catalogued COGs, when a coverage module serves them (``state.raster_url``:
        external id -> URL of the COG); none otherwise."""
        url_of = self.state.raster_url
        if url_of is None:
            return []
        rows = await self.state.db.fetchall(CATALOGUE_SQL)
        return raster_layers(rows, lambda external_id, _path: vsicurl(url_of(external_id)))

    async def qgis_project(self, request: Request) -> Response:
        who = principal_of(request)
        # QGIS fetches anonymously: only layers anyone may read stay valid when opened.
        layers = [lyr for lyr in self.state.registry
                  if can_read(lyr, who) and can_read(lyr, ANONYMOUS)]
        city = self.state.settings.city
        options = ProjectOptions(base_url=self.state.base_url, extents=self.state.extents,
                                 rasters=await self._rasters(), title=f"twin — {city.name}",
                                 bounds=city.view.bounds, crs=city.crs.metric,
                                 lang=language_of(request, city.language))
        body = build_qgz(layers, options)
        return cached(request, body, QGZ_TYPE,
                      {"Content-Disposition": 'attachment; filename="twin-hanoi.qgz"',
                       "Content-Language": content_language(options.lang),
                       "Vary": f"{VARY}, Accept-Language"},  # names in the asked language
                      private=who.authenticated)


def routes(state: ServerState) -> list[BaseRoute]:
    svc = StyleService(state)
    return [
        Route("/collections/{collection}/styles", svc.styles, methods=["GET"]),
        Route("/collections/{collection}/styles/{style}", svc.stylesheet, methods=["GET"]),
        Route("/styles", svc.city, methods=["GET"]),
        Route("/qgis/project.qgz", svc.qgis_project, methods=["GET"]),
    ]
