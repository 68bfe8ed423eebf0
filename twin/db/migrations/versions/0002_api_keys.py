"""API keys: a public prefix and a hash per key, never the key itself.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

API_KEYS = """
CREATE TABLE api_keys (
  prefix       text PRIMARY KEY CONSTRAINT ck_api_keys_prefix CHECK (prefix ~ '^[a-z0-9]{8}$'),
  key_hash     bytea NOT NULL CONSTRAINT ck_api_keys_hash CHECK (length(key_hash) = 32),
  agency       text NOT NULL CONSTRAINT ck_api_keys_agency CHECK (agency <> ''),
  role         text NOT NULL,  -- validated by twin against the roles it knows
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz     -- refreshed at most about once a minute per key
);
COMMENT ON TABLE api_keys IS 'Agency API keys: SHA-256 of the key, the key itself is shown once';
COMMENT ON COLUMN api_keys.key_hash IS 'SHA-256 of the whole key text';
"""


def upgrade(registry=None) -> None:
    op.execute(API_KEYS)


def downgrade(registry=None) -> None:
    op.execute("DROP TABLE IF EXISTS api_keys")
