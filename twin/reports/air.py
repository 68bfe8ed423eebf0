"""The air topic: the air-quality stations in or near the area coloured by their mean
daily VN_AQI over the period, drawn over the period's mean interpolated PM2.5 surface;
days per AQI class per station, hours per AQI class per ward (from the hourly surfaces,
:mod:`twin.reports.surface`), and daily AQI over time. Daily VN_AQI comes from
``station_aqi`` (Decision 1459/QĐ-TCMT, computed at load)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date

from psycopg import Connection

from twin.i18n import number
from twin.reports import charts, data, surface, symbols, words
from twin.reports.model import Area, Chart, MapLayer, Section, Symbol, Table
from twin.reports.request import ReportRequest
from twin.styles.ramps import pm25_classes, vn_aqi_classes


def section(conn: Connection, area: Area, request: ReportRequest) -> Section:
    lang = request.language
    out = Section("air", words.say("air_title", lang))
    stations = data.air_stations_near(conn, area.id)
    rows = data.daily_aqi(conn, [s[0] for s in stations], request.begins, request.ends,
                          request.timezone)
    series: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    for sid, day, aqi, level in rows:
        series[sid].append((day, aqi, level))
    names = {s[0]: f"{s[1]} {s[2]}" for s in stations}
    out.layers = [_station_layer(stations, series, lang)]
    out.tables = [days_per_class(stations, series, lang)]
    if rows:
        png = charts.daily_aqi({names[sid]: [(d, a) for d, a, _ in s]
                                for sid, s in series.items()}, request.start, request.end,
                               lang)
        out.charts = [Chart(words.say("daily_chart", lang), png,
                            words.say("daily_caption", lang))]
    else:
        out.notes.append(words.say("no_daily", lang, period=request.period_label))
    far = [s for s in stations if s[4] > 0]
    out.map_note = words.say("stations_map_note", lang) + (
        words.say("stations_outside", lang, far=len(far), total=len(stations),
                  km=number(data.NEAR_STATION_M / 1000, lang)) if far else "")
    _add_surface(conn, area, request, out)
    return out


def _add_surface(conn: Connection, area: Area, request: ReportRequest, out: Section) -> None:
    """The mean surface under the stations and the hours-per-ward table, or a note that
    the period has no surface."""
    lang = request.language
    # in UTC: two datetimes of one zone subtract as wall clocks (a DST day has 23 or 25 h)
    hours = round((request.ends.astimezone(UTC) - request.begins.astimezone(UTC))
                  .total_seconds() / 3600)
    found = surface.steps(conn, request.begins, request.ends)
    wards = surface.wards(conn, area.id, request.end) or [(area.code, area.name, area.geom)]
    summary = surface.summarise(found, area.geom, wards, hours)
    if summary is None or not summary.surface_hours:
        out.notes.insert(0, words.say("no_surface", lang, period=request.period_label))
        return
    polygons = surface.class_polygons(summary, area.geom)
    out.layers.insert(0, MapLayer(words.say("surface_layer", lang), "polygon",
                                  [g for _, g in polygons], [str(lv) for lv, _ in polygons],
                                  surface_symbols(lang), zorder=1))
    out.map_note += words.say("surface_map_note", lang,
                              hours=number(summary.surface_hours, lang))
    out.tables.insert(0, hours_per_class(summary, lang))


def surface_symbols(lang: str) -> dict[str, Symbol]:
    """One fill per VN_AQI class, labelled with the class and its PM2.5 range."""
    return {str(i): Symbol(f"{words.aqi_label(i, lang, ranges=False)} (PM2.5 "
                           f"{symbols.decimal(c.label, lang)})", c.colour, 0.0, alpha=0.55)
            for i, c in enumerate(pm25_classes(), start=1)}


def hours_per_class(summary: surface.SurfaceSummary, lang: str) -> Table:
    """Hours per VN_AQI class per ward; each row adds up to the period's hours."""
    levels = range(1, len(vn_aqi_classes()) + 1)
    body = [[w.name] + [number(w.classes.get(i, 0), lang) if w.classes.get(i) else "–"
                        for i in levels]
            + [number(w.missing(summary.hours), lang) if w.missing(summary.hours) else "–",
               number(summary.hours, lang)] for w in summary.wards]
    return Table(words.say("hours_table", lang),
                 [words.say("ward", lang)] + [words.aqi_label(i, lang, ranges=False)
                                              for i in levels]
                 + [words.say("no_surface_hours", lang), words.say("hours", lang)], body,
                 note=words.say("hours_note", lang, hours=number(summary.hours, lang),
                                map=words.say("period_map", lang)), align="LR")


def _station_layer(stations: list[tuple], series: dict, lang: str) -> MapLayer:
    syms = symbols.aqi_symbols(lang)
    syms["none"] = Symbol(words.say("no_aqi", lang), "#bdbdbd", 90, edge="#222222")
    cats, popups = [], []
    for sid, code, name, _, _dist in stations:
        values = [a for _, a, _ in series.get(sid, [])]
        station = f"{code} {name}"
        if values:
            mean = sum(values) / len(values)
            level, _, label = symbols.aqi_class(mean, lang)
            cats.append(level)
            popups.append(words.say("station_popup", lang, station=station,
                                    mean=f"{mean:.0f}", label=label, days=len(values)))
        else:
            cats.append("none")
            popups.append(words.say("station_no_aqi", lang, station=station))
    return MapLayer(words.say("air_stations", lang), "point", [s[3] for s in stations], cats,
                    syms, popups=popups, zorder=6)


def days_per_class(stations: list[tuple], series: dict, lang: str) -> Table:
    levels = range(1, len(vn_aqi_classes()) + 1)
    body = []
    for sid, code, name, _, dist in stations:
        counts = Counter(level for _, _, level in series.get(sid, []))
        values = [a for _, a, _ in series.get(sid, [])]
        body.append([f"{code} {name}"] + [str(counts.get(i, 0) or "–") for i in levels]
                    + [f"{sum(values) / len(values):.0f}" if values else "–",
                       str(max(values)) if values else "–",
                       words.say("in_area", lang) if dist == 0
                       else f"{number(dist / 1000, lang)} km"])
    return Table(words.say("days_table", lang),
                 [words.say("station", lang)] + [words.aqi_label(i, lang, ranges=False)
                                                 for i in levels]
                 + [words.say(k, lang) for k in ("mean_aqi", "max_aqi", "location")], body,
                 note=words.say("days_note", lang), align="LR")
