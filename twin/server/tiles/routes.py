"""OGC API - Tiles (vector tiles, WebMercatorQuad) for every layer of the registry.

- ``/tileMatrixSets``, ``/tileMatrixSets/WebMercatorQuad`` (also spelled ``TileMatrixSets``)
- ``/collections/{id}/tiles``: the tileset list
- ``/collections/{id}/tiles/WebMercatorQuad``: tileset metadata
- ``/collections/{id}/tiles/WebMercatorQuad/tilejson.json``: TileJSON 3.0.0
- ``/collections/{id}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}``: a Mapbox
  vector tile made by one PostGIS statement (``sql.py``).

Choices: a zoom outside the layer's ``minzoom..maxzoom`` answers 204 No Content (the tile
exists in the matrix set but the tileset has nothing there; the tileset metadata's
``tileMatrixSetLimits`` say so); an in-range tile with no features is 200 with an empty
body. ``datetime`` on a layer without a ``time_field`` is a 400, as in the Features API.
Unknown query parameters are ignored (map clients add cache busters and keys). Layers
whose ``access.read`` lacks ``public`` have no tiles (404) until requests carry roles.
Tiles of table layers are cached (``cache.py``, :mod:`twin.tilecache`) under the layer's
version, which is also their ETag: a matching ``If-None-Match`` is a 304 for the price
of one primary-key lookup, and an edit, load or import changes both. View layers' tiles
carry a hash of their bytes as ETag (stable: features are encoded in id order).
``Cache-Control`` is ``TWIN_TILE_MAX_AGE`` for a CDN (revalidated by ETag), else
``no-cache``. gzip is left to the app middleware.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from twin.registry import Layer
from twin.server.auth.policy import can_read
from twin.server.auth.principal import ANONYMOUS
from twin.server.errors import NotFound
from twin.server.http import etag_for, matches
from twin.server.metrics.instruments import open_instruments
from twin.server.middleware.language import language_of
from twin.server.params.negotiate import JSON, MVT, Format, negotiate
from twin.server.params.values import TimeFilter, layer_datetime
from twin.server.state import ServerState
from twin.server.tiles import metadata as docs
from twin.server.tiles.cache import TileCache
from twin.server.tiles.params import tile_address
from twin.server.tiles.sql import LayerTiles
from twin.server.tiles.tms import TMS_ID, WEB_MERCATOR_QUAD


class TileService:
    """The handlers, bound to the server state and the per-layer tile statements."""

    def __init__(self, state: ServerState):
        self.state = state
        # Built (and validated) at start-up: a bad tiles: rule fails fast, naming its file.
        self.layers = {layer.name: LayerTiles(layer) for layer in state.registry
                       if can_read(layer, ANONYMOUS)}  # tiles are the public view
        self.cache = TileCache(state)
        self.counter = open_instruments(state.settings.data_dir / "metrics").tile_cache

    # --- lookups --------------------------------------------------------------------

    def _layer(self, request: Request) -> LayerTiles:
        name = request.path_params["collection"]
        try:
            return self.layers[name]
        except KeyError:
            raise NotFound(f"collection {name!r} does not exist") from None

    @staticmethod
    def _tms(request: Request) -> None:
        tms = request.path_params["tms"]
        if tms != TMS_ID:
            raise NotFound(f"tile matrix set {tms!r} is not supported; use {TMS_ID}")

    @staticmethod
    def _format(request: Request, fmt: Format) -> None:
        """``f`` (or Accept) as on every route; a tile or a document has one format."""
        negotiate(request.query_params, request.headers.get("accept"), (fmt,))

    @staticmethod
    def _time(request: Request, layer: Layer) -> tuple[TimeFilter | None, str]:
        """The validated ``datetime`` parameter and its query-string form for tile links."""
        raw = request.query_params.get("datetime")
        if raw is None:
            return None, ""
        return layer_datetime(layer, raw), urlencode({"datetime": raw}, safe="/:")

    def _bbox(self, layer: Layer) -> list[float]:
        extent = self.state.extents.get(layer.name)
        return list(extent["bbox"]) if extent else list(self.state.settings.plausible_extent)

    # --- metadata -------------------------------------------------------------------

    async def tile_matrix_sets(self, request: Request) -> Response:
        self._format(request, JSON)
        return JSONResponse(docs.tile_matrix_sets_doc(self.state.base_url))

    async def tile_matrix_set(self, request: Request) -> Response:
        self._tms(request)
        self._format(request, JSON)
        return JSONResponse(WEB_MERCATOR_QUAD)

    async def tilesets(self, request: Request) -> Response:
        layer = self._layer(request).layer
        self._format(request, JSON)
        urls = docs.Urls(self.state.base_url, layer.name, self._time(request, layer)[1])
        return JSONResponse(docs.tilesets_doc(layer, urls, language_of(request)))

    async def tileset(self, request: Request) -> Response:
        layer = self._layer(request).layer
        self._tms(request)
        self._format(request, JSON)
        urls = docs.Urls(self.state.base_url, layer.name, self._time(request, layer)[1])
        return JSONResponse(docs.tileset_doc(layer, self._bbox(layer), urls,
                                             language_of(request)))

    async def tilejson(self, request: Request) -> Response:
        layer = self._layer(request).layer
        self._tms(request)
        self._format(request, JSON)
        urls = docs.Urls(self.state.base_url, layer.name, self._time(request, layer)[1])
        return JSONResponse(docs.tilejson_doc(layer, self._bbox(layer), urls,
                                              language_of(request)))

    # --- the tile -------------------------------------------------------------------

    async def tile(self, request: Request) -> Response:
        tiles = self._layer(request)
        self._tms(request)
        self._format(request, MVT)
        p = request.path_params
        z, x, y = tile_address(p["tileMatrix"], p["tileRow"], p["tileCol"])
        when, _ = self._time(request, tiles.layer)
        headers = {"Cache-Control": self.cache.cache_control}
        if not tiles.rules.minzoom <= z <= tiles.rules.maxzoom:
            return Response(status_code=204, headers=headers)
        key = await self.cache.key(tiles, TMS_ID, z, x, y, when)
        if key is not None:
            headers["ETag"] = key.etag
            if matches(request.headers.get("if-none-match"), key.etag):
                self._count("hit")
                return Response(status_code=304, headers=headers)
            body = await self.cache.get(key)
            if body is not None:
                self._count("hit")
                return Response(body, media_type=docs.MVT, headers=headers)
        statement, params = tiles.query(z, x, y, when)
        row = await self.state.db.fetchrow(statement, params)
        body = bytes(row[0]) if row and row[0] is not None else b""
        if key is None:
            self._count("bypass")
            headers["ETag"] = etag = etag_for(body)
            if matches(request.headers.get("if-none-match"), etag):
                return Response(status_code=304, headers=headers)
        else:
            self._count("miss" if await self.cache.put(key, body) else "uncached")
        return Response(body, media_type=docs.MVT, headers=headers)

    def _count(self, result: str) -> None:
        self.counter.labels(result, "vector").inc()


def routes(state: ServerState) -> list[BaseRoute]:
    svc = TileService(state)
    tile_path = "/collections/{collection}/tiles/{tms}"
    return [
        Route("/tileMatrixSets", svc.tile_matrix_sets, methods=["GET"]),
        Route("/TileMatrixSets", svc.tile_matrix_sets, methods=["GET"]),
        Route("/tileMatrixSets/{tms}", svc.tile_matrix_set, methods=["GET"]),
        Route("/TileMatrixSets/{tms}", svc.tile_matrix_set, methods=["GET"]),
        Route("/collections/{collection}/tiles", svc.tilesets, methods=["GET"]),
        Route(tile_path, svc.tileset, methods=["GET"]),
        Route(tile_path + "/tilejson.json", svc.tilejson, methods=["GET"]),
        Route(tile_path + "/{tileMatrix}/{tileRow}/{tileCol}", svc.tile, methods=["GET"]),
    ]
