"""Conversation state and transcripts in the database. Text is masked here, before storage.

A turn saved behind a ``Gate`` (the inbox row it answers must still be pending) is, on
PostgreSQL, one statement sent straight through asyncpg (``bot/storage/postgres.py``): the gate's
UPDATE, the conversation's UPDATE or INSERT and the transcript's INSERT as data-modifying CTEs
that each run only if the gate changed a row. One statement is all-or-nothing by itself, so the
turn is one round trip instead of BEGIN, three statements and COMMIT.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Float,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Update

from actions.base import ConversationStatus
from bot.storage.batch import WriteBatcher
from bot.storage.batch import write as run_write
from bot.storage.db import make_autocommit_engine
from bot.storage.direct import Direct, execute_many, rowcount
from bot.storage.redact import mask_personal_data
from bot.storage.tables import ConversationRow, TurnRow
from knowledge.clock import utcnow
from nlu.normalize import fold


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """One message to record in a transcript (its text is masked when stored)."""

    direction: str  # "in" or "out"
    text: str
    at: dt.datetime = field(default_factory=utcnow)
    intent: str | None = None
    confidence: float | None = None
    entities: Sequence[dict[str, Any]] = ()
    procedure: str | None = None
    action: str | None = None
    latency_ms: float | None = None
    misunderstood: bool = False
    sender: str = "bot"


@dataclass(frozen=True, slots=True)
class StoredState:
    """A conversation's saved dialogue state and handling status."""

    state: dict[str, Any]
    status: str
    updated_at: dt.datetime


def stored_state(state: dict[str, Any], status: str, updated_at: dt.datetime) -> StoredState:
    """A saved state as read from its row (SQLite returns naive datetimes: they are UTC)."""
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=dt.UTC)
    return StoredState(dict(state), status, updated_at)


@dataclass(frozen=True, slots=True)
class Gate:
    """A write that must change a row for a turn to be saved at all (marking the answered
    inbox row, still pending): ``statement`` a module-level UPDATE, ``params`` its values."""

    statement: Update
    params: dict[str, Any]


class _GateClosed(Exception):
    """The gate changed no row: roll the turn's transaction back."""


class ConversationStore:
    """Dialogue state per conversation and the transcript of every turn."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], cache_size: int = 0,
                 batcher: WriteBatcher | None = None) -> None:
        """``cache_size`` > 0 keeps recent states in memory: only for a single process that
        owns the database (the embedded mode), never when other workers write too.
        ``batcher`` shares transactions between concurrent messages."""
        self.sessions = sessions
        self.reads = make_autocommit_engine(sessions.kw["bind"])
        self.batcher = batcher
        self.postgres = batcher.postgres if batcher is not None else None
        self.cache_size = cache_size
        self._cache: OrderedDict[str, StoredState] = OrderedDict()

    def _remember(self, conversation_id: str, stored: StoredState) -> None:
        if self.cache_size:
            self._cache[conversation_id] = stored
            self._cache.move_to_end(conversation_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    async def load(self, conversation_id: str) -> StoredState | None:
        """The saved state of a conversation, if it exists."""
        cached = self._cache.get(conversation_id)
        if cached is not None:
            return StoredState(dict(cached.state), cached.status, cached.updated_at)
        if self.batcher is not None and self.batcher.on_sqlite:
            # Embedded mode: the read rides the writer thread's next batch, one thread hop,
            # where aiosqlite takes several per query (a new conversation cost 3.5 times as
            # much CPU as a known one, whose state is cached).
            row = await self.batcher.run(partial(_state_row, conversation_id))
        else:
            async with self.reads.connect() as connection:
                row = (await connection.execute(_LOAD_STATE, {"cid": conversation_id})).first()
        if row is None:
            return None
        stored = stored_state(row.state, row.status, row.updated_at)
        self._remember(conversation_id, stored)
        return stored

    async def save(self, conversation_id: str, channel: str, user_id: str,
                   state: dict[str, Any], status: str,
                   turns: Sequence[TurnRecord] = (),
                   also: Callable[[Connection], None] | None = None,
                   gate: Gate | None = None) -> bool:
        """Save the state, append turns and update the conversation's summary columns in one
        transaction (shared with other messages' writes when a batcher is configured: this is
        the hot path of every message). ``also`` runs first in the same transaction; if it
        raises, nothing is saved. With a ``gate``, nothing is saved either unless it changed a
        row: False then."""
        now = utcnow()
        rows = [_turn_row(conversation_id, channel, turn) for turn in turns]
        incoming = [turn for turn in turns if turn.direction == "in"]
        intents = sorted({t.intent for t in incoming if t.intent})
        procedures = sorted({t.procedure for t in incoming if t.procedure})
        confidences = [t.confidence for t in incoming if t.confidence is not None]
        folded = " ".join(row["folded"] for row in rows if row["direction"] == "in")
        fallbacks = sum(1 for t in incoming if t.misunderstood)
        waiting = status == ConversationStatus.WAITING

        params: dict[str, Any] = {
            "cid": conversation_id, "new_state": state, "new_status": status, "now": now,
            "n_in": len(incoming), "n_fallbacks": fallbacks,
            **{f"intent_{i}": word for i, word in enumerate(intents)},
            **{f"procedure_{i}": word for i, word in enumerate(procedures)},
        }
        if confidences:
            params["lowest"] = min(confidences)
        if folded:
            params["folded"] = " " + folded
        shape = (len(intents), len(procedures), bool(confidences), bool(folded), waiting)
        statement = _summary_update(*shape)
        created = {
            "id": conversation_id, "channel": channel, "user_id": user_id,
            "state": state, "status": status, "created_at": now, "updated_at": now,
            "messages": len(incoming), "fallbacks": fallbacks,
            "intents": _words(intents), "procedures": _words(procedures),
            "min_confidence": min(confidences) if confidences else None,
            "search_text": folded[:SEARCH_TEXT_CHARS], "handoff": waiting,
            "handoff_at": now if waiting else None, "tags": " ", "feedback_up": 0,
            "feedback_down": 0}

        if gate is not None and also is None and self.postgres is not None:
            direct = _gated_save(gate.statement, shape, len(rows))
            values = {**gate.params, **params,
                      **{f"c_{name}": value for name, value in created.items()},
                      **{f"t{i}_{name}": value for i, row in enumerate(rows)
                         for name, value in row.items()}}
            if not await self.postgres.fetchval(direct, values):
                return False
            self._remember(conversation_id, StoredState(dict(state), status, now))
            return True

        def write(connection: Connection) -> None:
            if gate is not None and not rowcount(connection, gate.statement, gate.params):
                raise _GateClosed
            if also is not None:
                also(connection)
            if not rowcount(connection, statement, params):
                execute_many(connection, _INSERT_CONVERSATION, [created],
                             _CONVERSATION_COLUMNS)
            if rows:
                execute_many(connection, _INSERT_TURNS, rows, _TURN_COLUMNS)

        try:
            await self._write(write)
        except _GateClosed:
            return False
        self._remember(conversation_id, StoredState(dict(state), status, now))
        return True

    async def _write(self, job: Callable[[Connection], None]) -> None:
        await run_write(self.batcher, self.sessions.kw["bind"], job)

    async def set_unreachable(self, conversation_id: str, reason: str | None) -> None:
        """Record that replies cannot reach this user (blocked the bot, outside the window)."""
        async with self.sessions.begin() as session:
            row = await session.get(ConversationRow, conversation_id)
            if row is not None:
                row.unreachable = reason
        self._cache.pop(conversation_id, None)

    def forget(self, conversation_id: str) -> None:
        """Drop the cached state: call after changing a conversation's status or state in the
        database any other way than ``save`` (staff taking or closing it)."""
        self._cache.pop(conversation_id, None)

    async def unreachable(self, conversation_id: str) -> str | None:
        """Why replies cannot reach this user, if they cannot."""
        async with self.sessions() as session:
            row = await session.get(ConversationRow, conversation_id)
        return row.unreachable if row is not None else None

    async def turns(self, conversation_id: str) -> list[TurnRow]:
        """Every turn of a conversation in order."""
        async with self.sessions() as session:
            result = await session.scalars(
                select(TurnRow).where(TurnRow.conversation_id == conversation_id)
                .order_by(TurnRow.id)
            )
            return list(result.all())


SEARCH_TEXT_CHARS = 2000


def _words(words: Sequence[str]) -> str:
    """A space-delimited set (" a b "), so ``LIKE '% a %'`` finds a member."""
    return " " + "".join(f"{w} " for w in words)


def _add_words(column: Any, name: str, count: int) -> Any:
    """SQL: the set in ``column`` with the bound words ``<name>_0`` … added (no duplicates,
    capped)."""
    expression = column
    for i in range(count):
        word = bindparam(f"{name}_{i}", type_=String)
        expression = case((expression.like("% " + word + " %"), expression),
                          else_=func.substr(expression + word + " ", 1, 1000))
    return expression


_INSERT_TURNS = insert(TurnRow)
_INSERT_CONVERSATION = insert(ConversationRow)
def _state_row(conversation_id: str, connection: Connection) -> Row[Any] | None:
    return connection.execute(_LOAD_STATE, {"cid": conversation_id}).first()


_LOAD_STATE = (select(ConversationRow.state, ConversationRow.status, ConversationRow.updated_at)
               .where(ConversationRow.id == bindparam("cid")))


@lru_cache(maxsize=256)
def _summary_update(intents: int, procedures: int, confidence: bool, folded: bool,
                    waiting: bool) -> Any:
    """The UPDATE of a conversation's state and summary for one shape of message, built once
    (building SQL expressions costs more than running them; values are bound per call)."""
    table = ConversationRow
    values: dict[str, Any] = {
        "state": bindparam("new_state", type_=JSON),
        "status": bindparam("new_status", type_=String),
        "updated_at": bindparam("now", type_=DateTime(timezone=True)),
        "messages": table.messages + bindparam("n_in", type_=Integer),
        "fallbacks": table.fallbacks + bindparam("n_fallbacks", type_=Integer),
        "intents": _add_words(table.intents, "intent", intents),
        "procedures": _add_words(table.procedures, "procedure", procedures),
    }
    if confidence:
        lowest = bindparam("lowest", type_=Float)
        values["min_confidence"] = case(
            (table.min_confidence.is_(None), lowest),
            (table.min_confidence > lowest, lowest), else_=table.min_confidence)
    if folded:
        values["search_text"] = func.substr(
            table.search_text + bindparam("folded", type_=String), 1, SEARCH_TEXT_CHARS)
    if waiting:  # a new request for a person starts the wait; a repeated one keeps it
        values["handoff"] = True
        values["handoff_at"] = case(
            (and_(table.status == ConversationStatus.WAITING, table.handoff_at.is_not(None)),
             table.handoff_at), else_=bindparam("now", type_=DateTime(timezone=True)))
    return update(table).where(table.id == bindparam("cid")).values(**values)


_TURN_COLUMNS = ("conversation_id", "at", "channel", "direction", "text", "intent", "confidence",
                 "entities", "procedure", "action", "latency_ms", "misunderstood", "folded",
                 "sender", "reviewed")  # what _turn_row sets
_CONVERSATION_COLUMNS = ("id", "channel", "user_id", "state", "status", "created_at",
                         "updated_at", "messages", "fallbacks", "intents", "procedures",
                         "min_confidence", "search_text", "handoff", "handoff_at", "tags",
                         "feedback_up", "feedback_down")


@lru_cache(maxsize=512)
def _gated_save(gate: Update, shape: tuple[int, int, bool, bool, bool], turns: int) -> Direct:
    """A turn's save as one PostgreSQL statement, for one shape of message, compiled once:
    the gate's UPDATE; the conversation's UPDATE, or its INSERT when there was nothing to
    update; the transcript's INSERT; each of the last three only if the gate changed a row.
    It returns how many rows the gate changed. Parameters: the gate's, the summary UPDATE's,
    ``c_<column>`` of a new conversation and ``t<i>_<column>`` of each turn."""
    gated = gate.returning(literal_column("1").label("ok")).cte("gate")
    opened = exists(select(gated.c.ok))
    conversations, turn_table = ConversationRow.__table__, TurnRow.__table__
    updated = (_summary_update(*shape).where(opened).returning(ConversationRow.id)
               .cte("updated"))
    new_row = select(*(bindparam(f"c_{name}", type_=conversations.c[name].type)
                       for name in _CONVERSATION_COLUMNS)
                     ).where(opened, ~exists(select(updated.c.id)))
    ctes = [updated, insert(ConversationRow).from_select(_CONVERSATION_COLUMNS, new_row)
            .cte("created")]
    if turns:
        new_turns = union_all(*(
            select(*(bindparam(f"t{i}_{name}", type_=turn_table.c[name].type).label(name)
                     for name in _TURN_COLUMNS)).where(opened)
            for i in range(turns))).subquery("new_turns")
        ctes.append(insert(TurnRow).from_select(_TURN_COLUMNS, select(*new_turns.c))
                    .cte("saved_turns"))
    return Direct.of(select(func.count()).select_from(gated).add_cte(*ctes))


def _turn_row(conversation_id: str, channel: str, turn: TurnRecord) -> dict[str, Any]:
    # Citizens' and officers' words are masked; the bot's own replies come from the public
    # knowledge base (an office's phone number there is not personal data).
    bot_reply = turn.direction == "out" and turn.sender == "bot"
    masked = turn.text if bot_reply else mask_personal_data(turn.text)
    return {
        "conversation_id": conversation_id,
        "at": turn.at,
        "channel": channel,
        "direction": turn.direction,
        "text": masked,
        "intent": turn.intent,
        "confidence": turn.confidence,
        "entities": [_masked_entity(e) for e in turn.entities],
        "procedure": turn.procedure,
        "action": turn.action,
        "latency_ms": turn.latency_ms,
        "misunderstood": turn.misunderstood,
        "folded": fold(masked)[:500] if turn.direction == "in" else "",
        "sender": turn.sender,
        "reviewed": False,
    }


def _masked_entity(entity: dict[str, Any]) -> dict[str, Any]:
    """Entities that are personal data keep their type but not their value."""
    if entity.get("entity") in ("id_number", "phone"):
        return {**entity, "value": mask_personal_data(str(entity.get("value", "")))}
    return dict(entity)
