"""``GET /alerts/{id}/cap``: one alert as a CAP 1.2 message (its latest transition);
``GET /alerts/cap``: the active (not resolved) alerts as an Atom feed whose entries
carry each alert's CAP message inline (``application/cap+xml`` content) and link to
its ``/alerts/{id}/cap``. See :mod:`twin.notify.cap` for the mapping."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from twin.notify import cap
from twin.notify.fanout import ALERT_JSON
from twin.server.errors import InvalidParameter, NotFound
from twin.server.notify.access import check_alerts_readable
from twin.server.state import ServerState

FEED_LIMIT = 500
ATOM_TYPE = "application/atom+xml"
AREA_SQL = (
    "CASE WHEN a.geom IS NULL THEN NULL "
    "WHEN ST_Dimension(a.geom) = 0 THEN ST_AsGeoJSON(ST_Buffer(ST_Centroid(a.geom)::geography,"
    f" {cap.POINT_RADIUS_KM * 1000:g}, 'quad_segs=4')::geometry, 5) "
    "WHEN ST_Dimension(a.geom) = 1 THEN ST_AsGeoJSON(ST_Buffer(a.geom::geography, 50, "
    "'quad_segs=2')::geometry, 5) "
    "ELSE ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, 0.0002), 5) END, "
    "CASE WHEN ST_Dimension(a.geom) = 0 THEN ST_Y(ST_Centroid(a.geom)) END, "
    "CASE WHEN ST_Dimension(a.geom) = 0 THEN ST_X(ST_Centroid(a.geom)) END")
ALERT_SQL = f"SELECT {ALERT_JSON}, a.updated_at, {AREA_SQL} FROM alerts a "
EVENTS_SQL = ("SELECT alert_id, id, transition, at FROM alert_events "
              "WHERE alert_id = ANY(%s) ORDER BY alert_id, id")


def _rings(geojson: str | None) -> list[list[tuple[float, float]]]:
    if not geojson:
        return []
    geometry = json.loads(geojson)
    polygons = {"Polygon": [geometry.get("coordinates")],
                "MultiPolygon": geometry.get("coordinates")}.get(geometry.get("type")) or []
    return [[(x, y) for x, y, *_ in polygon[0]] for polygon in polygons if polygon]


def _area(alert: dict, geojson: str | None, lat, lon) -> cap.Area | None:
    if geojson is None:
        return None
    circle = (lat, lon, cap.POINT_RADIUS_KM) if lat is not None else None
    return cap.Area(alert["subject"], _rings(geojson), circle)


def alert_id_of(request: Request) -> int:
    raw = request.path_params["alert_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise InvalidParameter(f"an alert id is a positive integer, not {raw[:40]!r}")
    return int(raw)


def cap_routes(state: ServerState):
    sender = f"twin@{urlsplit(state.base_url).netloc or 'localhost'}"
    zone = state.settings.city.zone

    async def messages(where: str, params: tuple) -> list[tuple[dict, object, str]]:
        async with state.db.connection() as conn:
            cur = await conn.execute(ALERT_SQL + where, params)
            rows = await cur.fetchall()
            cur = await conn.execute(EVENTS_SQL, ([r[0]["id"] for r in rows],))
            events: dict[int, list[dict]] = {}
            for alert_id, event_id, transition, at in await cur.fetchall():
                events.setdefault(alert_id, []).append(
                    {"id": event_id, "transition": transition, "at": at})
        out = []
        for alert, updated_at, geojson, lat, lon in rows:
            if alert["id"] not in events:  # no transition stored: nothing to announce
                continue
            alert["updated_at"] = updated_at
            url = state.url(f"alerts/{alert['id']}/cap")
            out.append((alert, cap.message(alert, events[alert["id"]], sender=sender,
                                           zone=zone, area=_area(alert, geojson, lat, lon),
                                           web=state.url(f"alerts/{alert['id']}")), url))
        return out

    async def one(request: Request) -> Response:
        check_alerts_readable(request, state)
        alert_id = alert_id_of(request)
        found = await messages("WHERE a.id = %s", (alert_id,))
        if not found:
            raise NotFound(f"no alert {alert_id}")
        return Response(cap.document(found[0][1]), media_type=cap.CAP_TYPE,
                        headers={"Cache-Control": "no-cache"})

    async def feed(request: Request) -> Response:
        check_alerts_readable(request, state)
        found = await messages("WHERE a.state <> 'resolved' ORDER BY a.updated_at DESC, a.id "
                               "LIMIT %s", (FEED_LIMIT,))
        updated = max((a["updated_at"] for a, _, _ in found), default=datetime.now(UTC))
        body = cap.feed(found, feed_id=state.url("alerts/cap"), self_url=state.url("alerts/cap"),
                        title=state.settings.city.title() + ": cảnh báo / alerts",
                        updated=updated, zone=zone)
        return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "no-cache"})

    return one, feed
