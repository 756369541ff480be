"""Alembic environment: always run programmatically by ``acd.storage.schema`` with a connection.

There is no ``alembic.ini``: ``acd.storage.schema`` builds the configuration and passes an open
(sync-facing) connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from acd.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `acd db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them; batch mode does that for later revisions.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
