"""Fixtures of the scale-out tests: a throwaway PostgreSQL database and a private Redis.

Every test here is marked ``scale`` (select with ``-m scale``, skip with ``-m 'not scale'``).
They need the machine's PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and the
``redis-server`` binary; they start their own workers, simulator and Redis on loopback ports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.scale.harness import PostgresDatabase, RedisServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scale: multi-process tests on PostgreSQL and Redis "
                                       "(tests/scale; minutes)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/scale/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.scale)


@pytest.fixture
async def database() -> AsyncIterator[PostgresDatabase]:
    """A fresh, migrated PostgreSQL database with a random name; dropped afterwards."""
    db = PostgresDatabase()
    await db.create()
    try:
        yield db
    finally:
        await db.drop()


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A private redis-server on a free loopback port."""
    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        server.stop()
