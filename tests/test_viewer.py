"""The web viewer (/viewer): its routes over real HTTP, then the page itself in headless
Debian Chromium (Playwright with ``executable_path``) against the demo city in PostGIS.

The browser checks share one page, in file order, as a person would use it: the city
draws from twin's own tiles with nothing fetched from outside 127.0.0.1, the time slider
and its buttons change the AQI frame, the scale switch swaps scales, and clicking a
station opens its chart. Console errors and failed requests are collected all along and
checked at the end.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from http.client import HTTPConnection
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from tests.chromium import GL_ARGS, launched
from twin.server.viewer.routes import STATIC_DIR as STATIC_ROOT

VIEWPORT = {"width": 1400, "height": 900}
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def http(server):
    import httpx

    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def raw_get(base: str, path: str) -> tuple[int, dict]:
    """GET ``path`` exactly as written (http.client does not normalise ``..``)."""
    parts = urlsplit(base)
    conn = HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


# --- routes -------------------------------------------------------------------------

def test_page_is_utf8_html_with_local_assets(http):
    resp = http.get("/viewer")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert "Hà Nội" in resp.text
    assert 'src="viewer/static/vendor/maplibre-gl.js"' in resp.text
    assert "http" not in resp.text.replace("http-equiv", "")  # no absolute (external) URL


def test_trailing_slash_redirects_to_the_page(http):
    resp = http.get("/viewer/", follow_redirects=False)
    assert resp.status_code == 308
    assert resp.headers["location"] == "../viewer"


def test_vendored_maplibre_is_served_with_its_licence(http):
    js = http.get("/viewer/static/vendor/maplibre-gl.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert "MapLibre GL JS" in js.text[:200]
    version = (STATIC_ROOT / "vendor" / "VERSION").read_text()
    assert version.startswith("maplibre-gl ")
    assert version.split()[1] in js.text[:200]  # the header names the vendored version
    assert "BSD" in (STATIC_ROOT / "vendor" / "LICENSE.txt").read_text()
    assert http.get("/viewer/static/vendor/maplibre-gl.css").status_code == 200


def test_assets_revalidate_with_etags(http):
    first = http.get("/viewer/static/js/main.js")
    assert first.headers["cache-control"] == "public, no-cache"
    again = http.get("/viewer/static/js/main.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("path", ["/viewer/static/nope.js", "/viewer/static/js/",
                                  "/viewer/static/vendor/maplibre-gl.js.map"])
def test_unknown_assets_are_ogc_404s(http, path):
    resp = http.get(path)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/json"
    assert resp.json()["code"] == "NotFound"


@pytest.mark.parametrize("path", ["/viewer/static/../../x", "/viewer/static/../routes.py",
                                  "/viewer/static/vendor/../../config.py",
                                  "/viewer/static/%2e%2e/%2e%2e/app.py",
                                  "/viewer/static/..%2f..%2fapp.py"])
def test_path_traversal_is_refused(server, path):
    status, body = raw_get(server, path)
    assert status in (400, 404), (path, status)
    assert body["code"] in ("InvalidParameterValue", "NotFound")
    assert str(STATIC_ROOT) not in body["description"]  # no server path reaches the client


def _strings(node):
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_config_names_only_this_server(http, server, registry):
    config = http.get("/viewer/config.json").json()
    style = config["style"]
    assert style["version"] == 8
    assert "glyphs" not in style and "sprite" not in style
    urls = [s for s in _strings(config) if "://" in s]
    assert urls and all(u.startswith(server + "/") or u == server for u in urls), urls
    assert not any(layer["type"] == "symbol" for layer in style["layers"])
    listed = {layer["id"] for group in config["groups"] for layer in group["layers"]}
    public = {layer.name for layer in registry if "public" in layer.access.read}
    assert listed == public
    assert "station_aqi" not in style["sources"]  # drawn hour by hour from items
    west, south, east, north = config["bbox"]
    assert 105.6 < west < east < 106.1 and 20.8 < south < north < 21.2


def test_config_carries_aqi_scales_and_the_city_time_zone(http):
    time = http.get("/viewer/config.json").json()["time"]
    assert time["timezone"] == "Asia/Ho_Chi_Minh" and time["step_s"] == 3600
    for scale in ("vn", "us"):
        classes = time["aqi"]["scales"][scale]["classes"]
        assert [c["lower"] for c in classes] == [0, 51, 101, 151, 201, 301]
        assert classes[-1]["upper"] is None
    assert time["aqi"]["scales"]["vn"]["classes"][0]["label"].startswith("Tốt")
    assert time["flood"]["collection"] == "flood_extents"


def test_config_refuses_other_formats(http):
    resp = http.get("/viewer/config.json", params={"f": "html"})
    assert resp.status_code == 400 and resp.json()["code"] == "InvalidParameterValue"


# --- the page in Chromium -----------------------------------------------------------

class Recorder:
    """Every request, console message and failure the page produces."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.failed: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def _failed(self, request):
        # MapLibre cancels tile requests it no longer needs when the view moves: an
        # abort by the client, not a failure of the server.
        if request.failure == "net::ERR_ABORTED" and "/tiles/" in request.url:
            return
        # The alerts' event stream never ends by itself: the page leaving (a reload, a
        # language switch) ends it, also a client's abort.
        if request.failure == "net::ERR_ABORTED" and request.url.endswith("/alerts/stream"):
            return
        self.failed.append(f"{request.failure} {request.url}")


@pytest.fixture(scope="module")
def browser():
    with launched(GL_ARGS) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def viewer(browser, server):
    """The page, opened once and ready (map loaded, first AQI frame drawn)."""
    # A browser set to Vietnamese (its Accept-Language and navigator.languages): the page
    # speaks the city's default language; tests/test_viewer_i18n.py covers both.
    page = browser.new_page(viewport=VIEWPORT, locale="vi-VN")
    recorder = Recorder(page)
    page.goto(server + "/viewer")
    # Predicates are functions, not expressions: the page's Content-Security-Policy has
    # no 'unsafe-eval', and Playwright evaluates an expression anew at every poll.
    page.wait_for_function("() => window.twinViewer && window.twinViewer.map "
                           "&& window.twinViewer.map.loaded()", timeout=120_000)
    yield page, recorder
    page.close()


def settle(page):
    page.wait_for_function("() => window.twinViewer.map.loaded() "
                           "&& !window.twinViewer.map.isMoving()", timeout=120_000)


def aqi_features(page) -> list[dict]:
    return page.evaluate("""() => {
        const v = window.twinViewer;
        return v.map.queryRenderedFeatures({layers: [v.config.time.aqi.source + '-circle']})
                    .map(f => f.properties);
    }""")


def test_page_starts_framed_on_hanoi(viewer):
    page, _ = viewer
    settle(page)
    lon, lat = page.evaluate("window.twinViewer.map.getCenter().toArray()")
    assert 105.75 < lon < 105.95 and 20.95 < lat < 21.1
    assert 10 <= page.evaluate("window.twinViewer.map.getZoom()") <= 14
    assert page.inner_text("h1").startswith("twin")
    assert "Hà Nội" in page.inner_text("h1")  # diacritics survive as UTF-8 text


def test_every_request_stays_on_this_server(viewer, server):
    page, recorder = viewer
    settle(page)
    hosts = {urlsplit(u).hostname for u in recorder.requests
             if not u.startswith(("blob:", "data:"))}
    assert hosts == {"127.0.0.1"}, hosts
    assert any("/tiles/WebMercatorQuad/" in u for u in recorder.requests)


def test_roads_and_parcels_are_drawn(viewer, city_engine, tmp_path_factory):
    import numpy as np
    from PIL import Image

    page, _ = viewer
    with city_engine.connect() as conn:
        lon, lat = conn.execute(text(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Transform(geom, 4326)) c "
            "FROM land_parcels ORDER BY id LIMIT 1) s")).one()
    page.evaluate(f"window.twinViewer.map.jumpTo({{center: [{lon}, {lat}], zoom: 16}})")
    settle(page)
    counts = page.evaluate("""() => {
        const m = window.twinViewer.map;
        const n = (id) => m.queryRenderedFeatures({layers: [id]}).length;
        return {roads: n('road_segments-line'), parcels: n('land_parcels-fill')};
    }""")
    assert counts["roads"] > 0 and counts["parcels"] > 0, counts
    shot = page.locator("canvas.maplibregl-canvas").screenshot()
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).reshape(-1, 3)
    background = np.array([0xF4, 0xF3, 0xEF])
    drawn = np.abs(pixels.astype(int) - background).sum(axis=1) > 24
    assert drawn.mean() > 0.2, f"only {drawn.mean():.1%} of the canvas is drawn"
    assert len(np.unique(pixels, axis=0)) > 50
    (tmp_path_factory.mktemp("viewer") / "parcels.png").write_bytes(shot)
    page.evaluate("window.twinViewer.map.fitBounds(window.twinViewer.config.bbox, "
                  "{animate: false, padding: {top: 30, bottom: 110, left: 330, right: 30}})")
    settle(page)


def _local_time(iso: str) -> str:
    """An instant as the Vietnamese page writes it: dd/mm/yyyy HH:MM, local time."""
    return datetime.fromisoformat(iso).astimezone(HANOI).strftime("%d/%m/%Y %H:%M")


def _wait_for_frame(page, other_than: set[str]):
    page.wait_for_function("""(seen) => {
        const v = window.twinViewer;
        const fs = v.map.queryRenderedFeatures({layers: [v.config.time.aqi.source + '-circle']});
        return fs.length > 0 && fs.every(f => !seen.includes(f.properties.observed_at));
    }""", arg=sorted(other_than), timeout=60_000)
    settle(page)


def test_time_slider_changes_the_aqi_frame(viewer):
    page, _ = viewer
    first = aqi_features(page)
    assert first, "no AQI frame is drawn at the latest hour"
    assert {f["scale"] for f in first} == {"vn"} and {f["period"] for f in first} == {"hour"}
    latest = {f["observed_at"] for f in first}
    assert len(latest) == 1
    page.focus("#slider")         # through the slider itself: twelve hours back
    page.keyboard.press("End")
    for _ in range(12):
        page.keyboard.press("ArrowLeft")
    _wait_for_frame(page, latest)
    moved = {f["observed_at"] for f in aqi_features(page)}
    assert len(moved) == 1 and moved != latest
    assert page.inner_text("#time-label").endswith(_local_time(moved.pop()))


def test_flood_tiles_follow_the_slider(viewer):
    """Flood extents are requested as tiles filtered to the slider's hour (the demo may
    have none: the layer is then empty, not an error)."""
    page, recorder = viewer
    hour = page.evaluate("new Date(window.twinViewer.timeline.current).toISOString()")
    wanted = "datetime=" + hour.replace(".000Z", "Z").replace(":", "%3A")
    settle(page)
    assert any("/collections/flood_extents/tiles/WebMercatorQuad/" in u and wanted in u
               for u in recorder.requests)


def test_step_buttons_move_one_hour(viewer):
    page, _ = viewer
    before = aqi_features(page)[0]["observed_at"]
    page.click("#step-forward")
    _wait_for_frame(page, {before})
    after = aqi_features(page)[0]["observed_at"]
    step = datetime.fromisoformat(after) - datetime.fromisoformat(before)
    assert step.total_seconds() == 3600


def test_scale_switch_draws_us_aqi(viewer):
    page, _ = viewer
    page.check('input[name="scale"][value="us"]')
    page.wait_for_function("""() => {
        const v = window.twinViewer;
        const fs = v.map.queryRenderedFeatures({layers: [v.config.time.aqi.source + '-circle']});
        return fs.length > 0 && fs.every(f => f.properties.scale === 'us');
    }""", timeout=60_000)
    assert page.inner_text("#aqi-scale-name") == "US AQI"
    page.check('input[name="scale"][value="vn"]')
    page.wait_for_function("() => document.querySelector('#aqi-scale-name').textContent "
                           "=== 'VN_AQI'")


def test_play_animates_and_frames_are_measured(viewer):
    page, _ = viewer
    label = page.inner_text("#time-label")
    shown_before = page.evaluate("window.twinViewer.frames.waits.length")
    page.click("#play")
    page.wait_for_function("(l) => document.querySelector('#time-label').textContent !== l",
                           arg=label, timeout=60_000)
    second = page.inner_text("#time-label")
    page.wait_for_function("(l) => document.querySelector('#time-label').textContent !== l",
                           arg=second, timeout=60_000)
    page.click("#play")  # pause
    assert page.evaluate("window.twinViewer.timeline.playing") is False
    stats = page.evaluate("window.twinViewer.frames.stats()")
    assert stats["frames"] >= 3 and stats["median_ms"] > 0
    print(f"\nAQI frames: {stats['frames']} loaded, in the page median {stats['median_ms']:.0f} "
          f"ms p95 {stats['p95_ms']:.0f} ms; on the wire median {stats['network_median_ms']:.0f}"
          f" ms p95 {stats['network_p95_ms']:.0f} ms; {stats['shown']} shown, waiting median "
          f"{stats['wait_median_ms']:.0f} ms p95 {stats['wait_p95_ms']:.0f} ms")
    playing = page.evaluate(f"window.twinViewer.frames.waits.slice({shown_before})")
    print("waits while playing (ms):", [round(w) for w in playing])


def test_switcher_toggles_layers_and_lists_legends(viewer):
    page, _ = viewer
    visibility = "window.twinViewer.map.getLayoutProperty('road_segments-line', 'visibility')"
    box = 'li.layer[data-layer="road_segments"] input[type=checkbox]'
    page.uncheck(box)
    assert page.evaluate(visibility) == "none"
    page.check(box)
    assert page.evaluate(visibility) == "visible"
    assert page.locator('fieldset.group[data-group="transport"]').count() == 1
    assert page.locator("#aqi-classes li").count() == 6
    assert page.locator("#aqi-classes li").first.inner_text() == "Tốt (0–50)"
    page.click('li.layer[data-layer="land_parcels"] summary')
    assert page.locator('li.layer[data-layer="land_parcels"] ul.legend li').count() > 5


def test_clicking_a_road_shows_its_properties(viewer):
    page, _ = viewer
    settle(page)
    point = page.evaluate("""() => {
        const m = window.twinViewer.map;
        const hits = m.queryRenderedFeatures({layers: ['road_segments-line']});
        for (const f of hits) {
            const c = f.geometry.type === 'LineString' ? f.geometry.coordinates
                                                       : f.geometry.coordinates[0];
            const p = m.project(c[Math.floor(c.length / 2)]);
            if (p.x < 360 || p.x > 1320 || p.y < 60 || p.y > 780) continue;
            const top = m.queryRenderedFeatures(p);
            if (top.length && top.every(t => t.sourceLayer === 'road_segments'
                                          || t.layer.type === 'fill')) return [p.x, p.y];
        }
        return null;
    }""")
    assert point, "no road is clear of other features in the open part of the map"
    page.mouse.click(*point)
    page.wait_for_selector(".maplibregl-popup table.props")
    # The field's row (its heading is the schema's title in the page's language).
    assert page.locator('.maplibregl-popup table.props tr[data-field="road_class"]').count() == 1
    page.click(".maplibregl-popup-close-button")


def test_clicking_a_station_opens_its_chart(viewer, tmp_path_factory):
    page, _ = viewer
    settle(page)
    point = page.evaluate("""() => {
        const v = window.twinViewer;
        const fs = v.map.queryRenderedFeatures({layers: [v.config.time.aqi.source + '-circle']});
        const clear = fs.map(f => v.map.project(f.geometry.coordinates))
                        .filter(p => p.x > 360 && p.x < 1320 && p.y > 60 && p.y < 780);
        return clear.length ? [clear[0].x, clear[0].y] : null;
    }""")
    assert point, "no station is drawn in the open part of the map"
    page.mouse.click(*point)
    page.wait_for_selector(".maplibregl-popup svg.chart path.series", timeout=60_000)
    path = page.get_attribute(".maplibregl-popup svg.chart path.series", "d")
    assert path.startswith("M") and path.count("L") >= 3
    assert page.locator(".maplibregl-popup svg.chart rect.band").count() >= 2  # class colours
    assert page.locator(".maplibregl-popup .popup header strong").inner_text()
    shot = tmp_path_factory.mktemp("viewer") / "viewer.png"
    settle(page)
    page.screenshot(path=str(shot))
    print(f"\nscreenshot: {shot}")


def test_no_console_errors_and_no_failed_requests(viewer):
    _, recorder = viewer
    assert recorder.errors == []
    assert recorder.failed == []


# --- interpolated surfaces (a page of its own: they must exist before it starts) ------

@pytest.fixture()
def pm25_surfaces(city_engine, http, tmp_path_factory):
    """PM2.5 surfaces of the last two hours with readings, listed by /collections;
    removed afterwards (other modules expect their own pm25_surface extents)."""
    import time

    from twin.surfaces.request import SurfaceRequest
    from twin.surfaces.run import driver_connection, make_surfaces

    with city_engine.connect() as conn:
        last = conn.execute(text("SELECT max(bucket) FROM reading_rollups WHERE "
                                 "grain = 'hour' AND property = 'pm25'")).scalar()
    request = SurfaceRequest(pollutant="pm25", start=last - timedelta(hours=1),
                             end=last, method="idw", resolution=400)
    with driver_connection(city_engine) as conn:
        run = make_surfaces(conn, request, tmp_path_factory.mktemp("surfaces"))
    for _ in range(100):
        if any(c["id"] == "pm25_surface" for c in http.get("/collections").json()["collections"]):
            break
        time.sleep(0.1)
    yield last
    with city_engine.begin() as conn:
        conn.execute(text("DELETE FROM rasters WHERE external_id = ANY(:ids)"), {"ids": run.ids})


def test_surface_layer_follows_the_slider_with_its_legend(browser, server, pm25_surfaces):
    page = browser.new_page(viewport=VIEWPORT, locale="vi-VN")
    recorder = Recorder(page)
    try:
        page.goto(server + "/viewer")
        page.wait_for_function("() => window.twinViewer && window.twinViewer.ctx "
                               "&& window.twinViewer.map.loaded()", timeout=120_000)
        hour = pm25_surfaces.strftime("%Y-%m-%dT%H:%M:%SZ")
        page.evaluate("""(iso) => {
            const t = window.twinViewer.timeline;
            return t.goTo(t.hours.indexOf(Date.parse(iso)));
        }""", hour)
        settle(page)
        wanted = "datetime=" + hour.replace(":", "%3A")
        tiles = [u for u in recorder.requests
                 if "/collections/pm25_surface/map/tiles/WebMercatorQuad/" in u]
        assert tiles and all("datetime=" in u for u in tiles)
        assert any(wanted in u for u in tiles)
        assert any(u.endswith("/collections/pm25_surface/legend?f=json")
                   for u in recorder.requests)
        assert page.locator("#surface-classes li").count() >= 5
        options = page.locator("#surface-pollutant option").all_inner_texts()
        assert options[0] == "PM2.5" and "tắt" in options  # "off", in Vietnamese
        assert recorder.errors == [] and recorder.failed == []
    finally:
        page.close()
