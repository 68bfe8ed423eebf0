"""The flood topic: flood extents valid in the period over the roads, the road
kilometres, bus stops and land parcels they reach, and flooded kilometres per hour.
With no extents in the period the section says so plainly."""

from __future__ import annotations

from psycopg import Connection

from twin.reports import charts, data, symbols
from twin.reports.model import Area, Chart, MapLayer, Section, Table
from twin.reports.request import ReportRequest
from twin.styles import roads
from twin.styles.ramps import FLOOD_DEPTH_CODES, LABELS

STOP_ROWS = 25


def section(conn: Connection, area: Area, request: ReportRequest) -> Section:
    out = Section("flood", "Flooding")
    args = (conn, area.id, request.begins, request.ends)
    extents = data.flood_extents(*args)
    if not extents:
        out.notes.append(
            f"No flood extents are recorded in {area.name} between {request.period_label}. "
            "Flood extents come from the flood model or from surveys (layer flood_extents); "
            "none covers this area and period, so no road, bus stop or parcel is reported "
            "as exposed.")
        out.map_note = "No flood extents in the period."
        return out
    ordered = sorted(extents, key=lambda f: FLOOD_DEPTH_CODES.index(f.category))
    scenarios = sorted({f.attrs["scenario"] for f in extents})
    out.layers = [MapLayer("Flood extents (depth)", "polygon", [f.geom for f in ordered],
                           [f.category for f in ordered], symbols.flood_symbols(),
                           popups=[f"{f.attrs['scenario']} {f.attrs['valid_time']:%d/%m %H:%M}"
                                   f": depth {f.category} m" for f in ordered], zorder=1)]
    out.map_note = (f"All extents valid in the period overlaid, deepest on top; "
                    f"scenario(s): {', '.join(scenarios)}.")
    out.tables = [road_table(data.flooded_road_km(*args)),
                  stops_table(data.exposed_bus_stops(*args)),
                  parcels_table(data.exposed_parcels(*args))]
    hourly = data.flooded_km_per_hour(*args)
    out.charts = [Chart("Flooded road length per hour", charts.flooded_km(hourly, request.zone),
                        "Road kilometres inside the extents valid in each hour.")]
    return out


def road_table(rows: list[tuple[str, float, float]]) -> Table:
    anyd = roads.by_report_class({c: a for c, a, _ in rows})     # links with their road,
    deep = roads.by_report_class({c: d for c, _, d in rows})     # footways and paths together
    rows = [(c, anyd[c], deep[c]) for c in anyd]
    body = [[c, f"{a:,.2f}", f"{d:,.2f}" if d else "–"] for c, a, d in rows]
    if body:
        body.append(["all classes", f"{sum(r[1] for r in rows):,.2f}",
                     f"{sum(r[2] for r in rows):,.2f}"])
    return Table("Flooded road length by class (km)",
                 ["Road class", "Flooded (any depth)", "Deeper than 0.5 m"], body,
                 note="Union of the extents over the period." if body
                 else "No road is reached by the flood extents.", total=bool(body))


def stops_table(rows: list[tuple[str, str, str]]) -> Table:
    labels = LABELS["depth_class"]
    shown = rows[:STOP_ROWS]
    note = f"{len(rows)} bus stops exposed" + (f"; the {len(shown)} deepest are listed."
                                               if len(rows) > len(shown) else ".")
    return Table("Bus stops exposed", ["Stop", "Name", "Deepest water"],
                 [[code, name, labels.get(depth, depth)] for code, name, depth in shown],
                 note=note if rows else "No bus stop is inside a flood extent.", align="LLR")


def parcels_table(rows: list[tuple[str, int, float]]) -> Table:
    labels = LABELS["land_use"]
    body = [[labels.get(lu, lu), f"{n:,}", f"{ha:,.2f}"] for lu, n, ha in rows]
    if body:
        body.append(["all land uses", f"{sum(r[1] for r in rows):,}",
                     f"{sum(r[2] for r in rows):,.2f}"])
    return Table("Land parcels exposed, by land use",
                 ["Land use", "Parcels", "Area under water (ha)"], body,
                 note="" if body else "No land parcel is reached by the flood extents.",
                 total=bool(body))
