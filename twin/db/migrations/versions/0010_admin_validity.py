"""The administrative map of 1 July 2025: areas carry when they are in force.

- Layers with ``validity`` (``admin_areas``: ``valid_from``, ``valid_to``) get those two
  columns where the table predates them, and the check ``ck_<table>_validity`` (the end
  after the start). ``datetime`` on such a layer selects the features in force then.
- ``admin_areas.level`` gains ``commune`` (the enum check is rebuilt from the layer file,
  as in 0009; every existing row satisfies it).
- A layer that no longer keeps history (``admin_areas``: its validity is its time axis)
  loses its history trigger; ``<table>_history`` and its rows stay, no longer written.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from alembic import op
from sqlalchemy import text

from twin.db.models import field_checks, validity_check_sql
from twin.registry import FieldType

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _exists(table: str) -> bool:
    return bool(op.get_bind().execute(text("SELECT to_regclass(:t) IS NOT NULL"),
                                      {"t": table}).scalar())


def _has_constraint(table: str, name: str) -> bool:
    return op.get_bind().execute(text(
        "SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(:t) AND conname = :n"),
        {"t": table, "n": name}).first() is not None


def _widen_level(layer) -> None:
    spec = layer.fields.get("level")
    if spec is None or spec.enum is None:
        return
    name = f"ck_{layer.table}_level_enum"
    op.execute(f'ALTER TABLE "{layer.table}" DROP CONSTRAINT IF EXISTS "{name}"')
    for check in field_checks(layer.table, spec):
        if check.name == name:
            op.execute(f'ALTER TABLE "{layer.table}" ADD CONSTRAINT "{name}" '
                       f"CHECK ({check.sqltext})")


def _add_validity(layer) -> None:
    for column in (layer.validity.start, layer.validity.end):
        spec = layer.fields[column]
        kind = "date" if spec.type is FieldType.date else "timestamptz"
        op.execute(f'ALTER TABLE "{layer.table}" ADD COLUMN IF NOT EXISTS "{column}" {kind}')
    name = f"ck_{layer.table}_validity"
    if not _has_constraint(layer.table, name):
        op.execute(f'ALTER TABLE "{layer.table}" ADD CONSTRAINT "{name}" '
                   f"CHECK ({validity_check_sql(layer)})")


def _stop_history(layer) -> None:
    op.execute(f'DROP TRIGGER IF EXISTS "{layer.table}_keep_version" ON "{layer.table}"')
    op.execute(f'DROP FUNCTION IF EXISTS "twin_{layer.table}_keep_version"()')
    if _exists(f"{layer.table}_history"):
        op.execute(f'COMMENT ON TABLE "{layer.table}_history" IS \'Past versions of '
                   f'{layer.table} kept until migration 0010; no longer written (edits '
                   f"are in audit_log)'")


def upgrade(registry=None) -> None:
    if registry is None:
        return
    for layer in registry.tables():
        if not _exists(layer.table):
            continue
        if layer.name == "admin_areas":
            _widen_level(layer)
        if layer.validity is not None:
            _add_validity(layer)
        if not layer.history:
            _stop_history(layer)


def downgrade(registry=None) -> None:
    # The columns and the wider enum stay: dropping them would lose the maps' validity.
    if registry is None:
        return
    for layer in registry.tables():
        if layer.validity is not None and _exists(layer.table):
            op.execute(f'ALTER TABLE "{layer.table}" DROP CONSTRAINT IF EXISTS '
                       f'"ck_{layer.table}_validity"')
