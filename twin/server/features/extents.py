"""Spatial and temporal extents of each layer: read at start-up (synchronously, the
pygeoapi configuration needs them) and again for a layer after edits
(:mod:`twin.server.edit`, asynchronously). One statement per layer, both ways."""

from __future__ import annotations

from psycopg import sql

from twin.db.history import first_version_sql
from twin.registry import Layer
from twin.server.state import ServerState


def extent_sql(layer: Layer) -> str:
    """One row: xmin, ymin, xmax, ymax (CRS84), begin, end of the layer. Identifiers are
    quoted by psycopg; the statement is rendered once to text (no values in it)."""
    table = sql.Identifier(layer.table)
    geom = sql.SQL("geom" if layer.srid == 4326 else "ST_Transform(geom, 4326)")
    if layer.history:  # from the first version on, still open
        times = sql.SQL("({}), NULL::timestamptz").format(sql.SQL(first_version_sql(layer)))
    elif layer.validity is not None:  # first day in force to the last end; open if unknown
        times = sql.SQL(
            "(SELECT CASE WHEN bool_or({f} IS NULL) THEN NULL ELSE min({f}) END::timestamptz "
            "FROM {t}), (SELECT CASE WHEN bool_or({e} IS NULL) THEN NULL ELSE max({e}) END"
            "::timestamptz FROM {t})").format(f=sql.Identifier(layer.validity.start),
                                              e=sql.Identifier(layer.validity.end), t=table)
    elif layer.time_field:
        field = sql.Identifier(layer.time_field)
        times = sql.SQL("(SELECT min({f}) FROM {t}), (SELECT max({f}) FROM {t})").format(
            f=field, t=table)
    else:
        times = sql.SQL("NULL, NULL")
    return sql.SQL("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), {} FROM "
                   "(SELECT ST_Extent({}) AS e FROM {}) s").format(
        times, geom, table).as_string(None)


def as_extent(row, fallback) -> dict:
    """``{"bbox": CRS84 bbox, "interval": [begin, end]}`` from :func:`extent_sql`'s row;
    an empty layer gets ``fallback`` (the plausible extent) as its bbox."""
    bbox = list(row[:4]) if row and row[0] is not None else list(fallback)
    interval = [v.isoformat() if v is not None else None for v in row[4:6]] if row else \
        [None, None]
    return {"bbox": bbox, "interval": interval}


async def layer_extent(state: ServerState, layer: Layer) -> dict:
    row = await state.db.fetchrow(extent_sql(layer))
    return as_extent(row, state.settings.plausible_extent)


async def load_extents(state: ServerState) -> dict[str, dict]:
    return {layer.name: await layer_extent(state, layer) for layer in state.registry}


def load_extents_with(cursor, state: ServerState) -> dict[str, dict]:
    """The same, on a synchronous psycopg cursor."""
    out = {}
    for layer in state.registry:
        cursor.execute(extent_sql(layer))
        out[layer.name] = as_extent(cursor.fetchone(), state.settings.plausible_extent)
    return out
