"""Harvesting other agencies' OGC API – Features servers into local layers (issue 19,
point 5; :mod:`twin.harvest`).

- ``harvest_sources``: one row per (remote URL, remote collection, local layer): how it
  is followed (``changes``: another twin's change feed; ``compare``: a full compare of
  the items), the change-feed cursor to resume from, whether harvested features may be
  edited locally, the last run, its outcome and error.
- ``harvest_features``: the provenance of each harvested feature: the source, the remote
  id, the load run that last wrote it and when. A feature with a row here is read-only
  locally unless its source says ``editable``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE harvest_sources (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  url          text NOT NULL,
  collection   text NOT NULL,
  layer        text NOT NULL,
  mode         text NOT NULL DEFAULT 'compare' CHECK (mode IN ('changes', 'compare')),
  cursor       text,
  editable     boolean NOT NULL DEFAULT false,
  last_run_id  bigint,
  last_run_at  timestamptz,
  last_ok_at   timestamptz,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (url, collection, layer)
);
COMMENT ON TABLE harvest_sources IS
  'Remote OGC API - Features collections harvested into local layers (twin harvest)';

CREATE TABLE harvest_features (
  layer         text NOT NULL,
  external_id   text NOT NULL,
  source_id     bigint NOT NULL REFERENCES harvest_sources (id) ON DELETE CASCADE,
  remote_id     text NOT NULL,
  run_id        bigint,
  harvested_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (layer, external_id)
);
COMMENT ON TABLE harvest_features IS
  'Provenance of harvested features: source, remote id, the load run that wrote them';
CREATE INDEX ix_harvest_features_source ON harvest_features (source_id);
"""


def upgrade(registry=None) -> None:
    op.execute(TABLES)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS harvest_features, harvest_sources")
