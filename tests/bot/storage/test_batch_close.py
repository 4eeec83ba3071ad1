"""Closing the write batcher on SQLite: a checkpoint under way finishes before its engine goes.

Disposing of the checkpoint's engine while a checkpoint ran closed the sqlite3 connection under
it: a segfault in a test's teardown (CI, 2026-12-06)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

import bot.storage.batch as batch_module
from bot.core.messages import IncomingMessage
from bot.storage.batch import WriteBatcher
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.inbox import Inbox
from bot.storage.migrate import ensure_schema


async def test_closing_waits_for_a_checkpoint_under_way(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real_checkpoint = batch_module.checkpoint_sqlite
    started, finished = threading.Event(), []

    def slow_checkpoint(engine: Engine) -> None:
        started.set()
        time.sleep(0.3)  # a checkpoint of a long write-ahead log
        real_checkpoint(engine)
        finished.append(time.monotonic())

    monkeypatch.setattr(batch_module, "CHECKPOINT_SECONDS", 0.01)
    monkeypatch.setattr(batch_module, "checkpoint_sqlite", slow_checkpoint)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    await ensure_schema(engine)
    batcher = WriteBatcher(engine)
    try:
        inbox = Inbox(make_sessionmaker(engine), batcher)
        assert await inbox.accept(IncomingMessage("web", "a", "chào", "1")) is not None
        assert await asyncio.to_thread(started.wait, 5)  # a checkpoint is under way
    finally:
        await batcher.close()
        closed = time.monotonic()
        await engine.dispose()
    assert finished and finished[0] <= closed  # it ended, and before close returned
