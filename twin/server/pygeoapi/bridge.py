"""The pygeoapi bridge: the OGC API surface twin's own routes don't serve.

Routes: ``/`` (landing page), ``/openapi``, ``/collections``, ``/collections/{id}``,
``/collections/{id}/schema`` and ``/static``, after those of the building blocks served
through pygeoapi (:mod:`twin.server.blocks`, ``bridged``). For twin's routes: the HTML
pages of items, an item, queryables and conformance (``state.html``), and the collection
documents follow a layer's extent after edits (``state.extent_listeners``).

pygeoapi's own Starlette app reads its configuration from the environment when it is
imported, so it is never imported here: one :class:`pygeoapi.api.API` is built per
worker from the generated configuration (:mod:`twin.server.pygeoapi.config`) and
pygeoapi's API functions are called as its adapter does (an ``APIRequest``, run in a
thread). Every error pygeoapi returns leaves as twin's OGC exception JSON
``{"code", "description"}``, whatever format was asked for.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from http import HTTPStatus
from pathlib import Path

import pygeoapi
import pygeoapi.api as core_api
import pygeoapi.api.itemtypes as itemtypes_api
from pygeoapi.api import API, SYSTEM_LOCALE, APIRequest
from pygeoapi.util import render_j2_template
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from twin.server import blocks
from twin.server.errors import APIError, InvalidParameter, problem
from twin.server.features.extents import layer_extent
from twin.server.params.crs import parse_crs
from twin.server.pygeoapi.config import (
    DEFAULT_SERVER_FILE,
    OGC_REL,
    build_config,
    configure_pygeoapi_logging,
    extents_section,
    openapi_document,
    root_logging_untouched,
)
from twin.server.pygeoapi.languages import localised
from twin.server.pygeoapi.provider import register_source
from twin.server.state import ServerState

log = logging.getLogger("twin.server")

OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"
CRS_PARAMS = ("crs", "bbox-crs", "filter-crs")
# pygeoapi's Content-Language is dropped too: its data responses (EDR) name its default
# locale whatever the request asked; the language middleware labels every text
# response with the request's negotiated language instead.
DROPPED_HEADERS = {"content-type", "content-encoding", "content-length", "content-language"}
# pygeoapi renders some HTML pages (EDR queries, coverages) in its default language, not
# the request's (it passes api.default_locale); an HTML request's locale stands in.
PAGE_LOCALE: ContextVar = ContextVar("twin_page_locale", default=None)


class TwinAPI(API):
    """pygeoapi's API whose exceptions are always ``{"code", "description"}`` JSON (also
    for ``f=html``) and whose client errors are not logged as server errors."""

    @property
    def default_locale(self):
        return PAGE_LOCALE.get() or self._default_locale

    @default_locale.setter
    def default_locale(self, value) -> None:
        self._default_locale = value

    def get_exception(self, status: int, headers: dict, format_: str | None, code: str,
                      description: str) -> tuple[dict, int, str]:
        if status >= 500:
            log.error("pygeoapi: %s %s", code, description,
                      exc_info=sys.exc_info()[0] is not None)
        else:
            log.debug("pygeoapi: %s %s", code, description)
        headers["Content-Type"] = "application/json"
        return headers, status, json.dumps({"code": code, "description": description})

    def get_format_exception(self, request: APIRequest) -> tuple[dict, int, str]:
        headers = request.get_response_headers(SYSTEM_LOCALE, **self.api_headers)
        return self.get_exception(HTTPStatus.BAD_REQUEST, headers, None,
                                  "InvalidParameterValue",
                                  f"f: {request.format!r} is not one of json, html, jsonld")


def landing_links(links: list[dict], base: str, processes: bool) -> list[dict]:
    """pygeoapi's landing-page links, pointed at what twin serves: tiling schemes at
    ``/tileMatrixSets`` (JSON only), no processes or jobs unless configured."""
    out = []
    for link in links:
        rel = link.get("rel", "")
        if rel.endswith(("/processes", "/job-list")) and not processes:
            continue
        if rel.endswith("/tiling-schemes"):
            if link.get("type") == "text/html":
                continue
            link = {**link, "href": f"{base}/tileMatrixSets"}
        out.append(link)
    return [*out,
            {"rel": "related", "type": "text/html", "title": "Web viewer of the city",
             "href": f"{base}/viewer"},
            {"rel": f"{OGC_REL}/styles", "type": "application/vnd.mapbox.style+json",
             "title": "Map style of the whole city (MapLibre)", "href": f"{base}/styles"},
            {"rel": "related", "type": "application/zip",
             "title": "QGIS project with every layer styled",
             "href": f"{base}/qgis/project.qgz"}]


class Bridge:
    """One per worker: the generated configuration, its OpenAPI document, pygeoapi's API."""

    def __init__(self, state: ServerState, server_file: Path = DEFAULT_SERVER_FILE):
        self.state = state
        # the key the configuration names the database and registry by (never a DSN)
        self.source = register_source(state.db.dsn, state.registry, lambda: state.db.sync,
                                      state.settings.count_limit)
        self.config = build_config(state, self.source, server_file)
        self.openapi = openapi_document(self.config, state.registry)
        self.openapi_body = json.dumps(self.openapi, ensure_ascii=False).encode()
        with root_logging_untouched():
            self.api = TwinAPI(self.config, self.openapi)
        configure_pygeoapi_logging(self.config["logging"])
        self.processes = any(r.get("type") == "process"
                             for r in self.config["resources"].values())
        static = (self.config["server"].get("templates") or {}).get("static")
        self.static_dir = Path(static) if static else Path(pygeoapi.__file__).parent / "static"
        self._derived_at = time.monotonic()

    # -- calling pygeoapi --

    async def api_request(self, request: Request, fmt: str | None = None,
                          params: QueryParams | None = None) -> APIRequest:
        if request.query_params.get("f") == "":  # pygeoapi would take it as absent
            raise InvalidParameter("f: empty; name a format or leave f out")
        req = await APIRequest.from_starlette(request, self.api.locales)
        # APIRequest has no setters: a twin route that already negotiated HTML (or
        # normalised a parameter) overrides what pygeoapi would infer, and f is
        # case-insensitive as on twin's routes.
        if params is not None:
            req._args = params
        req._format = fmt or (req.format.lower() if req.format else req.format)
        if req._format == "html":  # this request's pages in its language (PAGE_LOCALE)
            PAGE_LOCALE.set(req.locale)
        return req

    async def invoke(self, fn: Callable, req: APIRequest, *args) -> tuple[dict, int, str]:
        """(headers, status, content) of one pygeoapi API function, run in a thread."""
        if not req.is_valid():
            return self.api.get_format_exception(req)
        return await run_in_threadpool(fn, self.api, req, *args)

    async def call(self, fn: Callable, req: APIRequest, *args) -> Response:
        return self.respond(*await self.invoke(fn, req, *args))

    def respond(self, headers: dict, status: int, content: str | bytes) -> Response:
        if status >= 400:
            try:
                doc = json.loads(content)
                code, description = doc["code"], doc["description"]
            except (ValueError, TypeError, KeyError):
                code, description = "NoApplicableCode", HTTPStatus(status).phrase
            return problem(status, code, description)
        media = headers.get("Content-Type", "application/json")
        kept = {k: v for k, v in headers.items() if k.lower() not in DROPPED_HEADERS}
        kept["Vary"] = "Accept, Accept-Language"
        return Response(content, status_code=status, media_type=media, headers=kept)

    # -- routes --

    async def landing(self, request: Request) -> Response:
        req = await self.api_request(request)
        headers, status, content = await self.invoke(core_api.landing_page, req)
        if status == 200 and req.format in (None, "json"):
            doc = json.loads(content)
            doc["links"] = landing_links(doc.get("links", []), self.api.base_url,
                                         self.processes)
            content = json.dumps(doc, ensure_ascii=False)
        return self.respond(*localised((headers, status, content), req.locale.language,
                                     self.state.registry))

    async def openapi_doc(self, request: Request) -> Response:
        req = await self.api_request(request)
        if request.query_params.get("ui", "swagger") not in ("swagger", "redoc"):
            raise InvalidParameter("ui: use swagger or redoc")
        if req.format == "html" or not req.is_valid():
            return await self.call(core_api.openapi_, req)
        return Response(self.openapi_body, media_type=OPENAPI_MEDIA,
                        headers={"Vary": "Accept"})

    async def collections(self, request: Request) -> Response:
        await self.refresh_derived_extents()
        req = await self.api_request(request)
        result = await self.invoke(core_api.describe_collections, req)
        return self.respond(*localised(result, req.locale.language, self.state.registry))

    async def collection(self, request: Request) -> Response:
        await self.refresh_derived_extents()
        cid = request.path_params["collection_id"]
        req = await self.api_request(request)
        result = await self.invoke(core_api.describe_collections, req, cid)
        return self.respond(*localised(result, req.locale.language, self.state.registry))

    # -- extents that move: after edits (a listener) and of derived layers (periodically) --

    def extents_changed(self, name: str, extent: dict) -> None:
        """Put a layer's new extent into the collection documents pygeoapi writes."""
        resource = self.config["resources"].get(name)
        if resource is not None and name in self.state.registry:
            section = extents_section(self.state.registry.get(name), extent)
            resource["extents"] = section
            tpl = self.api.tpl_config["resources"].get(name)
            if tpl is not None:
                tpl["extents"] = section
            forget_translated_config()

    async def refresh_derived_extents(self) -> None:
        """Layers derived from streaming readings (views: station AQI, latest readings)
        grow with every batch; their extents are read again at most every
        DERIVED_EXTENT_TTL_S seconds, when a collection document is asked for."""
        now = time.monotonic()
        if now - self._derived_at < DERIVED_EXTENT_TTL_S:
            return
        self._derived_at = now
        for layer in self.state.registry:
            if layer.is_view and layer.name in self.config["resources"]:
                try:
                    extent = await layer_extent(self.state, layer)
                except APIError:  # the database is away: keep the last known extent
                    return
                self.state.set_extent(layer.name, extent)

    async def schema(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        req = await self.api_request(request)
        result = await self.invoke(core_api.get_collection_schema, req, cid)
        layer = self.state.registry.get(cid) if cid in self.state.registry else None
        return self.respond(*localised(result, req.locale.language, self.state.registry,
                                       layer))

    # -- HTML pages of twin's routes (state.html; they have validated the request) --

    async def html_items(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        if request.query_params.get("filter-lang") == "cql2-json":
            raise InvalidParameter("filter-lang: the HTML page takes cql2-text filters; "
                                   "use f=json for cql2-json")
        req = await self.api_request(request, "html", self.crs_params(request, cid))
        return await self.call(itemtypes_api.get_collection_items, req, cid)

    async def html_item(self, request: Request) -> Response:
        cid, fid = request.path_params["collection_id"], request.path_params["item_id"]
        req = await self.api_request(request, "html", self.crs_params(request, cid))
        return await self.call(itemtypes_api.get_collection_item, req, cid, fid)

    async def html_queryables(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        req = await self.api_request(request, "html")
        return await self.call(itemtypes_api.get_collection_queryables, req, cid)

    async def html_conformance(self, request: Request, conformance: list[str]) -> Response:
        req = await self.api_request(request, "html")
        content = await run_in_threadpool(
            render_j2_template, self.api.tpl_config, self.config["server"]["templates"],
            "conformance.html", {"conformsTo": list(conformance)}, req.locale)
        return HTMLResponse(content, headers={"Content-Language": str(req.locale)})

    def crs_params(self, request: Request, cid: str) -> QueryParams:
        """CRS parameters as the URIs pygeoapi compares literally (twin also takes
        ``EPSG:3405`` and CRS84 aliases)."""
        srid = self.state.registry.get(cid).srid
        offered = self.state.settings.city.offered_epsg
        items = [(k, parse_crs(v, srid, k, offered).uri if k in CRS_PARAMS and v else v)
                 for k, v in request.query_params.multi_items()]
        return QueryParams(items)



DERIVED_EXTENT_TTL_S = 15.0


def forget_translated_config() -> None:
    """pygeoapi caches its configuration translated per locale, module-wide
    (``pygeoapi.l10n._cfg_cache``), for its HTML templates; once twin changes the
    configuration (a new coverage series, a moved extent) that copy is stale and must go.
    pygeoapi has no public call for this."""
    from pygeoapi import l10n

    l10n._cfg_cache.clear()


def routes(state: ServerState) -> list[BaseRoute]:
    """The bridge's routes, after those of the blocks served through it (EDR queries,
    processes and jobs, coverages: ``bridge_routes(bridge)``)."""
    bridge = Bridge(state, state.settings.server_config)
    state.html = bridge
    state.extent_listeners.append(bridge.extents_changed)
    extra = [r for m in blocks.modules("bridged") for r in m.bridge_routes(bridge)]
    return [*extra,
            Route("/", bridge.landing),
            Route("/openapi", bridge.openapi_doc),
            Route("/collections", bridge.collections),
            Route("/collections/{collection_id}", bridge.collection),
            Route("/collections/{collection_id}/schema", bridge.schema),
            Mount("/static", app=StaticFiles(directory=bridge.static_dir), name="static")]


__all__ = ["Bridge", "TwinAPI", "routes"]
