"""AQI over a share of a ward's surface (``aqi_area`` rules): evaluated when hourly
air-quality surfaces are stored (:func:`twin.surfaces.run.make_surfaces` and the pending
queue, after their commit) and by ``twin alerts evaluate``.

Each stored hour of the published series (no scenario) of the rule's pollutant is a
point per ward: the ward is the ``admin_areas`` row of that name or code in force at the
hour (validity); its cells are the surface cells whose centre lies inside it; the share is
the cells whose concentration falls in AQI class ``at_least`` or worse (sub-index of the
scale's breakpoints, rounded half up, as at stations) over the ward's cells with a value.
Active above ``share_pct``, clear at or under ``clear_share_pct``; the state machine of
the other rules walks the hours (duration, hysteresis); the alert's geometry is the ward's.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import rasterio
from psycopg.types.json import Jsonb
from rasterio.features import geometry_mask
from shapely import wkb

from twin.alerts import texts
from twin.alerts.engine import EPOCH, Summary, _durations, _since, evaluate_kind
from twin.alerts.machine import Point, run
from twin.alerts.store import Loaded, follow
from twin.analysis.aqi import round_half_up
from twin.analysis.aqi_breakpoints import sub_index
from twin.analysis.aqi_classes import levels

log = logging.getLogger("twin.alerts")
HOUR = timedelta(hours=1)
KIND = "air_quality"


def class_share(values: np.ndarray, inside: np.ndarray, pollutant: str, scale: str,
                at_least: int) -> float | None:
    """Per cent of the cells ``inside`` with a value whose AQI class is ``at_least`` or
    worse; None when none has a value."""
    v = np.asarray(values, dtype=float)[inside]
    sub = sub_index(v[np.isfinite(v)], pollutant, scale)
    sub = np.atleast_1d(sub)
    sub = sub[np.isfinite(sub)]
    if sub.size == 0:
        return None
    return 100.0 * float(np.count_nonzero(levels(round_half_up(sub)) >= at_least)) / sub.size


def _wards(cur: psycopg.Cursor, names: list[str], srid: int) -> list[tuple]:
    """(name, valid_from, valid_to, geometry in ``srid``, EWKB in 4326) of every version."""
    cur.execute("SELECT name, valid_from, valid_to, ST_AsBinary(ST_Transform(geom, %s)), "
                "ST_AsEWKB(ST_Multi(geom)) FROM admin_areas WHERE name = ANY(%s) OR "
                "code = ANY(%s)", (srid, names, names))
    return cur.fetchall()


def _in_force(version: tuple, t: datetime) -> bool:
    lo, hi = version[1], version[2]
    day = t.date()
    return (lo is None or _day(lo) <= day) and (hi is None or day < _day(hi))


def _day(v):
    return v.date() if isinstance(v, datetime) else v


def _points(cur: psycopg.Cursor, rule, since: datetime) -> tuple[dict, dict]:
    """Ward name -> its points from ``since`` on; ward name -> its latest EWKB."""
    c = rule.condition
    cur.execute("SELECT valid_time, path, crs FROM rasters WHERE kind = %s AND variable = %s "
                "AND scenario IS NULL AND valid_time >= %s ORDER BY valid_time",
                (KIND, c.pollutant, since))
    hours = cur.fetchall()
    out: dict[str, list[Point]] = {}
    shapes: dict[str, bytes] = {}
    masks: dict[tuple, np.ndarray] = {}
    cached: dict[int, list[tuple]] = {}
    clear = c.share_pct if c.clear_share_pct is None else c.clear_share_pct
    for t, path, crs in hours:
        srid = int(str(crs).split(":")[-1])
        versions = cached.setdefault(srid, _wards(cur, list(rule.subject.wards), srid))
        with rasterio.open(path) as src:
            values = src.read(1, masked=True).filled(np.nan)
            transform, shape = src.transform, (src.height, src.width)
        for version in versions:
            if not _in_force(version, t):
                continue
            name = version[0]
            key = (name, version[1], path.rsplit("/", 1)[0], transform, shape)
            if key not in masks:
                masks[key] = geometry_mask([wkb.loads(bytes(version[3]))], shape, transform,
                                           invert=True)
            share = class_share(values, masks[key], c.pollutant, c.scale, c.at_least)
            if share is None:
                continue
            shapes[name] = bytes(version[4])
            out.setdefault(name, []).append(Point(0, t, t + HOUR, share > c.share_pct,
                                                  share <= clear, round(share, 1), None,
                                                  rule.severity))
    return out, shapes


def evaluate_areas(conn: psycopg.Connection, pollutant: str | None = None,
                   lo: datetime = EPOCH) -> Summary:
    """The ``aqi_area`` rules (on ``pollutant``, or all) over the hours from ``lo`` on
    (and from where each live alert's state is known), in one transaction."""
    return evaluate_kind(conn, lambda rule: rule.condition.kind == "aqi_area"
                         and pollutant in (None, rule.condition.pollutant),
                         lambda cur, loaded, lives, resolved:
                         _rule(cur, loaded, lives, resolved, lo))


def _rule(cur: psycopg.Cursor, loaded: Loaded, lives: dict, resolved: dict,
          lo: datetime) -> list:
    rule, done = loaded.rule, []
    for_s, clear_s = _durations(rule)
    starts = {w: _since(rule, lives.get((rule.id, w)), resolved.get((rule.id, w)), lo)
              for w in _names(cur, rule)}
    if not starts:
        return done
    points, shapes = _points(cur, rule, min(s[0] for s in starts.values()))
    for ward, pts in points.items():
        if ward not in starts:
            continue
        start, live, emit_after = starts[ward]
        outcome = run([p for p in pts if p.start >= start], live, for_s, clear_s, emit_after)
        done += follow(cur, outcome, live.id if live else None,
                       lambda v, ward=ward: texts.description(rule, ward, v, None, "%"),
                       lambda t, desc, ward=ward: _open(cur, loaded, ward, shapes[ward], t, desc))
    return done


def _names(cur: psycopg.Cursor, rule) -> list[str]:
    """The wards' names (a rule may give codes), logging those the database lacks."""
    found = []
    for name in rule.subject.wards:
        cur.execute("SELECT DISTINCT name FROM admin_areas WHERE name = %s OR code = %s",
                    (name, name))
        rows = [r[0] for r in cur.fetchall()]
        if not rows:
            log.warning("rule %r, field subject.wards: unknown area %r (not evaluated)",
                        rule.id, name)
        found += rows
    return found


def _open(cur: psycopg.Cursor, loaded: Loaded, ward: str, shape: bytes, t, desc
          ) -> int | None:
    cur.execute(
        "INSERT INTO alerts (rule_id, subject, subject_kind, kind, severity, state, value, "
        "unit, title, description, geom, opened_at, updated_at, agency, area, checked_at) "
        "VALUES (%s, %s, 'area', 'aqi_area', %s, 'open', %s, '%%', %s, %s, "
        "ST_GeomFromEWKB(%s), %s, %s, %s, %s, %s) ON CONFLICT (rule_id, subject) "
        "WHERE state <> 'resolved' DO NOTHING RETURNING id",
        (loaded.rule.id, ward, t.severity, t.value, Jsonb(texts.title(loaded.rule)), desc,
         shape, t.at, t.at, loaded.agency, ward, t.at))
    found = cur.fetchone()
    return found[0] if found else None


def after_surfaces(conn: psycopg.Connection, variable: str, hours: list) -> None:
    """The hook of stored surface hours, after their commit: never raises."""
    if not hours:
        return
    try:
        lo = min(_as_dt(h) for h in hours)
        evaluate_areas(conn, variable, lo)
    except Exception:  # the surfaces are stored; twin alerts evaluate catches up
        log.exception("evaluating the aqi_area rules of %s failed", variable)


def _as_dt(h) -> datetime:
    """A summary's hour (``2026-10-20T01:00:00Z`` or a datetime) as an aware UTC time."""
    t = h if isinstance(h, datetime) else datetime.fromisoformat(str(h))
    return t if t.tzinfo else t.replace(tzinfo=UTC)
