"""Refusing requests that would return too much, before running them.

Two checks, both before any body is built:

* **values**: the planner's row estimate for the readings selection (``EXPLAIN``:
  planning only, about a millisecond) against ``edr.value_limit``; a 400 that refuses
  the grossly oversized at no cost;
* **output size**: the selected readings are counted per station and parameter (an
  index-only walk of the readings primary key that stops after the most values the
  format's budget could hold), the body's size is estimated from those counts for the
  requested format, and a body over that format's budget
  (:data:`twin.server.limits.LIMITS`, ``edr.output_bytes`` in config/server.yaml) is
  refused with 413, saying how to narrow the request and which other format fits.

The costs per unit were measured on the demo city and rounded up: a GeoJSON feature
(one station and time) costs ~280 bytes plus ~16 per parameter, every one of them
present (null where not observed); a CoverageJSON time step ~28 bytes and a value ~9; a
CSV row (one value) ~60. So GeoJSON costs 5–20× CoverageJSON for the same readings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import psycopg
from psycopg import sql

from twin.server.errors import InvalidParameter, RequestTooLarge
from twin.server.limits import LIMITS, MiB

NAMES = {"json": "CoverageJSON", "geojson": "GeoJSON", "csv": "CSV", "html": "HTML"}
GEO_FEATURE, GEO_PARAM = 280, 16
COV_TIME, COV_VALUE, COV_STATION, COV_PARAM = 28, 9, 400, 450
CSV_VALUE, CSV_HEAD = 60, 60
PLACE = 600          # a station as a GeoJSON feature (locations, items)
CSV_MIN = 40         # the shortest CSV row: code, time, property, value, unit, quality

NARROW = ("narrow it: a shorter datetime interval, fewer parameters with parameter-name, "
          "or fewer stations (a smaller bbox, area or radius)")

COUNT = sql.SQL("SELECT station_id, property, count(*) FROM "
                "(SELECT station_id, property FROM ({}) r LIMIT {}) c GROUP BY 1, 2")


def budgets(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """Output budget in bytes per format: the limits table, with server.yaml's
    ``edr.output_bytes`` over it."""
    out = {"json": LIMITS.edr_output_bytes, "geojson": LIMITS.edr_output_bytes,
           "csv": LIMITS.edr_output_bytes, "html": LIMITS.edr_html_bytes}
    return {**out, **(overrides or {})}


def estimate(conn: psycopg.Connection, readings: sql.Composable, params: dict) -> int:
    statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM ({}) r").format(readings)
    plan = conn.execute(statement, params).fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def over_value_limit(count: str, limit: int) -> InvalidParameter:
    return InvalidParameter(
        f"the request would return {count} values, more than this server's "
        f"limit of {limit:,}; narrow datetime (a shorter interval), choose fewer "
        "parameters with parameter-name, or a smaller area")


def check(conn: psycopg.Connection, readings: sql.Composable, params: dict,
          limit: int) -> None:
    """A 400 telling the user to narrow the request when the planner expects more than
    ``limit`` values."""
    expected = estimate(conn, readings, params)
    if expected > limit:
        raise over_value_limit(f"about {expected:,}", limit)


@dataclass(frozen=True)
class Size:
    """What a selection holds: per station, its values and its time steps (the most
    values of one of its parameters: a station reports its parameters together)."""
    values: int
    times: int
    stations: int
    coverage: int     # bytes of the largest station's CoverageJSON coverage

    @classmethod
    def of(cls, counts: list[tuple[int, str, int]]) -> Size:
        per: dict[int, list[int]] = {}
        for station, _prop, n in counts:
            per.setdefault(station, []).append(n)
        steps = {s: max(ns) for s, ns in per.items()}
        largest = max((steps[s] * COV_TIME + sum(ns) * COV_VALUE + COV_STATION
                       + len(ns) * COV_PARAM for s, ns in per.items()), default=0)
        return cls(sum(n for *_, n in counts), sum(steps.values()), len(per), largest)

    def output_bytes(self, fmt: str, n_params: int) -> int:
        """The body's estimated size in ``fmt``."""
        if fmt == "geojson":
            return self.times * (GEO_FEATURE + GEO_PARAM * n_params) + COV_PARAM * n_params
        if fmt == "csv":
            return self.values * CSV_VALUE + CSV_HEAD
        return (self.times * COV_TIME + self.values * COV_VALUE
                + self.stations * (COV_STATION + COV_PARAM * n_params)
                + COV_PARAM * n_params)


def measure(conn: psycopg.Connection, readings: sql.Composable, params: dict,
            cap: int) -> Size | None:
    """The selection's :class:`Size`, or None when it holds more than ``cap`` values."""
    rows = conn.execute(COUNT.format(readings, sql.Literal(cap + 1)), params).fetchall()
    size = Size.of(rows)
    return None if size.values > cap else size


def least_per_value(fmt: str, n_params: int) -> float:
    """The fewest bytes one value can cost in ``fmt``: a selection with more values than
    the budget over this is over the budget, whatever else (the count stops there). A
    GeoJSON feature carries at most ``n_params`` values."""
    if fmt == "geojson":
        return GEO_PARAM + GEO_FEATURE / max(n_params, 1)
    return CSV_MIN if fmt == "csv" else COV_VALUE


def mb(n: int) -> str:
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{max(n // 1024, 1)} KiB"


def check_output(conn: psycopg.Connection, readings: sql.Composable, params: dict,
                 fmt: str, n_params: int, budget: dict[str, int], value_limit: int) -> int:
    """The estimated size of the body in ``fmt`` (bytes); a 413 (400 over the value
    limit) when it is over the format's budget, or when one CoverageJSON coverage
    would be over :attr:`RequestLimits.edr_coverage_bytes`."""
    name, allowed = NAMES[fmt], budget[fmt]
    by_budget = int(allowed // least_per_value(fmt, n_params))
    size = measure(conn, readings, params, min(value_limit, by_budget))
    if size is None:
        if value_limit <= by_budget:
            raise over_value_limit(f"more than {value_limit:,}", value_limit)
        raise RequestTooLarge(
            f"the response would hold more than {by_budget:,} values, more than {name} "
            f"can carry within this server's limit of {mb(allowed)} per response; {NARROW}")
    nbytes = size.output_bytes(fmt, n_params)
    if nbytes > allowed:
        raise RequestTooLarge(
            f"the response would be about {mb(nbytes)} of {name} ({size.values:,} values "
            f"at {size.stations} stations), more than this server's limit of "
            f"{mb(allowed)} for {name}; {NARROW}{_instead(size, fmt, n_params, budget)}")
    if fmt in ("json", "html") and size.coverage > LIMITS.edr_coverage_bytes:
        raise RequestTooLarge(
            f"one station's series would be about {mb(size.coverage)} of CoverageJSON, "
            f"more than this server's limit of {mb(LIMITS.edr_coverage_bytes)} for one "
            "coverage; narrow it: a shorter datetime interval or fewer parameters with "
            "parameter-name, or f=csv")
    return nbytes


def _instead(size: Size, fmt: str, n_params: int, budget: dict[str, int]) -> str:
    """The other formats that would fit, as advice."""
    fits = [f"f={f} ({NAMES[f]}, about {mb(n)})" for f in ("json", "csv", "geojson")
            if f != fmt and (n := size.output_bytes(f, n_params)) <= budget[f]]
    return f"; or ask for {' or '.join(fits)}" if fits else ""


def check_places(n_stations: int, budget: dict[str, int]) -> None:
    """Stations as GeoJSON features (locations, items) within the GeoJSON budget."""
    nbytes = n_stations * PLACE
    if nbytes > budget["geojson"]:
        raise RequestTooLarge(
            f"the response would list {n_stations:,} stations, about {mb(nbytes)}, more "
            f"than this server's limit of {mb(budget['geojson'])}; use a smaller bbox")
