"""Migrations build exactly the schema the models describe, and a schema behind is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from bot.bootstrap import open_knowledge
from bot.settings import Settings
from knowledge.db import Base, make_engine
from knowledge.migrate import SchemaBehind, current_revision, head_revision, upgrade


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
