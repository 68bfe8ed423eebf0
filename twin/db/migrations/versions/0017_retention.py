"""Subscriptions told when a feature leaves their filter, and retention of the change log
and the deliveries (issues 19 and 18; :mod:`twin.db.retention`).

- ``change_log.old``: for an update, the row it replaced (``to_jsonb`` of the old row,
  geometry included), written by the log's update trigger (:mod:`twin.db.changelog`,
  reinstalled here). A subscription tests its bbox and CQL2 filter on it: a feature
  whose old version matched and whose current one does not is delivered as ``left``.
  Updates logged before this migration have none (nothing is sent as ``left`` for them).
- ``subscriptions.layer_table``: the table a subscription follows (its layer's; existing
  rows: the layer's name, which is its table unless a layer file says otherwise). The
  update trigger keeps ``old`` only while a subscription with a bbox or a filter
  follows the table (``twin_change_keeps_old``): a full rewrite of a layer nobody
  filters costs what it did.
- ``change_pruned``: per layer, the position (commit seq, log id) and commit time of
  the last change removed by retention; a change-feed cursor before it gets 410 Gone.
- ``ix_deliveries_settled``: delivered and dead deliveries by their last change, the
  order retention removes them in (pending ones are never removed).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from alembic import op

from twin.db import changelog

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


SUBSCRIPTIONS = """
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS layer_table text;
UPDATE subscriptions SET layer_table = layer WHERE layer_table IS NULL;
ALTER TABLE subscriptions ALTER COLUMN layer_table SET NOT NULL;
CREATE INDEX IF NOT EXISTS ix_subscriptions_layer_table ON subscriptions (layer_table);
"""


def upgrade(registry=None) -> None:
    op.execute("ALTER TABLE change_log ADD COLUMN IF NOT EXISTS old jsonb")
    op.execute(SUBSCRIPTIONS)
    changelog.install(op.get_bind(), [])  # change_pruned and the trigger that fills old
    op.execute("CREATE INDEX IF NOT EXISTS ix_deliveries_settled ON deliveries (updated_at) "
               "WHERE status <> 'pending'")


def downgrade(registry=None) -> None:
    # change_log.old stays (the trigger functions of this version fill it)
    op.execute("DROP INDEX IF EXISTS ix_deliveries_settled; "
               "DROP TABLE IF EXISTS change_pruned")
    # subscriptions.layer_table stays: the trigger functions of this version read it
