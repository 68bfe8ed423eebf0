"""Map reports (twin.reports, `twin report`) on the small demo city: the PDF rendered
to PNG by poppler and inspected, its text extracted with pypdf, the HTML page parsed."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import psycopg
import pytest
from click.testing import CliRunner
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import text

from tests.reports_data import ensure_daily_aqi
from twin.reports.build import build_report
from twin.reports.request import AreaNotFound, InvalidReportRequest, parse_request
from twin.server.db import libpq_url

DISTRICT = "Quận Hoàn Kiếm"          # as twin/demo/names.py and the admin_areas layer write it
PERIOD = {"from": "2026-10-01", "to": "2026-10-02"}   # the test city's two days of readings


@pytest.fixture(scope="module")
def conn(city_url, city_engine):
    ensure_daily_aqi(city_engine)
    with psycopg.connect(libpq_url(city_url), autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def district_pdf(conn, tmp_path_factory) -> Path:
    request = parse_request({"area": "hoan kiem", "lang": "en", **PERIOD})
    path = tmp_path_factory.mktemp("report") / "hoan-kiem.pdf"
    path.write_bytes(build_report(conn, request))
    return path


def pdf_pages_png(pdf: Path, dpi: int = 50) -> list[np.ndarray]:
    """The PDF's pages as RGB arrays, rendered by poppler's pdftoppm."""
    assert shutil.which("pdftoppm"), "poppler-utils (pdftoppm) is required"
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True)
    files = sorted(pdf.parent.glob(prefix.name + "-*.png"))
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def pdf_text(pdf: Path | bytes) -> list[str]:
    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else str(pdf)
    return [page.extract_text() for page in PdfReader(source).pages]


def test_pdf_pages_have_maps_that_are_not_blank(district_pdf):
    pages = pdf_pages_png(district_pdf)
    assert len(pages) >= 3
    height, width, _ = pages[0].shape
    assert width > height                      # landscape
    map_region = pages[0][int(height * 0.25):int(height * 0.8), int(width * 0.06):int(width * 0.6)]
    grey = map_region.mean(axis=2)
    assert grey.std() > 20                     # lines, symbols and a faded surround
    colours = {tuple(c) for c in map_region.reshape(-1, 3)[::7]}
    assert len(colours) > 50                   # condition colours, symbols: not a flat area


def test_pdf_text_names_district_legend_tables_and_pages(district_pdf):
    pages = pdf_text(district_pdf)
    everything = "\n".join(pages)
    assert DISTRICT in pages[0]                # with every diacritic, on the first page
    assert all(DISTRICT in page for page in pages)   # every page's header
    for expected in ("Legend", "Roads by condition", "1 very poor", "Road condition by class",
                     "Assets needing inspection", "Assets in the area by type",
                     "Days per VN_AQI class per station", "Moderate", "Daily VN_AQI",
                     "EPSG:3405", "2026-10-01 – 2026-10-02", f"Page 1 of {len(pages)}"):
        assert expected in everything, expected
    assert "No flood extents are recorded" in everything   # the demo city has none


def test_flood_section_reports_exposure(conn, city_engine, tmp_path):
    """A flood extent over part of the district: maps, tables and hourly chart appear."""
    with city_engine.begin() as c:
        c.execute(text("""
            INSERT INTO flood_extents (external_id, scenario, valid_time, depth_class, geom)
            SELECT 'test-report-' || d.depth || '-' || h, 'test storm',
                   timestamptz '2026-10-01 10:00+07' + h * interval '1 hour', d.depth,
                   ST_Multi(ST_Intersection(a.geom, ST_Buffer(ST_Centroid(a.geom), d.r)))
            FROM admin_areas a,
                 (VALUES ('0.2-0.5', 0.006), ('0.5-1', 0.003)) AS d(depth, r),
                 generate_series(0, 2) AS h
            WHERE a.name = :name"""), {"name": DISTRICT})
    try:
        body = build_report(conn, parse_request({"area": "Hoàn Kiếm", "topics": "flood",
                                                 "lang": "en", **PERIOD}))
    finally:
        with city_engine.begin() as c:
            c.execute(text("DELETE FROM flood_extents WHERE external_id LIKE 'test-report-%'"))
    everything = "\n".join(pdf_text(body))
    for expected in ("Flood extents (depth)", "depth 0.5–1 m", "Flooded road length by class",
                     "Bus stops exposed", "Land parcels exposed", "Flooded road length per hour",
                     "test storm"):
        assert expected in everything, expected
    assert "No flood extents" not in everything


def test_a3_paper(conn):
    body = build_report(conn, parse_request({"area": "Ba Đình", "topics": "air",
                                             "paper": "a3", **PERIOD}))
    box = PdfReader(io.BytesIO(body)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (1191, 842)


def test_html_report_is_interactive_and_offline(conn):
    body = build_report(conn, parse_request({"area": "HOÀN KIẾM", "format": "html",
                                             "lang": "en", **PERIOD})).decode()
    assert body.count('class="folium-map"') == 4          # one map per topic (4 with alerts)
    assert "L.map(" in body and "L.control.layers(" in body
    assert "<table>" in body and "Road condition by class" in body
    assert "Days per VN_AQI class per station" in body and "Legend" in body
    assert f"<h1>{DISTRICT}</h1>" in body
    assert "cdn." not in body and "<script src=" not in body   # no network needed


def test_unknown_area_lists_close_names(conn):
    with pytest.raises(AreaNotFound) as err:
        build_report(conn, parse_request({"area": "hoan kem", **PERIOD}))
    assert DISTRICT in err.value.suggestions
    assert "no district or ward is named 'hoan kem'" in str(err.value)


@pytest.mark.parametrize("values, message", [
    ({"area": "x", "from": "2026-10-05", "to": "2026-10-01"}, "before from"),
    ({"area": "x", "from": "2026-13-01", "to": "2026-10-01"}, "from:"),
    ({"area": "x", **PERIOD, "topics": "assets,traffic"}, "topics"),
    ({"area": "x", **PERIOD, "paper": "letter"}, "paper"),
    ({"area": "", **PERIOD}, "area"),
])
def test_bad_requests_name_the_input(values, message):
    with pytest.raises(InvalidReportRequest) as err:
        parse_request(values)
    assert message in str(err.value)


def test_cli_writes_the_report(city_url, conn, tmp_path):
    from twin.cli import main

    out = tmp_path / "report.html"
    env = {"TWIN_DATABASE_URL": city_url}
    result = CliRunner().invoke(main, ["report", "--area", "Hoàn Kiếm", "--from", PERIOD["from"],
                                       "--to", PERIOD["to"], "--topics", "assets", "-o",
                                       str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "<h1>Quận Hoàn Kiếm</h1>" in out.read_text(encoding="utf-8")
    bad = CliRunner().invoke(main, ["report", "--area", "Nowhere", "--from", "2026-10-01",
                                    "--to", "2026-10-02", "-o", str(tmp_path / "x.pdf")],
                             env=env)
    assert bad.exit_code == 1 and "no district or ward is named 'Nowhere'" in bad.output
