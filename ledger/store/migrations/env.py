"""Alembic environment: runs migrations on the connection trailseal hands it."""

from __future__ import annotations

from alembic import context

from ledger.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
