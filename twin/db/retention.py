"""Retention of the change log and of the notify outbox's deliveries (issues 19 and 18).

Both grow with every write and every notification. :func:`prune` removes, in batches
of ``batch`` rows (each its own short transaction, so writers and readers are never held
up for long):

- changes committed more than ``TWIN_CHANGES_KEEP_DAYS`` ago (``change_log`` rows, then
  their ``change_commits``), oldest commits first, each batch read along indexes (a
  backlog of millions costs no sort per batch). Per layer, the greatest position
  (commit seq, log id) and commit time removed goes to ``change_pruned`` in the same
  statement, so a change feed reader whose cursor is older is told the truth (410 Gone:
  copy the layer again) instead of silently missing changes (:data:`PRUNED_SQL`,
  :func:`gone_since`). Whatever order a batch removes rows in, a reader that lost a
  change is behind that mark: the check is never lossy (at worst, mid-way through a
  commit larger than a batch, a reader is sent to copy again one batch early);
- delivered and dead deliveries (alerts' and subscriptions', their attempts with them)
  whose last change is older than ``TWIN_DELIVERIES_KEEP_DAYS``. Pending deliveries,
  retried or not yet tried, are never removed.

A keep of 0 days keeps for ever. Two pruners at once take turns on an advisory lock
(the second returns at once). The notify dispatchers run :func:`keep_pruning` every
``TWIN_PRUNE_EVERY_S``; ``twin db prune`` runs it once and prints what it removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

LOCK = "hashtext('twin_retention')"
BATCH = 5000

PRUNE_CHANGES = """
WITH old AS (
  SELECT c.seq, c.xid, c.at FROM change_commits c WHERE c.at < %(cutoff)s
  AND EXISTS (SELECT 1 FROM change_log l WHERE l.xid = c.xid) ORDER BY c.seq
  LIMIT %(batch)s),
doomed AS (
  SELECT l.id, l.layer, o.seq, o.at FROM old o CROSS JOIN LATERAL (
    SELECT id, layer FROM change_log WHERE xid = o.xid ORDER BY layer, id
    LIMIT %(batch)s) l
  LIMIT %(batch)s),
gone AS (
  DELETE FROM change_log l USING doomed d WHERE l.id = d.id
  RETURNING d.layer, d.seq, d.id, d.at),
last AS (
  SELECT DISTINCT ON (layer) layer, seq, id, at FROM gone ORDER BY layer, seq DESC, id DESC),
mark AS (
  INSERT INTO change_pruned AS p (layer, seq, id, at) SELECT layer, seq, id, at FROM last
  ON CONFLICT (layer) DO UPDATE SET seq = EXCLUDED.seq, id = EXCLUDED.id, at = EXCLUDED.at,
    pruned_at = clock_timestamp()
  WHERE (p.seq, p.id) < (EXCLUDED.seq, EXCLUDED.id))
SELECT count(*) FROM gone
"""

# commits whose changes are all gone (a commit may hold many more changes than a batch)
PRUNE_COMMITS = """
WITH gone AS (
  DELETE FROM change_commits WHERE seq IN (
    SELECT c.seq FROM change_commits c WHERE c.at < %(cutoff)s
    AND NOT EXISTS (SELECT 1 FROM change_log l WHERE l.xid = c.xid)
    ORDER BY c.seq LIMIT %(batch)s)
  RETURNING 1)
SELECT count(*) FROM gone
"""

PRUNE_DELIVERIES = """
WITH gone AS (
  DELETE FROM deliveries WHERE id IN (
    SELECT id FROM deliveries WHERE status <> 'pending' AND updated_at < %(cutoff)s
    ORDER BY updated_at LIMIT %(batch)s)
  RETURNING id, status),
attempts AS (
  DELETE FROM delivery_attempts WHERE delivery_id IN (SELECT id FROM gone) RETURNING 1)
SELECT count(*), count(*) FILTER (WHERE status = 'delivered'),
       count(*) FILTER (WHERE status = 'dead'), (SELECT count(*) FROM attempts)
FROM gone
"""


@dataclass
class Pruned:
    """What one :func:`prune` removed (``ran``: False when another pruner held the lock)."""

    changes: int = 0
    commits: int = 0
    delivered: int = 0
    dead: int = 0
    attempts: int = 0
    ran: bool = True

    def summary(self) -> str:
        if not self.ran:
            return "another prune is running; nothing done"
        return (f"{self.changes} changes in {self.commits} commits, {self.delivered} "
                f"delivered and {self.dead} dead deliveries ({self.attempts} attempts)")


def cutoff(days: int, now: datetime | None = None) -> datetime | None:
    """The time before which rows go (None: keep for ever)."""
    return None if days <= 0 else (now or datetime.now(UTC)) - timedelta(days=days)


def _batches(conn: psycopg.Connection, query: str, before: datetime, batch: int) -> list[int]:
    """Run ``query`` until a batch removes fewer than ``batch`` rows (its first count);
    the counts summed."""
    totals: list[int] = []
    while True:
        with conn.transaction():
            row = conn.execute(query, {"cutoff": before, "batch": batch}).fetchone()
        counts = [int(v) for v in row] if row is not None else [0]
        totals = [a + b for a, b in zip(totals or [0] * len(counts), counts, strict=True)]
        if counts[0] < batch:
            return totals


def prune(conn: psycopg.Connection, *, changes_days: int, deliveries_days: int,
          batch: int = BATCH, now: datetime | None = None) -> Pruned:
    """Apply both retentions on ``conn``, an autocommit connection (each batch is a
    transaction of its own)."""
    if not conn.execute(f"SELECT pg_try_advisory_lock({LOCK})").fetchone()[0]:
        return Pruned(ran=False)
    out = Pruned()
    try:
        changes_before = cutoff(changes_days, now)
        if changes_before is not None:
            out.changes = _batches(conn, PRUNE_CHANGES, changes_before, batch)[0]
            out.commits = _batches(conn, PRUNE_COMMITS, changes_before, batch)[0]
        deliveries_before = cutoff(deliveries_days, now)
        if deliveries_before is not None:
            _all, out.delivered, out.dead, out.attempts = _batches(
                conn, PRUNE_DELIVERIES, deliveries_before, batch)
    finally:
        conn.execute(f"SELECT pg_advisory_unlock({LOCK})")
    return out


# the last change of a layer removed by retention: (seq, log id, commit time) or no row
PRUNED_SQL = "SELECT seq, id, at FROM change_pruned WHERE layer = %s"


def gone_since(mark: tuple | None, *, seq: int | None = None, ident: int = 0,
               since: datetime | None = None) -> datetime | None:
    """The commit time before which a reader resuming after ``(seq, ident)`` (a cursor)
    or after ``since`` lost changes to retention (``mark``: the layer's
    :data:`PRUNED_SQL` row); None when it lost none. A reader whose position is the
    last pruned change itself read it before it went."""
    if mark is None:
        return None
    mark_seq, mark_id, mark_at = mark
    if since is not None:
        return mark_at if since < mark_at else None
    return mark_at if (seq or 0, ident) < (mark_seq, mark_id) else None
