"""Air-quality surfaces: the hours whose surfaces are due, as readings arrive.

``surface_pending`` holds one row per (pollutant, UTC hour) whose hourly means changed
since its surface was last made. Every readings ingest transaction upserts the hours it
touched (``twin.surfaces.pending.mark``, called from ``twin.ingest.derived.refresh``),
moving ``version`` forward; ``twin.surfaces.pending.process_pending`` makes the
surfaces after commit and deletes a row only if its version is still the one it read,
so readings that arrive while a surface is being made are never left out.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = """
CREATE SEQUENCE surface_pending_version;
CREATE TABLE surface_pending (
  variable text NOT NULL,
  hour     timestamptz NOT NULL,   -- UTC hour start, as reading_rollups' hour buckets
  version  bigint NOT NULL DEFAULT nextval('surface_pending_version'),
  since    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pk_surface_pending PRIMARY KEY (variable, hour)
);
COMMENT ON TABLE surface_pending IS
  'Pollutant hours whose interpolated surface is older than their hourly means';
"""


def upgrade(registry=None) -> None:
    op.execute(PENDING)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS surface_pending")
    op.execute("DROP SEQUENCE IF EXISTS surface_pending_version")
