"""The change log of every layer table, in commit order (issue 19, change feeds).

``change_log`` (one row per feature written: created, updated, deleted, with the
envelope of its geometry), ``change_commits`` (writing transactions in commit order) and
``change_pending``; statement triggers on every layer table (see
:mod:`twin.db.changelog`; ``twin db upgrade`` gives layer tables added later theirs).
Rows written before this migration are not in the log: a mirror starts from a copy.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from alembic import op
from sqlalchemy import text

from twin.db import changelog

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _tables(registry) -> list[str]:
    bind = op.get_bind()
    return [layer.table for layer in registry.tables()
            if bind.execute(text("SELECT to_regclass(:t) IS NOT NULL"),
                            {"t": layer.table}).scalar()]


def upgrade(registry=None) -> None:
    changelog.install(op.get_bind(), _tables(registry) if registry is not None else [])


def downgrade(registry=None) -> None:
    changelog.uninstall(op.get_bind(), _tables(registry) if registry is not None else [])
