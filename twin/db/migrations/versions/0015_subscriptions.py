"""Subscriptions to layer changes (issue 19, point 4; :mod:`twin.server.subscriptions`).

- ``subscriptions``: who subscribed (the principal's subject and roles, so that what is
  delivered is what that caller may read), the layer, an optional bbox (CRS84) and CQL2
  filter, the channel (``webhook``: a URL and the HMAC secret given once at creation;
  ``mqtt``: a topic the server assigns), and the change-feed cursor delivered up to.
- A statement trigger on ``change_commits`` (the change log's commit order, migration
  0013) announces each writing commit with ``pg_notify('twin_layer_changes')``, so that
  dispatchers fan changes out at once instead of at their next poll.

Deliveries go through the generic outbox of migration 0012 (stream ``layer_changes``).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE subscriptions (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  owner        text NOT NULL,
  roles        text[] NOT NULL DEFAULT '{}',
  layer        text NOT NULL,
  bbox         double precision[] CHECK (bbox IS NULL OR cardinality(bbox) = 4),
  filter       text,
  filter_lang  text,
  channel      text NOT NULL CHECK (channel IN ('webhook', 'mqtt')),
  target       text NOT NULL,
  secret       text,
  cursor       text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  updated_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
COMMENT ON TABLE subscriptions IS
  'Subscriptions to a layer''s changes, delivered through the deliveries outbox';
CREATE INDEX ix_subscriptions_owner ON subscriptions (owner, id);

CREATE OR REPLACE FUNCTION twin_layer_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('twin_layer_changes', '');
  RETURN NULL;
END $$;
CREATE TRIGGER twin_layer_changes_notify AFTER INSERT ON change_commits
  FOR EACH STATEMENT EXECUTE FUNCTION twin_layer_changes_notify();
"""


def upgrade(registry=None) -> None:
    op.execute(TABLES)


def downgrade(registry=None) -> None:
    op.execute("DROP TRIGGER IF EXISTS twin_layer_changes_notify ON change_commits; "
               "DROP FUNCTION IF EXISTS twin_layer_changes_notify(); "
               "DROP TABLE IF EXISTS subscriptions")
