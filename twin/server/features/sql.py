"""SQL for item pages: the GeoJSON is written by PostGIS, Python only frames it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from psycopg import sql

from twin.db.history import versions_sql
from twin.registry import FieldSpec, FieldType, Layer
from twin.server.features import cql
from twin.server.features.params import ItemsQuery
from twin.server.params.binds import Params
from twin.server.params.crs import OutputCRS, geometry_sql
from twin.server.params.values import TimeFilter, validity_bounds

T = sql.SQL("t.")


def col(name: str) -> sql.Composable:
    return T + sql.Identifier(name)


def where_clause(layer: Layer, q: ItemsQuery, fields: dict[str, FieldSpec],
                 params: Params) -> sql.Composable:
    """Every filter of the request, AND-ed; ``TRUE`` when there is none."""
    parts: list[sql.Composable] = []
    if q.bbox is not None:
        parts.append(_bbox(layer, q.bbox, q.bbox_crs, params))
    if q.time is not None and layer.time_field:  # on a history layer: source_sql
        parts.append(_time(layer, q.time, params))
    elif q.time is not None and layer.validity is not None:
        parts.append(_in_force(layer, q.time, params))
    for name, value in q.equals.items():
        parts.append(sql.SQL("{} = {}").format(col(name), params.add(value)))
    if q.filter_text is not None:
        parts.append(cql.to_sql(q.filter_text, q.filter_lang, fields, layer.srid, q.filter_crs,
                                params))
    elif q.filter_tree is not None:  # parsed already (pygeoapi's HTML pages)
        parts.append(cql.tree_sql(q.filter_tree, fields, layer.srid, q.filter_crs, params))
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")


def _bbox(layer: Layer, bbox, crs: OutputCRS, params: Params) -> sql.Composable:
    x0, y0, x1, y1 = bbox
    if crs.lat_first:
        x0, y0, x1, y1 = y0, x0, y1, x1
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
        *(params.add(float(v)) for v in (x0, y0, x1, y1)), sql.Literal(crs.srid))
    if crs.srid != layer.srid:
        env = sql.SQL("ST_Transform({}, {})").format(env, sql.Literal(layer.srid))
    return sql.SQL("ST_Intersects(t.geom, {})").format(env)


def travels(layer: Layer, q: ItemsQuery | None) -> bool:
    """Does the query look back in time (``datetime`` on a layer that keeps history)?"""
    return q is not None and q.time is not None and layer.history


def source_sql(layer: Layer, q: ItemsQuery | None, params: Params) -> sql.Composable:
    """The rows a query reads, to alias ``t``: the layer's table, or, for ``datetime`` on a
    ``history: true`` layer, its versions valid at that instant or during that interval
    (see :func:`twin.db.history.versions_sql`; an interval gives each feature once, as its
    latest version within the interval). Without ``datetime`` the table itself is read:
    no UNION, the same plans as before."""
    if not travels(layer, q):
        return sql.Identifier(layer.table)
    t = q.time
    start = params.add(t.start) if t.start is not None else None
    end = params.add(t.end) if t.end is not None else None
    instant = t.start is not None and t.start == t.end
    return versions_sql(layer, start, end, instant)


VALIDITY = ["valid_from", "valid_to"]


def _time(layer: Layer, t: TimeFilter, params: Params) -> sql.Composable:
    column = col(layer.time_field)
    is_date = layer.fields[layer.time_field].type == FieldType.date

    def bound(moment: datetime) -> date | datetime:
        return moment.astimezone(UTC).date() if is_date else moment

    parts = []
    if t.start is not None:
        parts.append(sql.SQL("{} >= {}").format(column, params.add(bound(t.start))))
    if t.end is not None:
        parts.append(sql.SQL("{} <= {}").format(column, params.add(bound(t.end))))
    return sql.SQL(" AND ").join(parts)


def _in_force(layer: Layer, t: TimeFilter, params: Params) -> sql.Composable:
    """The features in force at some moment of ``t`` (``validity``: from <= end, to > start;
    an empty from or to is open)."""
    lo, hi = validity_bounds(layer, t)
    start, end = col(layer.validity.start), col(layer.validity.end)
    parts = []
    if hi is not None:
        parts.append(sql.SQL("({f} IS NULL OR {f} <= {v})").format(f=start, v=params.add(hi)))
    if lo is not None:
        parts.append(sql.SQL("({f} IS NULL OR {f} > {v})").format(f=end, v=params.add(lo)))
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")


def property_pairs(names: list[str]) -> sql.Composable:
    """``'name', t.name, ...`` for json_build_object (at most 50 pairs a call)."""
    chunks = [names[i:i + 50] for i in range(0, len(names), 50)] or [[]]
    objects = [sql.SQL("json_build_object({})").format(sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(n), col(n)) for n in chunk)) for chunk in chunks]
    if len(objects) == 1:
        return objects[0]
    return sql.SQL("(") + sql.SQL("::jsonb || ").join(objects) + sql.SQL("::jsonb)::json")


def feature_sql(layer: Layer, names: list[str], out: OutputCRS,
                skip_geometry: bool) -> sql.Composable:
    """One feature as GeoJSON text."""
    geom = sql.SQL("'null'") if skip_geometry else sql.SQL(
        "coalesce(ST_AsGeoJSON({}, {}), 'null')").format(
        sql.SQL(geometry_sql(layer.srid, out)), sql.Literal(out.decimals))
    return sql.SQL(
        "'{{\"type\":\"Feature\",\"id\":' || to_json(t.external_id)::text || "
        "',\"geometry\":' || {} || ',\"properties\":' || {}::text || '}}'"
    ).format(geom, property_pairs(names))


def order_sql(q: ItemsQuery) -> sql.Composable:
    keys = [sql.SQL("{} {} NULLS LAST").format(col(name), sql.SQL("DESC" if desc else "ASC"))
            for name, desc in q.sortby]
    keys.append(sql.SQL("t.id"))
    return sql.SQL(", ").join(keys)


def page_sql(layer: Layer, q: ItemsQuery, names: list[str], where: sql.Composable,
             params: Params) -> sql.Composable:
    """(features JSON text, rows returned, last id) for one page.

    Default order pages by keyset (``id > last``); an ``offset`` without a cursor
    skips through the id index only, never building JSON for skipped rows."""
    source = source_sql(layer, q, params)
    if travels(layer, q):  # say which version each feature is
        names = [*names, *VALIDITY]
    conds = [where]
    if q.after_id is not None:
        conds.append(sql.SQL("t.id > {}").format(params.add(q.after_id)))
    offset = sql.SQL("")
    if q.offset and q.after_id is None:
        if q.sortby:
            offset = sql.SQL(" OFFSET {}").format(params.add(q.offset))
        else:
            conds.append(sql.SQL(
                "t.id > coalesce((SELECT t.id FROM {} t WHERE {} ORDER BY t.id OFFSET {} LIMIT 1)"
                ", 9223372036854775807)").format(
                source, where, params.add(q.offset - 1)))
    inner = sql.SQL(
        "SELECT {} AS f, t.id FROM {} t WHERE {} ORDER BY {} LIMIT {}{}").format(
        feature_sql(layer, names, q.crs, q.skip_geometry), source,
        sql.SQL(" AND ").join(conds), order_sql(q), params.add(q.limit), offset)
    return sql.SQL("SELECT coalesce(string_agg(p.f, ','), ''), count(*), max(p.id) "
                   "FROM ({}) p").format(inner)


def estimate_sql(layer: Layer, where: sql.Composable, q: ItemsQuery | None = None,
                 params: Params | None = None) -> sql.Composable:
    """The planner's estimate of the matches (EXPLAIN: no rows are read). Pass ``q`` and
    ``params`` so that a ``datetime`` on a history layer reads its versions."""
    source = source_sql(layer, q, params) if params is not None else sql.Identifier(layer.table)
    return sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} t WHERE {}").format(source, where)


def count_sql(layer: Layer, where: sql.Composable, cap: int, params: Params,
              q: ItemsQuery | None = None) -> sql.Composable:
    """Count matches, stopping at ``cap + 1`` so a huge count never costs a full scan."""
    return sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} t WHERE {} LIMIT {}) c").format(
        source_sql(layer, q, params), where, params.add(cap + 1))


def rows_sql(layer: Layer, q: ItemsQuery, names: list[str], where: sql.Composable,
             params: Params, wkt: bool = False) -> sql.Composable:
    """Plain rows (for CSV and binary downloads): external_id, properties..., WKB or WKT."""
    fn = sql.SQL("ST_AsText" if wkt else "ST_AsBinary")
    geom = sql.SQL("{}({})").format(fn, sql.SQL(geometry_sql(layer.srid, q.crs)))
    cols = sql.SQL(", ").join([sql.SQL("t.external_id"), *(col(n) for n in names), geom])
    conds = [where]
    if q.after_id is not None:
        conds.append(sql.SQL("t.id > {}").format(params.add(q.after_id)))
    return sql.SQL("SELECT {}, t.id FROM {} t WHERE {} ORDER BY {} LIMIT {} OFFSET {}").format(
        cols, source_sql(layer, q, params), sql.SQL(" AND ").join(conds), order_sql(q),
        params.add(q.limit), params.add(q.offset if q.after_id is None else 0))


def item_sql(layer: Layer, names: list[str], out: OutputCRS) -> sql.Composable:
    """(feature JSON text, updated_at, id): the last two make the item's version ETag."""
    return sql.SQL("SELECT {}, t.updated_at, t.id FROM {} t WHERE t.external_id = %(fid)s"
                   ).format(feature_sql(layer, names, out, False), sql.Identifier(layer.table))
