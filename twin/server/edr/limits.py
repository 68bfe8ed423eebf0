"""Refusing requests that would return too many values, before running them.

The number of values is the planner's row estimate for the readings selection
(``EXPLAIN``: planning only, about a millisecond; per-partition statistics on station,
property and time), never a count, which would cost as much as the answer.
"""

from __future__ import annotations

import json

import psycopg
from psycopg import sql

from twin.server.errors import InvalidParameter


def estimate(conn: psycopg.Connection, readings: sql.Composable, params: dict) -> int:
    statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM ({}) r").format(readings)
    plan = conn.execute(statement, params).fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def check(conn: psycopg.Connection, readings: sql.Composable, params: dict,
          limit: int) -> None:
    """A 400 telling the user to narrow the request when it would return more than
    ``limit`` values."""
    expected = estimate(conn, readings, params)
    if expected > limit:
        raise InvalidParameter(
            f"the request would return about {expected:,} values, more than this server's "
            f"limit of {limit:,}; narrow datetime (a shorter interval), choose fewer "
            "parameters with parameter-name, or a smaller area")
