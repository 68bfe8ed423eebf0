"""``/subscriptions``: an agency follows a layer's changes by webhook or MQTT.

- ``POST /subscriptions`` ``{"layer", "bbox"?: [x0, y0, x1, y1] (CRS84), "filter"?:
  CQL2, "filter-lang"?: "cql2-text" | "cql2-json", "webhook"?: URL | "mqtt"?: true}``:
  an authenticated caller (API key or OIDC) who may read the layer; 201 with the
  subscription, its ``secret`` (the webhook's HMAC key, shown this once) or its MQTT
  ``topic``. Changes committed from then on are delivered (:mod:`.producer`); with a
  bbox or a filter, the layer's updates keep their replaced version from then on
  (``layer_table``, :mod:`twin.db.changelog`), so a feature that leaves is told.
- ``GET /subscriptions``: the caller's own (an admin's: all).
- ``GET /subscriptions/{id}``, ``DELETE /subscriptions/{id}``: the owner or an admin
  (404 to anyone else).

Deliveries are listed with the alerts' in ``GET /admin/deliveries`` (stream
``layer_changes``).
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from twin.catalogue.changes import END_OF_COMMIT, Cursor
from twin.notify.config import NotifySettings
from twin.server.auth.policy import ADMIN, can_read
from twin.server.auth.principal import Principal, principal_of
from twin.server.errors import (
    AuthenticationRequired,
    InvalidParameter,
    NotFound,
    RequestTooLarge,
)
from twin.server.params.binds import Params
from twin.server.params.extent import check_bbox
from twin.server.readings.common import decode, read_body
from twin.server.state import ServerState
from twin.server.subscriptions.producer import filter_sql

BODY_BYTES = 64 * 1024
KEYS = {"layer", "bbox", "filter", "filter-lang", "webhook", "mqtt"}
SHOWN = ("id, owner, layer, bbox, filter, filter_lang, channel, target, cursor, "
         "created_at, updated_at")
NO_STORE = {"Cache-Control": "no-store"}


def _json(body, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/json", headers=NO_STORE)


def _caller(request: Request) -> Principal:
    who = principal_of(request)
    if not who.authenticated:
        raise AuthenticationRequired("subscriptions belong to an agency: send an API key "
                                     "(X-API-Key) or a bearer token")
    return who


def _shown(state: ServerState, row: tuple) -> dict:
    out = dict(zip(SHOWN.split(", "), row, strict=True))
    out["links"] = [{"rel": "self", "type": "application/json",
                     "href": state.url(f"subscriptions/{out['id']}")},
                    {"rel": "changes", "type": "application/geo+json",
                     "href": state.url(f"collections/{out['layer']}/changes")}]
    return out


def _bbox(value) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 4 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        raise InvalidParameter("bbox: four numbers, [west, south, east, north] in CRS84")
    return list(check_bbox(tuple(float(v) for v in value)))


def _channel(body: dict) -> tuple[str, str | None]:
    if ("webhook" in body) == bool(body.get("mqtt")):
        raise InvalidParameter("give one channel: webhook (an http(s) URL) or mqtt: true")
    if "webhook" in body:
        url = body["webhook"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidParameter("webhook: an http(s) URL is required")
        return "webhook", url
    if not NotifySettings().mqtt_url:
        raise InvalidParameter("mqtt: this server has no MQTT broker configured "
                               "(TWIN_NOTIFY_MQTT_URL); subscribe by webhook")
    return "mqtt", None


def _checked(state: ServerState, who: Principal, body) -> dict:
    if not isinstance(body, dict):
        raise InvalidParameter("the body is a JSON object: layer, bbox, filter, webhook or "
                               "mqtt")
    unknown = sorted(set(body) - KEYS)
    if unknown:
        raise InvalidParameter(f"{unknown[0]}: unknown member (members: "
                               f"{', '.join(sorted(KEYS))})")
    name = body.get("layer")
    if not isinstance(name, str) or name not in state.registry \
            or not can_read(state.registry.get(name), who):
        raise NotFound(f"layer {name!r} not found" if isinstance(name, str)
                       else "layer: the name of the layer to follow is required")
    if state.registry.get(name).is_view:
        raise InvalidParameter(f"layer {name!r} is derived from other data and has no "
                               "changes of its own; follow the layers it is derived from")
    text, lang = body.get("filter"), body.get("filter-lang") or "cql2-text"
    if lang not in ("cql2-text", "cql2-json"):
        raise InvalidParameter("filter-lang: cql2-text or cql2-json")
    if text is not None:
        if lang == "cql2-json" and not isinstance(text, str):
            text = json.dumps(text)
        if not isinstance(text, str):
            raise InvalidParameter("filter: CQL2 text")
        filter_sql(state.registry, name, who, text, lang, Params())  # 400 when bad
    channel, target = _channel(body)
    return {"layer": name, "bbox": _bbox(body.get("bbox")), "filter": text,
            "filter_lang": lang if text is not None else None, "channel": channel,
            "target": target}


async def _position(conn) -> str:
    """The change feed's end now: a subscription gets what commits after."""
    row = await (await conn.execute("SELECT coalesce(max(seq), 0) FROM change_commits")
                 ).fetchone()
    return Cursor(row[0], END_OF_COMMIT).encode()


def _owned(who: Principal) -> tuple[str, tuple]:
    return ("TRUE", ()) if ADMIN in who.roles else ("owner = %s", (who.subject,))


class Subscriptions:
    def __init__(self, state: ServerState):
        self.state = state

    async def create(self, request: Request) -> Response:
        who = _caller(request)
        raw = await read_body(request, BODY_BYTES, lambda: RequestTooLarge(
            f"a subscription is at most {BODY_BYTES // 1024} KiB"))
        sub = _checked(self.state, who, decode(raw, "a subscription (JSON object)"))
        secret = secrets.token_urlsafe(32) if sub["channel"] == "webhook" else None
        async with self.state.db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "INSERT INTO subscriptions (owner, roles, layer, layer_table, bbox, filter, "
                "filter_lang, channel, target, secret, cursor) VALUES (%s, %s, %s, %s, %s, "
                "%s, %s, %s, coalesce(%s, ''), %s, %s) RETURNING id",
                (who.subject, sorted(who.roles), sub["layer"],
                 self.state.registry.get(sub["layer"]).table, sub["bbox"], sub["filter"],
                 sub["filter_lang"], sub["channel"], sub["target"], secret,
                 await _position(conn)))
            sub_id = (await cur.fetchone())[0]
            if sub["channel"] == "mqtt":
                topic = f"{NotifySettings().mqtt_prefix.rsplit('/', 1)[0]}/changes/" \
                        f"{sub['layer']}/{sub_id}"
                await conn.execute("UPDATE subscriptions SET target = %s WHERE id = %s",
                                   (topic, sub_id))
            row = await (await conn.execute(f"SELECT {SHOWN} FROM subscriptions WHERE id = %s",
                                            (sub_id,))).fetchone()
        body = _shown(self.state, row)
        if secret:
            body["secret"] = secret
        return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=201,
                        media_type="application/json",
                        headers={**NO_STORE, "Location": body["links"][0]["href"]})

    async def listing(self, request: Request) -> Response:
        who = _caller(request)
        where, args = _owned(who)
        async with self.state.db.pool.connection() as conn:
            rows = await (await conn.execute(
                f"SELECT {SHOWN} FROM subscriptions WHERE {where} ORDER BY id", args)
            ).fetchall()
        return _json({"subscriptions": [_shown(self.state, r) for r in rows]})

    async def _one(self, request: Request, conn) -> tuple:
        who = _caller(request)
        try:
            sub_id = int(request.path_params["sub_id"])
        except ValueError:
            sub_id = -1
        where, args = _owned(who)
        row = None if not 0 < sub_id < 2**63 else await (await conn.execute(
            f"SELECT {SHOWN} FROM subscriptions WHERE id = %s AND {where}", (sub_id, *args))
        ).fetchone()
        if row is None:
            raise NotFound(f"subscription {request.path_params['sub_id'][:40]!r} not found")
        return row

    async def one(self, request: Request) -> Response:
        async with self.state.db.pool.connection() as conn:
            return _json(_shown(self.state, await self._one(request, conn)))

    async def delete(self, request: Request) -> Response:
        async with self.state.db.pool.connection() as conn, conn.transaction():
            row = await self._one(request, conn)
            await conn.execute("DELETE FROM subscriptions WHERE id = %s", (row[0],))
        return Response(status_code=204, headers=NO_STORE)


def routes(state: ServerState) -> list[BaseRoute]:
    subs = Subscriptions(state)
    return [Route("/subscriptions", subs.create, methods=["POST"]),
            Route("/subscriptions", subs.listing, methods=["GET"]),
            Route("/subscriptions/{sub_id}", subs.one, methods=["GET"]),
            Route("/subscriptions/{sub_id}", subs.delete, methods=["DELETE"])]
