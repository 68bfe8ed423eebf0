"""Harvesting by update time (issue 19, point 5; :mod:`twin.harvest`).

A remote that is not another twin (no change feed) but can be asked for the features
updated since a time (``datetime`` on its update-time property, or a CQL2 filter on it)
is followed incrementally:

- ``harvest_sources.mode`` gains ``updated``; its ``cursor`` then holds the high-water
  mark: the latest update time seen, as the remote wrote it (sent back verbatim).
- ``updated_field``: the remote's update-time property (``twin harvest --updated``).
- ``since_full``: incremental runs since the last full compare; a full compare every
  Nth run (``--full-every``) removes what the remote deleted, which update times
  cannot show.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

UP = """
ALTER TABLE harvest_sources DROP CONSTRAINT harvest_sources_mode_check;
ALTER TABLE harvest_sources ADD CONSTRAINT harvest_sources_mode_check
  CHECK (mode IN ('changes', 'compare', 'updated'));
ALTER TABLE harvest_sources ADD COLUMN updated_field text;
ALTER TABLE harvest_sources ADD COLUMN since_full integer NOT NULL DEFAULT 0;
"""

DOWN = """
UPDATE harvest_sources SET mode = 'compare', cursor = NULL WHERE mode = 'updated';
ALTER TABLE harvest_sources DROP COLUMN since_full;
ALTER TABLE harvest_sources DROP COLUMN updated_field;
ALTER TABLE harvest_sources DROP CONSTRAINT harvest_sources_mode_check;
ALTER TABLE harvest_sources ADD CONSTRAINT harvest_sources_mode_check
  CHECK (mode IN ('changes', 'compare'));
"""


def upgrade(registry=None) -> None:
    op.execute(UP)


def downgrade(registry=None) -> None:
    op.execute(DOWN)
