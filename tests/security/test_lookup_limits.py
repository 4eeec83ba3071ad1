"""Dossier-code enumeration with rotating sender ids: whatever the ids (and, behind a proxy,
the addresses), all conversations together get at most the configured lookups a minute, in
one process and across workers sharing Redis."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from actions import texts
from actions.dossier import DossierStatusLookup
from bot.service.app import create_app
from bot.service.coordination.rate_limits import RedisRateLimiter
from bot.service.coordination.redis_client import connect
from bot.service.settings import Settings
from knowledge.snapshot import KnowledgeSnapshot
from nlu.engine import NluModel
from nlu.intents import Intent
from tests.actions.conftest import knowledge
from tests.actions.support import CountingDossiers, make_context, make_services
from tests.actions.test_dossier import UNKNOWN_CODE
from tests.conftest import prepare_data_dir

if TYPE_CHECKING:
    from tests.scale.harness import RedisServer

__all__ = ["knowledge"]  # the fixture, shared with the action tests
Client = TestClient[Any, Any]
LIMIT_TEXTS = (texts.DOSSIER_ADDRESS_LIMITED, texts.DOSSIER_LOOKUPS_BUSY.split(",")[0],
               texts.DOSSIER_RATE_LIMITED.split(" {")[0])


def refused(answer: str) -> bool:
    return any(answer.startswith(limit) for limit in LIMIT_TEXTS)


@pytest.mark.slow
async def test_rotating_sender_ids_get_at_most_the_global_rate(
        tmp_path: Path, shipped_model: NluModel, simulator: str,
        database_template: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token",
                        dossier_lookups_per_address=100_000, dossier_lookups_per_minute=15)
    prepare_data_dir(settings, database_template, shipped_model)
    client: Client = TestClient(TestServer(await create_app(settings, simulator),
                                           host="127.0.0.1"))
    await client.start_server()

    async def enumerate_with_one_sender(first: int) -> list[str]:
        sender = (await (await client.post("/api/chat/session")).json())["sender"]
        answers = []
        for number in range(first, first + 10):
            response = await client.post("/api/chat", json={
                "sender": sender, "message": f"000.00.12.H31-261120-{number:04d}"})
            assert response.status == 200
            answers.append((await response.json())[0]["text"])
        return answers

    try:
        batches = await asyncio.gather(*(enumerate_with_one_sender(1 + 10 * n)
                                         for n in range(20)))
    finally:
        await client.close()
    answers = [answer for batch in batches for answer in batch]
    assert len(answers) == 200
    answered = [answer for answer in answers if not refused(answer)]
    assert 0 < len(answered) <= 15
    busy = texts.DOSSIER_LOOKUPS_BUSY.format(hotline="1800 1096")
    assert answers.count(busy) == 200 - len(answered)


async def test_workers_sharing_redis_share_the_global_rate(
        knowledge: KnowledgeSnapshot, redis: RedisServer) -> None:
    clients = [connect(redis.url), connect(redis.url)]
    dossiers = CountingDossiers()
    workers = [dataclasses.replace(make_services(knowledge, dossiers=dossiers),
                                   limiter=RedisRateLimiter(c), dossier_lookups_per_minute=5)
               for c in clients]
    try:
        for number in range(12):  # a new conversation each time, on alternate workers
            await DossierStatusLookup().run(make_context(
                workers[number % 2], UNKNOWN_CODE, Intent.DOSSIER_STATUS,
                conversation_id=f"web:w{number}"))
    finally:
        for c in clients:
            await c.aclose()
    assert len(dossiers.codes) == 5
