"""Map reports in Vietnamese and English (issue 17, "A bilingual twin" and "Reports show
the surface"): each report rendered in both languages, PDF text extracted by pypdf and
poppler, HTML text parsed; no English UI word left in a Vietnamese report; the air page's
mean interpolated surface and its hours per VN_AQI class per ward, from hourly surfaces
made by the real pipeline for the test city's two days."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from html.parser import HTMLParser

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from sqlalchemy import text

from tests.reports_data import ensure_daily_aqi
from tests.test_reports import pdf_pages_png, pdf_text
from twin.reports.build import build_report
from twin.reports.request import parse_request
from twin.server.db import libpq_url
from twin.styles.ramps import pm25_classes
from twin.surfaces.request import SurfaceRequest
from twin.surfaces.run import driver_connection, make_surfaces

TZ = "Asia/Ho_Chi_Minh"
PERIOD = {"from": "2026-10-01", "to": "2026-10-02"}   # the test city's two days of readings
HOURS = 48
EMPTY = {"from": "2026-09-01", "to": "2026-09-02"}    # no readings, so no surface
PLACE = {"vi": "Hà Nội", "en": "Hanoi"}
# English words a Vietnamese report must not show (UI words; names and codes excluded).
_ENGLISH = """the and of in by per with from for to at on or is are was be not no none
between over under inside outside legend page generated report map maps table tables total
road roads station stations hour hours day days class classes area areas mean max min
condition flooded flood flooding depth assets asset air quality surface interpolated ward
wards bus stop stops parking sign signs signal signals count type name reason never
inspected inspection overdue very poor good fair moderate bad hazardous unhealthy unknown
period projection boundary dashed surroundings faded grid data model lengths measured
length union land parcels parcel use water deeper deepest any exposed stations coloured
grey lie within daily recorded loaded readings scenario extents route routes"""
ENGLISH = set(_ENGLISH.split())
VI_HEADINGS = ("Chú giải", "Chất lượng không khí (VN_AQI)", "Tài sản đường bộ và giao thông",
               "Ngập lụt", "Số giờ theo mức VN_AQI của từng phường/xã", "Trang 1/")
EN_HEADINGS = ("Legend", "Air quality (VN_AQI)", "Road and transport assets", "Flooding",
               "Hours per VN_AQI class per ward", "Page 1 of")


class _Text(HTMLParser):
    """The text a reader sees: everything outside <script> and <style>."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def english_words(content: str) -> list[str]:
    """The English words of ``content``, each with its context; identifiers such as
    layer ids (``flood_extents``) and codes with digits (``sign-000940``) are names,
    not words."""
    found = []
    for m in re.finditer(r"\S+", content):
        chunk = m.group()
        if "_" in chunk or any(c.isdigit() for c in chunk):    # sign-000940, flood_extents
            continue
        if any(w.lower() in ENGLISH for w in re.findall(r"[^\W\d_]+", chunk)):
            found.append(content[max(0, m.start() - 60):m.end() + 20].replace("\n", " | "))
    return found


@pytest.fixture(scope="module")
def conn(city_url, city_engine):
    ensure_daily_aqi(city_engine)
    with psycopg.connect(libpq_url(city_url), autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def surfaces(city_engine, tmp_path_factory):
    """The published hourly PM2.5 surfaces of the period's hours that have readings, made
    by the surface pipeline (IDW, the quick method); removed afterwards."""
    request = SurfaceRequest(pollutant="pm25", start=datetime(2026, 9, 30, 17, tzinfo=UTC),
                             end=datetime(2026, 10, 2, 16, tzinfo=UTC), method="idw")
    with driver_connection(city_engine) as raw:
        run = make_surfaces(raw, request, tmp_path_factory.mktemp("surfaces"))
    assert run.ids
    yield run
    with city_engine.begin() as c:
        c.execute(text("DELETE FROM rasters WHERE external_id = ANY(:ids)"), {"ids": run.ids})


def _report(conn, lang: str | None, fmt: str, period=PERIOD, topics="assets,air,flood"):
    values = {"area": "hoan kiem", "format": fmt, "topics": topics, **period}
    if lang:
        values["lang"] = lang
    return build_report(conn, parse_request(values, TZ, "vi", PLACE))


@pytest.fixture(scope="module")
def reports(conn, surfaces) -> dict[tuple[str, str], bytes]:
    return {(lang, fmt): _report(conn, lang, fmt) for lang in ("vi", "en")
            for fmt in ("pdf", "html")}


def test_vietnamese_is_the_default(conn, surfaces):
    page = _report(conn, None, "html", topics="air").decode()
    assert '<html lang="vi">' in page and "Chú giải" in page and "Legend" not in page


def test_no_english_left_in_the_vietnamese_report(reports):
    pdf = "\n".join(pdf_text(reports["vi", "pdf"]))
    page = visible(reports["vi", "html"].decode())
    for content in (pdf, page):
        for heading in VI_HEADINGS[:-1]:
            assert heading in content, heading
        assert not english_words(content), english_words(content)
    assert "Trang 1/" in pdf


def test_english_report_has_english_headings_and_no_vietnamese_ones(reports):
    pdf = "\n".join(pdf_text(reports["en", "pdf"]))
    page = visible(reports["en", "html"].decode())
    for content in (pdf, page):
        for heading in EN_HEADINGS[:-1]:
            assert heading in content, heading
        for heading in VI_HEADINGS:
            assert heading not in content, heading
    assert "Page 1 of" in pdf and "Hanoi digital twin" in pdf


def test_dates_and_numbers_follow_the_language(reports):
    vi, en = ("\n".join(pdf_text(reports[lang, "pdf"])) for lang in ("vi", "en"))
    assert "01/10/2026 – 02/10/2026" in vi and "2026-10-01 – 2026-10-02" in en
    assert re.search(r"Lập lúc \d\d/\d\d/\d{4} \d\d:\d\d \(Asia/Ho_Chi_Minh\)", vi)
    assert re.search(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d \(Asia/Ho_Chi_Minh\)", en)
    assert not re.search(r"\b\d{4}-\d\d-\d\d\b", vi)
    # kilometres with two decimals: a decimal comma in Vietnamese, a point in English
    assert re.search(r"\b\d+,\d\d\b", vi) and not re.search(r"\b\d+\.\d\d\b", vi)
    assert re.search(r"\b\d+\.\d\d\b", en)


def test_vietnamese_diacritics_survive_in_the_pdf(reports, tmp_path):
    """pypdf and poppler both read the headings back with every diacritic (DejaVu Sans
    is embedded)."""
    path = tmp_path / "vi.pdf"
    path.write_bytes(reports["vi", "pdf"])
    assert shutil.which("pdftotext"), "poppler-utils (pdftotext) is required"
    poppler = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                             capture_output=True, text=True).stdout
    extracted = "\n".join(pdf_text(path))
    for heading in ("Chất lượng không khí", "Số giờ theo mức VN_AQI", "Quận Hoàn Kiếm",
                    "Tài sản đường bộ và giao thông", "Bản sao số Hà Nội"):
        assert heading in extracted and heading in poppler, heading
    fonts = {str(font.get_object().get("/BaseFont")) for page in PdfReader(str(path)).pages
             for font in page["/Resources"].get_object().get("/Font", {}).values()}
    assert any("DejaVuSans" in f for f in fonts), fonts


def _hours_table(page: str, title: str) -> tuple[list[str], list[list[str]]]:
    """Header and body cells of the HTML table under ``title``."""
    part = page.split(f"<h3>{title}</h3>", 1)[1].split("</table>", 1)[0]
    head = re.findall(r"<th[^>]*>(.*?)</th>", part)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", part)]
    return head, [r for r in rows if r]


def _wards(conn) -> set[str]:
    """The wards of the map in force on the period's last day inside the district,
    found here independently of twin.reports."""
    rows = conn.execute("""
        SELECT w.name FROM admin_areas w, admin_areas d
        WHERE d.name = 'Quận Hoàn Kiếm' AND w.level IN ('ward', 'commune')
          AND (w.valid_from IS NULL OR w.valid_from <= '2026-10-02')
          AND (w.valid_to IS NULL OR w.valid_to > '2026-10-02')
          AND ST_Within(ST_PointOnSurface(w.geom), d.geom)""").fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("lang, title, none", [
    ("vi", "Số giờ theo mức VN_AQI của từng phường/xã (từ bề mặt nội suy)", "Không có bề mặt"),
    ("en", "Hours per VN_AQI class per ward (from the interpolated surfaces)", "No surface"),
])
def test_hours_per_class_per_ward_add_up_to_the_period(reports, conn, lang, title, none):
    page = reports[lang, "html"].decode()
    head, rows = _hours_table(page, title)
    assert head[-2:] == [none, "Số giờ" if lang == "vi" else "Hours"] and len(head) == 9
    assert {r[0] for r in rows} == _wards(conn) and rows
    classed = 0
    for row in rows:
        counts = [0 if v == "–" else int(v.replace(".", "").replace(",", "")) for v in row[1:]]
        assert sum(counts[:-1]) == counts[-1] == HOURS, row
        classed += sum(counts[:6])
    assert classed > 0                             # the surfaces gave classes, not only gaps


def _surface_pixels(page: np.ndarray) -> int:
    """Pixels of the map with a VN_AQI class colour at the surface's opacity over white."""
    height, width, _ = page.shape
    region = page[int(height * 0.15):int(height * 0.85), :int(width * 0.65)].astype(int)
    found = np.zeros(region.shape[:2], dtype=bool)
    for cls in pm25_classes():
        rgb = np.array([int(cls.colour[i:i + 2], 16) for i in (1, 3, 5)])
        blended = 0.55 * rgb + 0.45 * 255
        found |= np.abs(region - blended).max(axis=2) < 12
    return int(found.sum())


def test_air_page_shows_the_mean_surface(conn, reports, surfaces, tmp_path):
    with_surface = tmp_path / "with.pdf"
    with_surface.write_bytes(_report(conn, "en", "pdf", topics="air"))
    without = tmp_path / "without.pdf"
    without.write_bytes(_report(conn, "en", "pdf", EMPTY, topics="air"))
    shown, bare = (_surface_pixels(pdf_pages_png(p, dpi=40)[0]) for p in (with_surface, without))
    assert shown > 2000 and bare < shown / 20, (shown, bare)
    page = reports["vi", "html"].decode()
    assert "Bề mặt PM2.5 nội suy (trung bình kỳ)" in page     # a layer of the Leaflet map
    text_en = "\n".join(pdf_text(with_surface))
    assert "Interpolated PM2.5 surface (period mean)" in text_en   # its legend


@pytest.mark.parametrize("lang, says", [
    ("vi", "Không có bề mặt PM2.5 nội suy nào được lưu trong kỳ 01/09/2026 – 02/09/2026"),
    ("en", "No interpolated PM2.5 surface is stored for the period 2026-09-01 – 2026-09-02"),
])
def test_a_period_without_surface_says_so(conn, lang, says):
    for fmt in ("pdf", "html"):
        body = _report(conn, lang, fmt, EMPTY, topics="air")
        content = "\n".join(pdf_text(body)) if fmt == "pdf" else visible(body.decode())
        assert says in " ".join(content.split()), fmt


def test_cli_lang(city_url, surfaces, tmp_path):
    from twin.cli import main

    env = {"TWIN_DATABASE_URL": city_url}
    for lang, word in ((None, "Chú giải"), ("en", "Legend")):
        out = tmp_path / f"{lang}.html"
        args = ["report", "--area", "Hoàn Kiếm", "--from", PERIOD["from"], "--to", PERIOD["to"],
                "--topics", "air", "-o", str(out)] + (["--lang", lang] if lang else [])
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 0, result.output
        assert word in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["report", "--area", "x", "--from", "2026-10-01", "--to",
                                    "2026-10-01", "--lang", "fr", "-o", str(tmp_path / "x")],
                             env=env)
    assert bad.exit_code == 2 and "--lang" in bad.output


def test_flood_section_in_vietnamese(conn, city_engine):
    """A flood extent over part of the district: the flood tables, legend and chart in
    Vietnamese, depths with a decimal comma, no English word."""
    with city_engine.begin() as c:
        c.execute(text("""
            INSERT INTO flood_extents (external_id, scenario, valid_time, depth_class, geom)
            SELECT 'test-lang-' || d.depth || '-' || h, 'bão thử', timestamptz
                   '2026-10-01 10:00+07' + h * interval '1 hour', d.depth,
                   ST_Multi(ST_Intersection(a.geom, ST_Buffer(ST_Centroid(a.geom), d.r)))
            FROM admin_areas a, (VALUES ('0.2-0.5', 0.006), ('0.5-1', 0.003)) AS d(depth, r),
                 generate_series(0, 1) AS h
            WHERE a.name = 'Quận Hoàn Kiếm'"""))
    try:
        body = _report(conn, "vi", "pdf", topics="flood")
    finally:
        with city_engine.begin() as c:
            c.execute(text("DELETE FROM flood_extents WHERE external_id LIKE 'test-lang-%'"))
    content = "\n".join(pdf_text(body))
    for expected in ("Vùng ngập (độ sâu)", "độ sâu 0,5–1 m", "Chiều dài đường ngập theo cấp (km)",
                     "Điểm dừng xe buýt bị ảnh hưởng", "Thửa đất bị ảnh hưởng, theo loại đất",
                     "Chiều dài đường ngập theo giờ", "bão thử"):
        assert expected in content, expected
    assert not english_words(content), english_words(content)


SURFACE_LAYERS = """() => {
    const map = window[document.querySelector('.folium-map').id];
    let cells = 0;
    map.eachLayer(l => { if (((l.feature || {}).properties || {}).alpha === 0.55) cells += 1; });
    return cells;
}"""


def test_html_surface_draws_in_chromium(reports, tmp_path):
    """The Vietnamese HTML report opened from disk: the surface's class polygons are
    layers of the air map, listed in the layer control, with no console error (its
    Content-Security-Policy allows what the page needs and nothing else)."""
    from tests.chromium import launched

    path = tmp_path / "vi.html"
    path.write_bytes(reports["vi", "html"])
    with launched() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        page.wait_for_selector(".leaflet-container canvas")
        air = page.locator("section#air")
        assert "Bề mặt PM2.5 nội suy (trung bình kỳ)" in air.locator(
            ".leaflet-control-layers").inner_text()
        air.scroll_into_view_if_needed()
        cells = page.evaluate(SURFACE_LAYERS.replace(
            "document.querySelector('.folium-map')",
            "document.querySelector('section#air .folium-map')"))
        assert cells >= 1
        assert errors == []
