"""A conversation past retention is deleted with its follows and their notices."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.service.appkeys import RUNTIME
from bot.service.retention import RetentionJob
from bot.storage.db import make_sessionmaker
from bot.storage.follows import Observation
from bot.storage.tables import ConversationRow, DossierFollowRow, DossierNoticeRow

CODE = "000.00.12.H31-261118-0002"


async def test_follows_go_with_their_conversation(service: TestClient[Any, Any]) -> None:
    for sender in ("old", "new"):
        await service.post("/api/chat", json={"sender": sender,
                                              "message": f"theo dõi hồ sơ {CODE}"})
    follows = service.app[RUNTIME].stores.follows
    now = dt.datetime.now(dt.UTC)
    assert await follows.record(Observation(CODE, "need_supplement", None, now), now) == 2
    sessions = make_sessionmaker(service.app[RUNTIME].engine)
    async with sessions.begin() as session:
        await session.execute(update(ConversationRow).where(ConversationRow.id == "web:old")
                              .values(updated_at=now - dt.timedelta(days=400)))
    await RetentionJob(sessions, days=365, interval=3600).run_once()
    async with sessions() as session:
        followers = set((await session.scalars(select(DossierFollowRow.conversation_id))).all())
        told = set((await session.scalars(select(DossierNoticeRow.conversation_id))).all())
    assert followers == told == {"web:new"}
