"""Routes of the catalogue and the change feeds (issue 19):

- ``/collections/catalogue/items[/{id}]``: OGC API - Records (JSON and HTML), the records
  a caller may see, searched and sorted (:mod:`.search`);
- ``/collections/catalogue/queryables``: what the catalogue can be searched on;
- ``/catalogue/dcat``: the same catalogue as DCAT-AP JSON-LD (:mod:`twin.catalogue.dcat`);
- ``/collections/{id}/changes``: a layer's change feed (:mod:`.changes`).

The collection itself (``/collections/catalogue``, itemType ``record``) is described by
pygeoapi from :mod:`.config`. These routes are matched before the Features block's.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twin.catalogue.dcat import catalogue_graph
from twin.catalogue.records import record
from twin.i18n import content_language, request_language
from twin.server.auth.principal import principal_of
from twin.server.errors import NotFound
from twin.server.http import cached
from twin.server.params.negotiate import CSV, HTML, JSON, Format, negotiate
from twin.server.params.values import check_names
from twin.server.records import catalogue as cat
from twin.server.records.changes import changes_route
from twin.server.records.html import (
    queryables_page,
    record_page,
    records_csv,
    records_page,
)
from twin.server.records.search import SORTABLE, matches, ordered, parse_search
from twin.server.state import ServerState

GEOJSON = "application/geo+json"
JSONLD = "application/ld+json"
RECORDS = (JSON.also("geojson", "jsonld", media=(GEOJSON,)), HTML)
LISTING = (*RECORDS, CSV)  # the list also as CSV (one row per record)
QUERYABLES = (JSON.also("jsonld", media=("application/schema+json",)), HTML)
DCAT = (Format("jsonld", (JSONLD,), ("json",)),)
BASE = f"collections/{cat.COLLECTION}"


class Catalogue:
    def __init__(self, state: ServerState):
        self.state = state
        self.base = cat.defaults(state)  # config/server.yaml, read once

    async def records(self, request: Request, lang: str) -> list[dict]:
        subjects = await cat.subjects(self.state, principal_of(request), self.base)
        publisher = self.base.publisher
        now = cat.now()
        return [record(s, lang, now, publisher) for s in subjects]

    def lang(self, request: Request) -> str:
        return request_language(request.query_params, request.headers,
                                self.state.settings.city.language)

    async def items(self, request: Request) -> Response:
        search = parse_search(request.query_params)
        fmt = negotiate(request.query_params, request.headers.get("accept"), LISTING)
        lang = self.lang(request)
        found = [r for r in await self.records(request, lang) if matches(r, search)]
        found = ordered(found, search)
        page = found[search.offset:search.offset + search.limit]
        links = self.links(request, search.offset, search.limit, len(page), len(found))
        who = principal_of(request)
        headers = {"Content-Language": content_language(lang)}
        if fmt is HTML:
            title = self.base.title.pick(lang)
            body = records_page(title, page, len(found), links, request.query_params.get(
                "q", ""), lang, lambda rid: self.state.url(f"{BASE}/items/{rid}?f=html"))
            return cached(request, body.encode(), "text/html; charset=utf-8", headers,
                          private=who.authenticated)
        if fmt is CSV:
            return cached(request, records_csv(page).encode(), "text/csv; charset=utf-8",
                          {**headers, "Content-Disposition":
                           'attachment; filename="catalogue.csv"'}, private=who.authenticated)
        doc = {"type": "FeatureCollection", "features": page, "numberMatched": len(found),
               "numberReturned": len(page), "links": links}
        return cached(request, json.dumps(doc, ensure_ascii=False).encode(), GEOJSON,
                      headers, private=who.authenticated)

    def links(self, request: Request, offset: int, limit: int, returned: int,
              matched: int) -> list[dict]:
        base = self.state.url(f"{BASE}/items")
        kept = [(k, v) for k, v in request.query_params.multi_items()
                if k not in ("offset", "f")]
        links = [{"rel": "self", "type": GEOJSON, "title": "this page",
                  "href": f"{base}?{urlencode([*kept, ('offset', offset), ('f', 'json')])}"},
                 {"rel": "alternate", "type": "text/html", "title": "this page as HTML",
                  "href": f"{base}?{urlencode([*kept, ('offset', offset), ('f', 'html')])}"},
                 {"rel": "collection", "type": "application/json", "title": "the catalogue",
                  "href": self.state.url(BASE)},
                 {"rel": "alternate", "type": JSONLD, "title": "the catalogue as DCAT",
                  "href": self.state.url("catalogue/dcat")}]
        if offset + returned < matched:
            links.append({"rel": "next", "type": GEOJSON, "title": "next page",
                          "href": f"{base}?{urlencode([*kept, ('offset', offset + limit)])}"})
        if offset:
            back = [*kept, ("offset", max(0, offset - limit))]
            links.append({"rel": "prev", "type": GEOJSON, "title": "previous page",
                          "href": f"{base}?{urlencode(back)}"})
        return links

    async def item(self, request: Request) -> Response:
        check_names(request.query_params, {"f", "lang"}, "a catalogue record")
        fmt = negotiate(request.query_params, request.headers.get("accept"), RECORDS)
        lang, rid = self.lang(request), request.path_params["record_id"]
        found = [r for r in await self.records(request, lang) if r["id"] == rid]
        if not found:
            raise NotFound(f"record {rid!r} not found in the catalogue")
        rec, who = found[0], principal_of(request)
        headers = {"Content-Language": content_language(lang)}
        if fmt is HTML:
            body = record_page(rec, lang, self.state.url(f"{BASE}/items/{rid}?f=json"))
            return cached(request, body.encode(), "text/html; charset=utf-8", headers,
                          private=who.authenticated)
        rec = {**rec, "links": [*rec["links"], {
            "rel": "self", "type": GEOJSON, "href": self.state.url(f"{BASE}/items/{rid}")}, {
            "rel": "collection", "type": "application/json", "href": self.state.url(BASE)}]}
        return cached(request, json.dumps(rec, ensure_ascii=False).encode(), GEOJSON,
                      headers, private=who.authenticated)

    async def queryables(self, request: Request) -> Response:
        check_names(request.query_params, {"f", "lang"}, "the catalogue's queryables")
        fmt = negotiate(request.query_params, request.headers.get("accept"), QUERYABLES)
        props = {"q": {"type": "string", "description": "free text (any language, "
                       "diacritics optional)"},
                 "type": {"type": "string", "enum": ["dataset", "coverage", "process"]},
                 "keywords": {"type": "string"}, "externalIds": {"type": "string"},
                 "datetime": {"type": "string", "format": "date-time"},
                 "bbox": {"type": "array", "items": {"type": "number"}},
                 **{name: {"type": "string", "x-ogc-sortable": True} for name in SORTABLE}}
        doc = {"$schema": "https://json-schema.org/draft/2020-12/schema",
               "$id": self.state.url(f"{BASE}/queryables"), "type": "object",
               "title": "catalogue", "properties": props}
        if fmt is HTML:
            return cached(request, queryables_page(doc).encode(), "text/html; charset=utf-8")
        return cached(request, json.dumps(doc).encode(), "application/schema+json")

    async def dcat(self, request: Request) -> Response:
        check_names(request.query_params, {"f", "lang"}, "the DCAT catalogue")
        negotiate(request.query_params, request.headers.get("accept"), DCAT)
        lang = self.lang(request)
        subjects = await cat.subjects(self.state, principal_of(request), self.base)
        graph = catalogue_graph(subjects, self.base, self.state.url, cat.now())
        return cached(request, json.dumps(graph, ensure_ascii=False).encode(), JSONLD,
                      {"Content-Language": content_language(lang)},
                      private=principal_of(request).authenticated)


def routes(state: ServerState) -> list[Route]:
    c = Catalogue(state)

    async def changes(request: Request) -> Response:
        return await changes_route(state, request)

    return [
        Route(f"/{BASE}/items", c.items, methods=["GET", "HEAD"]),
        Route(f"/{BASE}/items/{{record_id}}", c.item, methods=["GET", "HEAD"]),
        Route(f"/{BASE}/queryables", c.queryables, methods=["GET", "HEAD"]),
        Route("/catalogue/dcat", c.dcat, methods=["GET", "HEAD"]),
        Route("/collections/{collection_id}/changes", changes, methods=["GET", "HEAD"]),
    ]
