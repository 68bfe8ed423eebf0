"""GeoAlchemy2 models.

Layer tables are built from the layer registry (one ``layers/*.yaml`` each);
the tables that are not layers (readings, links, the raster catalogue, the
load log) are declared here.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    DDL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    Date,
    Double,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

from twin.registry import FieldSpec, FieldType, Layer, Registry

TZ = TIMESTAMP(timezone=True)

SQL_TYPES = {
    FieldType.string: Text, FieldType.integer: BigInteger, FieldType.number: Double,
    FieldType.boolean: Boolean, FieldType.date: Date, FieldType.datetime: lambda: TZ,
    FieldType.string_list: lambda: ARRAY(Text),
}


def _sql_literal(value) -> str:
    return str(literal(value).compile(compile_kwargs={"literal_binds": True}))


def field_checks(table: str, spec: FieldSpec) -> list[CheckConstraint]:
    """Database-side checks for a field's enum, range and pattern."""
    col, checks = spec.name, []
    if spec.enum is not None:
        values = ", ".join(_sql_literal(v) for v in spec.enum)
        checks.append((f"{col} IN ({values})", "enum"))
    if spec.min is not None:
        checks.append((f"{col} >= {spec.min!r}", "min"))
    if spec.max is not None:
        checks.append((f"{col} <= {spec.max!r}", "max"))
    if spec.pattern is not None:
        checks.append((f"{col} ~ {_sql_literal(spec.pattern)}", "pattern"))
    return [CheckConstraint(sql, name=f"ck_{table}_{col}_{kind}") for sql, kind in checks]


def validity_check_sql(layer: Layer) -> str:
    """A layer's ``validity`` ends after it starts (either may be empty)."""
    start, end = layer.validity.start, layer.validity.end
    return f"{start} IS NULL OR {end} IS NULL OR {start} < {end}"


def _measure_column(layer: Layer) -> Column | None:
    if layer.measure is None:
        return None
    geog = "geography(geom)" if layer.srid == 4326 else "geography(ST_Transform(geom, 4326))"
    fn = "ST_Length" if layer.measure == "length" else "ST_Area"
    return Column(layer.measure_column, Double, Computed(f"{fn}({geog})", persisted=True),
                  comment=f"{layer.measure} in metres, computed by PostGIS on the spheroid")


def layer_table(layer: Layer, metadata: MetaData) -> Table:
    """The SQLAlchemy table of one layer."""
    cols: list = [
        Column("id", BigInteger, Identity(always=False), primary_key=True),
        Column("external_id", Text, nullable=False, comment="Stable external identifier"),
    ]
    checks: list = []
    for spec in layer.fields.values():
        cols.append(Column(spec.name, SQL_TYPES[spec.type](), nullable=not spec.required,
                           comment=spec.description or None))
        checks += field_checks(layer.table, spec)
    measure = _measure_column(layer)
    if measure is not None:
        cols.append(measure)
    cols += [
        Column("geom", Geometry(layer.geometry.upper(), srid=layer.srid, spatial_index=False),
               nullable=False),
        Column("created_at", TZ, nullable=False, server_default=func.now()),
        Column("updated_at", TZ, nullable=False, server_default=func.now()),
    ]
    table = Table(
        layer.table, metadata, *cols, *checks,
        UniqueConstraint("external_id", name=f"uq_{layer.table}_external_id"),
        CheckConstraint("ST_IsValid(geom) AND NOT ST_IsEmpty(geom)",
                        name=f"ck_{layer.table}_geom_valid"),
        Index(f"ix_{layer.table}_geom", "geom", postgresql_using="gist"),
        comment=layer.title,
    )
    if layer.validity is not None:
        table.append_constraint(CheckConstraint(validity_check_sql(layer),
                                                name=f"ck_{layer.table}_validity"))
    if layer.time_field:
        Index(f"ix_{layer.table}_{layer.time_field}", table.c[layer.time_field])
    for spec in layer.fields.values():
        if spec.index and spec.name != layer.time_field:
            Index(f"ix_{layer.table}_{spec.name}", table.c[spec.name])
    event.listen(table, "after_create", DDL(
        f"CREATE TRIGGER {layer.table}_touch BEFORE UPDATE ON {layer.table} "
        "FOR EACH ROW EXECUTE FUNCTION twin_touch_updated_at()"))
    return table


def core_tables(metadata: MetaData) -> dict[str, Table]:
    """Tables that are not layers. ``sensor_readings`` is created by its migration
    (native monthly partitions) and declared here for queries only."""
    readings = Table(
        "sensor_readings", metadata,
        Column("station_id", BigInteger, nullable=False),
        Column("observed_at", TZ, nullable=False),
        Column("property", Text, nullable=False),
        Column("value", Double),
        Column("unit", Text),
        Column("quality", SmallInteger, nullable=False, server_default=text("0")),
        PrimaryKeyConstraint("station_id", "property", "observed_at"),
        info={"created_by_migration": True},
    )
    route_stops = Table(
        "bus_route_stops", metadata,
        Column("route_id", BigInteger, ForeignKey("bus_routes.id", ondelete="CASCADE"),
               nullable=False),
        Column("direction", SmallInteger, nullable=False, server_default=text("0")),
        Column("sequence", Integer, nullable=False),
        Column("stop_id", BigInteger, ForeignKey("bus_stops.id", ondelete="RESTRICT"),
               nullable=False),
        PrimaryKeyConstraint("route_id", "direction", "sequence"),
        CheckConstraint("direction IN (0, 1)", name="ck_bus_route_stops_direction"),
        Index("ix_bus_route_stops_stop", "stop_id"),
    )
    rasters = Table(
        "rasters", metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("external_id", Text, nullable=False, unique=True),
        Column("kind", Text, nullable=False),
        Column("scenario", Text),
        Column("variable", Text),
        Column("valid_time", TZ),
        Column("crs", Text, nullable=False),
        Column("path", Text, nullable=False),
        Column("width", Integer, nullable=False),
        Column("height", Integer, nullable=False),
        Column("res_x", Double, nullable=False),
        Column("res_y", Double, nullable=False),
        Column("nodata", Double),
        Column("stats", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("footprint", Geometry("POLYGON", srid=4326, spatial_index=False), nullable=False),
        Column("created_at", TZ, nullable=False, server_default=func.now()),
        CheckConstraint("kind IN ('dem', 'air_quality', 'flood_depth', 'rainfall', 'other')",
                        name="ck_rasters_kind"),
        Index("ix_rasters_footprint", "footprint", postgresql_using="gist"),
        Index("ix_rasters_kind_time", "kind", "variable", "valid_time"),
    )
    loads = Table(
        "load_runs", metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("layer", Text, nullable=False),
        Column("source", Text, nullable=False),
        Column("mode", Text, nullable=False),
        Column("loaded", Integer, nullable=False),
        Column("repaired", Integer, nullable=False),
        Column("rejected", Integer, nullable=False),
        Column("report", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("started_at", TZ, nullable=False),
        Column("finished_at", TZ, nullable=False, server_default=func.now()),
    )
    return {t.name: t for t in (readings, route_stops, rasters, loads)}


def build_metadata(registry: Registry) -> MetaData:
    """Metadata holding every layer table and the core tables."""
    metadata = MetaData()
    for layer in registry.tables():
        layer_table(layer, metadata)
    core_tables(metadata)
    return metadata
