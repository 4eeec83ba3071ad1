"""Migrations build exactly the schema the models describe, and a schema behind is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from bot.service.bootstrap import open_knowledge
from bot.service.settings import Settings
from bot.storage.db import make_engine
from bot.storage.migrate import SchemaBehind, current_revision, head_revision, upgrade
from knowledge.tables import Base


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrated_schema_matches_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/m.db")
    try:
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_a_schema_behind_is_refused_until_upgraded(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var")
    engine = make_engine(settings.effective_database_url)
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    await engine.dispose()
    with pytest.raises(SchemaBehind, match="egovbot db upgrade"):
        await open_knowledge(settings)


POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _ignore_search_index(obj: object, name: str | None, type_: str, reflected: bool,
                         compare_to: object) -> bool:
    """The trigram index exists only on PostgreSQL, created by raw SQL in migration 0003."""
    return name != "ix_conversations_search_trgm"


def _differences_ignoring_trigram(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection,
                                         opts={"include_object": _ignore_search_index})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_on_postgresql_match_the_models() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    database = "egovbot_migration_test"
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            await connection.exec_driver_sql(f"CREATE DATABASE {database}")
        engine = make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}")
        try:
            await upgrade(engine)
            assert await current_revision(engine) == head_revision()
            async with engine.connect() as connection:
                assert await connection.run_sync(_differences_ignoring_trigram) == []
                indexes = await connection.exec_driver_sql(
                    "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%trgm%'")
                assert indexes.fetchall() == [("ix_conversations_search_trgm",)]
        finally:
            await engine.dispose()
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f"DROP DATABASE {database}")
    finally:
        await admin.dispose()
