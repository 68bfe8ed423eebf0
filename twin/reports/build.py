"""One entry point for the CLI and the ``map-report`` process: request in, file out."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from psycopg import Connection

from twin.i18n import day, moment
from twin.reports import air, alerts, assets, data, flood, maps, symbols, words
from twin.reports.areas import resolve_area
from twin.reports.data import Feature
from twin.reports.model import Area, MapLayer, Report, Section
from twin.reports.request import Format, ReportRequest, Topic

log = logging.getLogger("twin.reports")


def build_report(conn: Connection, request: ReportRequest,
                 now: datetime | None = None) -> bytes:
    """The report's file (PDF or HTML bytes); AreaNotFound when no area has the name.
    Reads in one REPEATABLE READ transaction, so every table and map in the report sees
    the same state of the database even while loads run."""
    started = time.perf_counter()
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        area = resolve_area(conn, request.area, request.start, request.end, request.language)
        report = gather(conn, area, request, now or datetime.now(request.zone))
    if request.format is Format.pdf:
        from twin.reports.pdf import render_pdf

        out = render_pdf(report, request.paper)
    else:
        from twin.reports.html import render_html

        out = render_html(report)
    log.info("report %s %s %s %s: %d bytes in %.1f s", area.name, request.period_label,
             request.format, request.language, len(out), time.perf_counter() - started)
    return out


def gather(conn: Connection, area: Area, request: ReportRequest, now: datetime) -> Report:
    lang = request.language
    roads = data.roads_in_view(conn, area.id, maps.view_bbox_crs84(area, maps.MAP_ASPECT))
    sections: list[Section] = []
    for topic in request.topics:
        if topic is Topic.assets:
            sections.append(assets.section(conn, area, request, roads))
        elif topic is Topic.air:
            sections.append(_with_roads(air.section(conn, area, request), roads, lang))
        elif topic is Topic.alerts:
            sections.append(_with_roads(alerts.section(conn, area, request), roads, lang))
        else:
            sections.append(_with_roads(flood.section(conn, area, request), roads, lang))
    if area.map_note and sections:  # which administrative map the period uses
        sections[0].notes.insert(0, area.map_note)
    return Report(area=area, period_label=request.period_label,
                  generated=f"{moment(now.astimezone(request.zone), lang)} "
                            f"({request.timezone})", sections=sections,
                  context=[_context_roads(roads, lang)], lang=lang, place=request.place,
                  day=day(now.astimezone(request.zone), lang))


def _context_roads(roads: list[Feature], lang: str) -> MapLayer:
    outside = [r for r in roads if not r.attrs["inside"]]
    return MapLayer(words.say("roads_outside", lang), "line", [r.geom for r in outside],
                    ["context"] * len(outside),
                    symbols.localised({"context": symbols.CONTEXT_ROAD}, lang),
                    legend=False, zorder=1,
                    widths=[symbols.ROAD_WIDTH.get(r.attrs["road_class"], 0.6) * 0.7
                            for r in outside])


def _with_roads(section: Section, roads: list[Feature], lang: str) -> Section:
    """Air and flood maps show the area's roads in neutral grey under their layers."""
    inside = [r for r in roads if r.attrs["inside"]]
    section.layers.insert(0, MapLayer(
        words.say("roads", lang), "line", [r.geom for r in inside], ["road"] * len(inside),
        {"road": symbols.Symbol(words.say("road", lang), "#8d8d8d", 0.8)}, zorder=2,
        widths=[symbols.ROAD_WIDTH.get(r.attrs["road_class"], 0.6) * 0.8 for r in inside]))
    return section
