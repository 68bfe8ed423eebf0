"""The SQL floor: the one statement that returns a response body, run directly with psycopg.

Items: the whole FeatureCollection of twin's body (same features, same properties, same
7 decimals) built in PostGIS with json aggregation and ``ST_AsGeoJSON``, with the exact
``numberMatched`` (``count=True``, what tipg and pygeoapi return) or without it (twin
leaves ``numberMatched`` out above its ``count_limit``). Paging is plain ``OFFSET`` (or
``id > last`` for a keyset cursor), ordered by ``id``.

Tiles: twin's own tile statement (``twin.server.tiles.sql.LayerTiles``, generalisation
included), which returns twin's tile byte for byte, and the bare ``ST_AsMVT`` of every
feature in the tile with every public column (what tipg serves), for reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from twin.registry import Layer
from twin.server.features.fields import output_names
from twin.server.tiles.metadata import tile_index
from twin.server.tiles.sql import MVT_BUFFER, MVT_EXTENT, TILE_MARGIN, LayerTiles

DECIMALS = 7   # twin's GeoJSON precision for CRS84


@dataclass(frozen=True)
class ItemsSpec:
    """One items request as SQL: ``where`` is a SQL condition on alias ``t``."""
    limit: int
    offset: int = 0
    after_id: int | None = None
    where: str = "TRUE"
    params: tuple = ()


def items_sql(layer: Layer, spec: ItemsSpec, count: bool) -> tuple[sql.Composed, tuple]:
    """The FeatureCollection as one statement. The page's rows are picked in a subquery
    (LIMIT/OFFSET there) and turned into JSON outside it, so rows skipped by OFFSET are
    never encoded."""
    names = output_names(layer)
    props = sql.SQL(", ").join(
        sql.SQL("{}, p.{}").format(sql.Literal(n), sql.Identifier(n)) for n in names)
    table = sql.Identifier(layer.table)
    where = sql.SQL(spec.where)
    conds = [where]
    page_params = list(spec.params)
    if spec.after_id is not None:
        conds.append(sql.SQL("t.id > %s"))
        page_params.append(spec.after_id)
    page_params += [spec.limit, spec.offset]
    matched, count_params = sql.SQL(""), []
    if count:
        matched = sql.SQL("'numberMatched', (SELECT count(*) FROM {} t WHERE {}), ").format(
            table, where)
        count_params = list(spec.params)
    stmt = sql.SQL(
        "SELECT json_build_object('type', 'FeatureCollection', {matched}'numberReturned', "
        "count(*), 'features', coalesce(json_agg(json_build_object('type', 'Feature', 'id', "
        "p.external_id, 'geometry', ST_AsGeoJSON(p.geom, {dec})::json, 'properties', "
        "json_build_object({props}))), '[]'::json))::text "
        "FROM (SELECT t.* FROM {table} t WHERE {conds} ORDER BY t.id LIMIT %s OFFSET %s) p"
    ).format(matched=matched, dec=sql.Literal(DECIMALS), props=props, table=table,
             conds=sql.SQL(" AND ").join(conds))
    # the count's placeholders come first in the text
    return stmt, tuple(count_params + page_params)


def twin_tile_sql(layer: Layer, z: int, x: int, y: int) -> tuple[sql.Composed, dict]:
    """twin's own statement for the tile: the same bytes twin serves."""
    return LayerTiles(layer).query(z, x, y)


def bare_tile_sql(layer: Layer, z: int, x: int, y: int) -> tuple[sql.Composed, dict]:
    """Every feature that touches the tile, every public column, no generalisation."""
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in
                              ["id", "external_id"] + [f.name for f in layer.public_fields()])
    stmt = sql.SQL(
        "SELECT ST_AsMVT(t, {name}, {extent}, 'geom', 'id') FROM (SELECT {cols}, "
        "ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), "
        "{extent}, {buffer}, true) AS geom FROM {table} WHERE geom && ST_Transform("
        "ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s::float8), {srid})) AS t"
    ).format(name=sql.Literal(layer.name), extent=sql.Literal(MVT_EXTENT),
             buffer=sql.Literal(MVT_BUFFER), cols=cols, table=sql.Identifier(layer.table),
             srid=sql.Literal(layer.srid))
    return stmt, {"z": z, "x": x, "y": y, "margin": TILE_MARGIN}


def densest_tile(conn: psycopg.Connection, table: str, z: int) -> tuple[int, int]:
    """(x, y) of the tile at zoom ``z`` around the densest spot of ``table`` (feature
    centroids counted on a ~1 km grid over a 10 % sample)."""
    row = conn.execute(sql.SQL(
        "SELECT avg(cx), avg(cy) FROM (SELECT ST_X(c) AS cx, ST_Y(c) AS cy, "
        "floor(ST_X(c) * 100) AS gx, floor(ST_Y(c) * 100) AS gy FROM (SELECT "
        "ST_PointOnSurface(geom) AS c FROM {} TABLESAMPLE SYSTEM (10) REPEATABLE (7)) s) g "
        "GROUP BY gx, gy ORDER BY count(*) DESC LIMIT 1").format(sql.Identifier(table))
    ).fetchone()
    return tile_index(row[0], row[1], z)


def connect(libpq: str) -> psycopg.Connection:
    return psycopg.connect(libpq, autocommit=True, options="-c jit=off -c TimeZone=UTC")
