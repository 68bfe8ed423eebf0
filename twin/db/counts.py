"""Per-layer feature counts kept current by the database itself (issue 17, point 3).

``layer_counts(layer, n)`` holds the row count of every layer table (keyed by table
name). Statement-level AFTER INSERT / AFTER DELETE triggers with transition tables add
and subtract the rows a statement wrote, whatever wrote them (loaders, edits, OSM
imports, psql); AFTER TRUNCATE sets 0. An unfiltered items request then reads
numberMatched in O(1) instead of counting the table. ``install`` is run by ``twin db
upgrade`` (:func:`twin.db.schema.upgrade`) for every layer table, new ones included, and
initialises a table's count from ``count(*)`` when its triggers are first created.

The same row carries the layer's ``version``: every statement that inserts, updates,
deletes or truncates rows of the table advances it by one (an UPDATE trigger joins the
three counting ones), in the writer's transaction. A cached tile is keyed by it
(:mod:`twin.tilecache`), so a tile made before an edit, load, import or harvest can
never be served after it; ``changed_at`` is when it last moved.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

FUNCTIONS = """
CREATE TABLE IF NOT EXISTS layer_counts (layer text PRIMARY KEY, n bigint NOT NULL);
ALTER TABLE layer_counts ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0,
                         ADD COLUMN IF NOT EXISTS changed_at timestamptz;
UPDATE layer_counts SET changed_at = now() WHERE changed_at IS NULL;
CREATE OR REPLACE FUNCTION twin_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET n = n + (SELECT count(*) FROM new_rows), version = version + 1,
         changed_at = now() WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET n = n - (SELECT count(*) FROM old_rows), version = version + 1,
         changed_at = now() WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET n = 0, version = version + 1, changed_at = now()
   WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_version_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET version = version + 1, changed_at = now()
   WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
"""

VERSION_TRIGGER = """
CREATE TRIGGER twin_version_upd AFTER UPDATE ON {t}
  FOR EACH STATEMENT EXECUTE FUNCTION twin_version_updated();
"""

TRIGGERS = """
LOCK TABLE {t} IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO layer_counts (layer, n, changed_at) SELECT '{name}', count(*), now() FROM {t}
  ON CONFLICT (layer) DO UPDATE SET n = EXCLUDED.n, version = layer_counts.version + 1,
                                    changed_at = now();
CREATE TRIGGER twin_count_ins AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_count_inserted();
CREATE TRIGGER twin_count_del AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_count_deleted();
CREATE TRIGGER twin_count_trunc AFTER TRUNCATE ON {t}
  FOR EACH STATEMENT EXECUTE FUNCTION twin_count_truncated();
"""

COUNT_SQL = "SELECT n FROM layer_counts WHERE layer = %(layer)s"
# The version as a cache key: the statement count and the time of the last change (in
# microseconds), so two databases, or one restored from a backup and edited since, never
# give the same key to different rows.
VERSION_SQL = ("SELECT version::text || '-' || coalesce((extract(epoch FROM changed_at) "
               "* 1e6)::bigint, 0)::text FROM layer_counts WHERE layer = %(layer)s")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def install(connection: Connection, tables: list[str]) -> list[str]:
    """Counting triggers on each of ``tables`` that lacks them (count initialised then);
    returns the tables given triggers now."""
    connection.exec_driver_sql(FUNCTIONS)
    have, versioned = (_with_trigger(connection, name)
                       for name in ("twin_count_ins", "twin_version_upd"))
    added = []
    for table in tables:
        if table not in have:
            connection.exec_driver_sql(TRIGGERS.format(t=_quoted(table),
                                                       name=table.replace("'", "''")))
            added.append(table)
        if table not in versioned:
            connection.exec_driver_sql(VERSION_TRIGGER.format(t=_quoted(table)))
    return added


def _with_trigger(connection: Connection, trigger: str) -> set[str]:
    return {row[0] for row in connection.execute(text(
        "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "WHERE g.tgname = :name"), {"name": trigger})}
