"""The whole service (web, Telegram and Zalo on, fakes behind) in a thread with its own loop.

Hypothesis runs a test body many times; starting the service for each example would take
minutes. Here it starts once per module: the (synchronous) test hands coroutines to the
service's loop with ``run``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.dossier_api.simulator import create_simulator_app
from bot.service.app import DISPATCHER, RUNTIME, create_app
from bot.service.settings import Settings
from bot.storage.db import make_sessionmaker
from bot.storage.tables import ConversationRow, InboxRow, TurnRow
from nlu.engine import NluModel
from tests.fakes.telegram_api import TOKEN, FakeTelegramApi
from tests.fakes.zalo_api import FakeZalo

T = TypeVar("T")
TELEGRAM_SECRET = "fuzz-secret_0123456789"
STATE_TABLES = {"inbox": InboxRow, "conversations": ConversationRow, "turns": TurnRow}


class ErrorLog(logging.Handler):
    """Every ERROR (or worse) record logged anywhere while installed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def since(self, mark: int) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" + (f"\n{r.exc_info[1]!r}" if r.exc_info else "")
                for r in self.records[mark:]]


class LiveService:
    """Start with ``start()``; ``client`` talks to the service on a loopback port."""

    def __init__(self, data_dir: Path, model: NluModel) -> None:
        self.data_dir = data_dir
        self.model = model
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="live-service",
                                       daemon=True)
        self.errors = ErrorLog()
        self._client: TestClient[Any, Any] | None = None
        self._servers: list[TestServer] = []
        self.telegram: FakeTelegramApi | None = None
        self.zalo: FakeZalo | None = None

    @property
    def client(self) -> TestClient[Any, Any]:
        assert self._client is not None
        return self._client

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine on the service's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> LiveService:
        self.thread.start()
        logging.getLogger().addHandler(self.errors)
        self.run(self._start(), timeout=120)
        return self

    def stop(self) -> None:
        try:
            self.run(self._stop(), timeout=60)
        finally:
            logging.getLogger().removeHandler(self.errors)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    async def _start(self) -> None:
        simulator = TestServer(create_simulator_app("test-token"), host="127.0.0.1")
        await simulator.start_server()
        self._servers.append(simulator)
        self.telegram = FakeTelegramApi()
        await self.telegram.start()
        self.zalo = FakeZalo()
        await self.zalo.start()
        settings = Settings(
            data_dir=self.data_dir, dossier_api_token="test-token",
            dossier_api_timeout=0.3, dossier_api_deadline=1.0, shutdown_timeout=5.0,
            telegram_token=TOKEN, telegram_webhook_secret=TELEGRAM_SECRET,
            telegram_api_url=self.telegram.api_url, telegram_chat_messages_per_second=0,
            telegram_messages_per_second=0, telegram_retry_backoff=0.01,
            zalo_app_id=self.zalo.app_id, zalo_oa_secret=self.zalo.oa_secret,
            zalo_app_secret=self.zalo.app_secret, zalo_refresh_token=self.zalo.refresh_token,
            zalo_api_url=self.zalo.url, zalo_oauth_url=self.zalo.url, zalo_timeout=0.5,
            zalo_retry_backoff=0.01)
        self.model.save(settings.model_path)
        app = await create_app(settings, str(simulator.make_url("")).rstrip("/"))
        self._client = TestClient(TestServer(app, host="127.0.0.1"))
        await self._client.start_server()

    async def _stop(self) -> None:
        if self._client is not None:
            await self._client.close()
        for server in self._servers:
            await server.close()
        if self.telegram is not None:
            await self.telegram.close()
        if self.zalo is not None:
            await self.zalo.close()

    # --- helpers for test bodies (coroutines: pass them to run) ---------------------------

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every accepted message has been answered and sent."""
        app = self.client.app
        dispatcher = app[DISPATCHER]
        deadline = time.monotonic() + timeout
        while dispatcher.in_flight or getattr(dispatcher.channels.get("zalo"), "busy", False):
            assert time.monotonic() < deadline, "the bot did not finish in time"
            await asyncio.sleep(0.005)
        telegram = dispatcher.channels.get("telegram")
        if telegram is not None:
            await telegram.wait_idle(timeout)  # type: ignore[attr-defined]

    async def counts(self) -> dict[str, int]:
        """Rows in the tables a message changes."""
        await self.settle()
        sessions = make_sessionmaker(self.client.app[RUNTIME].engine)
        async with sessions() as session:
            return {name: int(await session.scalar(select(func.count()).select_from(row)) or 0)
                    for name, row in STATE_TABLES.items()}
