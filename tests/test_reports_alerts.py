"""Map reports' "Alerts in the period" section (issue 18, point 5) on the small demo city:
alerts stored in its real PostGIS ``alerts`` and ``alert_events`` tables around Hoàn
Kiếm and the demo period (2026-10-01..02, Asia/Ho_Chi_Minh), the report built by the
real builder, the PDF's text read by pypdf and the HTML page parsed, in Vietnamese and
English. The alerts are placed from the area's own geometry (a station inside, one far
outside, an area straddling the boundary), so the expected set is known by construction:
in the period or not by their times, over the area or not by their places."""

from __future__ import annotations

from datetime import UTC, date, datetime

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.test_reports import pdf_text
from tests.test_reports_lang import english_words, visible
from twin.reports.areas import resolve_area
from twin.reports.build import build_report
from twin.reports.request import parse_request
from twin.server.db import libpq_url

TZ = "Asia/Ho_Chi_Minh"
PERIOD = {"from": "2026-10-01", "to": "2026-10-02"}     # local days: 09-30 17:00Z .. 10-02 17:00Z
RULE = "report-alerts-test"
INSIDE = "ST_PointOnSurface(a.geom)"
OUTSIDE = "ST_Translate(ST_PointOnSurface(a.geom), 0.5, 0)"      # ~50 km east
ACROSS = "ST_Buffer(ST_ClosestPoint(ST_Boundary(a.geom), ST_Centroid(a.geom)), 0.003)"
HOSTILE = "<script>alert(1)</script> & <b>"


def t(day: int, hour: int, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# name -> (subject, where, kind, severity, opened, acknowledged, resolved, event values)
ALERTS = {
    "river": ("WL-HK-01", INSIDE, "river_level", "moderate", t(1, 3), t(1, 4), t(1, 9),
              [("opened", "moderate", 9.62), ("updated", "severe", 10.71),
               ("updated", "moderate", 10.1)]),
    "ward": ("Phường Test", ACROSS, "aqi_area", "severe", t(30, 20, month=9), None, None,
             [("opened", "severe", 31.0)]),
    "late_edge": ("AQ-HK-02", INSIDE, "silence", "minor", t(2, 16, 30), None, t(2, 18),
                  [("opened", "minor", None)]),
    # not in the report: before, after, elsewhere, resolved right at the period's start
    "before": ("AQ-HK-03", INSIDE, "rain", "minor", t(25, 1, month=9), None,
               t(29, 1, month=9), [("opened", "minor", 20.0)]),
    "after": ("AQ-HK-04", INSIDE, "rain", "minor", t(2, 18), None, None,
              [("opened", "minor", 20.0)]),
    "elsewhere": ("AQ-FAR-01", OUTSIDE, "rain", "extreme", t(1, 5), None, None,
                  [("opened", "extreme", 99.0)]),
    "edge_resolved": ("AQ-HK-05", INSIDE, "stuck", "minor", t(29, 1, month=9), None,
                      t(30, 17, month=9), [("opened", "minor", 1.0)]),
}
LISTED = ("river", "ward", "late_edge")


@pytest.fixture(scope="module")
def conn(city_url):
    with psycopg.connect(libpq_url(city_url), autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def stored(conn):
    """The alerts above, in the demo city; removed after the module."""
    area = resolve_area(conn, "hoan kiem", date(2026, 10, 1), date(2026, 10, 2), "en").id
    conn.execute("INSERT INTO alert_rules (id, spec, source, enabled) "
                 "VALUES (%s, '{}', 'api', false)", (RULE,))
    ids = {}
    for name, (subject, where, kind, sev, opened, acked, resolved, events) in ALERTS.items():
        title = {"vi": f"Cảnh báo tại {subject}",
                 "en": HOSTILE if name == "river" else f"Alert at {subject}"}
        ids[name] = conn.execute(
            f"INSERT INTO alerts (rule_id, subject, subject_kind, kind, severity, state, value, "
            f"unit, title, description, geom, opened_at, updated_at, acknowledged_at, "
            f"resolved_at) SELECT %s, %s, 'station', %s, %s, %s, %s, %s, %s, '{{}}', {where}, "
            f"%s, %s, %s, %s FROM admin_areas a WHERE a.id = %s RETURNING id",
            (RULE, subject, kind, sev,
             "resolved" if resolved else ("acknowledged" if acked else "open"),
             events[-1][2], "m" if kind == "river_level" else None, Jsonb(title),
             opened, resolved or opened, acked, resolved, area)).fetchone()[0]
        for transition, esev, value in events:
            conn.execute("INSERT INTO alert_events (alert_id, at, transition, severity, value) "
                         "VALUES (%s, %s, %s, %s, %s)", (ids[name], opened, transition, esev,
                                                         value))
    yield ids
    conn.execute("DELETE FROM alert_events WHERE alert_id = ANY(%s)", (list(ids.values()),))
    conn.execute("DELETE FROM alerts WHERE rule_id = %s", (RULE,))
    conn.execute("DELETE FROM alert_rules WHERE id = %s", (RULE,))


def build(conn, lang: str, fmt: str) -> bytes:
    request = parse_request({"area": "hoan kiem", "lang": lang, "topics": ["alerts"],
                             "format": fmt, **PERIOD}, tz=TZ)
    return build_report(conn, request)


def listed_ids(content: str, ids: dict[str, int]) -> set[str]:
    """The alerts whose subject the report names."""
    return {name for name in ids if ALERTS[name][0] in content}


def test_html_lists_the_alerts_of_the_period_in_english_escaped(conn, stored):
    page = build(conn, "en", "html").decode()
    shown = visible(page)
    assert "Alerts in the period" in shown and "Alerts active in the period" in shown
    assert listed_ids(shown, stored) == set(LISTED)
    # the river alert: highest severity reached, peak value, local times in English form
    assert "Severe" in shown and "10.71 m" in shown and "River level" in shown
    assert "2026-10-01 10:00" in shown and "2026-10-01 11:00" in shown    # opened, acked
    assert "2026-10-01 16:00" in shown                                    # resolved
    assert "still active" in shown and "not acknowledged" in shown        # the ward's
    assert "3 alert(s) active" in shown
    # an alert's title is text, never markup (and the page's CSP stays: no inline script)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Content-Security-Policy" in page


def test_pdf_in_vietnamese_dates_and_numbers_as_vietnamese_writes_them(conn, stored):
    content = " ".join(pdf_text(build(conn, "vi", "pdf")))
    flat = " ".join(content.split())
    assert "Cảnh báo trong kỳ" in flat
    assert listed_ids(flat, stored) == set(LISTED)
    assert "01/10/2026 10:00" in flat and "01/10/2026 16:00" in flat
    assert "10,71 m" in flat and "Nghiêm trọng" in flat and "Mực nước sông" in flat
    assert "chưa xác nhận" in flat and "còn hiệu lực" in flat
    assert not english_words(flat), english_words(flat)


def test_no_alert_in_the_period_is_said_plainly(conn, stored):
    request = parse_request({"area": "hoan kiem", "lang": "en", "topics": ["alerts"],
                             "format": "html", "from": "2026-08-01", "to": "2026-08-02"},
                            tz=TZ)
    shown = visible(build_report(conn, request).decode())
    assert "No alert was active in" in shown and "WL-HK-01" not in shown
