"""A notice held outside Zalo's reply window goes out when the citizen writes again and is
answered, not before: on SQLite (the embedded default) and on PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bot.storage.follows import FollowStore
from bot.storage.tables import DossierNoticeRow, InboxRow
from tests.follow.conftest import OpenStore

NOW = dt.datetime(2026, 12, 6, 20, 0, tzinfo=dt.UTC)
USER = "4311209876543210987"
_messages = itertools.count()


async def _held_notice(store: FollowStore) -> int:
    async with store.sessions.begin() as session:
        return int((await session.execute(insert(DossierNoticeRow).values(
            follow_id=1, version=1, conversation_id=f"zalo:{USER}", channel="zalo",
            user_id=USER, code="000.00.12.H31-261118-0002", status="need_supplement",
            changed_at=NOW, created_at=NOW, state="held", next_try_at=NOW, held_at=NOW,
        ).returning(DossierNoticeRow.id))).scalar_one())


async def _wrote(store: FollowStore, at: dt.datetime, status: str) -> None:
    async with store.sessions.begin() as session:
        await session.execute(insert(InboxRow).values(
            channel="zalo", message_id=f"m{next(_messages)}", user_id=USER, text="chào bạn",
            received_at=at, status=status))


async def _state(store: FollowStore, notice_id: int) -> tuple[str, bool]:
    async with store.sessions() as session:
        row = (await session.execute(select(DossierNoticeRow.state, DossierNoticeRow.late)
                                     .where(DossierNoticeRow.id == notice_id))).one()
    return row.state, row.late


async def _released_only_after_an_answered_message(store: FollowStore) -> None:
    notice = await _held_notice(store)
    await _wrote(store, NOW - dt.timedelta(days=3), "done")  # what started the follow
    await _wrote(store, NOW + dt.timedelta(minutes=1), "pending")  # not answered yet
    assert await store.release_returned(NOW + dt.timedelta(minutes=2)) == 0
    assert await _state(store, notice) == ("held", False)

    await _wrote(store, NOW - dt.timedelta(minutes=5), "done")  # just before the hold
    assert await store.release_returned(NOW + dt.timedelta(minutes=2)) == 1
    assert await _state(store, notice) == ("pending", True)
    assert await store.release_returned(NOW + dt.timedelta(minutes=3)) == 0  # once


async def test_on_sqlite(tmp_path: Path, open_store: OpenStore) -> None:
    await _released_only_after_an_answered_message(
        await open_store(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}"))


@pytest.mark.slow
async def test_on_postgresql(database: object, open_store: OpenStore) -> None:
    await _released_only_after_an_answered_message(
        await open_store(database.url))  # type: ignore[attr-defined]
