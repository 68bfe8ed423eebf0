"""Security headers on every response and who may read /metrics.

Over real HTTP (the session's uvicorn server): ``nosniff``, ``SAMEORIGIN`` and the
referrer policy on JSON, HTML, tiles, errors and metrics; a Content-Security-Policy on
HTML only, which Chromium then enforces on the viewer and on a pygeoapi page without one
violation. /metrics: open over loopback, refused to a caller a proxy forwarded and, with
the real app called in-process as a client at 10.1.2.3 (httpx's ASGI transport, the
app's own lifespan), refused to anonymous (401) and non-admin (403) callers, served to
admin, and per the ``metrics_access`` setting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.chromium import GL_ARGS, launched
from twin.server.auth.keys import create_key
from twin.server.middleware.security import SecurityHeadersMiddleware, is_local, policies

pytestmark = pytest.mark.api_language("en")  # its assertions quote English descriptions

ELSEWHERE = ("10.1.2.3", 1234)
LOOPBACK = ("127.0.0.1", 4321)


def assert_base_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def assert_html_policy(response: httpx.Response) -> str:
    policy = response.headers["content-security-policy"]
    directives = [d.strip() for d in policy.split(";")]
    for needed in ("frame-ancestors 'self'", "object-src 'none'", "base-uri 'self'"):
        assert needed in directives, policy
    return policy


def run_async(make_coroutine):
    """``asyncio.run`` in a thread of its own: Playwright's sync API keeps an event loop
    running in this one once the browser fixture has started."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def tile_index(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def keys(city_engine) -> dict[str, dict[str, str]]:
    out = {}
    for role in ("admin", "land_office", "environment"):
        key, _ = create_key(city_engine, f"headers test {role}", role)
        out[role] = {"X-API-Key": key}
    return out


# --- headers over real HTTP -------------------------------------------------------------

def test_json_responses_have_the_headers_and_no_policy(http):
    for path in ("/collections", "/collections/land_parcels/items?limit=1", "/conformance"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert_base_headers(response)
        assert "content-security-policy" not in response.headers, path


def test_pygeoapi_html_pages_have_a_policy_for_what_they_load(http):
    for path in ("/?f=html", "/collections?f=html", "/collections/land_parcels/items?f=html"):
        response = http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert_base_headers(response)
        policy = assert_html_policy(response)
        # twin's templates load this server's files only (the vendored Leaflet), no inline
        # script, no CDN (they used to load Leaflet and Bootstrap from unpkg)
        assert "script-src 'self';" in policy and "style-src 'self';" in policy
        assert "unsafe-inline" not in policy and "unpkg" not in policy


def test_the_viewer_has_a_policy_of_its_own_files(http):
    response = http.get("/viewer")
    assert_base_headers(response)
    policy = assert_html_policy(response)
    assert "script-src 'self';" in policy and "https:" not in policy
    assert "worker-src 'self' blob:" in policy  # MapLibre's workers
    asset = http.get("/viewer/static/vendor/maplibre-gl.js")
    assert_base_headers(asset)
    assert "content-security-policy" not in asset.headers


def test_tiles_have_the_headers(http, city_engine):
    with city_engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_LineInterpolatePoint(geom, 0.5) AS p "
            "FROM road_segments ORDER BY id LIMIT 1) s")).one()
    x, y = tile_index(lon, lat, 14)
    response = http.get(f"/collections/road_segments/tiles/WebMercatorQuad/14/{y}/{x}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert_base_headers(response)


def test_errors_have_the_headers(http):
    for response, status in ((http.get("/no/such/path"), 404),
                             (http.get("/collections/land_parcels/items",
                                       params={"filter": "land_use = geometry"}), 400),
                             (http.get("/auth/whoami", headers={"X-API-Key": "twin_x_y"}), 401),
                             (http.get("/collections/land_parcels/items%00"), 400)):
        assert response.status_code == status, response.text
        assert response.json()["code"]
        assert_base_headers(response)


def test_a_policy_a_route_set_is_kept():
    """A route's own (stricter) policy, e.g. a map report's, is not replaced."""
    own = "default-src 'none'; frame-ancestors 'self'"

    async def report(_request):
        return HTMLResponse("<p>report</p>", headers={"Content-Security-Policy": own,
                                                      "X-Frame-Options": "DENY"})

    async def page(_request):
        return HTMLResponse("<p>page</p>")

    app = SecurityHeadersMiddleware(Starlette(routes=[Route("/report", report),
                                                      Route("/page", page)]))

    async def calls():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.get("/report"), await client.get("/page")

    kept, added = run_async(calls)
    assert kept.headers.get_list("content-security-policy") == [own]
    assert kept.headers.get_list("x-frame-options") == ["DENY"]
    assert kept.headers["x-content-type-options"] == "nosniff"
    assert added.headers["content-security-policy"] == policies()[1]


def test_the_public_url_is_an_allowed_origin_and_nothing_else_gets_in():
    viewer, pages = policies("https://twin.example.org:8443/some/path")
    assert "connect-src 'self' https://twin.example.org:8443;" in viewer
    assert "script-src 'self' https://twin.example.org:8443;" in pages
    assert policies("https://evil.example; script-src *") == policies(None)


# --- the policies in a browser ------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    with launched(GL_ARGS) as chromium:
        yield chromium


RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(
    e.effectiveDirective + ' ' + e.blockedURI));
"""


def violations(browser, url: str, ready: str | None) -> list[str]:
    page = browser.new_page()
    seen: list[str] = []
    page.on("console", lambda m: "Content Security Policy" in m.text and seen.append(m.text))
    page.add_init_script(RECORD_VIOLATIONS)
    try:
        page.goto(url, wait_until="load")
        if ready:
            page.wait_for_function(ready, timeout=120_000)
        return seen + page.evaluate("window.cspViolations")
    finally:
        page.close()


def test_the_viewer_runs_under_its_policy(browser, server):
    """The map loads (its workers, tiles and styles) and nothing is blocked."""
    ready = ("() => window.twinViewer && window.twinViewer.map "
             "&& window.twinViewer.map.loaded() && !window.twinViewer.map.isMoving()")
    assert violations(browser, server + "/viewer", ready) == []


def test_pygeoapi_pages_run_under_their_policy(browser, server):
    """twin's templates and their vendored assets run under the same-origin policy."""
    for path in ("/collections/land_parcels/items?f=html&limit=5", "/collections?f=html",
                 "/collections/land_parcels?f=html", "/?f=html"):
        assert violations(browser, server + path, None) == [], path


# --- /metrics and /health: who may read them ----------------------------------------------

def test_metrics_over_loopback_and_forwarded(http):
    assert http.get("/metrics").status_code == 200
    assert http.get("/health").json() == {"status": "alive", "worker": os.getpid()}
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    refused = http.get("/metrics", headers=forwarded)
    assert refused.status_code == 401, refused.text
    assert refused.json()["code"] == "AuthenticationRequired"
    assert "this host only" in refused.json()["description"]
    assert_base_headers(refused)
    assert http.get("/health", headers=forwarded).json() == {"status": "alive"}
    assert http.get("/ready", headers=forwarded).json() == {"status": "ready"}


def in_process(settings, city_url, registry, tmp_path, calls, **overrides):
    """``calls(client)`` against the real app in this process, its lifespan run, every
    request from 10.1.2.3 unless a call says otherwise."""
    from twin.server.app import create_app

    # A distinct DSN: the pygeoapi bridge keeps its sync pool per DSN and per process.
    url = city_url + ("&" if "?" in city_url else "?") + "application_name=twin-test-headers"
    app = create_app(settings.model_copy(update={"public_url": None, "data_dir": tmp_path,
                                                 **overrides}), url, registry)

    async def run():
        async with app.router.lifespan_context(app):
            clients = {}
            for name, client in (("elsewhere", ELSEWHERE), ("loopback", LOOPBACK)):
                transport = httpx.ASGITransport(app=app, client=client)
                clients[name] = httpx.AsyncClient(transport=transport, base_url="http://twin")
            try:
                return await calls(clients)
            finally:
                for client in clients.values():
                    await client.aclose()

    return run_async(run)


def test_metrics_refused_elsewhere_unless_admin(settings, city_url, registry, tmp_path, keys):
    async def calls(c):
        far, near = c["elsewhere"], c["loopback"]
        return {"anonymous": await far.get("/metrics"),
                "land_office": await far.get("/metrics", headers=keys["land_office"]),
                "admin": await far.get("/metrics", headers=keys["admin"]),
                "loopback": await near.get("/metrics"),
                "health": await far.get("/health"),
                "health_admin": await far.get("/health", headers=keys["admin"]),
                "health_near": await near.get("/health"),
                "ready": await far.get("/ready")}

    got = in_process(settings, city_url, registry, tmp_path, calls)
    assert got["anonymous"].status_code == 401
    assert got["anonymous"].json()["code"] == "AuthenticationRequired"
    assert "www-authenticate" in got["anonymous"].headers
    assert got["land_office"].status_code == 403
    assert got["land_office"].json()["code"] == "Forbidden"
    assert "twin_http_request_duration_seconds" in got["admin"].text
    assert got["admin"].status_code == 200 and got["loopback"].status_code == 200
    assert got["health"].json() == {"status": "alive"}  # no pid
    assert got["health_admin"].json()["worker"] == os.getpid()
    assert got["health_near"].json()["worker"] == os.getpid()
    assert got["ready"].json() == {"status": "ready"}
    for response in got.values():
        assert_base_headers(response)


def test_metrics_for_a_role(settings, city_url, registry, tmp_path, keys):
    async def calls(c):
        far, near = c["elsewhere"], c["loopback"]
        return {"environment": await far.get("/metrics", headers=keys["environment"]),
                "land_office": await far.get("/metrics", headers=keys["land_office"]),
                "admin": await far.get("/metrics", headers=keys["admin"]),
                "anonymous_loopback": await near.get("/metrics")}

    got = in_process(settings, city_url, registry, tmp_path, calls,
                     metrics_access="role:environment")
    assert got["environment"].status_code == 200 and got["admin"].status_code == 200
    assert got["land_office"].status_code == 403
    assert "'environment'" in got["land_office"].json()["description"]
    assert got["anonymous_loopback"].status_code == 401


def test_metrics_public(settings, city_url, registry, tmp_path):
    async def calls(c):
        return await c["elsewhere"].get("/metrics")

    assert in_process(settings, city_url, registry, tmp_path, calls,
                      metrics_access="public").status_code == 200


def test_the_setting_is_checked(settings):
    from pydantic import ValidationError

    from twin.config import Settings

    assert settings.metrics_access == "local"
    for bad in ("everyone", "role:", "role:Admin; drop", "local "):
        with pytest.raises(ValidationError):
            Settings(metrics_access=bad, _env_file=None)


@pytest.mark.parametrize("client,headers,local", [
    (("127.0.0.1", 1), [], True), (("127.0.0.2", 1), [], True), (("::1", 1), [], True),
    (("::ffff:127.0.0.1", 1), [], True), (("10.1.2.3", 1), [], False), (None, [], False),
    (("127.0.0.1", 1), [(b"x-forwarded-for", b"203.0.113.9")], False),
    (("127.0.0.1", 1), [(b"forwarded", b"for=203.0.113.9")], False),
    (("127.0.0.1", 1), [(b"x-real-ip", b"203.0.113.9")], False),
    (("testclient", 1), [], False),
])
def test_what_counts_as_local(client, headers, local):
    assert is_local({"type": "http", "client": client, "headers": headers}) is local
