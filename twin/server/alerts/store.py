"""Reading and acknowledging alerts, reading and writing rules: SQL on a sync connection
(the routes call these on a worker thread)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from twin.alerts import loader
from twin.alerts.rules import Rule
from twin.alerts.store import event

FILTERS = ("state", "severity", "kind", "rule_id", "area", "agency", "subject")
COLUMNS = (
    "a.id, a.rule_id, a.subject, a.subject_kind, a.kind, a.severity, a.level, a.state, "
    "a.value, a.unit, a.title, a.description, a.opened_at, a.updated_at, a.acknowledged_at, "
    "a.acknowledged_by, a.ack_note, a.resolved_at, a.agency, a.area, "
    "ST_AsGeoJSON(a.geom, 6)::json AS geometry")


def _alert(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k != "geometry"}
    for key in ("opened_at", "updated_at", "acknowledged_at", "resolved_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    out["geometry"] = row["geometry"]
    return out


def list_alerts(conn: psycopg.Connection, where: dict[str, list[str]],
                at: tuple | None, limit: int) -> list[dict]:
    """Alerts, newest first; ``where``: column -> accepted values; ``at``: (lo, hi), the
    alerts active at some moment of it (opened_at <= hi and not resolved by lo)."""
    parts, args = [], []
    for col, values in where.items():
        parts.append(f"a.{col} = ANY(%s)")
        args.append(values)
    if at is not None:
        lo, hi = at
        if hi is not None:
            parts.append("a.opened_at <= %s")
            args.append(hi)
        if lo is not None:
            parts.append("(a.resolved_at IS NULL OR a.resolved_at > %s)")
            args.append(lo)
    sql = (f"SELECT {COLUMNS} FROM alerts a" + (" WHERE " + " AND ".join(parts) if parts
                                                  else "") + " ORDER BY a.opened_at DESC, "
           "a.id DESC LIMIT %s")
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(sql, [*args, limit])
        return [_alert(r) for r in cur.fetchall()]


def one_alert(conn: psycopg.Connection, alert_id: int) -> dict | None:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(f"SELECT {COLUMNS} FROM alerts a WHERE a.id = %s", (alert_id,))
        row = cur.fetchone()
        if row is None:
            return None
        out = _alert(row)
        cur.execute("SELECT at, transition, severity, value, actor, note FROM alert_events "
                    "WHERE alert_id = %s ORDER BY id", (alert_id,))
        out["events"] = [{**e, "at": e["at"].isoformat()} for e in cur.fetchall()]
        return out


class AckRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def acknowledge(conn: psycopg.Connection, alert_id: int, roles: frozenset[str], actor: str,
                note: str | None) -> dict | None:
    """Acknowledge, with its event, in one transaction: None for an unknown alert;
    :class:`AckRefused` (403 a role the rule does not name, 409 resolved or acknowledged)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT a.state, a.severity, a.value, r.spec -> 'ack_roles' FROM alerts a "
                    "JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = %s FOR UPDATE OF a",
                    (alert_id,))
        row = cur.fetchone()
        if row is None:
            return None
        state, severity, value, ack_roles = row
        if "admin" not in roles and not roles & set(ack_roles or []):
            raise AckRefused(403, f"alert {alert_id} may be acknowledged by "
                             f"{', '.join(ack_roles or ['admin'])} (and admin)")
        if state != "open":
            raise AckRefused(409, f"alert {alert_id} is {state}: only an open alert is "
                             "acknowledged")
        cur.execute("UPDATE alerts SET state = 'acknowledged', acknowledged_at = now(), "
                    "acknowledged_by = %s, ack_note = %s, updated_at = now() WHERE id = %s",
                    (actor, note, alert_id))
        cur.execute("SELECT now()")
        event(cur, alert_id, cur.fetchone()[0], "acknowledged", severity, value, actor, note)
    return one_alert(conn, alert_id)


def list_rules(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT id, spec, source, agency, enabled, created_by, created_at, "
                    "updated_at FROM alert_rules ORDER BY id")
        return [_rule(r) for r in cur.fetchall()]


def one_rule(conn: psycopg.Connection, rule_id: str) -> dict | None:
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute("SELECT id, spec, source, agency, enabled, created_by, created_at, "
                    "updated_at FROM alert_rules WHERE id = %s", (rule_id,))
        row = cur.fetchone()
        return _rule(row) if row else None


def _rule(row: dict) -> dict:
    return {**row, "created_at": row["created_at"].isoformat(),
            "updated_at": row["updated_at"].isoformat()}


def save_rule(conn: psycopg.Connection, rule: Rule, actor: str, *, create: bool) -> dict:
    """Check against the database and store (source ``api``), in one transaction."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('twin_alert_rules'))")
        cur.execute("SELECT source FROM alert_rules WHERE id = %s", (rule.id,))
        row = cur.fetchone()
        if create and row is not None:
            raise AckRefused(409, f"a rule {rule.id!r} exists: PUT changes it")
        loader.check(cur, rule)
        loader.store(cur, rule, "api", actor)
    return one_rule(conn, rule.id)


def delete_rule(conn: psycopg.Connection, rule_id: str) -> dict[str, Any]:
    """A rule that never raised an alert is deleted; one that did is disabled (its alerts
    keep their rule)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT EXISTS (SELECT 1 FROM alerts WHERE rule_id = %s)", (rule_id,))
        if cur.fetchone()[0]:
            cur.execute("UPDATE alert_rules SET enabled = false, updated_at = now(), "
                        "spec = jsonb_set(spec, '{enabled}', 'false') WHERE id = %s",
                        (rule_id,))
            return {"id": rule_id, "deleted": False, "enabled": False}
        cur.execute("DELETE FROM alert_rules WHERE id = %s", (rule_id,))
        return {"id": rule_id, "deleted": True}


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
