"""Alerts in PostgreSQL: the enabled rules, their subjects, the live alerts, and each
transition written with its event row in the caller's transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from twin.alerts import texts
from twin.alerts.machine import Live, Outcome
from twin.alerts.rules import Rule

LOCK = "twin_alerts"          # one evaluator at a time (transaction-level)
SUBJECTS_TTL_S = 60.0         # stations added to an area are picked up within a minute
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Station:
    id: int
    code: str
    name: str


@dataclass
class Loaded:
    rule: Rule
    agency: str | None
    subjects: dict[int, Station]


class RuleCache:
    """The enabled rules and their stations, re-read when a rule changes or after a minute."""

    def __init__(self) -> None:
        self._stamp: tuple | None = None
        self._at = 0.0
        self.rules: list[Loaded] = []

    def get(self, cur: psycopg.Cursor) -> list[Loaded]:
        cur.execute("SELECT count(*), max(updated_at) FROM alert_rules WHERE enabled")
        stamp = tuple(cur.fetchone())
        if stamp != self._stamp or time.monotonic() - self._at > SUBJECTS_TTL_S:
            cur.execute("SELECT spec, agency FROM alert_rules WHERE enabled ORDER BY id")
            rules = [(Rule.model_validate(spec), agency) for spec, agency in cur.fetchall()]
            stations = Stations(cur, {r.subject.stations.area for r, _a in rules})
            self.rules = [Loaded(r, a, stations.of(r)) for r, a in rules]
            self._stamp, self._at = stamp, time.monotonic()
        return self.rules


class Stations:
    """Every station, read once, and the stations of each area a rule names: the
    subjects of all rules in two queries or so, whatever their number."""

    def __init__(self, cur: psycopg.Cursor, areas: set[str | None]):
        cur.execute("SELECT id, code, name, kind, properties FROM sensor_stations")
        self.rows = cur.fetchall()
        self.areas: dict[str, set[int]] = {}
        for area in sorted(a for a in areas if a):
            cur.execute("SELECT s.id FROM sensor_stations s WHERE EXISTS (SELECT 1 FROM "
                        "admin_areas a WHERE (a.name = %s OR a.code = %s) AND a.valid_to IS "
                        "NULL AND ST_Intersects(a.geom, s.geom))", (area, area))
            self.areas[area] = {r[0] for r in cur.fetchall()}

    def of(self, rule: Rule) -> dict[int, Station]:
        """The stations a rule watches: by code, kind and area, measuring its property."""
        st, c = rule.subject.stations, rule.condition
        if c.kind in ("flood_depth", "aqi_area"):   # places: twin.alerts.flood, .surface
            return {}
        ids, area = set(st.ids), self.areas.get(st.area or "", set())
        out = {}
        for sid, code, name, kind, props in self.rows:
            if c.kind == "river_level" and code != c.gauge:
                continue
            if (ids and code not in ids) or (st.kind and kind != st.kind) or \
                    (st.area and sid not in area):
                continue
            if rule.prop and props is not None and rule.prop not in props:
                continue
            if c.kind == "aqi_class" and kind != "air":
                continue
            out[sid] = Station(sid, code, name)
        return out


def live_alerts(cur: psycopg.Cursor, rule_ids: list[str]) -> dict[tuple[str, str], Live]:
    cur.execute("SELECT rule_id, subject, id, severity, level, opened_at, checked_at, "
                "clear_since, value FROM alerts WHERE state <> 'resolved' AND rule_id = ANY(%s)",
                (rule_ids,))
    return {(r[0], r[1]): Live(*r[2:]) for r in cur.fetchall()}


def last_resolved(cur: psycopg.Cursor, rule_ids: list[str]) -> dict[tuple[str, str], datetime]:
    cur.execute("SELECT rule_id, subject, max(resolved_at) FROM alerts WHERE state = 'resolved' "
                "AND rule_id = ANY(%s) GROUP BY rule_id, subject", (rule_ids,))
    return {(r[0], r[1]): r[2] for r in cur.fetchall()}


def event(cur: psycopg.Cursor, alert_id: int, at: datetime, transition: str, severity: str,
          value: float | None, actor: str | None = None, note: str | None = None) -> None:
    cur.execute("INSERT INTO alert_events (alert_id, at, transition, severity, value, actor, "
                "note) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (alert_id, at, transition, severity, value, actor, note))


def apply(cur: psycopg.Cursor, loaded: Loaded, station: Station, live: Live | None,
          outcome: Outcome) -> list[tuple[str, int]]:
    """Write ``outcome``'s transitions for one rule and station: (transition, alert id)."""
    rule, done = loaded.rule, []
    alert_id = live.id if live else None
    unit = texts.unit(rule, _unit(cur, station.id, rule.prop)) if outcome.transitions else None
    for t in outcome.transitions:
        desc = Jsonb(texts.description(rule, station.code, t.value, t.level, unit))
        if t.kind == "opened":
            cur.execute(
                "INSERT INTO alerts (rule_id, subject, subject_kind, kind, severity, level, "
                "state, value, unit, title, description, geom, opened_at, updated_at, agency, "
                "area, checked_at) SELECT %s, s.code, 'station', %s, %s, %s, 'open', %s, %s, "
                "%s, %s, s.geom, %s, %s, %s, (SELECT a.name FROM admin_areas a WHERE "
                "a.valid_to IS NULL AND a.level IN ('ward', 'commune') AND ST_Intersects("
                "a.geom, s.geom) LIMIT 1), %s FROM sensor_stations s WHERE s.id = %s "
                "ON CONFLICT (rule_id, subject) WHERE state <> 'resolved' DO NOTHING "
                "RETURNING id",
                (rule.id, rule.condition.kind, t.severity, t.level, t.value, unit,
                 Jsonb(texts.title(rule)), desc, t.at, t.at, loaded.agency, t.at, station.id))
            row = cur.fetchone()
            if row is None:   # another evaluator opened it first
                return done
            alert_id = row[0]
        elif t.kind == "updated":
            cur.execute("UPDATE alerts SET severity = %s, level = %s, value = %s, "
                        "description = %s, updated_at = %s WHERE id = %s",
                        (t.severity, t.level, t.value, desc, t.at, alert_id))
        else:
            cur.execute("UPDATE alerts SET state = 'resolved', resolved_at = %s, updated_at = "
                        "%s, value = coalesce(%s, value), clear_since = NULL WHERE id = %s",
                        (t.at, t.at, t.value, alert_id))
        event(cur, alert_id, t.at, t.kind, t.severity, t.value)
        done.append((t.kind, alert_id))
    if outcome.live and alert_id is not None and (done or _moved(live, outcome)):
        cur.execute("UPDATE alerts SET value = coalesce(%s, value), checked_at = %s, "
                    "clear_since = %s WHERE id = %s",
                    (outcome.value, outcome.checked_at, outcome.clear_since, alert_id))
    return done


def follow(cur: psycopg.Cursor, outcome: Outcome, alert_id: int | None,
           describe: Callable[[float | None], dict],
           open_alert: Callable[[object, Jsonb], int | None]) -> list[tuple[str, int]]:
    """A place's alert (a road, a route, a ward) through ``outcome``'s transitions, each
    with its event: ``describe(value)`` words it, ``open_alert(transition, description)``
    inserts it (None: another evaluator opened it first). The flood-depth and area rules
    share this; station alerts carry levels and units (:func:`apply`)."""
    done: list[tuple[str, int]] = []
    for t in outcome.transitions:
        desc = Jsonb(describe(t.value))
        if t.kind == "opened":
            alert_id = open_alert(t, desc)
            if alert_id is None:
                break
        elif t.kind == "updated":
            cur.execute("UPDATE alerts SET severity = %s, value = %s, description = %s, "
                        "updated_at = %s WHERE id = %s",
                        (t.severity, t.value, desc, t.at, alert_id))
        else:
            cur.execute("UPDATE alerts SET state = 'resolved', resolved_at = %s, "
                        "updated_at = %s, value = %s WHERE id = %s",
                        (t.at, t.at, t.value, alert_id))
        event(cur, alert_id, t.at, t.kind, t.severity, t.value)
        done.append((t.kind, alert_id))
    if outcome.live and alert_id is not None:
        cur.execute("UPDATE alerts SET value = coalesce(%s, value), checked_at = %s, "
                    "clear_since = %s WHERE id = %s",
                    (outcome.value, outcome.checked_at, outcome.clear_since, alert_id))
    return done


def _moved(live: Live | None, outcome: Outcome) -> bool:
    """Whether a live alert's stored state must be written: its clearing began or
    stopped, or its last check is an hour old (an alert is not rewritten for every batch;
    re-reading up to an hour again changes nothing)."""
    if live is None or outcome.clear_since != live.clear_since:
        return True
    checked = live.checked_at or live.opened_at
    return outcome.checked_at is not None and outcome.checked_at - checked >= HOUR


def _unit(cur: psycopg.Cursor, station: int, prop: str | None) -> str | None:
    if prop is None:
        return None
    cur.execute("SELECT unit FROM station_latest WHERE station_id = %s AND property = %s",
                (station, prop))
    row = cur.fetchone()
    return row[0] if row else None
