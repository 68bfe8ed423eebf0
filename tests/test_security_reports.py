"""Issue 13, findings 6 and 7: names from the database are text in map reports.

An editor (a ``transport`` API key) creates, over HTTP, in one ward of the demo city:
a bus stop named ``<img src=x onerror=alert(document.domain)>``, a road named with
reportlab markup that embeds a real PNG file from the server's disk, and one whose
``src`` cannot be loaded. Then:

- the PDF report of the ward builds, prints both names as text and embeds no image but
  its map (finding 7); a station name with matplotlib mathtext no longer fails a chart;
- an anonymous HTML ``map-report`` job's result carries no raw tag, only escaped text,
  a strict Content-Security-Policy as header and as ``<meta>`` (finding 6), and in
  Chromium hovering the stop shows the name as text while no dialog opens, the page's
  own scripts and styles run under the policy, and markup injected into the page
  anyway cannot run a handler.
"""

from __future__ import annotations

import io
import re
import time
import uuid
from pathlib import Path

import markupsafe
import psycopg
import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import text

from tests.chromium import launched
from tests.reports_data import ensure_daily_aqi
from twin.reports import csp
from twin.reports.build import build_report
from twin.reports.request import parse_request
from twin.server.auth.keys import create_key
from twin.server.db import libpq_url

PERIOD = {"from": "2026-10-01", "to": "2026-10-02"}
XSS = "<img src=x onerror=alert(document.domain)>"
MISSING = "/nonexistent/twin-security-test/missing.png"
PNG_SIZE = (37, 23)            # a size no map or chart of a report has


@pytest.fixture(scope="module")
def conn(city_url, city_engine):
    ensure_daily_aqi(city_engine)
    with psycopg.connect(libpq_url(city_url), autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def transport(city_engine) -> dict[str, str]:
    key, _ = create_key(city_engine, "test security reports", "transport")
    return {"X-API-Key": key}


@pytest.fixture(scope="module")
def ward(city_engine) -> tuple[str, float, float]:
    """(name, lon, lat of a point inside) of a ward whose name no other area has."""
    with city_engine.connect() as c:
        return tuple(c.execute(text("""
            SELECT a.name, ST_X(ST_PointOnSurface(a.geom)), ST_Y(ST_PointOnSurface(a.geom))
            FROM admin_areas a WHERE a.level = 'ward'
              AND (SELECT count(*) FROM admin_areas b WHERE b.name = a.name) = 1
            ORDER BY a.id LIMIT 1""")).one())


@pytest.fixture(scope="module")
def png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("disk") / "server-file.png"
    Image.new("RGB", PNG_SIZE, (255, 0, 255)).save(path)
    return path


@pytest.fixture(scope="module")
def names(png) -> dict[str, str]:
    return {"stop": XSS, "road_file": f'<img src="{png}"/>',
            "road_missing": f'<img src="{MISSING}" width="40" height="40"/>'}


@pytest.fixture(scope="module")
def planted(server, transport, ward, names):
    """The editor's features, created over HTTP in the ward and deleted afterwards.
    The roads are never inspected and have no condition, so they head the report's
    list of assets due for inspection (ids sort first)."""
    import httpx

    _, x, y = ward
    tag = uuid.uuid4().hex[:8]
    made = [("bus_stops", f"T-XSS-{tag}", {"type": "Point", "coordinates": [x, y]},
             {"code": f"T-XSS-{tag}", "name": names["stop"], "shelter": True})]
    for i, key in enumerate(("road_file", "road_missing")):
        made.append(("road_segments", f"0-evil-road-{i}-{tag}",
                     {"type": "LineString", "coordinates": [[x, y + i * 1e-4],
                                                            [x + 2e-4, y + 1e-4 + i * 1e-4]]},
                     {"name": names[key], "road_class": "residential"}))
    with httpx.Client(base_url=server, timeout=60) as client:
        try:
            for layer, fid, geometry, properties in made:
                r = client.post(f"/collections/{layer}/items", headers=transport, json={
                    "type": "Feature", "id": fid, "geometry": geometry,
                    "properties": properties})
                assert r.status_code == 201, r.text
            yield made
        finally:
            for layer, fid, _, _ in made:
                client.delete(f"/collections/{layer}/items/{fid}", headers=transport)


def squeeze(value: str) -> str:
    return "".join(value.split())


# --- finding 7: PDF --------------------------------------------------------------------

@pytest.fixture(scope="module")
def ward_pdf(conn, ward, planted) -> bytes:
    """The ward's assets report: building it at all is the first check (an unloadable
    ``src`` used to fail every report of the area)."""
    return build_report(conn, parse_request({"area": ward[0], "topics": "assets", **PERIOD}))


def test_pdf_prints_markup_in_names_as_text(ward_pdf, names):
    printed = squeeze("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(ward_pdf)).pages))
    for key in ("road_file", "road_missing"):
        assert squeeze(names[key]) in printed, key


def test_pdf_embeds_no_file_from_the_servers_disk(ward_pdf):
    sizes = [img.image.size for page in PdfReader(io.BytesIO(ward_pdf)).pages
             for img in page.images]
    assert PNG_SIZE not in sizes
    assert len(sizes) == 1            # the overview map, the only image of an assets report


def test_pdf_text_paragraphs_escape_markup():
    """Every string reaches reportlab through pdf.text: markup is printed, not read."""
    from reportlab.lib.styles import ParagraphStyle

    from twin.reports.pdf import FONT, register_fonts
    from twin.reports.pdf import text as paragraph

    register_fonts()
    style = ParagraphStyle("t", fontName=FONT)
    for value in ('<img src="/etc/passwd"/>', '<a href="javascript:x">a</a>', "&nbsp;<b>",
                  "<font color=red>", "<para>", "a & b < c"):
        assert paragraph(value, style).getPlainText() == value


def test_station_names_in_charts_are_text():
    """A station name with ``$...$`` once failed the AQI chart (matplotlib mathtext), and
    so every report of the area; one starting with ``_`` was left out of the legend."""
    from datetime import date

    from twin.reports.charts import daily_aqi, plain_label

    day = date(2026, 10, 1)
    png = daily_aqi({r"$\undefinedmacro{x}$ station": [(day, 50)], "_hidden": [(day, 60)]},
                    day, date(2026, 10, 2))
    assert png.startswith(b"\x89PNG")
    assert plain_label("$x$") == r"\$x\$" and not plain_label("_x").startswith("_")


# --- finding 6: HTML -------------------------------------------------------------------

def test_html_report_file_escapes_names_and_carries_a_policy(conn, ward, planted, names):
    """`twin report` writes this page: a saved file is protected by its own <meta>."""
    page = build_report(conn, parse_request({"area": ward[0], "topics": "assets",
                                             "format": "html", **PERIOD})).decode()
    for name in names.values():
        assert name not in page                              # never as markup
    for key in ("road_file", "road_missing"):                # the inspection table
        assert str(markupsafe.escape(names[key])) in page
    assert "\\u0026lt;img src=x onerror=alert(document.domain)\\u0026gt;" in page  # tooltip
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">',
                     page[:page.index("<title>")])
    assert meta and meta.group(1) == csp.policy(page)
    assert ' style="' not in page                           # no inline style attribute


def _run_job(http, ward: str) -> str:
    r = http.post("/processes/map-report/execution", headers={"Prefer": "respond-async"},
                  json={"inputs": {"area": ward, "topics": ["assets"], "format": "html",
                                   **PERIOD}})
    assert r.status_code == 201, r.text
    job_id = r.headers["location"].rstrip("/").rsplit("/", 1)[-1]
    status = None
    for _ in range(1200):    # polls until the job is done, as a client does
        r = http.get(f"/jobs/{job_id}")
        if r.status_code == 404 and status is None:
            time.sleep(0.1)  # not yet bound to the job ledger when the job is new
            continue
        assert r.status_code == 200, r.text
        status = r.json()["status"]
        if status not in ("accepted", "running"):
            break
        time.sleep(0.1)
    assert status == "successful"
    return job_id


@pytest.fixture(scope="module")
def job(server, ward, planted) -> str:
    """An anonymous HTML map-report job of the ward."""
    import httpx

    with httpx.Client(base_url=server, timeout=60) as client:
        return _run_job(client, ward[0])


def test_job_result_escapes_names_and_sends_a_strict_policy(http, job, names):
    r = http.get(f"/jobs/{job}/results")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    body = r.text
    for name in names.values():
        assert name not in body
    assert "<img src=x" not in body
    policy = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert directives["img-src"] == "data:"
    for kind in ("script-src", "style-src"):
        sources = directives[kind].split()
        assert sources and all(s.startswith("'sha256-") for s in sources), policy
    assert "unsafe" not in policy and "http" not in policy and "*" not in policy
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', body)
    assert f"{meta.group(1)}; frame-ancestors 'self'" == policy


def test_header_policy_of_other_pages():
    """A report saved before reports carried a policy gets one without any script; an
    HTML page that is not a twin report gets none from this helper."""
    old = (b'<!DOCTYPE html><html><head><meta charset="utf-8">'
           b'<meta name="generator" content="twin"><title>x</title>')
    policy = csp.header_policy(old)
    assert "script-src 'none'" in policy and policy.endswith("frame-ancestors 'self'")
    assert csp.header_policy(b"<html><head><title>pygeoapi</title>") is None
    forged = b'<html><head><title><meta name="generator" content="twin"></title>'
    assert csp.header_policy(forged) is None


@pytest.fixture(scope="module")
def browser():
    with launched() as chromium:
        yield chromium


WATCH = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"""

STOP_POINT = """([mapId, needle]) => {
    const map = window[mapId];
    map.getContainer().scrollIntoView();
    const box = map.getContainer().getBoundingClientRect();
    let found = null;
    map.eachLayer(l => {
        if (l.feature && l.getLatLng && String(l.feature.properties.info).includes(needle)) {
            const p = map.latLngToContainerPoint(l.getLatLng());
            found = [box.left + p.x, box.top + p.y];
        }
    });
    return found;
}"""

OPEN_ALL = """(mapId) => {
    // each feature's tooltip in turn, as a hover opens it (the group's handler renders
    // the feature's text into the tooltip's innerHTML); what each one parsed into
    const map = window[mapId];
    const out = {opened: 0, elements: 0, texts: []};
    map.eachLayer(group => {
        if (group.getTooltip && group.getTooltip() && group.eachLayer) {
            group.eachLayer(child => {
                child.fire('mouseover', {latlng: child.getLatLng ? child.getLatLng()
                                                : child.getBounds().getCenter()}, true);
                const el = group.getTooltip().getElement();
                out.opened += 1;
                out.elements += el.querySelectorAll('img, script, svg, iframe').length;
                out.texts.push(el.innerText);
                child.fire('mouseout', {}, true);
            });
        }
    });
    return out;
}"""


def test_hovering_the_stop_in_chromium_runs_nothing(browser, server, job):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.add_init_script(WATCH)
    try:
        page.goto(f"{server}/jobs/{job}/results")
        page.wait_for_selector(".leaflet-container canvas")
        map_id = page.eval_on_selector(".folium-map", "e => e.id")
        x, y = page.evaluate(STOP_POINT, [map_id, "onerror"])
        page.mouse.move(x, y)                     # a person hovering the stop
        tooltip = page.wait_for_selector(".leaflet-tooltip")
        assert XSS in tooltip.inner_text()           # shown as text
        assert page.evaluate("document.querySelectorAll('.leaflet-tooltip img').length") == 0
        every = page.evaluate(OPEN_ALL, map_id)      # every tooltip of the map, opened
        assert every["opened"] > 10 and every["elements"] == 0
        assert sum(XSS in t for t in every["texts"]) == 1
        assert dialogs == []
        # the page's own inline scripts and styles ran under the policy: no violation
        assert page.evaluate("window.__violations") == []
        assert not [e for e in errors if "Content Security Policy" in e], errors
        # both inline stylesheets apply: the page's (size) and the swatches' (colour)
        width, colour = page.evaluate("() => { const s = getComputedStyle("
                                      "document.querySelector('.sw.point'));"
                                      " return [s.width, s.backgroundColor]; }")
        assert width == "11px" and colour not in ("rgba(0, 0, 0, 0)", "transparent")
        # markup that reached the page anyway cannot run its handler
        page.evaluate("document.body.insertAdjacentHTML('beforeend', "
                      "'<img src=x onerror=\"window.__ran = 1; alert(1)\">')")
        page.wait_for_function("window.__violations.some(v => v.startsWith('script-src'))")
        assert page.evaluate("window.__ran") is None and dialogs == []
    finally:
        page.close()
