"""The readings write paths' two calls: what a batch touched (inside its transaction, from
the relation of the rows it inserted) and the evaluation of the rules on it (after commit).

Kept apart from the engine so that :mod:`twin.ingest` imports only this small module."""

from __future__ import annotations

from datetime import datetime

import psycopg

Touched = tuple[list[int], datetime, set[str]]   # stations, earliest time, properties


def touched(cur: psycopg.Cursor, relation: str) -> Touched | None:
    """The stations, earliest time and properties of the readings in ``relation``; None
    when no rule is enabled (then the batch costs one index probe)."""
    cur.execute("SELECT EXISTS (SELECT 1 FROM alert_rules WHERE enabled)")
    if not cur.fetchone()[0]:
        return None
    cur.execute("SELECT array_agg(DISTINCT station_id), min(observed_at), "
                f"array_agg(DISTINCT property) FROM {relation}")
    ids, lo, props = cur.fetchone()
    return (list(ids), lo, set(props)) if ids else None


def after_commit(conn: psycopg.Connection, batch: Touched | None) -> None:
    """Evaluate the rules on a committed batch (never raises: see the engine)."""
    if batch is None:
        return
    from twin.alerts.engine import after_readings

    after_readings(conn, batch)
