"""Published flood scenarios are never silently replaced: a version that a run (or a
restore) replaces is archived first, with an audit row, and ``twin flood restore`` puts
it back.

The archive keeps each replaced row of ``flood_extents`` and of the raster catalogue
(kind ``flood_depth``) in ``scenario_archive_rows``: its columns as JSON in ``props``
and its geometry in ``geom``, so the archive follows the layer file's fields without a
migration. The COG files of an archived run stay on disk (the run folder is never
reused). A restore archives the current version in turn, so it can itself be undone.

Runs in users' own spaces (:mod:`twin.naming`) are theirs to replace and not archived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from twin.naming import is_user_name

KIND = "flood_depth"
# (table, geometry column, rows of one scenario)
SOURCES = (("flood_extents", "geom", "scenario = :s"),
           ("rasters", "footprint", "kind = 'flood_depth' AND scenario = :s"))
_COLUMNS = text(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
    "AND table_name = :t AND is_generated = 'NEVER' AND is_identity = 'NO' "
    "AND column_name <> :g ORDER BY ordinal_position")


class RestoreError(ValueError):
    """Nothing to restore (no archived version of that scenario, or not that one)."""


@dataclass(frozen=True)
class Audit:
    """Who replaced what, through which process or command."""
    actor: str
    process_id: str
    agency: str | None = None
    method: str | None = None
    job_id: str | None = None
    inputs: dict = field(default_factory=dict)


def counts(conn: Connection, scenario: str) -> dict[str, int]:
    return {t: int(conn.execute(text(f"SELECT count(*) FROM {t} WHERE {w}"),
                                {"s": scenario}).scalar()) for t, _g, w in SOURCES}


def archive(conn: Connection, scenario: str, actor: str, reason: str) -> tuple[int | None, dict]:
    """Archive the scenario's current rows (in the caller's transaction); returns the
    archive id (None when there was nothing) and the counts."""
    found = counts(conn, scenario)
    if not any(found.values()):
        return None, found
    archive_id = conn.execute(text(
        "INSERT INTO scenario_archive (kind, scenario, actor, reason, counts) "
        "VALUES (:k, :s, :a, :r, CAST(:c AS jsonb)) RETURNING id"),
        {"k": KIND, "s": scenario, "a": actor, "r": reason, "c": json.dumps(found)}).scalar()
    for table, geom, where in SOURCES:
        conn.execute(text(
            f"INSERT INTO scenario_archive_rows (archive_id, source, props, geom) "
            f"SELECT :id, '{table}', to_jsonb(t) - '{geom}', t.{geom} FROM {table} t "
            f"WHERE {where}"), {"id": archive_id, "s": scenario})
    return archive_id, found


def audit_replacement(conn: Connection, audit: Audit, action: str, scenario: str,
                      replaced: dict, archive_id: int | None) -> None:
    conn.execute(text(
        "INSERT INTO process_audit (actor, agency, method, process_id, job_id, action, "
        "target, inputs, replaced, archive_id) VALUES (:actor, :agency, :method, :pid, "
        ":job, :action, :target, CAST(:inputs AS jsonb), CAST(:replaced AS jsonb), :aid)"),
        {"actor": audit.actor, "agency": audit.agency, "method": audit.method,
         "pid": audit.process_id, "job": audit.job_id, "action": action,
         "target": f"{KIND}:{scenario}", "inputs": json.dumps(audit.inputs, default=str),
         "replaced": json.dumps(replaced), "aid": archive_id})


def before_replace(conn: Connection, scenario: str, audit: Audit | None) -> int | None:
    """Called by a run about to replace ``scenario`` (inside its transaction): archive
    and audit a published scenario that has data; returns the archive id."""
    if is_user_name(scenario):
        return None
    audit = audit or Audit(actor="db:unknown", process_id="flood")
    archive_id, found = archive(conn, scenario, audit.actor, "replaced")
    if archive_id is not None:
        audit_replacement(conn, audit, "replace", scenario, found, archive_id)
    return archive_id


def _reinsert(conn: Connection, archive_id: int) -> None:
    for table, geom, _where in SOURCES:
        cols = [r[0] for r in conn.execute(_COLUMNS, {"t": table, "g": geom})]
        names = ", ".join(f'"{c}"' for c in cols)
        values = ", ".join("now()" if c == "created_at" and table == "rasters"
                           else f'(a.p)."{c}"' for c in cols)
        conn.execute(text(
            f"INSERT INTO {table} ({names}, {geom}) SELECT {values}, a.geom FROM ("
            f"SELECT jsonb_populate_record(NULL::{table}, r.props) AS p, r.geom "
            f"FROM scenario_archive_rows r WHERE r.archive_id = :id "
            f"AND r.source = '{table}') a"), {"id": archive_id})


def restore(engine: Engine, scenario: str, audit: Audit,
            archive_id: int | None = None) -> dict:
    """Put back the latest archived version of ``scenario`` (or ``archive_id``), in one
    transaction; the version it replaces is archived in turn."""
    with engine.begin() as conn:
        row = conn.execute(text(
            "SELECT id, counts FROM scenario_archive WHERE kind = :k AND scenario = :s "
            "AND restored_at IS NULL AND (CAST(:id AS bigint) IS NULL OR id = :id) "
            "ORDER BY at DESC, id DESC LIMIT 1 FOR UPDATE"),
            {"k": KIND, "s": scenario, "id": archive_id}).first()
        if row is None:
            raise RestoreError(f"no archived version of flood scenario {scenario!r}"
                               + (f" with archive id {archive_id}" if archive_id else ""))
        current_id, current = archive(conn, scenario, audit.actor, "restore")
        for table, _g, where in SOURCES:
            conn.execute(text(f"DELETE FROM {table} WHERE {where}"), {"s": scenario})
        _reinsert(conn, row[0])
        conn.execute(text("UPDATE scenario_archive SET restored_at = clock_timestamp() "
                          "WHERE id = :id"), {"id": row[0]})
        audit_replacement(conn, audit, "restore", scenario, current, current_id)
        return {"scenario": scenario, "restored_archive": row[0], "restored": row[1],
                "replaced": current, "replaced_archive": current_id}
