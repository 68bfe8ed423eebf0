"""``GET /collections/{id}/changes``: a layer's features created, updated and deleted, in
commit order, after ``since`` (RFC 3339) or a ``cursor`` (from a previous page), within
``bbox``, ``limit`` at a time (issue 19, point 3; :mod:`twin.catalogue.changes`).

The answer is a GeoJSON FeatureCollection: each change a feature as the items give it
(same properties for the same caller) with a ``change`` member (``action``, ``time``);
a deletion is a tombstone (its id, no geometry, no properties). ``cursor`` in the body
resumes after the last change returned (also when there was none); a ``next`` link is
given while pages are full.

The log keeps ``TWIN_CHANGES_KEEP_DAYS`` (:mod:`twin.db.retention`). A reader that would
resume before what is kept (a cursor or ``since`` older than the last change of this
layer removed) gets 410 Gone with the time before which changes were removed: it must
copy the layer again (the items), then follow the feed ``since`` the copy, never
silently skip what it missed. Without either the feed starts at the oldest change kept
(a reader with no position has no copy to keep exact).
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from twin.catalogue.changes import ChangePage, Cursor, changes_async
from twin.db.retention import PRUNED_SQL, gone_since
from twin.registry import Layer
from twin.server.auth.policy import can_read
from twin.server.auth.principal import principal_of
from twin.server.errors import APIError, InvalidParameter, NotFound
from twin.server.features import sql as fsql
from twin.server.features.fields import output_names
from twin.server.http import cached
from twin.server.params.crs import CRS84
from twin.server.params.extent import check_bbox
from twin.server.params.negotiate import HTML, JSON, negotiate
from twin.server.params.values import check_names, parse_bbox, parse_datetime, parse_limit
from twin.server.state import ServerState

GEOJSON = "application/geo+json"
PARAMS = {"since", "cursor", "bbox", "limit", "f", "lang"}
FORMATS = (JSON.also("geojson", media=(GEOJSON,)), HTML)


class Gone(APIError):
    """The changes after the reader's position were removed by retention (410)."""
    status = 410
    code = "Gone"


async def _check_kept(conn, layer: Layer, cursor: Cursor | None,
                      since: datetime | None) -> None:
    """410 when changes after the reader's position were pruned. Read after the page (the
    prune removes changes and moves the mark in one statement): a page that missed
    pruned changes always sees the mark that says so."""
    if cursor is None and since is None:
        return
    mark = await (await conn.execute(PRUNED_SQL, (layer.table,))).fetchone()
    start = cursor or Cursor()
    before = gone_since(mark, seq=start.seq, ident=start.id, since=since)
    if before is not None:
        when = before.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise Gone(f"the changes of {layer.name!r} before {when} were pruned (the change "
                   "log keeps TWIN_CHANGES_KEEP_DAYS): copy the layer again from its items, "
                   "then follow this feed with since= the time of the copy")


def _layer(state: ServerState, request: Request) -> Layer:
    name = request.path_params["collection_id"]
    who = principal_of(request)
    if name not in state.registry or not can_read(state.registry.get(name), who):
        raise NotFound(f"collection {name!r} not found")
    layer = state.registry.get(name)
    if layer.is_view:
        raise NotFound(f"collection {name!r} is derived from other data and has no change "
                       "feed; follow the layers it is derived from")
    return layer


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    t = parse_datetime(raw)
    if not t.instant:
        raise InvalidParameter("since: one RFC 3339 date-time, not an interval")
    return t.start.astimezone(UTC)


def _bbox(raw: str | None):
    if raw is None:
        return None
    return check_bbox(parse_bbox(raw))


async def changes_route(state: ServerState, request: Request) -> Response:
    layer = _layer(state, request)
    params = request.query_params
    check_names(params, PARAMS, "the change feed")
    fmt = negotiate(params, request.headers.get("accept"), FORMATS)
    if "since" in params and "cursor" in params:
        raise InvalidParameter("give either since or cursor, not both")
    try:
        since = _since(params.get("since"))
    except InvalidParameter as exc:
        raise InvalidParameter(str(exc).replace("datetime:", "since:", 1)) from None
    cursor = Cursor.decode(params["cursor"]) if "cursor" in params else None
    bbox, limit = _bbox(params.get("bbox")), parse_limit(params, default=1000)
    who = principal_of(request)
    names = output_names(layer, who)
    async with state.db.connection() as conn:
        page = await changes_async(conn, layer, names, after=cursor, since=since, bbox=bbox,
                                   limit=limit,
                                   feature=fsql.feature_sql(layer, names, CRS84, False))
        await _check_kept(conn, layer, cursor, since)
    links = _links(state, layer, request, page)
    if fmt is HTML:
        return HTMLResponse(_html(layer, page, links), headers={"Cache-Control": "no-store"})
    tail = {"numberReturned": len(page.changes), "cursor": page.cursor.encode(),
            "timeStamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "links": links}
    body = (b'{"type":"FeatureCollection","features":['
            + ",".join(c.as_geojson() for c in page.changes).encode() + b"],"
            + json.dumps(tail, ensure_ascii=False)[1:].encode())
    return cached(request, body, GEOJSON, private=who.authenticated)


def _links(state: ServerState, layer: Layer, request: Request, page: ChangePage) -> list[dict]:
    base = state.url(f"collections/{layer.name}/changes")
    kept = [(k, v) for k, v in request.query_params.multi_items()
            if k in ("bbox", "limit", "lang")]
    links = [{"rel": "self", "type": GEOJSON, "title": "this page",
              "href": f"{base}?{urlencode(request.query_params.multi_items())}"},
             {"rel": "collection", "type": "application/json", "title": layer.title,
              "href": state.url(f"collections/{layer.name}")},
             {"rel": "items", "type": GEOJSON, "title": "the features as they are now",
              "href": state.url(f"collections/{layer.name}/items")}]
    if page.full:
        links.append({"rel": "next", "type": GEOJSON, "title": "the changes that follow",
                      "href": f"{base}?{urlencode([*kept, ('cursor', page.cursor.encode())])}"})
    return links


def _html(layer: Layer, page: ChangePage, links: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c.time.isoformat())}</td><td>{html.escape(c.action)}</td>"
        f"<td>{html.escape(c.id)}</td></tr>" for c in page.changes)
    nav = "".join(f'<li><a href="{html.escape(link["href"])}">{html.escape(link["title"])}'
                  f"</a></li>" for link in links)
    title = html.escape(f"{layer.title}: changes")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>{title}</h1><table><thead><tr><th>time</th><th>action</th>"
            f"<th>id</th></tr></thead><tbody>{rows}</tbody></table>"
            f"<p>cursor: <code>{html.escape(page.cursor.encode())}</code></p>"
            f"<ul>{nav}</ul></body></html>")
