"""An ordered change log of every layer table, in commit order (issue 19, change feeds).

Statement-level AFTER INSERT / UPDATE / DELETE triggers with transition tables (as the
counts of :mod:`twin.db.counts`) append one ``change_log`` row per feature a statement
wrote, whatever wrote it (edits, loads, OSM imports, psql): the action, the row id, the
feature id and the envelope of its geometry in CRS84 (for an update the envelope of the
old and the new geometry, so a feature leaving a bbox is seen by that bbox too) and, for
an update, the version it replaced (``old``: the old row as JSON, geometry included), so
that a subscription can tell a feature that *left* its bbox or CQL2 filter from one that
never matched (:mod:`twin.server.subscriptions.producer`; added by migration 0017). The
old version costs an update's log row about four times the bytes, so it is written
only while a subscription with a bbox or a filter follows the table
(``twin_change_keeps_old``: ``subscriptions.layer_table``); an update written before
such a subscription existed has none and is never sent as left. An update that changes
a feature's id logs the old id as deleted.

Identity values are not commit order: a transaction that started writing first can
commit last, and a reader paging by id would skip it. So each writing transaction also
registers its id in ``change_pending``, whose DEFERRED constraint trigger runs at commit:
it takes one advisory lock (held until the commit is visible) and appends the
transaction to ``change_commits`` with the next ``seq`` and the commit time. ``seq`` is
therefore commit order, and a reader paging by ``(seq, change_log.id)`` never misses a
change that commits after it read. Only the tail of writing commits is serialised.

The log is pruned after ``TWIN_CHANGES_KEEP_DAYS`` (:mod:`twin.db.retention`);
``change_pruned`` keeps, per layer, the position and commit time of the last change
removed, so a reader whose cursor is older is told (410) instead of silently skipping.

``install`` is run by migration 0013 and by ``twin db upgrade`` for new layer tables.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLES = """
CREATE TABLE IF NOT EXISTS change_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid         xid8 NOT NULL DEFAULT pg_current_xact_id(),
  layer       text NOT NULL,
  action      text NOT NULL CONSTRAINT ck_change_log_action
              CHECK (action IN ('created', 'updated', 'deleted')),
  row_id      bigint NOT NULL,
  external_id text NOT NULL,
  env         geometry,
  old         jsonb   -- an update: the row it replaced (to_jsonb), for subscriptions
);
COMMENT ON TABLE change_log IS
  'Every feature written to a layer table, per transaction (change_commits orders them)';
CREATE INDEX IF NOT EXISTS ix_change_log_xid ON change_log (xid, layer, id);
CREATE INDEX IF NOT EXISTS ix_change_log_layer ON change_log (layer, id);
CREATE TABLE IF NOT EXISTS change_commits (
  seq  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid  xid8 NOT NULL UNIQUE,
  at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE change_commits IS
  'Transactions that wrote layer tables, in commit order (seq) with their commit time';
CREATE INDEX IF NOT EXISTS ix_change_commits_at ON change_commits (at);
CREATE TABLE IF NOT EXISTS change_pending (xid xid8 PRIMARY KEY);
CREATE TABLE IF NOT EXISTS change_pruned (
  layer      text PRIMARY KEY,
  seq        bigint NOT NULL,
  id         bigint NOT NULL,
  at         timestamptz NOT NULL,
  pruned_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE change_pruned IS
  'Per layer, the last change removed by retention: older cursors get 410 Gone';
"""

ENV = "ST_Transform(ST_Envelope({g}), 4326)"

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION twin_change_pending() RETURNS void LANGUAGE sql AS $$
  INSERT INTO change_pending (xid) VALUES (pg_current_xact_id()) ON CONFLICT DO NOTHING
$$;
CREATE OR REPLACE FUNCTION twin_log_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_log (layer, action, row_id, external_id, env)
  SELECT TG_TABLE_NAME, 'created', n.id, n.external_id, {ENV.format(g='n.geom')}
  FROM new_rows n;
  IF FOUND THEN PERFORM twin_change_pending(); END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_change_keeps_old(tbl text) RETURNS boolean
LANGUAGE plpgsql STABLE AS $$
BEGIN
  -- a subscription with a bbox or a filter follows the table (migration 0017's column)
  IF to_regclass('subscriptions') IS NULL THEN RETURN false; END IF;
  RETURN EXISTS (SELECT 1 FROM subscriptions WHERE layer_table = tbl
                 AND (bbox IS NOT NULL OR filter IS NOT NULL));
END $$;
CREATE OR REPLACE FUNCTION twin_log_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  keep boolean := twin_change_keeps_old(TG_TABLE_NAME);
BEGIN
  -- one pass over the rows: a renamed feature's old id first (deleted), then the update;
  -- the version an update replaced (old) only while a filtered subscription needs it
  INSERT INTO change_log (layer, action, row_id, external_id, env, old)
  SELECT TG_TABLE_NAME, c.action, n.id, c.external_id, c.env, c.old
  FROM new_rows n JOIN old_rows o ON o.id = n.id
  CROSS JOIN LATERAL (VALUES
    (CASE WHEN o.external_id IS DISTINCT FROM n.external_id THEN 'deleted' END,
     o.external_id,
     CASE WHEN o.external_id IS DISTINCT FROM n.external_id THEN {ENV.format(g='o.geom')} END,
     NULL::jsonb),
    ('updated', n.external_id, {ENV.format(
        g='CASE WHEN o.geom = n.geom THEN n.geom ELSE ST_Collect(o.geom, n.geom) END')},
     CASE WHEN keep THEN to_jsonb(o) END)
  ) AS c(action, external_id, env, old)
  WHERE c.action IS NOT NULL;
  IF FOUND THEN PERFORM twin_change_pending(); END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_log_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_log (layer, action, row_id, external_id, env)
  SELECT TG_TABLE_NAME, 'deleted', o.id, o.external_id, {ENV.format(g='o.geom')}
  FROM old_rows o;
  IF FOUND THEN PERFORM twin_change_pending(); END IF;
  RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION twin_change_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Held until this transaction's commit is visible: seq follows commit order.
  PERFORM pg_advisory_xact_lock(hashtext('twin_change_commits'));
  INSERT INTO change_commits (xid) VALUES (NEW.xid);
  DELETE FROM change_pending WHERE xid = NEW.xid;
  RETURN NULL;
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'twin_change_commit') THEN
    CREATE CONSTRAINT TRIGGER twin_change_commit AFTER INSERT ON change_pending
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION twin_change_commit();
  END IF;
END $$;
"""

TRIGGERS = """
CREATE TRIGGER twin_log_ins AFTER INSERT ON {t} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_log_inserted();
CREATE TRIGGER twin_log_upd AFTER UPDATE ON {t}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_log_updated();
CREATE TRIGGER twin_log_del AFTER DELETE ON {t} REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION twin_log_deleted();
"""

DROP = """
DROP TABLE IF EXISTS change_pruned, change_pending, change_commits, change_log;
DROP FUNCTION IF EXISTS twin_log_inserted(), twin_log_updated(), twin_log_deleted(),
  twin_change_commit(), twin_change_pending(), twin_change_keeps_old(text);
"""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def install(connection: Connection, tables: list[str]) -> list[str]:
    """The log, and its triggers on each of ``tables`` that lacks them; returns the tables
    given triggers now. A table's rows written before are not in the log: a mirror
    starts from a copy of the items."""
    connection.exec_driver_sql(TABLES)
    connection.exec_driver_sql(FUNCTIONS)
    have = {row[0] for row in connection.execute(text(
        "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "WHERE g.tgname = 'twin_log_ins'"))}
    added = []
    for table in tables:
        if table not in have:
            connection.exec_driver_sql(TRIGGERS.format(t=_quoted(table)))
            added.append(table)
    return added


def uninstall(connection: Connection, tables: list[str]) -> None:
    for table in tables:
        for name in ("twin_log_ins", "twin_log_upd", "twin_log_del"):
            connection.exec_driver_sql(
                f"DROP TRIGGER IF EXISTS {name} ON {_quoted(table)}")
    connection.exec_driver_sql(DROP)
