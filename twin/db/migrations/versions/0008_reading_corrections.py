"""Corrections of stored readings, audited: who changed which reading, from what to what,
and why (``twin.ingest.corrections``; ``POST /readings/corrections``).

A reading sent again never replaces the stored one; a correction by the station's agency
(or an admin) is the only way a stored reading changes, and each is one row here. The
rows outlive the readings and stations they name (no foreign keys): an audit trail.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CORRECTIONS = """
CREATE TABLE reading_corrections (
  id           bigserial PRIMARY KEY,
  corrected_at timestamptz NOT NULL DEFAULT now(),
  actor        text NOT NULL,          -- the key's or token's subject
  agency       text,                   -- the actor's agency
  method       text,                   -- api_key | jwt
  request_id   text,                   -- X-Request-Id, when the client sent one
  station_id   bigint NOT NULL,        -- sensor_stations.id at the time
  station      text NOT NULL,          -- its code
  property     text NOT NULL,
  observed_at  timestamptz NOT NULL,   -- the corrected reading's time
  action       text NOT NULL CONSTRAINT ck_reading_corrections_action
               CHECK (action IN ('update', 'delete')),
  before       jsonb NOT NULL,         -- {value, unit, quality}
  after        jsonb,                  -- the same, NULL for a deletion
  reason       text NOT NULL
);
CREATE INDEX ix_reading_corrections_reading
  ON reading_corrections (station_id, property, observed_at);
CREATE INDEX ix_reading_corrections_at ON reading_corrections (corrected_at);
COMMENT ON TABLE reading_corrections IS
  'Every correction of a stored reading (value, quality or deletion), with who and why';
"""


def upgrade(registry=None) -> None:
    op.execute(CORRECTIONS)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS reading_corrections")
