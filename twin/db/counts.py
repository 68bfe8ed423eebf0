"""Per-layer feature counts kept current by the database itself (issue 17, point 3).

``layer_counts(layer, n)`` holds the row count of every layer table (keyed by table
name). Statement-level AFTER INSERT / AFTER DELETE triggers with transition tables add
and subtract the rows a statement wrote, whatever wrote them (loaders, edits, OSM
imports, psql); AFTER TRUNCATE sets 0. An unfiltered items request then reads
numberMatched in O(1) instead of counting the table. ``install`` is run by ``twin db
upgrade`` (:func:`twin.db.schema.upgrade`) for every layer table, new ones included, and
initialises a table's count from ``count(*)`` when its triggers are first created.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

FUNCTIONS = """
CREATE TABLE IF NOT EXISTS layer_counts (layer text PRIMARY KEY, n bigint NOT NULL);
CREATE OR REPLACE FUNCTION twin_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET n = n + (SELECT count(*) FROM new_rows) WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET n = n - (SELECT count(*) FROM old_rows) WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE layer_counts SET n = 0 WHERE layer = TG_TABLE_NAME;
  RETURN NULL;
END $$;
"""

TRIGGERS = """
LOCK TABLE {t} IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO layer_counts (layer, n) SELECT '{name}', count(*) FROM {t}
  ON CONFLICT (layer) DO UPDATE SET n = EXCLUDED.n;
CREATE TRIGGER twin_count_ins AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_count_inserted();
CREATE TRIGGER twin_count_del AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_count_deleted();
CREATE TRIGGER twin_count_trunc AFTER TRUNCATE ON {t}
  FOR EACH STATEMENT EXECUTE FUNCTION twin_count_truncated();
"""

COUNT_SQL = "SELECT n FROM layer_counts WHERE layer = %(layer)s"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def install(connection: Connection, tables: list[str]) -> list[str]:
    """Counting triggers on each of ``tables`` that lacks them (count initialised then);
    returns the tables given triggers now."""
    connection.exec_driver_sql(FUNCTIONS)
    have = {row[0] for row in connection.execute(text(
        "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "WHERE g.tgname = 'twin_count_ins'"))}
    added = []
    for table in tables:
        if table in have:
            continue
        connection.exec_driver_sql(TRIGGERS.format(t=_quoted(table),
                                                   name=table.replace("'", "''")))
        added.append(table)
    return added
