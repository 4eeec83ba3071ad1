"""SQLite's hot path on the writer's own sqlite3 connection (``bot.storage.direct``): it stores
exactly what SQLAlchemy stores, inside the batch's transaction, and it is the path taken."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.core.messages import IncomingMessage
from bot.storage.batch import WriteBatcher
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.inbox import AlreadyHandled, Inbox
from bot.storage.migrate import ensure_schema

NOW = dt.datetime(2026, 12, 6, 3, 4, 5, 678901, tzinfo=dt.UTC)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("bot.storage.conversations", "bot.storage.inbox"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: NOW)


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """The statements SQLAlchemy executes meanwhile, on any engine."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


async def _messages(path: Path, batched: bool) -> None:
    """One conversation's turns and inbox rows, through the batcher's writer (the direct
    path) or through SQLAlchemy's async engine alone."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await ensure_schema(engine)
    batcher = WriteBatcher(engine) if batched else None
    sessions = make_sessionmaker(engine)
    store, inbox = ConversationStore(sessions, batcher=batcher), Inbox(sessions, batcher)
    try:
        message = IncomingMessage("telegram", "42", "làm cccd hết bao nhiêu tiền", "7",
                                  received_at=NOW)
        inbox_id = await inbox.accept(message)
        assert inbox_id is not None
        assert await inbox.accept(message) is None  # the same delivery again
        asked = TurnRecord("in", message.text, at=NOW, intent="procedure_fee", confidence=0.91,
                           entities=[{"entity": "procedure", "value": "can-cuoc"}],
                           procedure="can-cuoc", action="procedure_fee", latency_ms=1.5)
        answer = TurnRecord("out", "Lệ phí cấp thẻ căn cước: 1. …", at=NOW,
                            action="procedure_fee")
        gate = Inbox.answered_gate(inbox_id, [{"text": "Lệ phí …", "buttons": []}])
        assert await store.save("telegram:42", "telegram", "42", {"procedure": "can-cuoc"},
                                "bot", [asked, answer], gate=gate)
        assert not await store.save("telegram:42", "telegram", "42", {}, "bot", [asked],
                                    gate=gate)  # answered already: nothing saved
        await inbox.done(inbox_id, "sđt tôi 0912345678")
        handoff = TurnRecord("in", "cho gặp nhân viên", at=NOW, intent="human_handoff",
                             misunderstood=True)
        await store.save("telegram:42", "telegram", "42", {"procedure": None}, "waiting",
                         [handoff])
        with pytest.raises(AlreadyHandled):
            await inbox.answered(inbox_id, [])
    finally:
        if batcher is not None:
            await batcher.close()
        await engine.dispose()


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as connection:
        return {table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
                for table in ("inbox", "conversations", "turns")}


@pytest.mark.usefixtures("frozen_clock")
async def test_the_direct_path_stores_what_sqlalchemy_stores(
        tmp_path: Path, statements: list[str]) -> None:
    await _messages(tmp_path / "direct.db", batched=True)
    hot = tuple(f"{verb} {table}" for verb in ("INSERT INTO", "UPDATE")
                for table in ("inbox", "conversations", "turns"))
    direct_writes = [s for s in statements if s.lstrip().startswith(hot)]
    await _messages(tmp_path / "sqlalchemy.db", batched=False)
    direct, through_sqlalchemy = _rows(tmp_path / "direct.db"), _rows(tmp_path / "sqlalchemy.db")
    assert through_sqlalchemy["turns"] and through_sqlalchemy["inbox"]
    assert direct == through_sqlalchemy
    assert direct_writes == []  # every write of the batched run skipped SQLAlchemy


async def test_a_failed_job_rolls_back_its_direct_statements(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    await ensure_schema(engine)
    batcher = WriteBatcher(engine)
    inbox = Inbox(make_sessionmaker(engine), batcher)
    try:
        first = await inbox.accept(IncomingMessage("web", "a", "chào", "1"))
        assert first is not None
        mark = Inbox.answered_job(first, [{"text": "Xin chào"}])

        def marks_then_fails(connection: Any) -> None:
            mark(connection)  # the row turns 'answered' on the sqlite3 connection ...
            raise RuntimeError("... and the job fails after it")

        failed, second = await asyncio.gather(
            batcher.run(marks_then_fails), inbox.accept(IncomingMessage("web", "b", "hi", "2")),
            return_exceptions=True)  # one batch: the good job is kept, the failed one undone
        assert isinstance(failed, RuntimeError) and isinstance(second, int)
        statuses = {item.id: item.status for item in await inbox.unfinished()}
        assert statuses == {first: "pending", second: "pending"}
    finally:
        await batcher.close()
        await engine.dispose()
