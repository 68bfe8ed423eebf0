"""Schema management: Alembic for the versioned core, a declarative sync for layers.

``upgrade`` runs the Alembic migrations, then creates the table of any layer
file added since and adds any field added to an existing layer file, and the check
and unique index that make a layer's ``id_field`` its feature id (:mod:`twin.db.id_fields`).
Changes that could lose data (a field removed, a type changed) are reported,
never applied: they need a written migration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import AddConstraint, CreateColumn

from twin.db import changelog, counts
from twin.db.history import sync_history
from twin.db.id_fields import sync_id_fields
from twin.db.models import build_metadata
from twin.registry import Registry

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaError(RuntimeError):
    """The database schema and the layer files disagree in a way sync won't fix."""


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    added_indexes: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    views: list[str] = field(default_factory=list)


def alembic_config(connection: Connection, registry: Registry) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["registry"] = registry
    return cfg


def sync_layers(connection: Connection, registry: Registry) -> SyncReport:
    """Create missing layer tables and add missing columns (additive changes only)."""
    metadata = build_metadata(registry)
    report = SyncReport()
    inspector = inspect(connection)
    existing = set(inspector.get_table_names())
    for layer in registry.tables():
        table = metadata.tables[layer.table]
        if layer.table not in existing:
            table.create(connection)
            report.created.append(layer.table)
            continue
        have = {c["name"]: c for c in inspector.get_columns(layer.table)}
        for column in table.columns:
            if column.name not in have:
                _add_column(connection, table.name, column)
                report.added_columns.append(f"{table.name}.{column.name}")
        have_indexes = {ix["name"] for ix in inspector.get_indexes(layer.table)}
        for index in table.indexes:
            if index.name not in have_indexes:
                index.create(connection)
                report.added_indexes.append(index.name)
        for name in have.keys() - set(table.columns.keys()):
            report.drift.append(f"{table.name}.{name} is in the database but not in "
                                f"{layer.source_file.name if layer.source_file else layer.name}")
    if "audit_log" in existing:  # migration 0003 is in: keep history tables in step
        tables, columns = sync_history(connection, registry)
        report.created += tables
        report.added_columns += columns
    added, drift = sync_id_fields(connection, registry)
    report.added_indexes += added
    report.drift += drift
    return report


def sync_views(connection: Connection, registry: Registry) -> list[str]:
    """(Re)create the view of every view layer: views hold no data, so replacing them is
    always safe; a view whose columns changed is dropped and created again."""
    names = []
    for layer in registry:
        if not layer.is_view:
            continue
        name = connection.dialect.identifier_preparer.quote(layer.table)
        try:
            with connection.begin_nested():
                connection.execute(text(f"CREATE OR REPLACE VIEW {name} AS {layer.view}"))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42P16":  # not "columns changed"
                raise SchemaError(f"{layer.source_file or layer.name}: the view does not "
                                  f"build: {exc.orig}") from None
            connection.execute(text(f"DROP VIEW IF EXISTS {name}"))
            connection.execute(text(f"CREATE VIEW {name} AS {layer.view}"))
        names.append(layer.table)
    return names


def _add_column(connection: Connection, table: str, column) -> None:
    ddl = CreateColumn(column).compile(dialect=connection.dialect)
    if not column.nullable:
        raise SchemaError(f"cannot add required field {table}.{column.name} to a table that "
                          "may hold rows: add it as optional, back-fill it, then make it required")
    connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {ddl}"))
    for constraint in column.table.constraints:
        if constraint.name and constraint.name.startswith(f"ck_{table}_{column.name}_"):
            connection.execute(AddConstraint(constraint))


def upgrade(engine: Engine, registry: Registry) -> SyncReport:
    """Bring the database to the current migrations and layer files, in one transaction."""
    with engine.begin() as connection:
        # Serialise concurrent upgrades (several workers or replicas starting at once).
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('twin_schema_upgrade'))"))
        command.upgrade(alembic_config(connection, registry), "head")
        report = sync_layers(connection, registry)
        report.views = sync_views(connection, registry)  # they read the migrated tables
        # numberMatched of whole layers in O(1): counts kept by triggers (twin.db.counts)
        counts.install(connection, [layer.table for layer in registry.tables()])
        # the change feeds' log (twin.db.changelog), on layer tables added since too
        changelog.install(connection, [layer.table for layer in registry.tables()])
        # Readings partitions for this month and the next two exist before their first
        # reading (streaming writers create them too, hourly).
        connection.execute(text("SELECT twin_ensure_reading_partitions(now(), "
                                "now() + interval '2 months')"))
        return report


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

