"""OpenStreetMap import (``twin import osm``): road classes as OSM writes them, and the store
of OSM objects a change file (.osc) needs.

- The enum checks of ``road_segments.road_class`` (every ``highway=*`` value of a way a
  vehicle or a person uses) and ``admin_areas.level`` (``province`` added) are rebuilt from
  the layer files: the declarative sync adds checks with new columns only, so an existing
  database needs this migration for the wider enums. Existing rows all satisfy them.
- ``osm_nodes`` (the locations of the nodes of the imported ways), ``osm_ways`` (their node
  lists and tags) and ``osm_relations`` (members and tags of the imported relations): a
  change file lists only what changed, so a modified way is rebuilt from these.
  ``osm_state`` keeps what the last full import was (file, clip extent).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from alembic import op
from sqlalchemy import text

from twin.db.models import field_checks

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WIDENED = (("road_segments", "road_class"), ("admin_areas", "level"))

STORE = """
CREATE TABLE osm_nodes (
  id  bigint PRIMARY KEY,
  lon double precision NOT NULL,
  lat double precision NOT NULL
);
COMMENT ON TABLE osm_nodes IS 'Locations of the nodes of the ways twin imported from OSM';
CREATE TABLE osm_ways (
  id    bigint PRIMARY KEY,
  nodes bigint[] NOT NULL,
  tags  jsonb NOT NULL DEFAULT '{}'::jsonb,
  road  boolean NOT NULL DEFAULT false     -- part of the road network (split at shared nodes)
);
CREATE INDEX ix_osm_ways_nodes ON osm_ways USING gin (nodes);
COMMENT ON TABLE osm_ways IS 'Node lists and tags of the OSM ways twin imported or needs';
CREATE TABLE osm_relations (
  id        bigint PRIMARY KEY,
  tags      jsonb NOT NULL DEFAULT '{}'::jsonb,
  members   jsonb NOT NULL DEFAULT '[]'::jsonb,   -- [[type, ref, role], ...] in order
  ways      bigint[] NOT NULL DEFAULT '{}',
  nodes     bigint[] NOT NULL DEFAULT '{}',
  relations bigint[] NOT NULL DEFAULT '{}'
);
CREATE INDEX ix_osm_relations_ways ON osm_relations USING gin (ways);
CREATE INDEX ix_osm_relations_nodes ON osm_relations USING gin (nodes);
CREATE INDEX ix_osm_relations_relations ON osm_relations USING gin (relations);
COMMENT ON TABLE osm_relations IS 'Members and tags of the OSM relations twin imported';
CREATE TABLE osm_state (
  key   text PRIMARY KEY,
  value jsonb NOT NULL
);
COMMENT ON TABLE osm_state IS 'The last full OSM import: its file and clip extent';
"""


def _rebuild_enum(registry, table: str, field: str) -> None:
    if registry is None or table not in registry:
        return
    layer = registry.get(table)
    spec = layer.fields.get(field)
    bind = op.get_bind()
    exists = bind.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": layer.table})
    if spec is None or spec.enum is None or not exists.scalar():
        return
    name = f"ck_{layer.table}_{field}_enum"
    op.execute(f'ALTER TABLE "{layer.table}" DROP CONSTRAINT IF EXISTS "{name}"')
    for check in field_checks(layer.table, spec):
        if check.name == name:
            op.execute(f'ALTER TABLE "{layer.table}" ADD CONSTRAINT "{name}" '
                       f"CHECK ({check.sqltext})")


def upgrade(registry=None) -> None:
    for table, field in WIDENED:
        _rebuild_enum(registry, table, field)
    op.execute(STORE)


def downgrade(registry=None) -> None:
    # The wider enums stay: narrowing them could fail on rows that use the new values.
    op.execute("DROP TABLE IF EXISTS osm_state, osm_relations, osm_ways, osm_nodes")
