"""Audit log of API edits; past versions of asset layers (``history: true``).

``updated_at`` now takes the clock time (``clock_timestamp()``) instead of the
transaction start, so every update gives a row a new version (the strong ETag of an
item) and versions follow the order in which rows were locked. See twin/db/history.py.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op

from twin.db.history import TOUCH, TOUCH_0001, drop_history, sync_history

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade(registry=None) -> None:
    op.execute(TOUCH)
    sync_history(op.get_bind(), registry)


def downgrade(registry=None) -> None:
    drop_history(op.get_bind(), registry)
    op.execute(TOUCH_0001)
