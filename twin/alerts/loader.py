"""Rules into ``alert_rules``: checked against the database (stations, areas, properties)
and stored, from ``config/alerts.yaml`` (source ``config``) or the API (source ``api``).

Loading the file is one transaction: every rule is checked first, and a refused rule
leaves the table as it was. A config rule gone from the file is disabled (its alerts
keep their rule); an API rule is never touched by a load, nor a config rule by the API.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from twin.alerts.rules import RANGES, Levels, Rule, RuleError, read_file

ALERTS_FILE = "alerts.yaml"


def gauge_levels(city) -> Levels:
    """The city profile's gauges: code -> alarm levels I, II, III."""
    return {g.code: tuple(g.alarm_levels_m) for g in city.gauges}


def rules_path(city_profile: Path) -> Path:
    """``config/alerts.yaml``: beside the city profile's folder root (config/)."""
    folder = city_profile.parent
    if folder.name == "cities":
        folder = folder.parent
    return folder / ALERTS_FILE


def check(cur: psycopg.Cursor, rule: Rule) -> None:
    """What needs the database: the stations and the area exist, and the property is one
    twin knows or a station measures. (A subject that matches no station yet, such as a
    gauge of the city profile, is accepted: stations may be loaded after the rules.)"""
    st = rule.subject.stations
    if st.ids:
        cur.execute("SELECT c FROM unnest(%s::text[]) c WHERE NOT EXISTS (SELECT 1 FROM "
                    "sensor_stations s WHERE s.code = c)", (list(st.ids),))
        missing = [r[0] for r in cur.fetchall()]
        if missing:
            raise RuleError(rule.id, "subject.stations.ids", f"unknown station {missing[0]!r}")
    if st.area:
        cur.execute("SELECT 1 FROM admin_areas WHERE (name = %s OR code = %s) AND valid_to "
                    "IS NULL", (st.area, st.area))
        if cur.fetchone() is None:
            raise RuleError(rule.id, "subject.stations.area", f"unknown area {st.area!r}")
    _check_places(cur, rule)
    if rule.prop and rule.prop not in RANGES:
        cur.execute("SELECT 1 FROM sensor_stations WHERE %s = ANY(properties) LIMIT 1",
                    (rule.prop,))
        if cur.fetchone() is None:
            field = "condition.property" if rule.condition.kind in ("threshold", "stuck") \
                else "condition.kind"
            raise RuleError(rule.id, field, f"unknown property {rule.prop!r}: no station "
                            "measures it")


PLACE_TABLES = {"road": "road_segments", "route": "bus_routes",
                "area": "admin_areas WHERE valid_to IS NULL"}


def _check_places(cur: psycopg.Cursor, rule: Rule) -> None:
    """A flood rule's roads, routes and wards exist. While a layer holds nothing yet (a
    fresh database, ``twin db upgrade`` before the city's layers are loaded) its names are
    accepted and resolved at evaluation, which logs a name still unknown then."""
    from twin.alerts.flood import PLACE_FIELDS, PLACES

    for kind, name in rule.subject.places:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {PLACE_TABLES[kind]})")
        if not cur.fetchone()[0]:
            continue
        cur.execute(f"SELECT 1 FROM ({PLACES[kind]}) p LIMIT 1", {kind: [name]})
        if cur.fetchone() is None:
            raise RuleError(rule.id, PLACE_FIELDS[kind], f"unknown {kind} {name!r}")


def store(cur: psycopg.Cursor, rule: Rule, source: str, created_by: str | None = None
          ) -> None:
    """Insert or replace a rule (its source's own: a config load never replaces an API
    rule of the same id, nor the API a config rule)."""
    cur.execute(
        "INSERT INTO alert_rules (id, spec, source, agency, enabled, created_by) VALUES "
        "(%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec, "
        "agency = EXCLUDED.agency, enabled = EXCLUDED.enabled, updated_at = now() "
        "WHERE alert_rules.source = EXCLUDED.source AND (alert_rules.spec, alert_rules.agency, "
        "alert_rules.enabled) IS DISTINCT FROM (EXCLUDED.spec, EXCLUDED.agency, "
        "EXCLUDED.enabled)",
        (rule.id, Jsonb(rule.model_dump(mode="json")), source, rule.agency, rule.enabled,
         created_by))


def load_file(conn: psycopg.Connection, path: Path, gauges: Levels) -> list[Rule]:
    """Check and store the file's rules (source ``config``); one transaction."""
    rules = read_file(path, gauges)
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('twin_alert_rules'))")
        cur.execute("SELECT id FROM alert_rules WHERE source = 'api' AND id = ANY(%s)",
                    ([r.id for r in rules],))
        taken = [r[0] for r in cur.fetchall()]
        if taken:
            raise RuleError(taken[0], "id", "an API rule has this id")
        for rule in rules:
            check(cur, rule)
            store(cur, rule, "config")
        cur.execute("UPDATE alert_rules SET enabled = false, updated_at = now() WHERE "
                    "source = 'config' AND enabled AND NOT (id = ANY(%s))",
                    ([r.id for r in rules],))
    return rules
