"""Past versions of asset layers (``history: true``) and the edit audit log.

Each history layer ``<table>`` gets ``<table>_history``: every column of the layer (the
computed length/area as a plain column) plus ``valid_from``, ``valid_to``,
``changed_by`` and ``operation``. An AFTER UPDATE OR DELETE trigger copies the OLD row
there with validity ``[OLD.updated_at, NEW.updated_at)`` for an update and
``[OLD.updated_at, clock_timestamp())`` for a delete; the current row is valid from its
``updated_at``. ``updated_at`` is set with ``clock_timestamp()`` (migration 0003), so it
changes on every update, even two in one transaction, and versions follow lock order.

A version written and replaced inside one transaction was never visible to anyone and
is not kept (``OLD.xmin`` is the current transaction): a loader that inserts rows and
then fills a column (``link_nearest``) leaves no history behind.

``changed_by`` is who replaced or deleted the version: the ``twin.actor`` setting of the
transaction (the edit routes ``SET LOCAL`` it), else ``db:<database user>`` (loaders,
psql).

The DDL is built from the registry, so :func:`sync_history` serves both migration 0003
and :func:`twin.db.schema.sync_layers` for layer files added later. The read side
(:func:`versions_sql`) is here too, beside the layout it reads.
"""

from __future__ import annotations

from psycopg import sql
from sqlalchemy import Connection, MetaData, inspect

from twin.db.models import layer_table
from twin.registry import Layer, Registry

VALIDITY = ("valid_from", "valid_to", "changed_by", "operation")

AUDIT_LOG = """
CREATE TABLE IF NOT EXISTS audit_log (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  layer       text NOT NULL,
  external_id text NOT NULL,
  feature_id  bigint,
  action      text NOT NULL CONSTRAINT ck_audit_log_action
              CHECK (action IN ('insert', 'update', 'delete')),
  actor       text NOT NULL,
  agency      text,
  method      text,
  request_id  text,
  reason      text,
  before      jsonb,
  after       jsonb
);
COMMENT ON TABLE audit_log IS
  'Every edit made through the API: who, when, what (before/after as GeoJSON features)';
CREATE INDEX IF NOT EXISTS ix_audit_log_feature ON audit_log (layer, external_id, at);
CREATE INDEX IF NOT EXISTS ix_audit_log_at ON audit_log (at);
CREATE INDEX IF NOT EXISTS ix_audit_log_actor ON audit_log (actor, at);
"""

# Every version gets a new updated_at: clock time, not the transaction start.
TOUCH = """
CREATE OR REPLACE FUNCTION twin_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END $$;
"""

TOUCH_0001 = """
CREATE OR REPLACE FUNCTION twin_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
"""


def history_table(layer: Layer) -> str:
    return f"{layer.table}_history"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(layer: Layer, connection: Connection) -> list[tuple[str, str]]:
    """(name, SQL type) of every column of the layer's model, in table order."""
    table = layer_table(layer, MetaData())
    return [(c.name, c.type.compile(dialect=connection.dialect)) for c in table.columns]


def _create_sql(layer: Layer, columns: list[tuple[str, str]]) -> str:
    h = history_table(layer)
    cols = ",\n  ".join(f"{_q(n)} {t}" for n, t in columns)
    return f"""
CREATE TABLE {_q(h)} (
  history_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  {cols},
  valid_from timestamptz NOT NULL,
  valid_to   timestamptz NOT NULL,
  changed_by text,
  operation  text NOT NULL CONSTRAINT ck_{h}_operation CHECK (operation IN ('update', 'delete'))
);
COMMENT ON TABLE {_q(h)} IS 'Past versions of {layer.table}, valid [valid_from, valid_to)';
CREATE INDEX {_q('ix_' + h + '_geom')} ON {_q(h)} USING gist (geom);
CREATE INDEX {_q('ix_' + h + '_version')} ON {_q(h)} (external_id, valid_from);
CREATE INDEX {_q('ix_' + h + '_valid_to')} ON {_q(h)} (valid_to);
"""


def _function_sql(layer: Layer, names: list[str]) -> str:
    """The trigger function, with the column list spelled out (replaced on every sync, so
    a field added later is copied too)."""
    h = history_table(layer)
    cols = ", ".join(_q(n) for n in names)
    old = ", ".join(f"OLD.{_q(n)}" for n in names)
    return f"""
CREATE OR REPLACE FUNCTION {_q(_function(layer))}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  ends timestamptz;
BEGIN
  IF OLD.xmin = pg_current_xact_id()::xid THEN
    RETURN NULL;  -- written by this transaction: never visible, not a version
  END IF;
  ends := CASE WHEN TG_OP = 'UPDATE' THEN NEW.updated_at ELSE clock_timestamp() END;
  INSERT INTO {_q(h)} ({cols}, valid_from, valid_to, changed_by, operation)
  VALUES ({old}, OLD.updated_at, greatest(ends, OLD.updated_at),
          coalesce(nullif(current_setting('twin.actor', true), ''), 'db:' || current_user),
          lower(TG_OP));
  RETURN NULL;
END $$;
"""


def _function(layer: Layer) -> str:
    return f"twin_{layer.table}_keep_version"


def _trigger(layer: Layer) -> str:
    return f"{layer.table}_keep_version"


def sync_history(connection: Connection, registry: Registry) -> tuple[list[str], list[str]]:
    """Create the audit log, and the history table and trigger of every ``history: true``
    layer; add the columns a layer gained since. Returns (tables created, columns added)."""
    created: list[str] = []
    added: list[str] = []
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    if "audit_log" not in existing:
        connection.exec_driver_sql(AUDIT_LOG)
        created.append("audit_log")
    for layer in registry:
        if not layer.history or not _has(connection, layer.table):
            continue
        columns = _columns(layer, connection)
        h = history_table(layer)
        if h not in existing:
            connection.exec_driver_sql(_create_sql(layer, columns))
            created.append(h)
        else:
            have = {c["name"] for c in inspector.get_columns(h)}
            for name, kind in columns:
                if name not in have:
                    connection.exec_driver_sql(
                        f"ALTER TABLE {_q(h)} ADD COLUMN {_q(name)} {kind}")
                    added.append(f"{h}.{name}")
        connection.exec_driver_sql(_function_sql(layer, [n for n, _ in columns]))
        if not connection.exec_driver_sql(
                "SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = %s",
                (layer.table, _trigger(layer))).first():
            connection.exec_driver_sql(
                f"CREATE TRIGGER {_q(_trigger(layer))} AFTER UPDATE OR DELETE ON "
                f"{_q(layer.table)} FOR EACH ROW EXECUTE FUNCTION {_q(_function(layer))}()")
    return created, added


def _has(connection: Connection, table: str) -> bool:
    return connection.exec_driver_sql(
        "SELECT to_regclass(%s) IS NOT NULL", (table,)).scalar()


def drop_history(connection: Connection, registry: Registry) -> None:
    for layer in registry:
        if layer.history:
            if _has(connection, layer.table):
                connection.exec_driver_sql(
                    f"DROP TRIGGER IF EXISTS {_q(_trigger(layer))} ON {_q(layer.table)}")
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {_q(_function(layer))}()")
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {_q(history_table(layer))}")
    connection.exec_driver_sql("DROP TABLE IF EXISTS audit_log")


# --- reading versions ----------------------------------------------------------------

def version_columns(layer: Layer) -> list[str]:
    """The columns a version source exposes (beside valid_from and valid_to)."""
    names = ["id", "external_id", *layer.fields]
    if layer.measure_column:
        names.append(layer.measure_column)
    return [*names, "geom"]


def versions_sql(layer: Layer, start: sql.Composable | None, end: sql.Composable | None,
                 instant: bool) -> sql.Composable:
    """A subquery (to alias) of the versions of ``layer`` valid at some moment of
    ``[start, end]`` (either end open when None): the current rows UNION ALL the history
    rows, with ``valid_from`` and ``valid_to`` (NULL for the current version).

    For an instant (``start`` = ``end``) each feature has at most one version; for an
    interval each row id keeps its latest version within the interval (DISTINCT ON id,
    so keyset paging by id still holds and an outer ``id > n`` is pushed down)."""
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in version_columns(layer))
    cur_where, old_where = [], []
    if end is not None:
        cur_where.append(sql.SQL("updated_at <= {}").format(end))
        old_where.append(sql.SQL("valid_from <= {}").format(end))
    if start is not None:
        old_where.append(sql.SQL("valid_to > {}").format(start))

    def where(parts):
        return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(parts) if parts else sql.SQL("")

    union = sql.SQL(
        "SELECT {cols}, updated_at AS valid_from, NULL::timestamptz AS valid_to FROM {cur}{cw}"
        " UNION ALL "
        "SELECT {cols}, valid_from, valid_to FROM {old}{ow}"
    ).format(cols=cols, cur=sql.Identifier(layer.table), cw=where(cur_where),
             old=sql.Identifier(history_table(layer)), ow=where(old_where))
    if instant:
        return sql.SQL("({})").format(union)
    return sql.SQL("(SELECT DISTINCT ON (v.id) v.* FROM ({}) v ORDER BY v.id, v.valid_from DESC)"
                   ).format(union)


def first_version_sql(layer: Layer) -> str:
    """One value: when the oldest version of the layer began (the start of its temporal
    extent; the end is open, the layer being still current)."""
    return (f"SELECT least((SELECT min(created_at) FROM {_q(layer.table)}), "
            f"(SELECT min(valid_from) FROM {_q(history_table(layer))}))")
