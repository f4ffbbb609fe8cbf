"""Alembic environment for the cloud database, driven by ``cloud.db.migrate``.

There is no ``alembic.ini``: ``cloud.db.migrate.alembic_config(connection)`` passes the
connection in ``config.attributes["connection"]``; migrations run inside its transaction.
SQLite gets ``render_as_batch`` so ALTERs become table rebuilds.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from cloud.db.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "run the cloud migrations through cloud.db.migrate() (offline SQL mode is not supported)"
    )

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)

with context.begin_transaction():
    context.run_migrations()
