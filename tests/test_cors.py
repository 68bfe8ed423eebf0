"""CORS (issue 17, point 1): web maps on other origins read features, tiles and coverages,
and write with an API key; preflights are answered for every route, the edit routes'
own OPTIONS (QGIS's ``Allow``) included. Over real HTTP on the small demo city."""

from __future__ import annotations

import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from twin.server.auth.keys import create_key
from twin.server.middleware.cors import cors_middleware, origins

ORIGIN = "http://localhost:8080"
EXPOSED = {"etag", "location", "content-crs", "link", "ogc-numbermatched", "retry-after"}


def exposed(response: httpx.Response) -> set[str]:
    raw = response.headers.get("access-control-expose-headers", "")
    return {h.strip().lower() for h in raw.split(",") if h.strip()}


@pytest.fixture(scope="module")
def admin(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "cors test", "admin")
    return {"X-API-Key": key}


@pytest.mark.parametrize("path", [
    "/collections/land_parcels/items?limit=2",
    "/collections/land_parcels/items/no-such-feature",  # errors too
    "/collections/land_parcels/tiles",
    "/collections/dem",
    "/collections",
    "/conformance",
])
def test_reads_from_another_origin(http, path):
    r = http.get(path, headers={"Origin": ORIGIN})
    assert r.headers.get("access-control-allow-origin") == "*", (path, r.headers)
    assert "access-control-allow-credentials" not in r.headers  # never with *
    assert exposed(r) >= EXPOSED


def test_no_origin_no_cors_headers(http):
    r = http.get("/conformance")
    assert "access-control-allow-origin" not in r.headers


@pytest.mark.parametrize("path,method", [
    ("/collections/land_parcels/items", "GET"),
    ("/collections/land_parcels/items", "POST"),              # edit route's OPTIONS
    ("/collections/land_parcels/items/some-id", "PUT"),
    ("/collections/land_parcels/items/some-id", "DELETE"),
    ("/collections/land_parcels/tiles/WebMercatorQuad/14/7200/13000", "GET"),
    ("/collections/dem/coverage", "GET"),
    ("/processes/flood-exposure/execution", "POST"),
])
def test_preflight_on_every_route(http, path, method):
    r = http.options(path, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "X-API-Key, Content-Type, If-Match, Prefer"})
    assert r.status_code == 200, (path, r.status_code, r.text)
    assert r.headers["access-control-allow-origin"] == "*"
    assert method in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"x-api-key", "authorization", "content-type", "if-match", "prefer"} <= allowed
    assert "access-control-allow-credentials" not in r.headers


def test_plain_options_still_answers_allow_for_qgis(http):
    r = http.options("/collections/land_parcels/items")
    assert r.status_code == 204
    assert "GET" in r.headers["allow"]


def test_a_write_from_another_origin_reads_its_location(http, admin):
    fid = "cors-" + uuid.uuid4().hex[:10]
    body = {"type": "Feature", "id": fid,
            "geometry": {"type": "Point", "coordinates": [105.85, 21.03]},
            "properties": {"code": fid[:20], "name": "CORS stop"}}
    r = http.post("/collections/bus_stops/items", json=body,
                  headers={**admin, "Origin": ORIGIN})
    try:
        assert r.status_code == 201, r.text
        assert r.headers["access-control-allow-origin"] == "*"
        assert {"location", "etag"} <= exposed(r)
        assert r.headers["location"]
    finally:
        http.delete(f"/collections/bus_stops/items/{fid}", headers=admin)


def test_configured_origins_allow_credentials_and_refuse_others():
    """With named origins, those (and only those) are answered, credentials allowed."""
    assert origins(" https://ops.city.vn/, http://localhost:8080 ") == [
        "https://ops.city.vn", "http://localhost:8080"]
    app = Starlette(routes=[Route("/x", lambda r: PlainTextResponse("ok"))],
                    middleware=[cors_middleware("https://ops.city.vn,http://localhost:8080")])
    transport = httpx.ASGITransport(app=app)

    async def go():
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            ok = await c.get("/x", headers={"Origin": "https://ops.city.vn"})
            other = await c.get("/x", headers={"Origin": "https://evil.example"})
            pre = await c.options("/x", headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "GET"})
            return ok, other, pre

    import asyncio

    ok, other, pre = asyncio.run(go())
    assert ok.headers["access-control-allow-origin"] == "https://ops.city.vn"
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers
    assert pre.status_code == 400


def test_read_your_writes_header_crosses_origins(http):
    """A dashboard on another origin reads the commit position a write answers
    (``X-Twin-LSN``) and may send it back on its next read (read replicas)."""
    r = http.options("/collections/land_parcels/items", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-twin-lsn"})
    assert r.status_code == 200
    assert "x-twin-lsn" in r.headers["access-control-allow-headers"].lower()
    got = http.get("/collections", headers={"Origin": ORIGIN})
    assert "x-twin-lsn" in exposed(got)
