"""The generic core: "deliver this payload to this target, with retries".

A delivery is a row of ``deliveries`` (migration 0012): a stream and event id (what
produced it), a channel and target (where it goes), the payload. Any producer enqueues
with :func:`enqueue`; dispatchers :func:`claim` due rows (``FOR UPDATE SKIP LOCKED``,
so any number of processes share the work; the claim moves ``next_attempt_at`` a lease
ahead and counts the attempt, so a dispatcher that dies mid-delivery leaves the row to
another once the lease ends) and :func:`record` each outcome: delivered, retried after
a back-off, or dead. Every attempt is kept in ``delivery_attempts``.

Delivered and dead deliveries (and their attempts) are removed
``TWIN_DELIVERIES_KEEP_DAYS`` after their last change by the retention the dispatchers
apply (:mod:`twin.db.retention`); a pending one is never removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

STATUSES = ("pending", "delivered", "dead")
CHANNELS = ("mqtt", "webhook")
RETRY_NOTICE = "twin_deliveries"  # pg_notify channel: a dead letter is pending again
COLUMNS = ("id, stream, event_id, channel, target, event_type, payload, status, attempts, "
           "next_attempt_at, last_error, last_status, created_at, updated_at, delivered_at")


@dataclass(frozen=True)
class Claimed:
    id: int
    stream: str
    event_id: int
    channel: str
    target: str
    event_type: str
    payload: dict
    attempts: int  # this one included


@dataclass(frozen=True)
class Outcome:
    ok: bool
    started: datetime
    finished: datetime
    error: str | None = None
    http_status: int | None = None
    retry_in: float | None = None  # seconds; None on a failure = dead letter


async def enqueue(conn: psycopg.AsyncConnection, stream: str, event_id: int, channel: str,
                  target: str, event_type: str, payload: dict, *,
                  dead_because: str | None = None) -> None:
    """A delivery of ``payload``, once per (stream, event, channel, target); born dead
    (with the reason) when it cannot be attempted at all, e.g. a secret not set."""
    await conn.execute(
        "INSERT INTO deliveries (stream, event_id, channel, target, event_type, payload, "
        "status, last_error) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (stream, event_id, channel, target) DO NOTHING",
        (stream, event_id, channel, target, event_type, Jsonb(payload),
         "dead" if dead_because else "pending", dead_because))


async def claim(conn: psycopg.AsyncConnection, channels: list[str], limit: int,
                lease_s: float) -> list[Claimed]:
    """Due pending deliveries on ``channels``, claimed for ``lease_s`` seconds (committed)."""
    async with conn.transaction():
        cur = await conn.execute(
            "UPDATE deliveries d SET attempts = d.attempts + 1, updated_at = clock_timestamp(), "
            "next_attempt_at = clock_timestamp() + make_interval(secs => %s) "
            "FROM (SELECT id FROM deliveries WHERE status = 'pending' "
            "      AND next_attempt_at <= clock_timestamp() AND channel = ANY(%s) "
            "      ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) c "
            "WHERE d.id = c.id RETURNING d.id, d.stream, d.event_id, d.channel, d.target, "
            "d.event_type, d.payload, d.attempts",
            (lease_s, channels, limit))
        rows = await cur.fetchall()
    return sorted((Claimed(*row) for row in rows), key=lambda c: c.id)


def status_of(outcome: Outcome) -> str:
    return "delivered" if outcome.ok else ("pending" if outcome.retry_in is not None
                                           else "dead")


async def record(conn: psycopg.AsyncConnection,
                 results: list[tuple[Claimed, Outcome]]) -> list[str]:
    """Store the attempts and the deliveries' new statuses, in one transaction; returns
    the statuses."""
    statuses = [status_of(outcome) for _claimed, outcome in results]
    if not results:
        return statuses
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO delivery_attempts (delivery_id, started_at, finished_at, ok, "
            "http_status, error) VALUES (%s, %s, %s, %s, %s, %s)",
            [(c.id, o.started, o.finished, o.ok, o.http_status, o.error) for c, o in results])
        await cur.executemany(
            "UPDATE deliveries SET status = %s, updated_at = clock_timestamp(), "
            "last_error = CASE WHEN %s THEN last_error ELSE %s END, "
            "last_status = coalesce(%s, last_status), "
            "delivered_at = CASE WHEN %s THEN clock_timestamp() END, "
            "next_attempt_at = clock_timestamp() + make_interval(secs => %s) "
            "WHERE id = %s AND status = 'pending'",
            [(status, o.ok, o.error, o.http_status, o.ok, o.retry_in or 0, c.id)
             for (c, o), status in zip(results, statuses, strict=True)])
    return statuses


async def due_in(conn: psycopg.AsyncConnection, channels: list[str]) -> float | None:
    """Seconds until the next pending delivery on ``channels`` is due (None: none)."""
    cur = await conn.execute(
        "SELECT extract(epoch FROM min(next_attempt_at) - clock_timestamp()) "
        "FROM deliveries WHERE status = 'pending' AND channel = ANY(%s)", (channels,))
    row = await cur.fetchone()
    await conn.commit()
    return None if row[0] is None else max(0.0, float(row[0]))


async def hurry(conn: psycopg.AsyncConnection, channel: str) -> None:
    """Make every pending delivery on ``channel`` due now (its target came back)."""
    async with conn.transaction():
        await conn.execute(
            "UPDATE deliveries SET next_attempt_at = clock_timestamp() "
            "WHERE status = 'pending' AND channel = %s AND attempts > 0 "
            "AND next_attempt_at > clock_timestamp()", (channel,))


def row_json(row: tuple) -> dict[str, Any]:
    """A ``deliveries`` row (``COLUMNS``) as JSON for the admin listing."""
    out = dict(zip(COLUMNS.split(", "), row, strict=True))
    for key in ("next_attempt_at", "created_at", "updated_at", "delivered_at"):
        out[key] = out[key].isoformat() if out[key] else None
    return out
