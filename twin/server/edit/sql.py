"""SQL of edits. Identifiers come from the validated registry and are quoted by psycopg;
every value is a bound parameter."""

from __future__ import annotations

from psycopg import sql

from twin.registry import Layer
from twin.server.edit.validate import Change

# Columns that are the row's bookkeeping, not properties, in the audit snapshot.
NOT_PROPERTIES = ["geom", "id", "external_id", "created_at", "updated_at"]


def _table(layer: Layer) -> sql.Composable:
    return sql.Identifier(layer.table)


def snapshot(layer: Layer) -> sql.Composable:
    """Row ``t`` as the audit log keeps it: a GeoJSON Feature in CRS84 with every field
    (private ones too: the audit log never leaves the database) and its version time."""
    geom = sql.SQL("t.geom" if layer.srid == 4326 else "ST_Transform(t.geom, 4326)")
    return sql.SQL(
        "jsonb_build_object('type', 'Feature', 'id', t.external_id, 'geometry', "
        "ST_AsGeoJSON({})::jsonb, 'properties', to_jsonb(t) - {}::text[], "
        "'updated_at', t.updated_at)").format(geom, sql.Literal(NOT_PROPERTIES))


def actor_sql() -> sql.Composable:
    """Who edits, for the history trigger's ``changed_by`` (this transaction only)."""
    return sql.SQL("SELECT set_config('twin.actor', %(actor)s, true)")


def lock_sql(layer: Layer) -> sql.Composable:
    """The current row, locked until the transaction ends: (id, updated_at, snapshot)."""
    return sql.SQL("SELECT t.id, t.updated_at, {} FROM {} t WHERE t.external_id = %(fid)s "
                   "FOR UPDATE").format(snapshot(layer), _table(layer))


def _geometry(layer: Layer) -> sql.Composable:
    return sql.SQL("ST_GeomFromWKB(%(geom)s, {})").format(sql.Literal(layer.srid))


def _bind(change: Change) -> tuple[list[sql.Composable], dict]:
    """Placeholders and parameters for the changed values (named v0, v1, ...: never a
    field name, so no clash with fid, geom or id)."""
    names, params = [], {}
    for n, (name, value) in enumerate(change.values.items()):
        names.append(sql.Identifier(name))
        params[f"v{n}"] = value
    return names, params


def insert_sql(layer: Layer, change: Change) -> tuple[sql.Composable, dict]:
    """Insert unless the external id is taken: (id, updated_at, snapshot), or no row."""
    names, params = _bind(change)
    values = [sql.Placeholder(f"v{n}") for n in range(len(names))]
    stmt = sql.SQL(
        "INSERT INTO {table} AS t (external_id, {cols}, geom) VALUES (%(fid)s, {vals}, {geom}) "
        "ON CONFLICT (external_id) DO NOTHING RETURNING t.id, t.updated_at, {snap}").format(
        table=_table(layer), cols=sql.SQL(", ").join(names),
        vals=sql.SQL(", ").join(values), geom=_geometry(layer), snap=snapshot(layer))
    return stmt, {**params, "fid": change.external_id, "geom": change.wkb}


def update_sql(layer: Layer, change: Change, row_id: int) -> tuple[sql.Composable, dict]:
    """Set the changed values (and the geometry when given) of row ``row_id``."""
    names, params = _bind(change)
    sets = [sql.SQL("{} = {}").format(name, sql.Placeholder(f"v{n}"))
            for n, name in enumerate(names)]
    if change.wkb is not None:
        sets.append(sql.SQL("geom = {}").format(_geometry(layer)))
        params["geom"] = change.wkb
    stmt = sql.SQL("UPDATE {} AS t SET {} WHERE t.id = %(id)s "
                   "RETURNING t.id, t.updated_at, {}").format(
        _table(layer), sql.SQL(", ").join(sets), snapshot(layer))
    return stmt, {**params, "id": row_id}


def delete_sql(layer: Layer) -> sql.Composable:
    return sql.SQL("DELETE FROM {} t WHERE t.id = %(id)s").format(_table(layer))


AUDIT = sql.SQL(
    "INSERT INTO audit_log (layer, external_id, feature_id, action, actor, agency, method, "
    "request_id, reason, before, after) VALUES (%(layer)s, %(fid)s, %(id)s, %(action)s, "
    "%(actor)s, %(agency)s, %(method)s, %(request_id)s, %(reason)s, %(before)s, %(after)s)")
