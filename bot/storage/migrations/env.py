"""Alembic environment: runs migrations on the connection bot.storage.migrate hands over."""

from __future__ import annotations

from alembic import context

from bot.storage import tables as models  # noqa: F401  (registers every table)
from knowledge.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'egovbot db upgrade' (bot.storage.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
