"""The alerts topic (issue 18, point 5): the alerts that were active in the period over
the report's area (a station inside it, an area or road intersecting it), on a map
coloured by CAP severity and in a table with their kind, highest severity, the times
they were opened, acknowledged and resolved (local, in the language's conventions) and
their peak value.

"Active in the period" is the alerts layer's validity: ``opened_at < end`` and
``resolved_at`` unset or after the start. The peak is the highest value any of the
alert's transitions recorded (the latest value when none did); the severity is the
highest one it reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import shapely
from psycopg import Connection

from twin.i18n import moment, normalise, number
from twin.reports.model import Area, MapLayer, Section, Symbol, Table
from twin.reports.request import ReportRequest

MAX_ROWS = 40
SEVERITIES = ("minor", "moderate", "severe", "extreme")      # CAP 1.2, mildest first
# The viewer's colours (static/js/alerts.js): yellow, orange, red, purple.
COLOURS = {"minor": "#f2c500", "moderate": "#f57c00", "severe": "#d32f2f",
           "extreme": "#6a1b9a"}

_W: dict[str, tuple[str, str]] = {
    "title": ("Cảnh báo trong kỳ", "Alerts in the period"),
    "layer": ("Cảnh báo", "Alerts"),
    "table": ("Các cảnh báo còn hiệu lực trong kỳ", "Alerts active in the period"),
    "id": ("Số", "No."),
    "alert": ("Cảnh báo", "Alert"),
    "subject": ("Đối tượng", "Subject"),
    "kind": ("Loại", "Kind"),
    "severity": ("Mức độ", "Severity"),
    "opened": ("Mở lúc", "Opened"),
    "acknowledged": ("Xác nhận lúc", "Acknowledged"),
    "resolved": ("Kết thúc lúc", "Resolved"),
    "peak": ("Giá trị cao nhất", "Peak value"),
    "still_open": ("còn hiệu lực", "still active"),
    "not_ack": ("chưa xác nhận", "not acknowledged"),
    "none": ("Không có cảnh báo nào còn hiệu lực tại {area} trong kỳ {period}.",
             "No alert was active in {area} between {period}."),
    "count": ("{n} cảnh báo còn hiệu lực trong kỳ (trạm trong khu vực, vùng hoặc tuyến "
              "đường giao với khu vực).",
              "{n} alert(s) active in the period (stations inside the area, areas or "
              "roads intersecting it)."),
    "shown": (" Liệt kê {n} cảnh báo đầu tiên.", " The first {n} are listed."),
    "map_note": ("Cảnh báo tô màu theo mức độ cao nhất đã đạt (CAP 1.2); giờ địa phương "
                 "({tz}).",
                 "Alerts coloured by the highest severity they reached (CAP 1.2); local "
                 "times ({tz})."),
    "popup": ("{title} – {subject}: {severity}, mở lúc {opened}",
              "{title} – {subject}: {severity}, opened {opened}"),
}
SEVERITY_WORDS = {"minor": ("Nhẹ", "Minor"), "moderate": ("Vừa", "Moderate"),
                  "severe": ("Nghiêm trọng", "Severe"),
                  "extreme": ("Đặc biệt nghiêm trọng", "Extreme")}
KIND_WORDS = {"threshold": ("Vượt ngưỡng", "Threshold"),
              "aqi_class": ("Mức AQI tại trạm", "AQI class at a station"),
              "aqi_area": ("Mức AQI trên khu vực", "AQI class over an area"),
              "river_level": ("Mực nước sông", "River level"),
              "rain": ("Mưa lớn", "Heavy rain"),
              "flood_depth": ("Độ sâu ngập", "Flood depth"),
              "silence": ("Trạm mất tín hiệu", "Station silent"),
              "stuck": ("Cảm biến treo giá trị", "Sensor stuck")}


def say(key: str, lang: str, **fields) -> str:
    vi, en = _W[key]
    text = en if normalise(lang) == "en" else vi
    return text.format(**fields) if fields else text


def _word(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    return (pair[1] if normalise(lang) == "en" else pair[0]) if pair else key


@dataclass
class Alert:
    id: int
    title: str
    subject: str
    kind: str
    severity: str                 # the highest reached
    opened: datetime
    acknowledged: datetime | None
    resolved: datetime | None
    peak: float | None
    unit: str | None
    geom: shapely.Geometry


QUERY = """
WITH area AS (SELECT geom FROM admin_areas WHERE id = %(area)s)
SELECT al.id, coalesce(al.title ->> %(lang)s, al.title ->> 'vi', al.rule_id), al.subject,
       al.kind, al.severity, ev.severities, al.opened_at, al.acknowledged_at,
       al.resolved_at, coalesce(ev.peak, al.value), al.unit, ST_AsBinary(al.geom)
FROM alerts al CROSS JOIN area a
LEFT JOIN LATERAL (SELECT max(e.value) AS peak, array_agg(DISTINCT e.severity) AS severities
                   FROM alert_events e WHERE e.alert_id = al.id) ev ON true
WHERE al.geom IS NOT NULL AND ST_Intersects(al.geom, a.geom)
  AND al.opened_at < %(ends)s AND (al.resolved_at IS NULL OR al.resolved_at > %(begins)s)
ORDER BY al.opened_at, al.id"""


def active_alerts(conn: Connection, area: int, begins: datetime, ends: datetime,
                  lang: str) -> list[Alert]:
    """The alerts active at some time in [begins, ends) over the area, oldest first."""
    with conn.cursor() as cur:
        rows = cur.execute(QUERY, {"area": area, "begins": begins, "ends": ends,
                                   "lang": normalise(lang) or "vi"}).fetchall()
    out = []
    for (aid, title, subject, kind, severity, severities, opened, acked, resolved, peak,
         unit, wkb) in rows:
        reached = [s for s in (severities or []) if s in SEVERITIES] + [severity]
        out.append(Alert(aid, title, subject, kind, max(reached, key=SEVERITIES.index),
                         opened, acked, resolved, peak, unit, shapely.from_wkb(wkb)))
    return out


def symbols(lang: str, kind: str) -> dict[str, Symbol]:
    """One symbol per severity, mildest first; areas translucent, stations as dots."""
    out = {}
    for s in SEVERITIES:
        label = _word(SEVERITY_WORDS, s, lang)
        if kind == "point":
            out[s] = Symbol(label, COLOURS[s], 40, edge="#222222", marker="o")
        elif kind == "line":
            out[s] = Symbol(label, COLOURS[s], 3.0)
        else:
            out[s] = Symbol(label, COLOURS[s], 1.2, edge=COLOURS[s], alpha=0.35)
    return out


KINDS = {"Point": "point", "MultiPoint": "point", "LineString": "line",
         "MultiLineString": "line"}


def section(conn: Connection, area: Area, request: ReportRequest) -> Section:
    lang = request.language
    out = Section("alerts", say("title", lang))
    found = active_alerts(conn, area.id, request.begins, request.ends, lang)
    out.map_note = say("map_note", lang, tz=request.timezone)
    if not found:
        out.notes.append(say("none", lang, area=area.label_in(lang),
                             period=request.period_label))
        return out
    zone = request.zone
    for kind, zorder in (("polygon", 3), ("line", 4), ("point", 5)):
        mine = sorted((a for a in found if KINDS.get(a.geom.geom_type, "polygon") == kind),
                      key=lambda a: SEVERITIES.index(a.severity))
        if mine:
            out.layers.append(MapLayer(
                say("layer", lang), kind, [a.geom for a in mine], [a.severity for a in mine],
                symbols(lang, kind), zorder=zorder,
                popups=[say("popup", lang, title=a.title, subject=a.subject,
                            severity=_word(SEVERITY_WORDS, a.severity, lang),
                            opened=moment(a.opened.astimezone(zone), lang)) for a in mine]))
    out.tables = [table(found, request)]
    return out


def table(found: list[Alert], request: ReportRequest) -> Table:
    lang, zone = request.language, request.zone
    shown = found[:MAX_ROWS]

    def when(value: datetime | None, missing: str) -> str:
        return moment(value.astimezone(zone), lang) if value else say(missing, lang)

    rows = [[str(a.id), a.title, a.subject, _word(KIND_WORDS, a.kind, lang),
             _word(SEVERITY_WORDS, a.severity, lang), when(a.opened, "still_open"),
             when(a.acknowledged, "not_ack"), when(a.resolved, "still_open"),
             f"{number(float(a.peak), lang, 2)} {a.unit or ''}".strip()
             if a.peak is not None else "–"] for a in shown]
    note = say("count", lang, n=number(len(found), lang))
    if len(found) > len(shown):
        note += say("shown", lang, n=len(shown))
    return Table(say("table", lang),
                 [say(k, lang) for k in ("id", "alert", "subject", "kind", "severity",
                                         "opened", "acknowledged", "resolved", "peak")],
                 rows, note=note, align="RLLLLLLLR")
