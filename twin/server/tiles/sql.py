"""The one SQL statement behind a vector tile, composed per layer from the registry.

Everything is built in PostGIS: the spatial filter runs on the stored geometry against the
tile envelope transformed to the layer's SRID (an integer, so the GiST index is used and
no CRS text is parsed per row), geometries are clipped and quantised by ``ST_AsMVTGeom``
and the tile is encoded by ``ST_AsMVT``. Identifiers come only from the validated registry
and are quoted by psycopg; every value (z, x, y, tolerances, dates) is a bound parameter.

Features are aggregated in ``id`` order: the same rows always give the same bytes (a
parallel plan would otherwise interleave them at random), so the ETag is stable.

Generalisation is declared in the layer's ``tiles:`` block (see ``TileSpec``); the
statement has one variant per combination of rules in force, each prepared once per
connection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime

from psycopg import sql
from pyproj import CRS

from twin.db.history import versions_sql
from twin.registry import FieldSpec, FieldType, Layer, RegistryError
from twin.server.params.values import TimeFilter, validity_bounds
from twin.server.tiles.tms import ORIGIN, TILE_SIZE

MVT_EXTENT = 4096          # tile coordinate units per side
MVT_BUFFER = 64            # units of buffer around the tile, kept for seamless rendering
WEB_MERCATOR_SRID = 3857
TILE_MARGIN = MVT_BUFFER / MVT_EXTENT   # the same buffer as a fraction of the tile


@dataclass(frozen=True)
class Variant:
    """Which optional clauses a statement has."""
    simplify: bool = False
    min_area: bool = False
    hidden: bool = False
    start: bool = False
    end: bool = False
    instant: bool = False   # history layers: start = end, one version per feature


def tile_latitude(z: int, y: int) -> float:
    """Latitude (degrees) of the centre of tile row ``y`` at zoom ``z``."""
    n = math.pi * (1 - 2 * (y + 0.5) / 2 ** z)
    return math.degrees(math.atan(math.sinh(n)))


def ground_pixel_m(z: int, y: int) -> float:
    """Ground size in metres of one pixel of a 256-px tile at the tile's centre latitude."""
    return 2 * ORIGIN / (TILE_SIZE * 2 ** z) * math.cos(math.radians(tile_latitude(z, y)))


def _mvt_value(spec: FieldSpec) -> sql.Composable:
    """A field as an MVT attribute value: bool/int/float/text as they are, datetimes as
    ISO 8601 text, lists as JSON text (MVT has no list type)."""
    col = sql.Identifier(spec.name)
    if spec.type is FieldType.datetime:
        expr = sql.SQL("to_json({})#>>'{{}}'").format(col)
    elif spec.type is FieldType.string_list:
        expr = sql.SQL("array_to_json({})::text").format(col)
    elif spec.type is FieldType.date:
        expr = sql.SQL("{}::text").format(col)
    else:
        return col
    return sql.SQL("{} AS {}").format(expr, col)


class LayerTiles:
    """Tile statements and parameters of one layer."""

    def __init__(self, layer: Layer):
        self.layer = layer
        self.rules = layer.tiles
        self._check_rules()
        crs = CRS.from_user_input(layer.storage_crs)
        # Storage CRS units per ground metre: degrees of latitude, or the axis unit.
        if crs.is_geographic:
            self._units_per_m = 360.0 / (2 * math.pi * 6378137.0)
        else:
            self._units_per_m = 1.0 / crs.axis_info[0].unit_conversion_factor
        self._statements: dict[Variant, str] = {}

    def _check_rules(self) -> None:
        where = self.layer.source_file or self.layer.name
        rule = self.rules.min_zoom_by
        if rule is not None:
            spec = self.layer.fields.get(rule.field)
            if spec is None or spec.private or spec.type is not FieldType.string:
                raise RegistryError(f"{where}: tiles.min_zoom_by.field {rule.field!r} must be "
                                    "a public string field of the layer")
            unknown = set(rule.values) - set(spec.enum or rule.values)
            if unknown:
                raise RegistryError(f"{where}: tiles.min_zoom_by.values {sorted(unknown)} are "
                                    f"not values of {rule.field}")
        if self.rules.min_area_px is not None and self.layer.measure != "area":
            raise RegistryError(f"{where}: tiles.min_area_px needs a polygon layer with "
                                "measure: area")

    # --- the statement ------------------------------------------------------------------

    def statement(self, variant: Variant) -> str:
        """The statement's text, composed and rendered once per variant (psycopg then
        finds its prepared statement by this text without re-rendering it per tile)."""
        stmt = self._statements.get(variant)
        if stmt is None:
            stmt = self._statements[variant] = self._compose(variant).as_string(None)
        return stmt

    def _compose(self, v: Variant) -> sql.Composed:
        layer = self.layer
        geom = sql.Identifier("geom")
        if v.simplify:
            # Douglas-Peucker in the storage CRS before the transform: fewer vertices to
            # project; ST_AsMVTGeom snaps to the tile grid and repairs polygons anyway.
            geom = sql.SQL("ST_Simplify({}, %(tolerance)s::float8, true)").format(geom)
        if layer.srid != WEB_MERCATOR_SRID:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(WEB_MERCATOR_SRID))
        envelope = sql.SQL("ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int)")
        query_env = sql.SQL(
            "ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => %(margin)s::float8)")
        if layer.srid != WEB_MERCATOR_SRID:
            query_env = sql.SQL("ST_Transform({}, {})").format(query_env,
                                                               sql.Literal(layer.srid))
        columns = [sql.Identifier("id"), sql.Identifier("external_id")]
        columns += [_mvt_value(spec) for spec in layer.public_fields()]
        where = [sql.SQL("geom && {}").format(query_env)]
        if v.min_area:
            where.append(sql.SQL("area_m2 >= %(min_area)s::float8"))
        if v.hidden:
            field = sql.Identifier(self.rules.min_zoom_by.field)
            where.append(sql.SQL("({f} IS NULL OR {f} <> ALL(%(hidden)s::text[]))").format(
                f=field))
        table: sql.Composable = sql.Identifier(layer.table)
        if layer.history and (v.start or v.end):
            # The versions valid then (see twin.db.history), read instead of the table.
            start = sql.SQL("%(start)s::timestamptz") if v.start else None
            end = sql.SQL("%(end)s::timestamptz") if v.end else None
            table = sql.SQL("{} AS v").format(versions_sql(layer, start, end, v.instant))
        if layer.time_field:
            tf = sql.Identifier(layer.time_field)
            cast = sql.SQL("date" if self._time_is_date else "timestamptz")
            if v.start:
                where.append(sql.SQL("{} >= %(start)s::{}").format(tf, cast))
            if v.end:
                where.append(sql.SQL("{} <= %(end)s::{}").format(tf, cast))
        if layer.validity is not None:
            where += _in_force(layer, v)
        return sql.SQL(
            "SELECT ST_AsMVT(t, {name}, {extent}, 'geom', 'id' ORDER BY t.id) FROM ("
            "SELECT {columns}, ST_AsMVTGeom({geom}, {envelope}, {extent}, {buffer}, true) "
            "AS geom FROM {table} WHERE {where}) AS t"
        ).format(
            name=sql.Literal(layer.name), extent=sql.Literal(MVT_EXTENT),
            buffer=sql.Literal(MVT_BUFFER), columns=sql.SQL(", ").join(columns),
            geom=geom, envelope=envelope, table=table,
            where=sql.SQL(" AND ").join(where),
        )

    @property
    def _time_is_date(self) -> bool:
        return self.layer.fields[self.layer.time_field].type is FieldType.date

    # --- per request --------------------------------------------------------------------

    def query(self, z: int, x: int, y: int,
              when: TimeFilter | None = None) -> tuple[str, dict]:
        """The statement and its parameters for tile z/x/y (in range, checked by the caller)."""
        rules = self.rules
        params: dict = {"z": z, "x": x, "y": y, "margin": TILE_MARGIN}
        pixel_m = ground_pixel_m(z, y)
        simplify = rules.simplify_below is not None and z < rules.simplify_below
        if simplify:
            params["tolerance"] = pixel_m * rules.simplify_px * self._units_per_m
        min_area = rules.min_area_px is not None
        if min_area:
            params["min_area"] = pixel_m * pixel_m * rules.min_area_px
        hidden: list[str] = []
        if rules.min_zoom_by is not None:
            hidden = sorted(v for v, mz in rules.min_zoom_by.values.items() if z < mz)
            if hidden:
                params["hidden"] = hidden
        start = end = False
        if when is not None:
            lo, hi = self._time_params(when)
            if lo is not None:
                params["start"], start = lo, True
            if hi is not None:
                params["end"], end = hi, True
        instant = bool(self.layer.history and when is not None and when.start is not None
                       and when.start == when.end)
        variant = Variant(simplify=simplify, min_area=min_area, hidden=bool(hidden),
                          start=start, end=end, instant=instant)
        return self.statement(variant), params

    def _time_params(self, when: TimeFilter) -> tuple:
        """Interval ends (inclusive; a date already stands for its whole day) in the time
        field's own type: a date field compares with the UTC day of each end."""
        if self.layer.time_field and self._time_is_date:
            return _as_date(when.start), _as_date(when.end)
        if self.layer.validity is not None:
            return validity_bounds(self.layer, when)
        return when.start, when.end


def _in_force(layer: Layer, v: Variant) -> list[sql.Composable]:
    """A ``validity`` layer's features in force at some moment of [start, end]."""
    start, end = sql.Identifier(layer.validity.start), sql.Identifier(layer.validity.end)
    is_date = layer.fields[layer.validity.start].type is FieldType.date
    cast = sql.SQL("date" if is_date else "timestamptz")
    out = []
    if v.end:
        out.append(sql.SQL("({f} IS NULL OR {f} <= %(end)s::{c})").format(f=start, c=cast))
    if v.start:
        out.append(sql.SQL("({f} IS NULL OR {f} > %(start)s::{c})").format(f=end, c=cast))
    return out


def _as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value
