"""Flood-depth rules: evaluated when a flood run is stored (:mod:`twin.flood.store`) and by
``twin alerts evaluate``.

A rule names roads (``road_segments.name``), bus routes (``bus_routes.route_number``) or
wards (``admin_areas`` in force, by name or code). Each valid time of the scenario's
``flood_extents`` is a point: the deepest water (``depth_max_m``) of the flood polygons
the place crosses, active above ``above_m``, clear otherwise (no polygon: dry). The same
state machine as the readings' rules walks them; the alert's geometry is the place's.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg.types.json import Jsonb

from twin.alerts import texts
from twin.alerts.engine import EPOCH, Summary, _since, evaluate_kind
from twin.alerts.machine import Point, run
from twin.alerts.store import Loaded, follow

log = logging.getLogger("twin.alerts")
PLACE_FIELDS = {"road": "subject.roads", "route": "subject.routes", "area": "subject.wards"}
PLACES = {
    "road": "SELECT 'road', name, ST_Multi(ST_Union(geom)) FROM road_segments WHERE name = "
            "ANY(%(road)s) GROUP BY name",
    "route": "SELECT 'route', route_number, ST_Multi(ST_Union(geom)) FROM bus_routes WHERE "
             "route_number = ANY(%(route)s) GROUP BY route_number",
    "area": "SELECT 'area', name, geom FROM admin_areas WHERE valid_to IS NULL AND (name = "
            "ANY(%(area)s) OR code = ANY(%(area)s))",
}


def evaluate_flood(conn: psycopg.Connection, scenario: str | None = None) -> Summary:
    """The flood-depth rules (of ``scenario``, or all), in one transaction."""
    return evaluate_kind(conn, lambda rule: rule.condition.kind == "flood_depth"
                         and scenario in (None, rule.condition.scenario), _rule)


def _points(cur: psycopg.Cursor, loaded: Loaded) -> dict[tuple[str, str], list[Point]]:
    rule, c = loaded.rule, loaded.rule.condition
    wanted = {kind: [name for k, name in rule.subject.places if k == kind] for kind in PLACES}
    union = " UNION ALL ".join(PLACES[k] for k, names in wanted.items() if names)
    cur.execute(
        f"WITH place(kind, code, g) AS ({union}), times AS (SELECT DISTINCT valid_time AS t "
        "FROM flood_extents WHERE scenario = %(s)s) SELECT p.kind, p.code, times.t, (SELECT "
        "max(f.depth_max_m) FROM flood_extents f WHERE f.scenario = %(s)s AND f.valid_time = "
        "times.t AND ST_Intersects(f.geom, p.g)) FROM place p CROSS JOIN times "
        "ORDER BY 1, 2, 3", {**wanted, "s": c.scenario})
    out: dict[tuple[str, str], list[Point]] = {}
    rows = cur.fetchall()
    _missing(cur, rule, wanted)
    for kind, code, t, depth in rows:
        wet = depth is not None and depth > c.above_m
        out.setdefault((kind, code), []).append(
            Point(0, t, t, wet, not wet, round(depth or 0.0, 2), None, rule.severity))
    return out


def _missing(cur: psycopg.Cursor, rule, wanted: dict) -> None:
    """Log the named places the database does not hold (accepted at load while their
    layer was empty): the rule and the field, so that a misspelt street is seen."""
    for kind, names in wanted.items():
        for name in names:
            cur.execute(f"SELECT 1 FROM ({PLACES[kind]}) p LIMIT 1", {kind: [name]})
            if cur.fetchone() is None:
                log.warning("rule %r, field %s: unknown %s %r (not evaluated)", rule.id,
                            PLACE_FIELDS[kind], kind, name)


def _rule(cur: psycopg.Cursor, loaded: Loaded, lives: dict, resolved: dict) -> list:
    rule, done = loaded.rule, []
    clear_s = rule.condition.clear_minutes * 60.0
    for (kind, code), pts in _points(cur, loaded).items():
        key = (rule.id, code)
        start, live, emit_after = _since(rule, lives.get(key), resolved.get(key), EPOCH)
        pts = [p for p in pts if p.end >= start]
        outcome = run(pts, live, 0.0, clear_s, emit_after)
        done += follow(cur, outcome, live.id if live else None,
                       lambda v, code=code: texts.description(rule, code, v, None, "m"),
                       lambda t, desc, kind=kind, code=code:
                       _open(cur, loaded, kind, code, t, desc))
    return done


def _open(cur: psycopg.Cursor, loaded: Loaded, kind: str, code: str, t, desc) -> int | None:
    """Insert the alert with the place's geometry (None: another evaluator opened it)."""
    cur.execute(f"SELECT ST_AsEWKB(ST_Multi(g)) FROM ({PLACES[kind]}) p(kind, code, g) "
                "WHERE code = %(code)s", {kind: [code], "code": code})
    row = cur.fetchone()
    cur.execute(
        "INSERT INTO alerts (rule_id, subject, subject_kind, kind, severity, state, value, "
        "unit, title, description, geom, opened_at, updated_at, agency, area, checked_at) "
        "VALUES (%s, %s, %s, 'flood_depth', %s, 'open', %s, 'm', %s, %s, "
        "ST_GeomFromEWKB(%s), %s, %s, %s, %s, %s) ON CONFLICT (rule_id, subject) "
        "WHERE state <> 'resolved' DO NOTHING RETURNING id",
        (loaded.rule.id, code, kind, t.severity, t.value, Jsonb(texts.title(loaded.rule)),
         desc, row[0] if row else None, t.at, t.at, loaded.agency,
         code if kind == "area" else None, t.at))
    found = cur.fetchone()
    return found[0] if found else None


def after_flood(conn: psycopg.Connection, scenario: str) -> None:
    """The hook of a stored flood run, after its commit: never raises."""
    try:
        evaluate_flood(conn, scenario)
    except Exception:  # the run is stored; twin alerts evaluate catches up
        log.exception("evaluating the flood-depth rules of %s failed", scenario)
