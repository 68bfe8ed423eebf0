"""The air topic: the air-quality stations in or near the area coloured by their mean
daily VN_AQI over the period, days per AQI class per station, and daily AQI over time.
Daily VN_AQI comes from ``station_aqi`` (Decision 1459/QĐ-TCMT, computed at load)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

from psycopg import Connection

from twin.reports import charts, data, symbols
from twin.reports.model import Area, Chart, MapLayer, Section, Table
from twin.reports.request import ReportRequest
from twin.styles.ramps import vn_aqi_classes


def section(conn: Connection, area: Area, request: ReportRequest) -> Section:
    out = Section("air", "Air quality (VN_AQI)")
    stations = data.air_stations_near(conn, area.id)
    rows = data.daily_aqi(conn, [s[0] for s in stations], request.begins, request.ends,
                          request.timezone)
    series: dict[int, list[tuple[date, int, int]]] = defaultdict(list)
    for sid, day, aqi, level in rows:
        series[sid].append((day, aqi, level))
    names = {s[0]: f"{s[1]} {s[2]}" for s in stations}
    out.layers = [_station_layer(stations, series)]
    out.tables = [days_per_class(stations, series)]
    if rows:
        png = charts.daily_aqi({names[sid]: [(d, a) for d, a, _ in s]
                                for sid, s in series.items()}, request.start, request.end)
        out.charts = [Chart("Daily VN_AQI per station", png,
                            "Background bands: VN_AQI classes. One line per station.")]
    else:
        out.notes.append(f"No daily VN_AQI is recorded for these stations between "
                         f"{request.period_label}: no air-quality readings were loaded "
                         "for the period.")
    far = [s for s in stations if s[4] > 0]
    out.map_note = ("Stations coloured by their mean daily VN_AQI over the period; grey: no "
                    "AQI in the period." + (f" {len(far)} of {len(stations)} stations lie "
                                            "outside the area (within "
                                            f"{data.NEAR_STATION_M / 1000:g} km)."
                                            if far else ""))
    return out


def _station_layer(stations: list[tuple], series: dict) -> MapLayer:
    syms = symbols.aqi_symbols()
    syms["none"] = symbols.Symbol("no AQI in the period", "#bdbdbd", 90, edge="#222222")
    cats, popups = [], []
    for sid, code, name, _, _dist in stations:
        values = [a for _, a, _ in series.get(sid, [])]
        if values:
            mean = sum(values) / len(values)
            level, _, label = symbols.aqi_class(mean)
            cats.append(level)
            popups.append(f"{code} {name}: mean VN_AQI {mean:.0f} ({label}) over "
                          f"{len(values)} days")
        else:
            cats.append("none")
            popups.append(f"{code} {name}: no AQI in the period")
    return MapLayer("Air stations (mean VN_AQI)", "point", [s[3] for s in stations], cats,
                    syms, popups=popups, zorder=6)


def days_per_class(stations: list[tuple], series: dict) -> Table:
    classes = vn_aqi_classes()
    body = []
    for sid, code, name, _, dist in stations:
        counts = Counter(level for _, _, level in series.get(sid, []))
        values = [a for _, a, _ in series.get(sid, [])]
        body.append([f"{code} {name}"] + [str(counts.get(i, 0) or "–")
                                          for i in range(1, len(classes) + 1)]
                    + [f"{sum(values) / len(values):.0f}" if values else "–",
                       str(max(values)) if values else "–",
                       "in area" if dist == 0 else f"{dist / 1000:.1f} km"])
    return Table("Days per VN_AQI class per station",
                 ["Station"] + [c.label.split(" (")[0] for c in classes]
                 + ["Mean AQI", "Max AQI", "Location"], body,
                 note="Daily VN_AQI: PM from 24-hour means, gases from daily maxima "
                      "(Decision 1459/QĐ-TCMT).", align="LR")
