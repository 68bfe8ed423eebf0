"""Alert events become deliveries: the producer side of the outbox for issue 18.

One dispatcher at a time fans out (the ``notify_cursors`` row of the stream, locked
``FOR UPDATE SKIP LOCKED``): each new ``alert_events`` row, with its alert and its
rule's ``notify`` ({"webhooks": [...], "mqtt": true, "languages": [...]}), becomes one
MQTT delivery (when a broker is configured and the rule does not turn MQTT off) and one
webhook delivery per endpoint the rule names, in one transaction with the record that
the event was fanned out. Identity ids are not commit order, so events are found by
"not fanned out yet" above a low-water mark; the mark trails the newest fanned event
by ``LOW_WATER_LAG`` (an event whose transaction stays open longer is not delivered).
"""

from __future__ import annotations

import psycopg

from twin.notify.config import Endpoint
from twin.notify.outbox import enqueue

STREAM = "alert_events"
LOW_WATER_LAG = "5 minutes"

ALERT_JSON = (
    "json_build_object('id', a.id, 'rule', a.rule_id, 'subject', a.subject, "
    "'subject_kind', a.subject_kind, 'kind', a.kind, 'severity', a.severity, "
    "'level', a.level, 'state', a.state, 'value', a.value, 'unit', a.unit, "
    "'title', a.title, 'description', a.description, 'opened_at', a.opened_at, "
    "'updated_at', a.updated_at, 'acknowledged_at', a.acknowledged_at, "
    "'acknowledged_by', a.acknowledged_by, 'ack_note', a.ack_note, "
    "'resolved_at', a.resolved_at, 'geometry', ST_AsGeoJSON(a.geom, 6)::json)")
EVENT_JSON = (
    "json_build_object('id', e.id, 'transition', e.transition, 'at', e.at, "
    "'severity', e.severity, 'value', e.value, 'actor', e.actor, 'note', e.note)")
EVENTS_SQL = (
    f"SELECT e.id, e.transition, {EVENT_JSON}, {ALERT_JSON}, r.spec -> 'notify' "
    "FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
    "JOIN alert_rules r ON r.id = a.rule_id ")
PRIVATE_ALERT = ("acknowledged_by", "ack_note")
PRIVATE_EVENT = ("actor", "note")


def message(event: dict, alert: dict) -> dict:
    """The JSON every channel carries for one event: the alert with its transition."""
    return {"type": f"alert.{event['transition']}", "event": event, "alert": alert}


def public_message(msg: dict) -> dict:
    """``msg`` without who acknowledged and their notes (for anonymous readers)."""
    alert = {k: v for k, v in msg["alert"].items() if k not in PRIVATE_ALERT}
    event = {k: v for k, v in msg["event"].items() if k not in PRIVATE_EVENT}
    return {**msg, "alert": alert, "event": event}


def in_languages(msg: dict, languages) -> dict:
    """``msg`` with title and description kept in ``languages`` only (all when none)."""
    if not languages:
        return msg
    alert = dict(msg["alert"])
    for key in ("title", "description"):
        if isinstance(alert.get(key), dict):
            alert[key] = {lang: text for lang, text in alert[key].items() if lang in languages}
    return {**msg, "alert": alert}


async def _enqueue_event(conn, event_id: int, msg: dict, notify: dict, *,
                         endpoints: dict[str, Endpoint], mqtt_topic: str | None) -> None:
    if mqtt_topic and notify.get("mqtt", True) is not False:
        await enqueue(conn, STREAM, event_id, "mqtt", mqtt_topic, msg["type"], msg)
    body = in_languages(msg, notify.get("languages"))
    for name in notify.get("webhooks") or []:
        endpoint = endpoints.get(name)
        why = (f"no webhook endpoint {name!r} in the webhooks: section" if endpoint is None
               else None if endpoint.secret else
               f"the environment variable {endpoint.secret_env} (the secret) is not set")
        await enqueue(conn, STREAM, event_id, "webhook", name, msg["type"], body,
                      dead_because=why)


async def fan_out(conn: psycopg.AsyncConnection, *, endpoints: dict[str, Endpoint],
                  mqtt_topic: str | None, limit: int = 500) -> int:
    """Turn up to ``limit`` new alert events into deliveries; returns how many events."""
    async with conn.transaction():
        cur = await conn.execute("SELECT last_id FROM notify_cursors WHERE stream = %s "
                                 "FOR UPDATE SKIP LOCKED", (STREAM,))
        row = await cur.fetchone()
        if row is None:  # another dispatcher is fanning out
            return 0
        cur = await conn.execute(
            EVENTS_SQL + "WHERE e.id > %s AND NOT EXISTS (SELECT 1 FROM notify_fanned f "
            "WHERE f.stream = %s AND f.event_id = e.id) ORDER BY e.id LIMIT %s",
            (row[0], STREAM, limit))
        events = await cur.fetchall()
        for event_id, _transition, event, alert, notify in events:
            await _enqueue_event(conn, event_id, message(event, alert), notify or {},
                                 endpoints=endpoints, mqtt_topic=mqtt_topic)
        if events:
            await conn.execute("INSERT INTO notify_fanned (stream, event_id) "
                               "SELECT %s, unnest(%s::bigint[])",
                               (STREAM, [e[0] for e in events]))
        await conn.execute(
            "WITH mark AS (SELECT max(event_id) AS id FROM notify_fanned WHERE stream = %s "
            f"AND at < clock_timestamp() - interval '{LOW_WATER_LAG}') "
            "UPDATE notify_cursors SET last_id = mark.id, updated_at = clock_timestamp() "
            "FROM mark WHERE stream = %s AND mark.id > last_id", (STREAM, STREAM))
        await conn.execute("DELETE FROM notify_fanned WHERE stream = %s AND event_id <= "
                           "(SELECT last_id FROM notify_cursors WHERE stream = %s)",
                           (STREAM, STREAM))
    return len(events)


async def current_alert(conn: psycopg.AsyncConnection, alert_id: int) -> dict | None:
    """The alert as JSON now (None if it does not exist)."""
    cur = await conn.execute(f"SELECT {ALERT_JSON} FROM alerts a WHERE a.id = %s",
                             (alert_id,))
    row = await cur.fetchone()
    return row[0] if row else None
