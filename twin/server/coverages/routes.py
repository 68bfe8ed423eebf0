"""Routes of the coverage collections (one per series of catalogued rasters).

- ``/collections/{id}/coverage`` (OGC API – Coverages): GeoTIFF or CoverageJSON of one
  time step, ``bbox``/``subset``, ``datetime``, ``scale-size``/``width``/``height``;
  ``/coverage/domainset`` and ``/coverage/rangetype``.
- ``/collections/{id}/map`` and ``/map/tiles/WebMercatorQuad/{z}/{y}/{x}`` (OGC API –
  Maps / Tiles): PNG coloured by the series' classes, transparent on nodata;
  ``/collections/{id}/legend`` as PNG or JSON.
- ``/collections/{id}/position`` (OGC API – EDR): the values at a point at each step.
- ``/rasters/{external_id}.tif``: a catalogued COG itself, with range requests (its
  URL is ``state.raster_url``: QGIS opens it through ``/vsicurl/``).

``datetime`` instant: the nearest step (exact when one has that time), refused when
further from the time extent than one step; no ``datetime``: the latest step. A DEM has
no time and ignores it. Pixels are read in a worker thread; a file that cannot be read
is logged and answered 410 naming the raster.
"""

from __future__ import annotations

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from twin.rasters import read, render
from twin.rasters.series import Series, Step
from twin.server.coverages import describe, documents, maps, tile_cache
from twin.server.coverages.config import GEOTIFF, CoverageOptions, catalogue_of, follow
from twin.server.coverages.params import (
    instant_of,
    parse_area,
    parse_point,
    parse_resampling,
    parse_size,
    parse_time,
)
from twin.server.errors import APIError, InvalidParameter, NotFound
from twin.server.http import VARY, cached, matches
from twin.server.params import negotiate as nf
from twin.server.params.values import check_names
from twin.server.pygeoapi.config import server_options
from twin.server.tiles.params import tile_address

COVJSON = "application/prs.coverage+json"
# CoverageJSON is these routes' JSON (f=json, Accept: application/json).
COVERAGE_JSON = nf.COVJSON.also("json", media=("application/json",))
COVERAGE_FORMATS = (nf.GEOTIFF, COVERAGE_JSON)
POSITION_FORMATS = (COVERAGE_JSON, nf.CSV)
LEGEND_FORMATS = (nf.PNG, nf.JSON)
COVERAGE_PARAMS = {"f", "bbox", "bbox-crs", "subset", "subset-crs", "datetime", "scale-size",
                   "scale-factor", "width", "height", "resampling", "properties"}
MAP_PARAMS = {"f", "bbox", "bbox-crs", "crs", "width", "height", "datetime", "transparent"}
EMPTY_TILE = render.png(render.colourise(np.full((maps.TILE, maps.TILE), np.nan), []))
POSITION_PARAMS = {"f", "coords", "datetime", "parameter-name", "crs", "z"}


class RasterGone(APIError):
    """A catalogued raster whose file cannot be read (logged with its path)."""
    status = 410
    code = "Gone"


async def in_thread(fn, *args):
    """``fn(*args)`` in a worker thread; an unreadable raster becomes a 410."""
    try:
        return await run_in_threadpool(fn, *args)
    except read.RasterMissing as exc:
        raise RasterGone(f"raster {exc.external_id} is catalogued but its file cannot be "
                         "read on the server; the operator has been told (log)") from None


def pick_step(series: Series, request: Request) -> Step:
    """The step a coverage or map shows (see the module docstring)."""
    try:
        return series.shown_at(instant_of(parse_time(request.query_params)))
    except ValueError as exc:
        raise InvalidParameter(f"datetime: {exc}") from None


def position_point(params, series: Series) -> tuple[float, float]:
    """(lon, lat) of ``coords``, inside the series' extent."""
    crs = params.get("crs", "CRS84")
    if crs.upper() not in ("CRS84", "OGC:CRS84", "EPSG:4326") and \
            not crs.endswith(("/OGC/1.3/CRS84", "/EPSG/0/4326")):
        raise InvalidParameter("crs: positions are given in CRS84 (POINT(lon lat))")
    lon, lat = parse_point(params.get("coords"))
    if not maps.overlaps((lon, lat, lon, lat), series.bbox):
        raise InvalidParameter(f"coords: POINT({lon} {lat}) is outside the coverage extent "
                               f"{', '.join(f'{v:.5f}' for v in series.bbox)} (CRS84)")
    return lon, lat


def _sample_all(steps: list[Step], lon: float, lat: float) -> list[float | None]:
    return [read.sample(s.path, s.external_id, s.crs, lon, lat) for s in steps]


def _native_bounds(step: Step) -> tuple[float, float, float, float]:
    with read.opened(step.path, step.external_id) as src:
        return tuple(src.bounds)


def step_headers(step: Step) -> dict[str, str]:
    return {"Content-Date": step.valid_time.isoformat()} if step.valid_time else {}


class CoverageRoutes:
    def __init__(self, bridge):
        self.bridge = bridge
        self.state = bridge.state
        self.catalogue = catalogue_of(bridge.source)
        self.options = server_options(bridge.state, "coverages", CoverageOptions)
        follow((bridge.config, bridge.api.tpl_config), bridge.state, self.catalogue)
        self.tiles = tile_cache.MapTileCache(bridge.state)
        bridge.state.raster_url = lambda ident: self.state.url(f"rasters/{ident}.tif")

    # -- collections: refresh the catalogue, then pygeoapi describes them --

    async def collections(self, request: Request) -> Response:
        await self.catalogue()
        return self.strict(await self.bridge.collections(request))

    async def collection(self, request: Request) -> Response:
        await self.catalogue()
        return self.strict(await self.bridge.collection(request))

    def strict(self, response: Response) -> Response:
        """JSON collection documents say which collections are features (describe.py)."""
        media = response.headers.get("content-type", "")
        if response.status_code != 200 or not media.startswith("application/json"):
            return response
        registry = self.state.registry
        body = describe.rewrite(response.body, lambda cid: cid in registry,
                                lambda cid: "coverage" if cid in self.catalogue.series else "edr")
        response.body = body
        response.headers["content-length"] = str(len(body))
        return response

    # -- OGC API – Coverages --

    async def coverage(self, request: Request) -> Response:
        params = request.query_params
        check_names(params, COVERAGE_PARAMS)
        series = await self.catalogue.get(request.path_params["collection_id"])
        fmt = nf.negotiate(params, request.headers.get("accept"), COVERAGE_FORMATS).key
        if params.get("properties", series.variable) != series.variable:
            raise InvalidParameter(f"properties: this coverage has one field, "
                                   f"{series.variable!r}")
        step = pick_step(series, request)
        area = parse_area(params, step.crs, series.bbox)
        bounds = None
        if area.bounds is not None:
            try:
                bounds = read.native_bounds(area.bounds, area.crs, step.crs)
            except Exception:
                raise InvalidParameter("bbox/subset: cannot be expressed in the coverage's "
                                       f"CRS {step.crs}") from None
        native = await in_thread(read.subset_shape, step.path, step.external_id, bounds)
        if native is None:
            raise InvalidParameter("bbox/subset: does not intersect the coverage (extent "
                                   f"{', '.join(f'{v:.5f}' for v in series.bbox)} in CRS84)")
        size = parse_size(params, native, self.options.max_side)
        self.check_cells(size or native, fmt)
        subset = await in_thread(read.read_subset, step.path, step.external_id, bounds, size,
                                 parse_resampling(params))
        headers = {**step_headers(step), "Content-Crs": f"<{documents.crs_uri(subset.crs)}>"}
        if fmt == "covjson":
            return JSONResponse(documents.grid_covjson(series, subset, step.valid_time),
                                media_type=COVJSON, headers=headers)
        body = await run_in_threadpool(documents.geotiff, series, subset, step.valid_time)
        headers["Content-Disposition"] = f'inline; filename="{step.external_id}.tif"'
        return Response(body, media_type=GEOTIFF, headers=headers)

    def check_cells(self, size: tuple[int, int], fmt: str) -> None:
        limit = self.options.max_json_cells if fmt == "covjson" else self.options.max_cells
        cells = size[0] * size[1]
        if cells > limit:
            raise InvalidParameter(
                f"the request asks for {size[0]}×{size[1]} = {cells:,} cells; the limit for "
                f"{'CoverageJSON' if fmt == 'covjson' else 'GeoTIFF'} is {limit:,} cells: "
                "narrow bbox/subset or lower scale-size/width/height")

    async def domainset(self, request: Request) -> Response:
        check_names(request.query_params, {"f"})
        nf.negotiate(request.query_params, request.headers.get("accept"), (nf.JSON,))
        series = await self.catalogue.get(request.path_params["collection_id"])
        latest = series.latest
        bounds = await in_thread(_native_bounds, latest)
        return JSONResponse(documents.domainset(series, bounds, latest.crs))

    async def rangetype(self, request: Request) -> Response:
        check_names(request.query_params, {"f"})
        nf.negotiate(request.query_params, request.headers.get("accept"), (nf.JSON,))
        series = await self.catalogue.get(request.path_params["collection_id"])
        return JSONResponse(documents.rangetype(series))

    # -- OGC API – Maps and map tiles --

    def classes(self, series: Series):
        return tile_cache.series_classes(series)

    async def map(self, request: Request) -> Response:
        params = request.query_params
        check_names(params, MAP_PARAMS)
        series = await self.catalogue.get(request.path_params["collection_id"])
        nf.negotiate(params, request.headers.get("accept"), (nf.PNG,))
        step = pick_step(series, request)
        grid = maps.map_grid(params, series.bbox, self.options.max_map_side)
        transparent = params.get("transparent", "true").lower()
        if transparent not in ("true", "false"):
            raise InvalidParameter("transparent: use true or false")
        body = await in_thread(self.render, series, step, grid, transparent == "false")
        return cached(request, body, "image/png", {**step_headers(step),
                                                   "Content-Crs": f"<{grid.crs}>"})

    def render(self, series: Series, step: Step, grid: maps.MapGrid,
               opaque: bool = False) -> bytes:
        """The PNG map; ``opaque`` (transparent=false): white where there is no data."""
        return tile_cache.render_grid(series, step, grid, opaque)

    async def tile(self, request: Request) -> Response:
        check_names(request.query_params, {"f", "datetime"})
        nf.negotiate(request.query_params, request.headers.get("accept"), (nf.PNG,))
        series = await self.catalogue.get(request.path_params["collection_id"])
        if request.path_params["tms"] != maps.TMS:
            raise NotFound(f"tile matrix set {request.path_params['tms']!r}: only "
                           f"{maps.TMS} is served")
        z, x, y = tile_address(request.path_params["z"], request.path_params["y"],
                               request.path_params["x"])
        step = pick_step(series, request)
        headers = {**step_headers(step), "Cache-Control": self.tiles.cache_control}
        if not maps.overlaps(maps.tile_lonlat(z, x, y), series.bbox):
            return cached(request, EMPTY_TILE, "image/png", headers)
        key = await self.tiles.key(series, step, maps.TMS, z, x, y)
        if key is None:  # no cache, or the step's row or file is gone: as before
            self.tiles.count("bypass")
            body = await in_thread(tile_cache.render_tile, series, step, z, x, y)
            return cached(request, body, "image/png", headers)
        headers.update({"ETag": key.etag, "Vary": VARY})
        if matches(request.headers.get("if-none-match"), key.etag):
            self.tiles.count("hit")
            return Response(status_code=304, headers=headers)
        body = await self.tiles.get(key)
        if body is not None:
            self.tiles.count("hit")
            return Response(body, media_type="image/png", headers=headers)
        body = await in_thread(tile_cache.render_tile, series, step, z, x, y)
        self.tiles.count("miss" if await self.tiles.put(key, body) else "uncached")
        return Response(body, media_type="image/png", headers=headers)

    async def tilesets(self, request: Request) -> Response:
        nf.negotiate(request.query_params, request.headers.get("accept"), (nf.JSON,))
        series = await self.catalogue.get(request.path_params["collection_id"])
        return JSONResponse(maps.tilesets_doc(self.state.base_url.rstrip("/"), series.id,
                                              series.title, series.bbox))

    async def tileset(self, request: Request) -> Response:
        nf.negotiate(request.query_params, request.headers.get("accept"), (nf.JSON,))
        series = await self.catalogue.get(request.path_params["collection_id"])
        if request.path_params["tms"] != maps.TMS:
            raise NotFound(f"tile matrix set {request.path_params['tms']!r}: only "
                           f"{maps.TMS} is served")
        return JSONResponse(maps.tileset_doc(self.state.base_url.rstrip("/"), series.id,
                                             series.title, series.bbox))

    async def legend(self, request: Request) -> Response:
        check_names(request.query_params, {"f"})
        series = await self.catalogue.get(request.path_params["collection_id"])
        fmt = nf.negotiate(request.query_params, request.headers.get("accept"), LEGEND_FORMATS)
        classes = self.classes(series)
        if fmt is nf.JSON:
            return JSONResponse(render.legend_json(series.title, series.unit, classes))
        body = await run_in_threadpool(render.legend_png, series.title, classes)
        return cached(request, body, "image/png")

    # -- OGC API – EDR position --

    async def position(self, request: Request) -> Response:
        params = request.query_params
        check_names(params, POSITION_PARAMS)
        series = await self.catalogue.get(request.path_params["collection_id"])
        fmt = nf.negotiate(params, request.headers.get("accept"), POSITION_FORMATS).key
        lon, lat = position_point(params, series)
        wanted = {p.strip() for p in params.get("parameter-name", series.variable).split(",")}
        if wanted != {series.variable}:
            raise InvalidParameter(f"parameter-name: this collection has one parameter, "
                                   f"{series.variable!r}")
        steps = self.position_steps(series, request)
        values = await in_thread(_sample_all, steps, lon, lat)
        samples = [(s.valid_time, v) for s, v in zip(steps, values, strict=False)]
        if fmt == "csv":
            return Response(documents.point_series_csv(series, lon, lat, samples),
                            media_type="text/csv; charset=utf-8")
        return JSONResponse(documents.point_series_covjson(series, lon, lat, samples),
                            media_type=COVJSON)

    def position_steps(self, series: Series, request: Request) -> list[Step]:
        when = parse_time(request.query_params)
        if not series.timed or when is None:
            steps = series.steps
        elif when.instant:
            steps = [pick_step(series, request)]
        else:
            steps = series.between(when.start, when.end)
        if len(steps) > self.options.max_positions:
            raise InvalidParameter(f"datetime: {len(steps):,} time steps asked; the limit "
                                   f"is {self.options.max_positions:,}: narrow the interval")
        return steps

    # -- the COG files themselves --

    async def cog(self, request: Request) -> Response:
        await self.catalogue()
        step = self.catalogue.steps.get(request.path_params["external_id"])
        if step is None:
            raise NotFound(f"raster {request.path_params['external_id']!r} not found")
        if not step.path.is_file():
            await in_thread(read.subset_shape, step.path, step.external_id, None)
        return FileResponse(step.path, media_type=f"{GEOTIFF}; profile=cloud-optimized")


def bridge_routes(bridge) -> list[BaseRoute]:
    """The coverage routes; ``/collections`` and ``/collections/{id}`` first refresh the
    catalogue, then pygeoapi describes them as before."""
    r = CoverageRoutes(bridge)
    c = "/collections/{collection_id}"
    return [
        Route("/collections", r.collections, methods=["GET"]),
        Route(c, r.collection, methods=["GET"]),
        Route(f"{c}/coverage", r.coverage, methods=["GET"]),
        Route(f"{c}/coverage/domainset", r.domainset, methods=["GET"]),
        Route(f"{c}/coverage/rangetype", r.rangetype, methods=["GET"]),
        Route(f"{c}/map", r.map, methods=["GET"]),
        Route(f"{c}/map/tiles", r.tilesets, methods=["GET"]),
        Route(c + "/map/tiles/{tms}", r.tileset, methods=["GET"]),
        Route(c + "/map/tiles/{tms}/{z}/{y}/{x}", r.tile, methods=["GET"]),
        Route(f"{c}/legend", r.legend, methods=["GET"]),
        Route(f"{c}/position", r.position, methods=["GET"]),
        Route("/rasters/{external_id}.tif", r.cog, methods=["GET", "HEAD"]),
    ]
