"""Schema migrations with Alembic: upgrade to the latest revision, or tell how far behind.

The service never changes a schema by itself except to create it in an empty database; a
database whose schema is behind makes it refuse to start with the command to run.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaBehind(RuntimeError):
    """The database's schema is older than the code."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _is_empty(connection: Connection) -> bool:
    return not inspect(connection).get_table_names()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None: no schema yet)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to ``revision``."""
    async with engine.begin() as connection:
        await connection.run_sync(
            lambda sync: command.upgrade(_config(sync), revision))


async def ensure_schema(engine: AsyncEngine) -> None:
    """Create the schema in an empty database; refuse a database that is behind."""
    async with engine.connect() as connection:
        empty = await connection.run_sync(_is_empty)
        current = await connection.run_sync(_current)
    if empty:
        await upgrade(engine)
        return
    head = head_revision()
    if current != head:
        raise SchemaBehind(
            f"the database schema is at {current or 'an unknown revision'}, the code needs "
            f"{head}: run 'egovbot db upgrade' (back up the database first)")
