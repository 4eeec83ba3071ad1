"""Two workers in one test process on one PostgreSQL database and one Redis: claim and drain,
replies kept for a dead worker, lock lifetime, Redis outage, shared rate limits, reload signal.

The multi-process tests next to this one put the same rules under load; these show each rule
alone, quickly, with the fake Telegram API recording what was sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from actions.base import Reply
from bot.service.app import create_app
from bot.service.appkeys import DISPATCHER, RUNTIME
from bot.service.coordination.rate_limits import RedisRateLimiter
from bot.service.reload import KB_VERSION, announce
from bot.storage.key_values import KeyValueStore
from nlu.engine import NluModel
from tests.bot.channels.test_telegram import deliver, telegram_settings
from tests.fakes.telegram_api import FakeTelegramApi, text_update
from tests.scale.harness import PostgresDatabase, RedisServer, dossier_code

pytestmark = pytest.mark.slow  # several worker processes, PostgreSQL and redis-server

Client = TestClient[Any, Any]
CODE = re.compile(r"\d{3}\.\d{2}\.\d{2}\.H31-\d{6}-\d{4}")


class Workers:
    """Starts workers (whole apps on loopback ports) sharing the database and Redis."""

    def __init__(self, tmp_path: Path, model: NluModel, simulator: str, api: FakeTelegramApi,
                 database: PostgresDatabase, redis: RedisServer) -> None:
        self.tmp_path, self.model, self.simulator, self.api = tmp_path, model, simulator, api
        self.database, self.redis = database, redis
        self.clients: list[Client] = []

    async def start(self, **overrides: Any) -> Client:
        settings = telegram_settings(
            self.tmp_path / f"worker{len(self.clients)}", self.api,
            database_url=self.database.url, redis_url=self.redis.url,
            telegram_messages_per_second=0, telegram_chat_messages_per_second=0, **overrides)
        self.model.save(settings.model_path)
        client = TestClient(TestServer(await create_app(settings, self.simulator),
                                       host="127.0.0.1"))
        await client.start_server()
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


@pytest.fixture
async def workers(tmp_path: Path, shipped_model: NluModel, simulator: str,
                  telegram_api: FakeTelegramApi, database: PostgresDatabase,
                  redis: RedisServer) -> AsyncIterator[Workers]:
    pool = Workers(tmp_path, shipped_model, simulator, telegram_api, database, redis)
    yield pool
    await pool.close()


def codes_sent(api: FakeTelegramApi, chat_id: int) -> list[str]:
    """The dossier codes the replies to a chat mention, in the order they were sent."""
    return [code for call in api.sent(chat_id) for code in CODE.findall(call["text"])]


async def wait_for_replies(api: FakeTelegramApi, chat_id: int, count: int,
                           timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(codes_sent(api, chat_id)) < count:
        assert time.monotonic() < deadline, f"{len(codes_sent(api, chat_id))}/{count} replies"
        await asyncio.sleep(0.02)


async def test_messages_spread_over_two_workers_are_answered_once_in_order(
        workers: Workers, telegram_api: FakeTelegramApi, database: PostgresDatabase) -> None:
    first, second = await workers.start(), await workers.start()
    chat, codes = 901, [dossier_code(i) for i in range(8)]
    for index, code in enumerate(codes):  # like Telegram: the next once the previous got 200
        update = text_update(chat, f"tra cứu hồ sơ {code}", update_id=5000 + index)
        assert await deliver((first, second)[index % 2], update) == 200
        if index % 3 == 0:  # a repeated delivery, to the other worker
            assert await deliver((second, first)[index % 2], update) == 200
    await wait_for_replies(telegram_api, chat, len(codes))
    await asyncio.sleep(0.3)  # a duplicate reply would arrive by now
    assert codes_sent(telegram_api, chat) == codes
    turns = await database.fetch("SELECT count(*) FROM turns WHERE conversation_id = :c "
                                 "AND direction = 'in'", c=f"telegram:{chat}")
    assert turns == [(len(codes),)]
    assert await database.fetch("SELECT DISTINCT status FROM inbox") == [("done",)]


async def test_replies_of_a_dead_worker_are_sent_and_its_pending_messages_answered(
        workers: Workers, telegram_api: FakeTelegramApi, database: PostgresDatabase) -> None:
    chat, now = 902, dt.datetime.now(dt.UTC)
    stored = Reply("Trả lời đã lưu cho hồ sơ 000.00.12.H31-230101-0001").to_dict()
    async with database.engine.begin() as connection:  # what a killed worker leaves behind
        await connection.exec_driver_sql(
            "INSERT INTO inbox (channel, message_id, user_id, text, received_at, status, "
            "replies) VALUES ('telegram', '1', $1, 'x', $2, 'answered', $3), "
            "('telegram', '2', $1, $4, $2, 'pending', NULL)",
            (str(chat), now, json.dumps([stored]),
             "tra cứu hồ sơ 000.00.12.H31-230101-0002"))
    await workers.start()
    await wait_for_replies(telegram_api, chat, 2)
    assert codes_sent(telegram_api, chat) == ["000.00.12.H31-230101-0001",
                                              "000.00.12.H31-230101-0002"]
    # the answered message was not handled again: only the pending one left a turn
    assert await database.fetch("SELECT count(*) FROM turns WHERE direction = 'in'") == [(1,)]


async def test_a_dead_workers_lock_frees_itself_after_its_lifetime(
        workers: Workers, telegram_api: FakeTelegramApi, redis: RedisServer) -> None:
    client = await workers.start()
    chat = 903
    held = Redis.from_url(redis.url)
    await held.set(f"egovbot:lock:telegram:{chat}", b"dead-worker", px=1500)
    await held.aclose()
    started = time.monotonic()
    code = dossier_code(3)
    assert await deliver(client, text_update(chat, code, update_id=7000)) == 200
    await asyncio.sleep(1.0)
    assert codes_sent(telegram_api, chat) == []  # still locked by the dead worker
    await wait_for_replies(telegram_api, chat, 1, timeout=10)
    assert 1.4 < time.monotonic() - started < 6
    assert codes_sent(telegram_api, chat) == [code]


async def test_while_redis_is_down_messages_are_kept_and_answered_when_it_returns(
        workers: Workers, telegram_api: FakeTelegramApi, redis: RedisServer) -> None:
    client = await workers.start()
    chat, code = 904, dossier_code(4)
    redis.stop()
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert any("redis" in problem for problem in (await ready.json())["problems"])
    assert await deliver(client, text_update(chat, f"hồ sơ {code}", update_id=8000)) == 200
    await asyncio.sleep(1.0)
    assert codes_sent(telegram_api, chat) == []
    await redis.start()
    await wait_for_replies(telegram_api, chat, 1, timeout=15)
    assert (await client.get("/readyz")).status == 200
    assert codes_sent(telegram_api, chat) == [code]


async def test_rate_limits_are_shared_by_every_worker(redis: RedisServer) -> None:
    one, two = Redis.from_url(redis.url), Redis.from_url(redis.url)
    try:
        limits = [RedisRateLimiter(one), RedisRateLimiter(two)]
        results = [await limits[i % 2].hit("dossier:telegram:1", 3, 60) for i in range(5)]
        assert results == [True, True, True, False, False]
        assert await limits[0].hit("dossier:telegram:2", 3, 60)  # another citizen
    finally:
        await one.aclose()
        await two.aclose()


async def test_a_knowledge_change_reaches_the_other_worker_through_redis_at_once(
        workers: Workers) -> None:
    first = await workers.start()
    second = await workers.start(reload_interval=600)  # its own poll would take ten minutes
    runtime = first.app[RUNTIME]
    before = second.app[RUNTIME].pipeline.brain.knowledge
    await announce(KeyValueStore(runtime.stores.knowledge.sessions), KB_VERSION, {"by": "test"},
                   runtime.redis)
    deadline = time.monotonic() + 5
    while second.app[RUNTIME].pipeline.brain.knowledge is before:
        assert time.monotonic() < deadline, "the second worker did not reload"
        await asyncio.sleep(0.05)
    assert second.app[DISPATCHER].accepting

