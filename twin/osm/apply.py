"""Write an import in one transaction, through the loaders' own staging table, merge
(upsert: an unchanged feature keeps its version, a changed one gets a new version in its
history) and nearest-road linking (:mod:`twin.ingest.vector`).

Only OSM features are touched (ids ``osm-n…``, ``osm-w…``, ``osm-r…``): what agencies
entered by hand never is, nor are fields the ``osm:`` block does not fill (an inspector's
``condition`` on an OSM road survives every import). A full import deletes the OSM
features its file no longer holds; a change file only those of the objects it touched. A
refused object keeps the features it had. One ``load_runs`` row records the import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from sqlalchemy import Engine

from twin.ingest.errors import LoadError
from twin.ingest.vector import (
    LoadSummary,
    Prepared,
    copy_rows,
    link_nearest,
    merge,
    staging_table,
    touched_tables,
)
from twin.osm.features import OSM_ID_SQL, Built
from twin.osm.relations import Links
from twin.osm.report import ImportReport
from twin.registry import Registry

KEY_SQL = "substring(external_id from '^(osm-[nwr][0-9]+)')"
BULK_ROWS = 50_000
StoreWriter = Callable[[psycopg.Cursor], None]


def _keys_table(cur: psycopg.Cursor, builts: list[Built]) -> None:
    cur.execute("CREATE TEMP TABLE _osm_keys (layer text, key text, kind text) ON COMMIT DROP")
    with cur.copy("COPY _osm_keys FROM STDIN") as copy:
        for built in builts:
            for key in built.refused:
                copy.write_row((built.layer.name, key, "refused"))
            for key in built.scope or ():
                copy.write_row((built.layer.name, key, "scope"))
    cur.execute("CREATE INDEX ON _osm_keys (layer, kind, key)")


def _in_scope(built: Built) -> str:
    """SQL (on a layer table's rows) for the OSM features this import may change."""
    name = built.layer.name.replace("'", "''")
    sql = (f"external_id ~ '{OSM_ID_SQL}' AND {KEY_SQL} NOT IN (SELECT key FROM _osm_keys "
           f"WHERE layer = '{name}' AND kind = 'refused')")
    if built.scope is not None:
        sql += (f" AND {KEY_SQL} IN (SELECT key FROM _osm_keys WHERE layer = '{name}' "
                "AND kind = 'scope')")
    return sql


def _keep_unmapped(cur: psycopg.Cursor, built: Built) -> None:
    """Fields the osm: block does not fill keep their stored values."""
    layer = built.layer
    kept = [f for f in layer.fields if f not in layer.osm.fields]
    if not kept:
        return
    cols = ", ".join(kept)
    old = ", ".join(f"t.{c}" for c in kept)
    cur.execute(f"UPDATE _twin_stage s SET ({cols}) = ROW({old}) FROM {layer.table} t "
                "WHERE t.external_id = s.external_id")


def _refused_keys(cur: psycopg.Cursor, built: Built) -> None:
    with cur.copy("COPY _osm_keys FROM STDIN") as copy:
        for key in built.refused:
            copy.write_row((built.layer.name, key, "refused"))


def _merge(cur: psycopg.Cursor, built: Built, names: list[str], staged: int) -> int:
    """The loaders' merge; a large import into a (nearly) empty table drops the spatial
    index and builds it again after (a GiST index built at once is several times faster
    than one grown row by row). The table is locked until the import commits."""
    table = built.layer.table
    cur.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,))
    rows = max(cur.fetchone()[0], 0)
    index = f"ix_{table}_geom"
    cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s AND tablename = %s",
                (index, table))
    found = cur.fetchone()
    bulk = found is not None and staged >= BULK_ROWS and rows * 4 < staged
    if bulk:
        cur.execute(f'DROP INDEX "{index}"')
    written, _ = merge(cur, built.layer, names, "upsert")
    if bulk:
        cur.execute(found[0])
    if written > max(rows, 1000) / 10:   # the statistics changed: plan the deletes on them
        cur.execute(f'ANALYZE "{table}"')
    return written


def write_layer(cur: psycopg.Cursor, built: Built, registry: Registry,
                report: ImportReport) -> None:
    layer = built.layer
    counts = report.counts(layer.name)
    names = staging_table(cur, layer)
    summary = LoadSummary(layer.name, report.source, "upsert")
    staged = 0
    for piece in (built.pieces if built.pieces is not None else [built]):
        copy_rows(cur, Prepared(layer, piece.ids, piece.values, piece.wkb, summary), names)
        staged += len(piece.ids)
    # A temp table has no statistics and no index: without them a join on a large import
    # can be planned as a nested loop over both tables.
    cur.execute("CREATE INDEX ON _twin_stage (external_id)")
    cur.execute("ANALYZE _twin_stage")
    _refused_keys(cur, built)
    _keep_unmapped(cur, built)
    cur.execute(f"SELECT count(*) FROM _twin_stage s JOIN {layer.table} t USING (external_id)")
    existing = cur.fetchone()[0]
    try:
        written = _merge(cur, built, names, staged)
        cur.execute(f"DELETE FROM {layer.table} t WHERE {_in_scope(built)} AND NOT EXISTS "
                    "(SELECT 1 FROM _twin_stage s WHERE s.external_id = t.external_id)")
        counts.deleted += cur.rowcount
    except psycopg.errors.ForeignKeyViolation as exc:
        raise LoadError(f"{layer.name}: features that other tables refer to would be "
                        f"removed ({exc.diag.message_detail})") from None
    except psycopg.errors.CheckViolation as exc:
        raise LoadError(f"{layer.name}: a row breaks the constraint "
                        f"{exc.diag.constraint_name}") from None
    created = staged - existing
    counts.created += created
    counts.updated += written - created
    counts.unchanged += existing - (written - created)
    link_nearest(cur, layer, registry)
    cur.execute("DROP TABLE _twin_stage")


def drop_links(cur: psycopg.Cursor, routes: Built) -> None:
    """The stop lists of the OSM routes this import rebuilds (before stops may go)."""
    cur.execute(f"DELETE FROM bus_route_stops WHERE route_id IN (SELECT id FROM "
                f"{routes.layer.table} WHERE {_in_scope(routes)})")


def write_links(cur: psycopg.Cursor, links: Links, report: ImportReport, routes: Built,
                stops_table: str) -> None:
    cur.execute("CREATE TEMP TABLE _osm_links (route text, direction int, seq int, stop text) "
                "ON COMMIT DROP")
    with cur.copy("COPY _osm_links FROM STDIN") as copy:
        for row in links.rows:
            copy.write_row(row)
    cur.execute(f"SELECT l.route, l.stop FROM _osm_links l JOIN {routes.layer.table} r "
                f"ON r.external_id = l.route LEFT JOIN {stops_table} s ON s.external_id = l.stop "
                "WHERE s.id IS NULL ORDER BY l.route, l.direction, l.seq")
    for route, stop in cur.fetchall():
        report.add("repaired", routes.layer.name, route[4:], f"stop {stop[4:]} is not a bus "
                   "stop of the twin: left out of the stop list")
    cur.execute(
        "INSERT INTO bus_route_stops (route_id, direction, sequence, stop_id) "
        "SELECT r.id, l.direction, row_number() OVER (PARTITION BY r.id, l.direction "
        f"ORDER BY l.seq), s.id FROM _osm_links l JOIN {routes.layer.table} r "
        f"ON r.external_id = l.route JOIN {stops_table} s ON s.external_id = l.stop")
    report.notes.append(f"bus_route_stops: {cur.rowcount} stops in order on the routes")
    cur.execute("DROP TABLE _osm_links")


def lock(cur: psycopg.Cursor) -> None:
    """One OSM import at a time (a second waits for the first to commit)."""
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('twin_osm_import'))")


def check_strict(report: ImportReport, strict: bool) -> None:
    if strict and report.refused:
        raise LoadError(f"{report.refused} OSM object(s) refused (--strict): nothing was "
                        "written", [i.line() for i in report.of("refused")])


def apply(engine: Engine, registry: Registry, builts: list[Built], links: Links | None,
          store: StoreWriter, report: ImportReport, strict: bool) -> None:
    """Everything in one transaction, or nothing (``strict``: nothing when any refusal)."""
    check_strict(report, strict)
    with engine.begin() as conn, conn.connection.driver_connection.cursor() as cur:
        lock(cur)
        store(cur)
        apply_in(cur, registry, builts, links, report, strict)
    analyze_after(engine, builts)


def analyze_after(engine: Engine, builts: list[Built]) -> None:
    """Fresh planner statistics for the layers a whole import rewrote, after its commit,
    as every load does (:mod:`twin.ingest.analyze`). A change file touches a few rows:
    autovacuum is enough there."""
    from twin.ingest.analyze import vacuum_analyze

    vacuum_analyze(engine, [t for b in builts for t in touched_tables(b.layer)])


def apply_in(cur: psycopg.Cursor, registry: Registry, builts: list[Built],
             links: Links | None, report: ImportReport, strict: bool = False) -> None:
    """The layers, the route stops and the load_runs row, in the caller's transaction."""
    started = datetime.now(UTC)
    by_name = {b.layer.name: b for b in builts}
    routes = by_name.get("bus_routes") if links is not None else None
    _keys_table(cur, builts)
    if routes is not None:
        drop_links(cur, routes)
    for built in builts:
        write_layer(cur, built, registry, report)
    if routes is not None and "bus_stops" in by_name:
        write_links(cur, links, report, routes, by_name["bus_stops"].layer.table)
    check_strict(report, strict)   # refusals found while writing: nothing is committed
    counts = report.layers.values()
    cur.execute(
        "INSERT INTO load_runs (layer, source, mode, loaded, repaired, rejected, report, "
        "started_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        ("osm", report.source, f"osm-{report.mode}",
         sum(c.created + c.updated for c in counts), sum(c.repaired for c in counts),
         sum(c.refused for c in counts), json.dumps(report.as_dict(), default=str),
         started))
