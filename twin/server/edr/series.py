"""The readings a query selects, as one SQL subquery every output format is built on.

Rows: ``station_id, property, observed_at, value, unit, quality``. Readings are
filtered by ``station_id = ANY(ids) AND property = ANY(names)`` and the time window,
which is the readings primary key (station_id, property, observed_at) per station
and, with the window's bounds as plan-time values, prunes the monthly partitions.
The hourly AQI of ``station_aqi`` (when it exists and is asked for) joins as rows of
parameters ``aqi_vn`` / ``aqi_us``.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from twin.server.edr.catalogue import AQI_TABLE, Catalogue
from twin.server.edr.query import Window

# A value a coverage can carry: readings flagged missing or bad, and NaN or infinite
# values, are left out (null) of CoverageJSON and GeoJSON; CSV keeps every row with its
# quality flag.
USABLE = sql.SQL("CASE WHEN r.quality IN ('good', 'suspect') AND r.value "
                 "NOT IN ('NaN', 'Infinity', '-Infinity') THEN r.value END")


@dataclass(frozen=True)
class Selection:
    """Stations (ids), parameters and time window of one request."""
    station_ids: list[int]
    parameters: list[str]
    window: Window


def _time(column: str, window: Window, params: dict) -> list[sql.Composable]:
    out = []
    if window.start is not None:
        params["t0"] = window.start
        out.append(sql.SQL("{} >= %(t0)s").format(sql.Identifier(column)))
    if window.end is not None:
        params["t1"] = window.end
        out.append(sql.SQL("{} <= %(t1)s").format(sql.Identifier(column)))
    return out


def readings_sql(sel: Selection, catalogue: Catalogue, params: dict) -> sql.Composable:
    """The subquery of the selected readings; fills ``params``."""
    params["ids"] = sel.station_ids
    parts = []
    observed = catalogue.observed(sel.parameters)
    if observed:
        params["props"] = observed
        conds = [sql.SQL("station_id = ANY(%(ids)s)"), sql.SQL("property = ANY(%(props)s)"),
                 *_time("observed_at", sel.window, params)]
        parts.append(sql.SQL(
            "SELECT station_id, property, observed_at, value, unit, quality "
            "FROM sensor_readings WHERE {}").format(sql.SQL(" AND ").join(conds)))
    scales = catalogue.aqi_scales(sel.parameters)
    if scales:
        params["scales"] = scales
        conds = [sql.SQL("station_id = ANY(%(ids)s)"), sql.SQL("scale = ANY(%(scales)s)"),
                 sql.SQL("period = 'hour'"), *_time("observed_at", sel.window, params)]
        parts.append(sql.SQL(
            "SELECT station_id, 'aqi_' || scale AS property, observed_at, "
            "aqi::float8 AS value, 'AQI' AS unit, 'good' AS quality "
            "FROM {} WHERE {}").format(sql.Identifier(AQI_TABLE),
                                        sql.SQL(" AND ").join(conds)))
    return sql.SQL(" UNION ALL ").join(parts)


def column(i: int) -> sql.Identifier:
    return sql.Identifier(f"v{i}")


def flag(i: int) -> sql.Identifier:
    return sql.Identifier(f"h{i}")


def by_time_sql(names: list[str], readings: sql.Composable) -> sql.Composable:
    """The readings pivoted to one row per station and time: ``station_id, observed_at``,
    then for each parameter ``names[i]`` its usable value ``v{i}`` and whether it was
    reported at all ``h{i}`` (a missing reading is reported, a parameter the station
    does not measure is not)."""
    cols = sql.SQL(", ").join(
        sql.SQL("bool_or(r.property = {p}) AS {h}, "
                "max({u}) FILTER (WHERE r.property = {p}) AS {v}").format(
            p=sql.Literal(name), u=USABLE, h=flag(i), v=column(i))
        for i, name in enumerate(names))
    return sql.SQL("SELECT r.station_id, r.observed_at, {} FROM ({}) r "
                   "GROUP BY r.station_id, r.observed_at").format(cols, readings)
