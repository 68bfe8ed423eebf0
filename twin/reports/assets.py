"""The assets topic: roads by condition, transit, signs, signals, cameras and parking,
with the road condition table, the assets due for inspection and counts by type."""

from __future__ import annotations

from collections import defaultdict

from psycopg import Connection

from twin.reports import data, symbols
from twin.reports.data import Feature
from twin.reports.model import Area, MapLayer, Section, Table
from twin.reports.request import ReportRequest
from twin.styles import roads

# Major to minor, every class road_segments takes (OSM's highway=*, twin.styles.roads).
ROAD_CLASSES = tuple(sorted(roads.CLASSES, key=roads.rank))
INSPECTION_ROWS = 25      # the table lists the worst this many; the note gives the total


def section(conn: Connection, area: Area, request: ReportRequest,
            roads: list[Feature]) -> Section:
    out = Section("assets", "Road and transport assets")
    out.layers = _layers(conn, area, roads)
    out.tables = [condition_table(data.road_km_by_class_condition(conn, area.id)),
                  inspection_table(data.inspection_due(conn, area.id, request.end)),
                  counts_table(data.asset_counts(conn, area.id))]
    out.map_note = ("Roads coloured by condition score (1 very poor – 5 very good), line "
                    "width by functional class; roads outside the area in grey.")
    return out


def _layers(conn: Connection, area: Area, roads: list[Feature]) -> list[MapLayer]:
    inside = sorted((r for r in roads if r.attrs["inside"]),
                    key=lambda r: ROAD_CLASSES.index(r.attrs["road_class"])
                    if r.attrs["road_class"] in ROAD_CLASSES else 99, reverse=True)
    road_layer = MapLayer(
        "Roads by condition", "line", [r.geom for r in inside],
        [r.category for r in inside], symbols.CONDITION,
        popups=[f"{r.attrs['name']} ({r.attrs['road_class']}), condition {r.category}"
                for r in inside], zorder=3,
        widths=[symbols.ROAD_WIDTH.get(r.attrs["road_class"], 0.8) for r in inside])
    routes = data.bus_routes_in_area(conn, area.id)
    out = [MapLayer("Bus routes", "line", [f.geom for f in routes], [f.category for f in routes],
                    symbols.BUS_ROUTE, popups=[f"Route {f.attrs['route_number']}: "
                                               f"{f.attrs['name']}" for f in routes], zorder=2),
           road_layer]
    for table, title, syms in (("traffic_signs", "Traffic signs", symbols.SIGN),
                               ("parking_sites", "Parking", symbols.PARKING),
                               ("bus_stops", "Bus stops", symbols.BUS_STOP),
                               ("cameras", "Cameras", symbols.CAMERA),
                               ("traffic_signals", "Traffic signals", symbols.SIGNAL)):
        feats = data.points_in_area(conn, table, area.id)
        out.append(MapLayer(title, "point", [f.geom for f in feats],
                            [f.category.lower() for f in feats], syms,
                            popups=[" · ".join(str(v) for v in f.attrs.values() if v)
                                    for f in feats], zorder=5))
    return out


def condition_table(rows: list[tuple[str, int | None, float]]) -> Table:
    """Kilometres per condition score (columns) per road class (rows), with totals."""
    km: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for cls, cond, value in rows:
        km[roads.report_class(cls)][str(cond) if cond else "unknown"] += value
    conds = [c for c in symbols.CONDITION if any(c in v for v in km.values())]
    order = sorted(km, key=roads.report_rank)
    body = [[cls] + [_km(km[cls].get(c, 0.0)) for c in conds] + [_km(sum(km[cls].values()))]
            for cls in order]
    totals = ["all classes"] + [_km(sum(km[k].get(c, 0.0) for k in km)) for c in conds] \
        + [_km(sum(sum(v.values()) for v in km.values()))]
    return Table("Road condition by class (km)",
                 ["Road class"] + [symbols.CONDITION[c].label for c in conds] + ["Total"],
                 [*body, totals] if body else [],
                 note="Lengths of road inside the area, measured on the ellipsoid." if body
                 else "No roads in the area.", total=bool(body))


def inspection_table(rows: list[tuple]) -> Table:
    by_kind: dict[str, int] = defaultdict(int)
    for row in rows:
        by_kind[row[0]] += 1
    summary = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in by_kind.items())
    shown = rows[:INSPECTION_ROWS]
    note = (f"{len(rows)} assets need attention ({summary})"
            + (f"; the {len(shown)} most urgent are listed." if len(rows) > len(shown) else ".")
            if rows else "No asset needs inspection or repair.")
    note += (f" Roads: condition 1–2, or last inspected more than {data.INSPECTION_MONTHS} "
             "months before the end of the period.")
    return Table("Assets needing inspection or repair",
                 ["Asset", "Id", "Name / code", "Reason", "Last inspected / installed"],
                 [[kind, ident, name or "—", reason, f"{day:%d/%m/%Y}" if day else "never"]
                  for kind, ident, name, reason, day, _ in shown],
                 note=note, align="LLLLR")


def counts_table(counts: dict[str, int]) -> Table:
    return Table("Assets in the area by type", ["Asset type", "Count"],
                 [[kind, f"{n:,}"] for kind, n in counts.items()])


def _km(value: float) -> str:
    return f"{value:,.2f}" if value else "–"
