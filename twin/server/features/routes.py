"""Routes: /conformance, /collections/{id}/items[/{fid}], /collections/{id}/queryables."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from twin.registry import Layer
from twin.server.auth.policy import can_read
from twin.server.auth.principal import principal_of
from twin.server.errors import InvalidParameter, NotFound
from twin.server.features import formats
from twin.server.features import sql as fsql
from twin.server.features.conformance import CONFORMANCE
from twin.server.features.counts import kept_count_sql, whole_layer
from twin.server.features.fields import output_names, queryable_fields
from twin.server.features.params import ITEM_FORMATS, ItemsQuery, encode_cursor, parse_items
from twin.server.http import cached, matches, version_etag
from twin.server.middleware.language import language_of
from twin.server.params.binds import Params
from twin.server.params.crs import parse_crs
from twin.server.params.negotiate import HTML, JSON, negotiate
from twin.server.state import HtmlPages, ServerState

GEOJSON = "application/geo+json"
LINK_TITLES = {  # the items page's links, per language
    "vi": {"self": "trang này", "alternate": "trang này dưới dạng HTML",
           "next": "trang sau", "prev": "trang trước"},
    "en": {"self": "this page", "alternate": "this page as HTML",
           "next": "next page", "prev": "previous page"},
}
ITEM_PAGE = (ITEM_FORMATS[0], HTML)  # one item: GeoJSON (also f=json, jsonld) or HTML
QUERYABLES = (JSON.also("jsonld", media=("application/schema+json",)), HTML)
DOWNLOAD_LIMIT = 1_000_000


class Features:
    def __init__(self, state: ServerState):
        self.state = state

    @property
    def html(self) -> HtmlPages:
        """The HTML pages (pygeoapi renders them; twin.server.pygeoapi.bridge)."""
        if self.state.html is None:
            raise InvalidParameter("f: html is not served by this server")
        return self.state.html

    def layer(self, request: Request) -> Layer:
        """The collection, if the caller may read it (404 otherwise: existence of a
        layer the caller may not read is not disclosed)."""
        name = request.path_params["collection_id"]
        if name not in self.state.registry or not can_read(
                self.state.registry.get(name), principal_of(request)):
            raise NotFound(f"collection {name!r} not found")
        return self.state.registry.get(name)

    def language(self, request: Request) -> str:
        """``vi`` or ``en``: what the request asks for, else the city's default."""
        return language_of(request, self.state.settings.city.language)

    def links(self, request: Request, layer: Layer, q: ItemsQuery, returned: int,
              last_id: int | None) -> list[dict]:
        base = self.state.url(f"collections/{layer.name}/items")
        params = [(k, v) for k, v in request.query_params.multi_items()
                  if k not in ("cursor", "offset", "f")]
        lang = self.language(request)
        title = LINK_TITLES[lang]
        links = [
            {"rel": "self", "type": GEOJSON, "title": title["self"],
             "href": f"{base}?{urlencode([*params, ('f', 'json')])}"},
            {"rel": "alternate", "type": "text/html", "title": title["alternate"],
             "href": f"{base}?{urlencode([*params, ('f', 'html')])}"},
            {"rel": "collection", "type": "application/json", "title": layer.title_in(lang),
             "href": self.state.url(f"collections/{layer.name}")},
        ]
        if returned == q.limit and last_id is not None:
            nxt = params + ([("cursor", encode_cursor(last_id))] if not q.sortby else
                            [("offset", str(q.offset + q.limit))])
            links.append({"rel": "next", "type": GEOJSON, "title": title["next"],
                          "href": f"{base}?{urlencode(nxt)}"})
        if q.offset and q.after_id is None:
            prev = [*params, ("offset", str(max(0, q.offset - q.limit)))]
            links.append({"rel": "prev", "type": GEOJSON, "title": title["prev"],
                          "href": f"{base}?{urlencode(prev)}"})
        return links

    async def items(self, request: Request) -> Response:
        handover = self.state.item_routes.get(request.path_params["collection_id"])
        if handover is not None:  # a collection served by another API (EDR locations)
            return await handover(request)
        layer, who = self.layer(request), principal_of(request)
        fields = queryable_fields(layer, who)
        q = parse_items(request.query_params, request.headers.get("accept"), layer, fields,
                        self.state.settings.city.offered_epsg)
        if q.fmt == "html":
            return await self.html.html_items(request)
        if q.fmt in ("fgb", "gpkg", "csv"):
            return await self.download(request, layer, q, fields)
        names = q.properties if q.properties is not None else output_names(layer, who)
        params = Params()
        where = fsql.where_clause(layer, q, fields, params)
        page = self.state.db.fetchrow(fsql.page_sql(layer, q, names, where, params), params)
        cap = self.state.settings.count_limit
        matched = None
        if cap:  # the count runs beside the page, on its own connection, within a budget
            started = time.perf_counter()
            # The WHERE is built once: its values are named, so the count may reuse them.
            counting = asyncio.ensure_future(self.count(layer, q, where, Params(params), cap))
            counting.add_done_callback(_quietly)
            features, returned, last_id = await page
            budget = self.state.settings.count_budget_ms / 1000
            left = max(0.0, budget - (time.perf_counter() - started))
            # A whole layer's kept count is O(1) and always given (issue 17): no budget.
            done, _ = await asyncio.wait({counting},
                                         timeout=None if whole_layer(layer, q) else left)
            if counting in done and counting.exception() is None:
                matched = counting.result()
        else:
            features, returned, last_id = await page
        body = self.collection_body(request, layer, q, features, returned, last_id, matched)
        return cached(request, body, GEOJSON, {"Content-Crs": f"<{q.crs.uri}>"},
                      private=who.authenticated)

    async def count(self, layer: Layer, q: ItemsQuery, where, params: Params,
                    cap: int) -> int | None:
        """numberMatched: exact when the planner expects at most ``cap`` matches (the
        count then stops at cap + 1 anyway), omitted when it expects more, so a page
        of a huge table never pays for a full count. A whole layer: its kept count, O(1)."""
        if whole_layer(layer, q):
            kept = await self.state.db.fetchrow(kept_count_sql(), {"layer": layer.table})
            if kept is not None:
                return int(kept[0])
        (plan,) = await self.state.db.fetchrow(fsql.estimate_sql(layer, where, q, params),
                                               params, prepare=False)
        if plan[0]["Plan"]["Plan Rows"] > cap:
            return None
        row = await self.state.db.fetchrow_within(
            fsql.count_sql(layer, where, cap, params, q), params,
            self.state.settings.count_budget_ms)
        return row[0] if row is not None and row[0] <= cap else None

    def collection_body(self, request, layer, q, features, returned, last_id, matched) -> bytes:
        tail = {"numberReturned": returned}
        if matched is not None:
            tail["numberMatched"] = matched
        tail["timeStamp"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        tail["links"] = self.links(request, layer, q, returned, last_id)
        return (b'{"type":"FeatureCollection","features":[' + features.encode()
                + b"]," + json.dumps(tail, ensure_ascii=False)[1:].encode())

    async def download(self, request, layer: Layer, q: ItemsQuery, fields) -> Response:
        who = principal_of(request)
        names = q.properties if q.properties is not None else output_names(layer, who)
        if "limit" not in request.query_params:
            q.limit = DOWNLOAD_LIMIT
        params = Params()
        where = fsql.where_clause(layer, q, fields, params)
        wkt = q.fmt == "csv"
        rows = await self.state.db.fetchall(
            fsql.rows_sql(layer, q, names, where, params, wkt=wkt), params)
        rows = [r[:-1] for r in rows]  # drop the ordering id
        if wkt:
            body = formats.to_csv(names, rows)
        else:
            body = await run_in_threadpool(formats.to_file, q.fmt, layer, names, rows, q.crs.srid)
        ext = {"csv": "csv", "fgb": "fgb", "gpkg": "gpkg"}[q.fmt]
        return cached(request, body, formats.MEDIA[q.fmt], {
            "Content-Crs": f"<{q.crs.uri}>",
            "Content-Disposition": f'attachment; filename="{layer.name}.{ext}"'},
            private=who.authenticated)

    async def item(self, request: Request) -> Response:
        handover = self.state.item_routes.get(request.path_params["collection_id"])
        if handover is not None:
            return await handover(request)
        layer = self.layer(request)
        unknown = set(request.query_params) - {"f", "crs", "lang"}
        if unknown:
            raise InvalidParameter(f"unknown parameter(s) {', '.join(sorted(unknown))}")
        fmt = negotiate(request.query_params, request.headers.get("accept"), ITEM_PAGE)
        if fmt is HTML:
            return await self.html.html_item(request)
        out = parse_crs(request.query_params.get("crs"), layer.srid,
                        offered=self.state.settings.city.offered_epsg)
        fid = request.path_params["item_id"]
        who = principal_of(request)
        row = await self.state.db.fetchrow(fsql.item_sql(layer, output_names(layer, who), out),
                                           {"fid": fid})
        if row is None:
            raise NotFound(f"item {fid!r} not found in {layer.name}")
        links = [{"rel": "self", "type": GEOJSON,
                  "href": self.state.url(f"collections/{layer.name}/items/{fid}")},
                 {"rel": "collection", "type": "application/json",
                  "href": self.state.url(f"collections/{layer.name}")}]
        body = row[0][:-1] + ',"links":' + json.dumps(links) + "}"
        response = cached(request, body.encode(), GEOJSON, {"Content-Crs": f"<{out.uri}>"},
                          private=who.authenticated)
        # A strong ETag naming the row version: If-Match on PUT/PATCH/DELETE checks it.
        version = response.headers["ETag"] = version_etag(row[2], row[1])
        if response.status_code == 200 and matches(request.headers.get("if-none-match"),
                                                   version):
            return Response(status_code=304, headers={
                k: v for k, v in response.headers.items()
                if k not in ("content-length", "content-type")})
        return response

    async def queryables(self, request: Request) -> Response:
        layer = self.layer(request)
        fmt = negotiate(request.query_params, request.headers.get("accept"), QUERYABLES)
        if fmt is HTML:
            return await self.html.html_queryables(request)
        props = {"geometry": {"$ref": f"https://geojson.org/schema/{layer.geometry}.json",
                              "x-ogc-role": "primary-geometry"}}
        who = principal_of(request)
        lang = self.language(request)
        for spec in queryable_fields(layer, who).values():
            props[spec.name] = spec.json_schema(lang=lang)
        if layer.time_field:
            props[layer.time_field]["x-ogc-role"] = "primary-instant"
        doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
               "$id": self.state.url(f"collections/{layer.name}/queryables"),
               "type": "object", "title": layer.title_in(lang), "properties": props,
               "additionalProperties": False}
        body = json.dumps(doc, ensure_ascii=False).encode()
        return cached(request, body, "application/schema+json", private=who.authenticated)

    async def conformance(self, request: Request) -> Response:
        fmt = negotiate(request.query_params, request.headers.get("accept"), (JSON, HTML))
        if fmt is HTML:
            return await self.html.html_conformance(request, CONFORMANCE)
        return JSONResponse({"conformsTo": CONFORMANCE})


def _quietly(task: asyncio.Future) -> None:
    """A count left behind (over budget) ends on its own; its outcome is not needed."""
    if not task.cancelled():
        task.exception()


def routes(state: ServerState) -> list[Route]:
    f = Features(state)
    return [
        Route("/conformance", f.conformance),
        Route("/collections/{collection_id}/items", f.items, methods=["GET", "HEAD"]),
        Route("/collections/{collection_id}/items/{item_id}", f.item, methods=["GET", "HEAD"]),
        Route("/collections/{collection_id}/queryables", f.queryables),
    ]

