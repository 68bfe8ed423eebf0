"""The flood topic: flood extents valid in the period over the roads, the road
kilometres, bus stops and land parcels they reach, and flooded kilometres per hour.
With no extents in the period the section says so plainly."""

from __future__ import annotations

from psycopg import Connection

from twin.i18n import number
from twin.reports import charts, data, symbols, words
from twin.reports.model import Area, Chart, MapLayer, Section, Table
from twin.reports.request import ReportRequest
from twin.styles import roads
from twin.styles.ramps import FLOOD_DEPTH_CODES, LABELS

STOP_ROWS = 25


def section(conn: Connection, area: Area, request: ReportRequest) -> Section:
    lang = request.language
    out = Section("flood", words.say("flood_title", lang))
    args = (conn, area.id, request.begins, request.ends)
    extents = data.flood_extents(*args)
    if not extents:
        out.notes.append(words.say("no_flood", lang, area=area.name,
                                   period=request.period_label))
        out.map_note = words.say("no_flood_map", lang)
        return out
    ordered = sorted(extents, key=lambda f: FLOOD_DEPTH_CODES.index(f.category))
    scenarios = sorted({f.attrs["scenario"] for f in extents})
    zone = request.zone
    out.layers = [MapLayer(
        words.say("flood_extents", lang), "polygon", [f.geom for f in ordered],
        [f.category for f in ordered], symbols.flood_symbols(lang),
        popups=[words.say("flood_popup", lang, scenario=f.attrs["scenario"],
                          when=f"{f.attrs['valid_time'].astimezone(zone):%H:%M %d/%m}",
                          depth=symbols.depth_label(f.category, lang).removesuffix(" m"))
                for f in ordered], zorder=1)]
    out.map_note = words.say("flood_map_note", lang, scenarios=", ".join(scenarios))
    out.tables = [road_table(data.flooded_road_km(*args), lang),
                  stops_table(data.exposed_bus_stops(*args), lang),
                  parcels_table(data.exposed_parcels(*args), lang)]
    hourly = data.flooded_km_per_hour(*args)
    out.charts = [Chart(words.say("flood_chart", lang),
                        charts.flooded_km(hourly, request.zone, lang),
                        words.say("flood_chart_caption", lang))]
    return out


def road_table(rows: list[tuple[str, float, float]], lang: str) -> Table:
    anyd = roads.by_report_class({c: a for c, a, _ in rows})     # links with their road,
    deep = roads.by_report_class({c: d for c, _, d in rows})     # footways and paths together
    rows = [(c, anyd[c], deep[c]) for c in anyd]
    body = [[words.label(words.ROAD_CLASSES, c, lang), number(float(a), lang, 2),
             number(float(d), lang, 2) if d else "–"] for c, a, d in rows]
    if body:
        body.append([words.say("all_classes", lang),
                     number(float(sum(r[1] for r in rows)), lang, 2),
                     number(float(sum(r[2] for r in rows)), lang, 2)])
    return Table(words.say("road_flood_table", lang),
                 [words.say(k, lang) for k in ("road_class", "flooded_any", "deeper")], body,
                 note=words.say("union_note" if body else "no_road_flood", lang),
                 total=bool(body))


def stops_table(rows: list[tuple[str, str, str]], lang: str) -> Table:
    shown = rows[:STOP_ROWS]
    note = words.say("stops_note", lang, n=number(len(rows), lang)) + (
        words.say("stops_shown", lang, n=len(shown)) if len(rows) > len(shown) else ".")
    return Table(words.say("stops_table", lang),
                 [words.say(k, lang) for k in ("stop", "name", "deepest")],
                 [[code, name, symbols.depth_label(depth, lang)] for code, name, depth in shown],
                 note=note if rows else words.say("no_stops", lang), align="LLR")


def parcels_table(rows: list[tuple[str, int, float]], lang: str) -> Table:
    labels = LABELS["land_use"]
    body = [[words.land_use(lu, labels.get(lu, lu), lang), number(n, lang),
             number(float(ha), lang, 2)] for lu, n, ha in rows]
    if body:
        body.append([words.say("all_land_uses", lang), number(sum(r[1] for r in rows), lang),
                     number(float(sum(r[2] for r in rows)), lang, 2)])
    return Table(words.say("parcels_table", lang),
                 [words.say(k, lang) for k in ("land_use", "parcels", "area_wet")], body,
                 note="" if body else words.say("no_parcels", lang), total=bool(body))
