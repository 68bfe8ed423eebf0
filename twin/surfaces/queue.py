"""The queue of pollutant hours whose surfaces are due (table ``surface_pending``).

:func:`mark` runs inside every readings ingest transaction (``twin.ingest.derived``),
so this module imports nothing heavy; :mod:`twin.surfaces.pending` works the queue.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg import sql

from twin.readings_props import COUNTABLE

POLLUTANTS = ("pm25", "pm10", "no2")

_MARK = sql.SQL(
    "INSERT INTO surface_pending (variable, hour) SELECT DISTINCT property, "
    "date_trunc('hour', observed_at, 'UTC') FROM {new} WHERE property = ANY(%s) AND {ok} "
    "ON CONFLICT (variable, hour) DO UPDATE SET version = EXCLUDED.version, since = now()")


def mark(cur: psycopg.Cursor, new_rows: str) -> int:
    """Queue the pollutant hours of the readings in ``new_rows`` (this transaction's
    new readings); returns the number of hours queued or re-queued."""
    cur.execute(_MARK.format(new=sql.Identifier(new_rows), ok=sql.SQL(COUNTABLE)),
                (list(POLLUTANTS),))
    return cur.rowcount


def queued_version(conn: psycopg.Connection) -> int:
    """The newest version queued so far (0 when none): hours queued after this read are
    newer and survive :func:`clear_hours`."""
    return conn.execute("SELECT coalesce(max(version), 0) FROM surface_pending").fetchone()[0]


def clear_hours(conn: psycopg.Connection, variable: str, first: datetime, last: datetime,
                version: int) -> int:
    """Take the hours [first, last] of ``variable`` off the queue once a run made them,
    unless readings re-queued them after ``version``."""
    with conn.transaction():
        return conn.execute("DELETE FROM surface_pending WHERE variable = %s AND hour "
                            "BETWEEN %s AND %s AND version <= %s",
                            (variable, first, last, version)).rowcount
