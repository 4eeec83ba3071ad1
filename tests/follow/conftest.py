"""A factory of follow stores whose engines are disposed after the test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.follows import FollowStore
from bot.storage.migrate import ensure_schema
from tests.bot.admin.conftest import accounts  # noqa: F401  (the staff pages test uses it)

OpenStore = Callable[..., Awaitable[FollowStore]]


@pytest.fixture
async def open_store() -> AsyncIterator[OpenStore]:
    engines: list[AsyncEngine] = []

    async def opened(url: str, **kwargs: Any) -> FollowStore:
        engine = make_engine(url)
        engines.append(engine)
        await ensure_schema(engine)
        return FollowStore(make_sessionmaker(engine), **kwargs)

    yield opened
    for engine in engines:
        await engine.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[Any]:
    """The fake Zalo OA API on loopback."""
    from tests.fakes.zalo_api import FakeZalo

    zalo = FakeZalo()
    await zalo.start()
    yield zalo
    await zalo.close()
