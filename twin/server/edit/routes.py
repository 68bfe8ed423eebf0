"""OGC API - Features Part 4: POST on ``/collections/{id}/items`` (a Feature, or a
FeatureCollection created in one transaction); PUT (replace), PATCH (a JSON Merge Patch,
RFC 7396, of the feature: ``{"properties": {...}}`` and/or ``{"geometry": {...}}``, as
QGIS sends it) and DELETE on ``/collections/{id}/items/{fid}``;
OPTIONS on both, whose ``Allow`` header says what the caller may do.

These routes declare only the write methods and OPTIONS, and come before the read routes:
Starlette keeps looking for a route that matches path and method, so GET and HEAD reach
:mod:`twin.server.features.routes`.

Rules: writing needs a signed-in caller (401 otherwise) with an edit role of the layer
(403); a private field the caller cannot see cannot be written either (it is an unknown
property to them). Every edit is one transaction: the row is locked, ``If-Match`` (when
sent) must name its current version (412), the change is written, the audit row with
before/after is inserted, and the history trigger keeps the replaced version.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import psycopg
from psycopg.types.json import Jsonb
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from twin.registry import Layer
from twin.server.auth.policy import ADMIN, can_edit, can_read, visible_fields
from twin.server.auth.principal import Principal, principal_of
from twin.server.db import translate
from twin.server.edit import sql as esql
from twin.server.edit.harvested import check_editable
from twin.server.edit.validate import (
    Change,
    Checker,
    Invalid,
    Limits,
    Mode,
    content_crs,
    features_of,
    merge_patch_of,
    read_json,
)
from twin.server.errors import (
    AuthenticationRequired,
    Conflict,
    Forbidden,
    MethodNotAllowed,
    NotFound,
)
from twin.server.features import sql as fsql
from twin.server.features.fields import output_names
from twin.server.http import check_if_match, version_etag
from twin.server.params.crs import OutputCRS, parse_crs
from twin.server.state import ServerState

log = logging.getLogger("twin.server.edit")

GEOJSON = "application/geo+json"
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
REFRESH_DELAY_S = 1.0


class Editor:
    def __init__(self, state: ServerState, limits: Limits | None = None):
        self.state = state
        self.limits = limits or Limits()
        self._refreshing: set[str] = set()
        self._tasks: set[asyncio.Task] = set()

    # --- who and what ---------------------------------------------------------------

    def layer(self, request: Request) -> Layer:
        """The collection, if the caller may read it (404 otherwise, as on GET)."""
        name = request.path_params["collection_id"]
        if name not in self.state.registry or not can_read(
                self.state.registry.get(name), principal_of(request)):
            raise NotFound(f"collection {name!r} not found")
        return self.state.registry.get(name)

    @staticmethod
    def editor(request: Request, layer: Layer) -> Principal:
        who = principal_of(request)
        if layer.is_view:
            raise MethodNotAllowed(f"{layer.name} is derived from other tables and is "
                                   "read-only", headers={"Allow": ", ".join(READ_METHODS)})
        if not who.authenticated:
            raise AuthenticationRequired(
                f"editing {layer.name} needs credentials: an API key (X-API-Key, or as "
                "the password of HTTP Basic) or a bearer token")
        if not can_edit(layer, who):
            roles = ", ".join(layer.access.edit) or "no role"
            raise Forbidden(f"{layer.name} may be edited by {roles}; "
                            f"{who.agency or who.subject} may only read it")
        return who

    def checker(self, request: Request, layer: Layer, who: Principal) -> Checker:
        fields = {f.name: f for f in visible_fields(layer, who)}
        return Checker(layer, fields, content_crs(request, layer,
                                                  self.state.settings.city.offered_epsg),
                       self.state.settings.plausible_extent, self.limits)

    @staticmethod
    def allowed(request: Request, layer: Layer, item: bool) -> list[str]:
        who = principal_of(request)
        if who.authenticated and can_edit(layer, who):
            return READ_METHODS + (["PUT", "PATCH", "DELETE"] if item else ["POST"])
        return list(READ_METHODS)

    # --- OPTIONS --------------------------------------------------------------------

    async def options_items(self, request: Request) -> Response:
        return self.options(request, item=False)

    async def options_item(self, request: Request) -> Response:
        return self.options(request, item=True)

    def options(self, request: Request, item: bool) -> Response:
        """204 with an ``Allow`` that reflects the caller's rights (QGIS reads it to
        decide whether to offer editing), and what the write methods accept."""
        allow = self.allowed(request, self.layer(request), item=item)
        headers = {"Allow": ", ".join(allow), "Vary": "Authorization, X-API-Key"}
        if "POST" in allow:
            headers["Accept-Post"] = f"{GEOJSON}, application/json"
        if "PATCH" in allow:
            headers["Accept-Patch"] = f"application/merge-patch+json, {GEOJSON}"
        return Response(status_code=204, headers=headers)

    # --- writes ---------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        layer = self.layer(request)
        who = self.editor(request, layer)
        features, many = features_of(await read_json(request, self.limits), True,
                                     self.limits)
        checker = self.checker(request, layer, who)
        changes = [checker.check(f, "create", where=f"features[{n}]" if many else "")
                   for n, f in enumerate(features)]
        for change in changes:
            in_scope(layer, who, None, change)
        ids = [c.external_id for c in changes]
        if len(set(ids)) != len(ids):
            raise Invalid("two features of the request have the same id")
        out = self.output_crs(request, layer)
        async with self.transaction(request, layer, who) as tx:
            bodies = []
            for change in changes:
                stmt, params = esql.insert_sql(layer, change)
                row = await tx.one(stmt, params)
                if row is None:
                    raise Conflict(f"a feature with id {change.external_id!r} already exists "
                                   f"in {layer.name}; leave id out to have one assigned")
                await tx.audit(change.external_id, row[0], "insert", None, row[2])
                bodies.append(await tx.feature(change.external_id, out))
        self.extent_changed(layer, changes)
        headers = {"Content-Crs": f"<{out.uri}>", "Cache-Control": "no-store"}
        if many:
            body = '{"type":"FeatureCollection","features":[' + ",".join(
                b for b, _ in bodies) + f'],"numberReturned":{len(bodies)}}}'
            return Response(body, status_code=201, media_type=GEOJSON, headers=headers)
        (body, etag), fid = bodies[0], changes[0].external_id
        headers.update({"Location": self.item_url(layer, fid), "ETag": etag})
        return Response(body, status_code=201, media_type=GEOJSON, headers=headers)

    async def replace(self, request: Request) -> Response:
        return await self.modify(request, "replace")

    async def update(self, request: Request) -> Response:
        return await self.modify(request, "update")

    async def modify(self, request: Request, mode: Mode) -> Response:
        layer = self.layer(request)
        who = self.editor(request, layer)
        fid = request.path_params["item_id"]
        doc = await read_json(request, self.limits)
        if mode == "update":  # a JSON merge patch (QGIS: no type, no If-Match)
            feature = merge_patch_of(doc)
        else:
            (feature,), _ = features_of(doc, False, self.limits)
        change = self.checker(request, layer, who).check(feature, mode, path_id=fid)
        out = self.output_crs(request, layer)
        async with self.transaction(request, layer, who) as tx:
            current = await tx.lock(fid, request)
            in_scope(layer, who, current[2], change)
            if change.values or change.wkb is not None:
                stmt, params = esql.update_sql(layer, change, current[0])
                row = await tx.one(stmt, params)
                await tx.audit(fid, row[0], "update", current[2], row[2])
            body, etag = await tx.feature(fid, out)  # an empty merge patch changes nothing
        if change.wkb is not None or layer.time_field in change.values:
            self.extent_changed(layer, [change])
        return Response(body, media_type=GEOJSON, headers={
            "ETag": etag, "Content-Crs": f"<{out.uri}>", "Cache-Control": "no-store"})

    async def delete(self, request: Request) -> Response:
        layer = self.layer(request)
        who = self.editor(request, layer)
        fid = request.path_params["item_id"]
        async with self.transaction(request, layer, who) as tx:
            current = await tx.lock(fid, request)
            in_scope(layer, who, current[2], None)
            await tx.conn.execute(esql.delete_sql(layer), {"id": current[0]})
            await tx.audit(fid, current[0], "delete", current[2], None)
        self.extent_changed(layer, [])
        return Response(status_code=204)

    # --- helpers --------------------------------------------------------------------

    def output_crs(self, request: Request, layer: Layer) -> OutputCRS:
        return parse_crs(request.query_params.get("crs"), layer.srid,
                         offered=self.state.settings.city.offered_epsg)

    def item_url(self, layer: Layer, fid: str) -> str:
        return self.state.url(f"collections/{layer.name}/items/{quote(fid, safe='')}")

    @asynccontextmanager
    async def transaction(self, request: Request, layer: Layer,
                          who: Principal) -> AsyncIterator[Transaction]:
        async with self.state.db.pool.connection() as conn:
            try:
                async with conn.transaction():
                    await conn.execute(esql.actor_sql(), {"actor": who.subject})
                    yield Transaction(self, conn, request, layer, who)
            except psycopg.Error as exc:
                raise _translate(exc, layer) from None

    def extent_changed(self, layer: Layer, changes: list[Change]) -> None:
        """Grow the layer's advertised bbox at once to take in new geometries, and
        recompute the layer's extents shortly after (a deleted feature may shrink them; a
        time field's interval may move). One refresh per layer at a time."""
        extent = self.state.extents.get(layer.name)
        boxes = [c.bounds84 for c in changes if c.bounds84 is not None]
        if extent is not None and boxes:
            x0, y0, x1, y1 = extent["bbox"]
            extent["bbox"] = [min([x0, *(b[0] for b in boxes)]),
                              min([y0, *(b[1] for b in boxes)]),
                              max([x1, *(b[2] for b in boxes)]),
                              max([y1, *(b[3] for b in boxes)])]
        if layer.name in self._refreshing:
            return
        self._refreshing.add(layer.name)
        task = asyncio.get_running_loop().create_task(self._refresh(layer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, layer: Layer) -> None:
        from twin.server.features.extents import layer_extent

        try:
            await asyncio.sleep(REFRESH_DELAY_S)
            self._refreshing.discard(layer.name)  # later edits schedule another refresh
            self.state.set_extent(layer.name, await layer_extent(self.state, layer))
        except Exception:
            self._refreshing.discard(layer.name)
            log.warning("extent of %s not refreshed after an edit", layer.name, exc_info=True)


class Transaction:
    """One edit transaction on one connection."""

    def __init__(self, editor: Editor, conn: psycopg.AsyncConnection, request: Request,
                 layer: Layer, who: Principal):
        self.editor, self.conn, self.request = editor, conn, request
        self.layer, self.who = layer, who

    async def one(self, stmt, params: dict) -> tuple | None:
        cur = await self.conn.execute(stmt, params)
        return await cur.fetchone()

    async def lock(self, fid: str, request: Request) -> tuple:
        """Lock the current row: (id, updated_at, snapshot); 404 when there is none, 412
        when If-Match names another version."""
        row = await self.one(esql.lock_sql(self.layer), {"fid": fid})
        if row is None:
            raise NotFound(f"item {fid!r} not found in {self.layer.name}")
        await check_editable(self.conn, self.layer, fid)  # harvested: read-only (409)
        check_if_match(request.headers.get("if-match"), version_etag(row[0], row[1]))
        return row

    async def feature(self, fid: str, out: OutputCRS) -> tuple[str, str]:
        """The feature as GET returns it to this caller, and its version ETag."""

        row = await self.one(fsql.item_sql(self.layer, output_names(self.layer, self.who), out),
                             {"fid": fid})
        links = [{"rel": "self", "type": GEOJSON, "href": self.editor.item_url(self.layer, fid)},
                 {"rel": "collection", "type": "application/json",
                  "href": self.editor.state.url(f"collections/{self.layer.name}")}]
        return row[0][:-1] + ',"links":' + json.dumps(links) + "}", version_etag(row[2], row[1])

    async def audit(self, fid: str, row_id: int, action: str, before, after) -> None:
        headers = self.request.headers
        await self.conn.execute(esql.AUDIT, {
            "layer": self.layer.name, "fid": fid, "id": row_id, "action": action,
            "actor": self.who.subject, "agency": self.who.agency, "method": self.who.method,
            "request_id": (headers.get("x-request-id") or "")[:200] or None,
            "reason": (headers.get("x-edit-reason") or "")[:1000] or None,
            "before": Jsonb(before) if before is not None else None,
            "after": Jsonb(after) if after is not None else None})


def in_scope(layer: Layer, who: Principal, current: dict | None,
             change: Change | None) -> None:
    """Refuse (403) an edit outside the editor's agency on a layer with
    ``access.edit_scope``: the current feature must be the agency's, and so must the
    written value (a new feature without one gets the editor's agency)."""
    scope = layer.access.edit_scope
    if scope is None or ADMIN in who.roles:
        return
    if not who.agency:
        raise Forbidden(f"{layer.name} is edited per agency ({scope}); your credentials "
                        "name no agency")
    owner = ((current or {}).get("properties") or {}).get(scope) if current else who.agency
    if owner != who.agency:
        raise Forbidden(f"this feature of {layer.name} belongs to {owner!r}; "
                        f"{who.agency!r} may edit only its own")
    if change is not None:
        if change.values.get(scope) is None:    # left out or null: stays the editor's
            change.values[scope] = who.agency
        value = change.values[scope]
        if value != who.agency:
            raise Forbidden(f"{scope}: {who.agency!r} may not give a feature of "
                            f"{layer.name} to {value!r}")


def _translate(exc: psycopg.Error, layer: Layer):
    """Database refusals of an edit, as client errors that name the rule (never the
    database's text)."""
    diag = exc.diag
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return Conflict(f"a feature with this id already exists in {layer.name}")
    if isinstance(exc, psycopg.errors.CheckViolation):
        name = diag.constraint_name or ""
        if name.endswith("_geom_valid"):
            return Invalid(f"geometry is invalid or empty in the layer's CRS "
                           f"{layer.storage_crs}")
        return Invalid(f"a value breaks the rule {name or 'of the layer'}")
    if isinstance(exc, psycopg.errors.NotNullViolation):
        return Invalid(f"{diag.column_name or 'a required property'} is required")
    if isinstance(exc, psycopg.errors.ForeignKeyViolation):
        return Conflict(f"the feature is referenced by other data ({diag.table_name or '?'}) "
                        "and cannot be deleted or changed that way")
    return translate(exc)


def routes(state: ServerState) -> list[BaseRoute]:
    e = Editor(state)
    items = "/collections/{collection_id}/items"
    item = items + "/{item_id}"
    return [
        Route(items, e.create, methods=["POST"]),
        Route(items, e.options_items, methods=["OPTIONS"]),
        Route(item, e.replace, methods=["PUT"]),
        Route(item, e.update, methods=["PATCH"]),
        Route(item, e.delete, methods=["DELETE"]),
        Route(item, e.options_item, methods=["OPTIONS"]),
    ]
