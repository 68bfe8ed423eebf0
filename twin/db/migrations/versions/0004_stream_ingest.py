"""Streaming ingest: a dead-letter table for messages that could not be stored.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DEAD_LETTERS = """
CREATE TABLE ingest_dead_letters (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL DEFAULT now(),
  source      text NOT NULL CONSTRAINT ck_dead_letters_source
              CHECK (source IN ('mqtt', 'http', 'csv')),
  topic       text,            -- MQTT topic, HTTP path or file name
  payload     text NOT NULL,   -- the message as received (bytes that are not UTF-8: escaped)
  reason      text NOT NULL    -- why it was refused, for an operator to read
);
CREATE INDEX ix_ingest_dead_letters_received ON ingest_dead_letters (received_at);
COMMENT ON TABLE ingest_dead_letters IS
  'Readings refused by a streaming ingest path, with the reason: never dropped silently';
"""


def upgrade(registry=None) -> None:
    op.execute(DEAD_LETTERS)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS ingest_dead_letters")
