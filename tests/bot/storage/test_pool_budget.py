"""A worker's PostgreSQL connections stay within ``database_pool_size``, its engine and its
hot path's asyncpg pool together, however many messages are in flight: workers x the setting
is what the server has to allow."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from bot.storage.batch import WriteBatcher
from bot.storage.db import make_engine
from bot.storage.direct import Direct
from tests.scale.harness import PostgresDatabase

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("budget", [8, 20])
async def test_engine_and_hot_path_together_open_at_most_the_budget(
        database: PostgresDatabase, budget: int) -> None:
    engine = make_engine(database.url, budget)
    batcher = WriteBatcher(engine, budget)
    assert batcher.postgres is not None
    nap = Direct.of(select(func.pg_sleep(0.4)))
    peak = 0

    async def through_the_engine() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(0.4)"))

    async def watch() -> None:
        nonlocal peak
        for _ in range(12):
            rows = await database.fetch(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :name",
                name=database.name)
            peak = max(peak, rows[0][0])
            await asyncio.sleep(0.05)

    try:
        # far more at once than the budget: the engine's callers wait for a connection (its
        # overflow is part of the budget), and so do the hot path's
        await asyncio.gather(watch(), *[through_the_engine() for _ in range(3 * budget)],
                             *[batcher.postgres.fetchval(nap, {}) for _ in range(3 * budget)])
    finally:
        await batcher.close()
        await engine.dispose()
    # the check's own connection is counted: at most one more than the budget
    assert budget // 2 < peak <= budget + 1, peak
