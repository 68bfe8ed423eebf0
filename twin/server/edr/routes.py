"""The EDR routes of ``sensor_readings``, served by pygeoapi through the bridge.

Each query goes through pygeoapi's ``get_collection_edr_query`` (its validation of
coords, bbox and datetime against the extent, its collection lookup and formatter
choice) to :class:`twin.server.edr.provider.ReadingsProvider`. Before that, twin's
rules: parameters a query type does not take are refused (a misspelt ``within-unit``
would otherwise be ignored silently), and the format is negotiated here (``f`` or
``Accept``) so pygeoapi always picks one of the collection's pass-through formatters.

A large body comes back from pygeoapi as the provider's :class:`.stream.Stream` (the
pass-through formatter hands it on untouched) and is sent as a ``StreamingResponse``.

``/items`` (the stations as features) calls the provider directly: pygeoapi sends
``items`` to a feature provider, which this collection does not have.
"""

from __future__ import annotations

import time

from pygeoapi.api import environmental_data_retrieval as edr_api
from pygeoapi.provider.base import ProviderGenericError
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from twin.server.edr import catalogue, config, query
from twin.server.edr.formatters import Encoded
from twin.server.edr.stream import Stream
from twin.server.errors import problem
from twin.server.params import negotiate as nf
from twin.server.params.extent import check_bbox
from twin.server.params.values import check_names as check_params
from twin.server.params.values import parse_bbox

COMMON = {"f", "lang", "datetime", "parameter-name", "crs"}
ACCEPTED = {
    "position": COMMON | {"coords", "z"},
    "radius": COMMON | {"coords", "within", "within-units", "z"},
    "area": COMMON | {"coords", "z"},
    "cube": COMMON | {"bbox", "z"},
    "locations": {"f", "lang", "bbox", "datetime"},
    "location": COMMON,
    "items": {"f", "lang", "bbox"},
    "item": {"f", "lang"},
}
# CoverageJSON is EDR's JSON (f=json, Accept: application/json); pygeoapi's formatter of
# it is named "json" (twin.server.edr.formatters).
COVERAGE_JSON = nf.COVJSON.also("json", media=("application/json",))
QUERY_FORMATS = (COVERAGE_JSON, nf.GEOJSON, nf.CSV, nf.HTML)
LOCATIONS_FORMATS = (nf.GEOJSON, nf.HTML)
ITEMS_FORMATS = (nf.GEOJSON, COVERAGE_JSON)


def negotiate(request: Request, offers: tuple[nf.Format, ...]) -> str:
    """The pygeoapi formatter (``f``) of the format negotiated among ``offers``."""
    fmt = nf.negotiate(request.query_params, request.headers.get("accept"), offers)
    return "json" if fmt is COVERAGE_JSON else fmt.key


def streamed(headers: dict, status: int, body: Stream) -> StreamingResponse:
    """A large body, sent as PostgreSQL hands it over (chunked, no Content-Length);
    headers as the bridge keeps them for a body read at once."""
    kept = {k: v for k, v in headers.items()
            if k.lower() not in ("content-type", "content-encoding", "content-length")}
    kept["Vary"] = "Accept, Accept-Language"
    return StreamingResponse(body, status_code=status, headers=kept,
                             media_type=headers.get("Content-Type"),
                             background=BackgroundTask(body.close))


def check_names(request: Request, kind: str) -> None:
    check_params(request.query_params, ACCEPTED[kind], f"the {kind} query")


class EDRRoutes:
    def __init__(self, bridge):
        self.bridge = bridge
        self.resource = bridge.config["resources"][config.COLLECTION]
        self.source = self.resource["providers"][0]["data"]["source"]
        self.refresh_s = config.get(self.source).options.extent_refresh_s
        self.refreshed = time.monotonic()

    def follow_extent(self) -> None:
        """Move the end of the time extent to the newest reading (once a refresh
        period): pygeoapi refuses a ``datetime`` past the configured end, and readings
        keep arriving while the server runs."""
        if not self.refresh_s or time.monotonic() - self.refreshed < self.refresh_s:
            return
        self.refreshed = time.monotonic()
        with self.bridge.state.db.sync.connection() as conn:
            end = catalogue.latest(conn)
        if end is not None:
            self.resource["extents"]["temporal"]["end"] = end

    async def query(self, request: Request, kind: str, query_type: str,
                    location_id: str | None = None) -> Response:
        check_names(request, kind)
        self.check_values(request)
        fmt = negotiate(request, LOCATIONS_FORMATS if kind == "locations" else QUERY_FORMATS)
        params = QueryParams([(k, v) for k, v in request.query_params.multi_items()
                              if k != "f"] + [("f", fmt)])
        req = await self.bridge.api_request(request, fmt, params)
        await run_in_threadpool(self.follow_extent)
        result = await run_in_threadpool(edr_api.get_collection_edr_query, self.bridge.api,
                                         req, config.COLLECTION, None, query_type,
                                         location_id)
        headers, status, content = result
        if isinstance(content, Stream):
            return streamed(headers, status, content)
        return self.bridge.respond(*result)

    def check_values(self, request: Request) -> None:
        """parameter-name and datetime by twin's rules before pygeoapi sees them: an
        unknown parameter is named (pygeoapi only says one is invalid), a reversed
        interval is refused."""
        names = request.query_params.get("parameter-name")
        if names is not None:
            query.parameter_names(names, config.get(self.source).catalogue)
        query.Window.parse(request.query_params.get("datetime"))

    def handler(self, kind: str, query_type: str):
        async def endpoint(request: Request) -> Response:
            return await self.query(request, kind, query_type,
                                    request.path_params.get("location_id"))
        return endpoint

    async def items(self, request: Request) -> Response:
        """Stations as features: through the provider, not pygeoapi's items API."""
        from pygeoapi.plugin import load_plugin

        item_id = request.path_params.get("item_id")
        check_names(request, "item" if item_id else "items")
        negotiate(request, ITEMS_FORMATS)
        raw = request.query_params.get("bbox")
        bbox = list(check_bbox(parse_bbox(raw))) if raw else None
        try:
            provider = load_plugin("provider", self.resource["providers"][0])
            body: Encoded = await run_in_threadpool(provider.items, item_id=item_id,
                                                    bbox=bbox, format_="geojson")
        except ProviderGenericError as err:
            return problem(err.http_status_code, err.ogc_exception_code, err.message)
        return Response(body.body, media_type=body.media)


def bridge_routes(bridge) -> list[BaseRoute]:
    if config.COLLECTION not in bridge.config["resources"]:
        return []
    r = EDRRoutes(bridge)
    # twin's features routes match /collections/{id}/items first; they hand this
    # collection (not a layer) over to its own endpoint.
    bridge.state.item_routes[config.COLLECTION] = r.items
    base = f"/collections/{config.COLLECTION}"
    out = [Route(f"{base}/{qt}", r.handler(qt, qt), methods=["GET"])
           for qt in ("position", "radius", "area", "cube")]
    return [*out,
            Route(f"{base}/locations", r.handler("locations", "locations"), methods=["GET"]),
            Route(base + "/locations/{location_id}", r.handler("location", "locations"),
                  methods=["GET"]),
            Route(f"{base}/items", r.items, methods=["GET"]),
            Route(base + "/items/{item_id}", r.items, methods=["GET"])]
