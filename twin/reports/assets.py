"""The assets topic: roads by condition, transit, signs, signals, cameras and parking,
with the road condition table, the assets due for inspection and counts by type."""

from __future__ import annotations

from collections import defaultdict

from psycopg import Connection

from twin.i18n import day, number
from twin.reports import data, symbols, words
from twin.reports.data import Feature
from twin.reports.model import Area, MapLayer, Section, Table
from twin.reports.request import ReportRequest
from twin.styles import roads
from twin.styles import roads as roads_style

# Major to minor, every class road_segments takes (OSM's highway=*, twin.styles.roads).
ROAD_CLASSES = tuple(sorted(roads.CLASSES, key=roads.rank))
INSPECTION_ROWS = 25      # the table lists the worst this many; the note gives the total


def section(conn: Connection, area: Area, request: ReportRequest,
            roads: list[Feature]) -> Section:
    lang = request.language
    out = Section("assets", words.say("assets_title", lang))
    out.layers = _layers(conn, area, roads, lang)
    out.tables = [condition_table(data.road_km_by_class_condition(conn, area.id), lang),
                  inspection_table(data.inspection_due(conn, area.id, request.end), lang),
                  counts_table(data.asset_counts(conn, area.id), lang)]
    out.map_note = words.say("assets_map_note", lang)
    return out


def _layers(conn: Connection, area: Area, roads: list[Feature], lang: str) -> list[MapLayer]:
    inside = sorted((r for r in roads if r.attrs["inside"]),
                    key=lambda r: ROAD_CLASSES.index(r.attrs["road_class"])
                    if r.attrs["road_class"] in ROAD_CLASSES else 99, reverse=True)
    road_layer = MapLayer(
        words.say("roads_by_condition", lang), "line", [r.geom for r in inside],
        [r.category for r in inside], symbols.localised(symbols.CONDITION, lang),
        popups=[words.say("road_popup", lang, name=r.attrs["name"] or "—", cond=r.category,
                          cls=words.label(words.ROAD_CLASSES,
                                          roads_style.report_class(r.attrs["road_class"]),
                                          lang))
                for r in inside], zorder=3,
        widths=[symbols.ROAD_WIDTH.get(r.attrs["road_class"], 0.8) for r in inside])
    routes = data.bus_routes_in_area(conn, area.id)
    out = [MapLayer(words.say("bus_routes", lang), "line", [f.geom for f in routes],
                    [f.category for f in routes], symbols.localised(symbols.BUS_ROUTE, lang),
                    popups=[words.say("route_popup", lang, number=f.attrs["route_number"],
                                      name=f.attrs["name"]) for f in routes], zorder=2),
           road_layer]
    for table, title, syms in (("traffic_signs", "traffic_signs", symbols.SIGN),
                               ("parking_sites", "parking", symbols.PARKING),
                               ("bus_stops", "bus_stops", symbols.BUS_STOP),
                               ("cameras", "cameras", symbols.CAMERA),
                               ("traffic_signals", "traffic_signals", symbols.SIGNAL)):
        feats = data.points_in_area(conn, table, area.id)
        out.append(MapLayer(words.say(title, lang), "point", [f.geom for f in feats],
                            [f.category.lower() for f in feats], symbols.localised(syms, lang),
                            popups=[" · ".join(words.label(words.STATES, str(v), lang)
                                               for v in f.attrs.values() if v)
                                    for f in feats], zorder=5))
    return out


def condition_table(rows: list[tuple[str, int | None, float]], lang: str) -> Table:
    """Kilometres per condition score (columns) per road class (rows), with totals."""
    km: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for cls, cond, value in rows:
        km[roads.report_class(cls)][str(cond) if cond else "unknown"] += value
    conds = [c for c in symbols.CONDITION if any(c in v for v in km.values())]
    order = sorted(km, key=roads.report_rank)
    body = [[words.label(words.ROAD_CLASSES, cls, lang)]
            + [_km(km[cls].get(c, 0.0), lang) for c in conds]
            + [_km(sum(km[cls].values()), lang)] for cls in order]
    totals = [words.say("all_classes", lang)] \
        + [_km(sum(km[k].get(c, 0.0) for k in km), lang) for c in conds] \
        + [_km(sum(sum(v.values()) for v in km.values()), lang)]
    return Table(words.say("condition_table", lang),
                 [words.say("road_class", lang)]
                 + [words.label(words.CONDITIONS, c, lang) for c in conds]
                 + [words.say("total", lang)], [*body, totals] if body else [],
                 note=words.say("lengths_note" if body else "no_roads", lang), total=bool(body))


def reason(kind: str, codes: str, lang: str) -> str:
    """The reasons of :func:`twin.reports.data.inspection_due` in words."""
    out = []
    for code in filter(None, codes.split(";")):
        key, _, value = code.partition(":")
        if key == "condition":
            out.append(words.say("condition_n", lang, n=value))
        elif key == "state":
            prefix = words.label(words.STATE_PREFIX, kind, lang)
            out.append(f"{prefix} {words.label(words.STATES, value, lang)}")
        else:
            out.append(words.say("never_inspected" if key == "never" else "overdue", lang))
    return "; ".join(out)


def inspection_table(rows: list[tuple], lang: str) -> Table:
    by_kind: dict[str, int] = defaultdict(int)
    for row in rows:
        by_kind[row[0]] += 1
    summary = ", ".join(f"{number(n, lang)} {_plural(kind, n, lang)}"
                        for kind, n in by_kind.items())
    shown = rows[:INSPECTION_ROWS]
    note = (words.say("attention", lang, n=number(len(rows), lang), summary=summary)
            + (words.say("most_urgent", lang, n=len(shown)) if len(rows) > len(shown) else ".")
            if rows else words.say("no_attention", lang))
    note += words.say("inspection_rule", lang, months=data.INSPECTION_MONTHS)
    return Table(words.say("inspection_table", lang),
                 [words.say(k, lang) for k in ("asset", "id", "name_code", "reason",
                                               "last_inspected")],
                 [[words.label(words.ASSET_KINDS, kind, lang), ident, name or "—",
                   reason(kind, codes, lang), day(when, lang) if when else words.say("never", lang)]
                  for kind, ident, name, codes, when, _ in shown],
                 note=note, align="LLLLR")


def _plural(kind: str, n: int, lang: str) -> str:
    name = words.label(words.ASSET_KINDS, kind, lang)
    return f"{name}s" if lang == "en" and n != 1 else name


def counts_table(counts: dict[str, int], lang: str) -> Table:
    return Table(words.say("counts_table", lang),
                 [words.say("asset_type", lang), words.say("count", lang)],
                 [[words.label(words.ASSET_COUNTS, kind, lang), number(n, lang)]
                  for kind, n in counts.items()])


def _km(value: float, lang: str) -> str:
    return number(float(value), lang, 2) if value else "–"
