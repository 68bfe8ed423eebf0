"""Alembic environment: twin passes the connection and the layer registry in."""

from alembic import context

from twin.db.models import build_metadata

config = context.config
connection = config.attributes["connection"]
registry = config.attributes["registry"]

context.configure(connection=connection, target_metadata=build_metadata(registry),
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations(registry=registry)
