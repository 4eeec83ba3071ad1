"""Transcripts for support officers: the filtered conversation list, one conversation with its
turns, staff notes and tags, and batches for CSV export.

The list reads only the ``conversations`` table: every filter is a condition on the summary
columns that ``ConversationStore.save`` keeps up to date. Pages are keyset pages ordered by
``(updated_at desc, id desc)``: the next page starts after the last row of the previous one
(never ``OFFSET``), so page 500 costs what page 1 costs. A count, when wanted, stops at a cap.

Text search is accent-insensitive: the query goes through ``nlu.normalize.fold`` (the same
function that filled ``search_text``) and must match at the start of a word, so "ho chieu"
finds "Hộ chiếu" and "hộ chiếu". Datetimes are handed to the database in UTC (SQLite stores
the clock time it is given, without its offset).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import ConversationNoteRow, ConversationRow, TurnRow
from knowledge.clock import as_utc, utcnow
from knowledge.tables import ProcedureRow
from nlu.normalize import fold

PAGE_SIZE = 50
COUNT_CAP = 1000
EXPORT_MAX_ROWS = 50_000
EXPORT_BATCH = 1000
MAX_TURNS_SHOWN = 3000
SCAN_WINDOW = 5000  # conversations walked in index order before a table scan
MAX_NOTE_CHARS = 2000
MAX_TAGS = 10
MAX_TAG_CHARS = 40
MAX_SEARCH_CHARS = 200
PREVIEW_CHARS = 160
TAG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")  # intent, procedure and channel names
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TranscriptError(ValueError):
    """A staff request that cannot be done; the message says why (in Vietnamese)."""






def _members(words: str | None) -> list[str]:
    """The members of a space-delimited set column (" a b ")."""
    return (words or "").split()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_key(text: str) -> str:
    """The folded form of a search query ("Hộ  chiếu!" -> "ho chieu"); empty if nothing is
    left to search for."""
    return fold(text[:MAX_SEARCH_CHARS])


def tag_slug(text: str) -> str:
    """A tag in its stored form: folded words joined by hyphens ("Khiếu nại" -> "khieu-nai")."""
    return "-".join(fold(text).split())


def parse_tags(text: str) -> list[str]:
    """Tags typed by an officer, separated by commas (or new lines), as unique slugs in the
    order given. Raises TranscriptError when a tag is unusable or there are too many."""
    tags: list[str] = []
    for part in re.split(r"[,;\n]", text):
        if not part.strip():
            continue
        slug = tag_slug(part)
        if not slug or not TAG_PATTERN.match(slug):
            raise TranscriptError(
                f"Nhãn “{part.strip()[:40]}” không dùng được: chỉ gồm chữ cái và số")
        if len(slug) > MAX_TAG_CHARS:
            raise TranscriptError(f"Nhãn “{slug[:40]}…” dài quá {MAX_TAG_CHARS} ký tự")
        if slug not in tags:
            tags.append(slug)
    if len(tags) > MAX_TAGS:
        raise TranscriptError(f"Mỗi hội thoại có tối đa {MAX_TAGS} nhãn")
    return tags


@dataclass(frozen=True, slots=True)
class TranscriptFilter:
    """What the officer asked to see; empty fields do not filter."""

    channel: str | None = None
    updated_from: dt.datetime | None = None  # updated_at >= this
    updated_before: dt.datetime | None = None  # updated_at < this
    intent: str | None = None
    procedure: str | None = None
    confidence_below: float | None = None  # the lowest confidence of a message is below this
    fallback: bool = False  # the bot misunderstood at least one message
    handoff: bool = False  # the citizen asked for a person
    negative_feedback: bool = False  # at least one 👎
    tag: str | None = None  # a tag slug
    text: str = ""  # searched accent-insensitively in what the citizen wrote

    def conditions(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of this filter (raises TranscriptError for a malformed name)."""
        table = ConversationRow
        found: list[ColumnElement[bool]] = []
        for label, value in (("kênh", self.channel), ("ý định", self.intent),
                             ("thủ tục", self.procedure), ("nhãn", self.tag)):
            if value is not None and not NAME_PATTERN.match(value):
                raise TranscriptError(f"Giá trị {label} không hợp lệ")
        if self.channel:
            found.append(table.channel == self.channel)
        if self.updated_from is not None:
            found.append(table.updated_at >= as_utc(self.updated_from))
        if self.updated_before is not None:
            found.append(table.updated_at < as_utc(self.updated_before))
        if self.intent:
            found.append(table.intents.like(f"% {_like_escape(self.intent)} %", escape="\\"))
        if self.procedure:
            found.append(table.procedures.like(f"% {_like_escape(self.procedure)} %",
                                               escape="\\"))
        if self.confidence_below is not None:
            found.append(table.min_confidence < self.confidence_below)
        if self.fallback:
            found.append(table.fallbacks > 0)
        if self.handoff:
            found.append(table.handoff == True)  # noqa: E712 (SQL, not Python)
        if self.negative_feedback:
            found.append(table.feedback_down > 0)
        if self.tag:
            found.append(table.tags.like(f"% {_like_escape(self.tag)} %", escape="\\"))
        if self.text:
            key = search_key(self.text)
            if not key:
                raise TranscriptError("Hãy nhập chữ hoặc số để tìm")
            escaped = _like_escape(key)
            # The first condition alone is what a trigram index on search_text can serve;
            # the second keeps only matches at the start of a word.
            found.append(table.search_text.like(f"%{escaped}%", escape="\\"))
            found.append((literal(" ") + table.search_text).like(f"% {escaped}%",
                                                                 escape="\\"))
        return found


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: after the row with this ``updated_at`` and ``id``."""

    updated_at: dt.datetime
    id: str

    def encode(self) -> str:
        """An opaque string for a link."""
        raw = json.dumps([as_utc(self.updated_at).isoformat(), self.id], ensure_ascii=False)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor of a link; raises TranscriptError when it was tampered with."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, conversation_id = json.loads(raw.decode())
            if not isinstance(at, str) or not isinstance(conversation_id, str):
                raise ValueError("cursor items must be strings")
            return cls(as_utc(dt.datetime.fromisoformat(at)), conversation_id)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise TranscriptError("Liên kết trang không hợp lệ, hãy lọc lại từ đầu") from exc


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the conversation list."""

    id: str
    channel: str
    user_id: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    messages: int
    intents: list[str]
    procedures: list[str]
    fallbacks: int
    min_confidence: float | None
    handoff: bool
    feedback_up: int
    feedback_down: int
    rating: int | None
    tags: list[str]
    assigned_to: str | None
    unreachable: str | None
    preview: str = ""  # the citizen's first message (masked), shortened

    @property
    def cursor(self) -> Cursor:
        """The cursor of the page that starts after this row."""
        return Cursor(self.updated_at, self.id)


@dataclass(frozen=True, slots=True)
class ConversationPage:
    """One page of the list, and where the next one starts (None on the last page)."""

    items: list[ConversationSummary]
    next: Cursor | None


@dataclass(frozen=True, slots=True)
class TurnView:
    """One message of a conversation, as the officer sees it."""

    id: int
    at: dt.datetime
    channel: str
    direction: str
    text: str
    intent: str | None
    confidence: float | None
    entities: list[dict[str, Any]]
    procedure: str | None
    action: str | None
    latency_ms: float | None
    misunderstood: bool
    feedback: int | None
    sender: str


@dataclass(frozen=True, slots=True)
class Note:
    """A support officer's note."""

    id: int
    at: dt.datetime
    username: str
    text: str


@dataclass(frozen=True, slots=True)
class ConversationDetail:
    """One conversation: its summary, its turns in order, the notes on it."""

    summary: ConversationSummary
    turns: list[TurnView]
    notes: list[Note]
    turns_total: int  # more than len(turns) when only the latest are shown


SUMMARY_COLUMNS = (
    ConversationRow.id, ConversationRow.channel, ConversationRow.user_id,
    ConversationRow.status, ConversationRow.created_at, ConversationRow.updated_at,
    ConversationRow.messages, ConversationRow.intents, ConversationRow.procedures,
    ConversationRow.fallbacks, ConversationRow.min_confidence, ConversationRow.handoff,
    ConversationRow.feedback_up, ConversationRow.feedback_down, ConversationRow.rating,
    ConversationRow.tags, ConversationRow.assigned_to, ConversationRow.unreachable,
)


def _summary(row: Any) -> ConversationSummary:
    return ConversationSummary(
        id=row.id, channel=row.channel, user_id=row.user_id, status=row.status,
        created_at=as_utc(row.created_at), updated_at=as_utc(row.updated_at),
        messages=row.messages or 0, intents=_members(row.intents),
        procedures=_members(row.procedures), fallbacks=row.fallbacks or 0,
        min_confidence=row.min_confidence, handoff=bool(row.handoff),
        feedback_up=row.feedback_up or 0, feedback_down=row.feedback_down or 0,
        rating=row.rating, tags=_members(row.tags), assigned_to=row.assigned_to,
        unreachable=row.unreachable)


def _turn(row: TurnRow) -> TurnView:
    return TurnView(
        id=row.id, at=as_utc(row.at), channel=row.channel, direction=row.direction,
        text=row.text, intent=row.intent, confidence=row.confidence,
        entities=list(row.entities or []), procedure=row.procedure, action=row.action,
        latency_ms=row.latency_ms, misunderstood=bool(row.misunderstood),
        feedback=row.feedback, sender=row.sender)


def _shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TranscriptStore:
    """Read conversations for staff; add notes and set tags."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    def _listing(self, where: Sequence[ColumnElement[bool]], after: Cursor | None,
                 limit: int, order: Any = ConversationRow.updated_at) -> Select[*tuple[Any, ...]]:
        table = ConversationRow
        query = select(*SUMMARY_COLUMNS).where(*where)
        if after is not None:
            at = as_utc(after.updated_at)
            # "updated_at <= at" is the index range; the OR breaks ties on the id.
            query = query.where(table.updated_at <= at,
                                or_(table.updated_at < at,
                                    and_(table.updated_at == at, table.id < after.id)))
        return query.order_by(order.desc(), table.id.desc()).limit(limit)

    async def _rows(self, session: AsyncSession, wanted: TranscriptFilter,
                    where: Sequence[ColumnElement[bool]], after: Cursor | None,
                    limit: int) -> list[Any]:
        """Up to ``limit`` matching rows in list order, fast whether matches are many or few.

        Walking the ``updated_at`` index newest first finds common matches at once but costs
        a row lookup per conversation when matches are rare (a search that finds nothing
        visits all 100,000). So the walk is bounded: first the ``SCAN_WINDOW`` most recent
        conversations (found from the index alone), then, only if the page is not full yet,
        the older ones in a plain table scan with a top-N sort, which costs the same for any
        filter.
        """
        table = ConversationRow
        if not where:
            return list((await session.execute(self._listing(where, after, limit))).all())
        recent = select(table.updated_at)
        if after is not None:
            recent = recent.where(table.updated_at <= as_utc(after.updated_at))
        if wanted.updated_before is not None:
            recent = recent.where(table.updated_at < as_utc(wanted.updated_before))
        if wanted.updated_from is not None:
            recent = recent.where(table.updated_at >= as_utc(wanted.updated_from))
        window = recent.order_by(table.updated_at.desc()).limit(SCAN_WINDOW).subquery()
        boundary, seen = (await session.execute(
            select(func.min(window.c.updated_at), func.count()).select_from(window))).one()
        if boundary is None:
            return []
        rows = list((await session.execute(self._listing(
            [*where, table.updated_at >= boundary], after, limit))).all())
        if len(rows) >= limit or seen < SCAN_WINDOW:
            return rows
        column = self._unindexed_updated_at()
        older = self._listing([*where, column < boundary], None, limit - len(rows), column)
        return rows + list((await session.execute(older)).all())

    def _unindexed_updated_at(self) -> Any:
        """``updated_at`` as an expression no index serves, so the planner scans the table.

        SQLite otherwise walks the index (its planner has no statistics to know better);
        its unary ``+`` is a no-op on the value. PostgreSQL chooses well on its own.
        """
        if self.sessions.kw["bind"].dialect.name == "sqlite":
            return literal_column("+conversations.updated_at",
                                  type_=ConversationRow.updated_at.type)
        return ConversationRow.updated_at

    async def page(self, wanted: TranscriptFilter, after: Cursor | None = None,
                   size: int = PAGE_SIZE, previews: bool = True) -> ConversationPage:
        """One page of conversations matching the filter, most recently active first."""
        where = wanted.conditions()
        async with self.sessions() as session:
            rows = await self._rows(session, wanted, where, after, size + 1)
            items = [_summary(row) for row in rows[:size]]
            if previews and items:
                first = await self._first_messages(session, [item.id for item in items])
                items = [_with_preview(item, first.get(item.id, "")) for item in items]
        following = items[-1].cursor if len(rows) > size else None
        return ConversationPage(items, following)

    async def _first_messages(self, session: AsyncSession,
                              ids: Sequence[str]) -> dict[str, str]:
        """The first citizen message of each conversation."""
        firsts = (select(func.min(TurnRow.id))
                  .where(TurnRow.conversation_id.in_(ids), TurnRow.direction == "in")
                  .group_by(TurnRow.conversation_id))
        rows = await session.execute(
            select(TurnRow.conversation_id, TurnRow.text).where(TurnRow.id.in_(firsts)))
        return {conversation_id: _shorten(text) for conversation_id, text in rows}

    async def count(self, wanted: TranscriptFilter, cap: int = COUNT_CAP) -> int:
        """How many conversations match, counting at most ``cap + 1`` (more than ``cap``
        means "more than cap")."""
        inner = select(ConversationRow.id).where(*wanted.conditions()).limit(cap + 1)
        async with self.sessions() as session:
            found = await session.scalar(select(func.count()).select_from(inner.subquery()))
        return int(found or 0)

    async def batches(self, wanted: TranscriptFilter, max_rows: int = EXPORT_MAX_ROWS,
                      batch: int = EXPORT_BATCH, previews: bool = False,
                      ) -> AsyncIterator[list[ConversationSummary]]:
        """Every matching conversation (up to ``max_rows``) in list order, a batch at a time,
        each batch read in its own short transaction."""
        where = wanted.conditions()
        after: Cursor | None = None
        left = max_rows
        while left > 0:
            size = min(batch, left)
            async with self.sessions() as session:
                rows = await self._rows(session, wanted, where, after, size)
                items = [_summary(row) for row in rows]
                if previews and items:
                    first = await self._first_messages(session, [item.id for item in items])
                    items = [_with_preview(item, first.get(item.id, "")) for item in items]
            if not items:
                return
            yield items
            left -= len(items)
            if len(items) < size:
                return
            after = items[-1].cursor

    async def turn_batches(self, wanted: TranscriptFilter, max_rows: int = EXPORT_MAX_ROWS,
                           batch: int = 200) -> AsyncIterator[list[tuple[ConversationSummary,
                                                                         TurnView]]]:
        """The turns of every matching conversation (up to ``max_rows`` turns), conversation
        by conversation in list order, each conversation's turns in order."""
        left = max_rows
        async for conversations in self.batches(wanted, max_rows, batch):
            ids = [item.id for item in conversations]
            async with self.sessions() as session:
                turns = (await session.scalars(
                    select(TurnRow).where(TurnRow.conversation_id.in_(ids))
                    .order_by(TurnRow.conversation_id, TurnRow.id))).all()
            grouped: dict[str, list[TurnView]] = {}
            for row in turns:
                grouped.setdefault(row.conversation_id, []).append(_turn(row))
            out: list[tuple[ConversationSummary, TurnView]] = []
            for item in conversations:
                for turn in grouped.get(item.id, []):
                    if left <= 0:
                        break
                    out.append((item, turn))
                    left -= 1
            if out:
                yield out
            if left <= 0:
                return

    async def conversation(self, conversation_id: str,
                           max_turns: int = MAX_TURNS_SHOWN) -> ConversationDetail | None:
        """One conversation with its turns (the latest ``max_turns``, in order) and notes."""
        async with self.sessions() as session:
            row = (await session.execute(select(*SUMMARY_COLUMNS).where(
                ConversationRow.id == conversation_id))).first()
            if row is None:
                return None
            latest = (await session.scalars(
                select(TurnRow).where(TurnRow.conversation_id == conversation_id)
                .order_by(TurnRow.id.desc()).limit(max_turns))).all()
            total = len(latest)
            if total == max_turns:
                total = int(await session.scalar(select(func.count()).where(
                    TurnRow.conversation_id == conversation_id)) or 0)
            notes = (await session.scalars(
                select(ConversationNoteRow)
                .where(ConversationNoteRow.conversation_id == conversation_id)
                .order_by(ConversationNoteRow.id))).all()
        turns = [_turn(turn) for turn in reversed(latest)]
        first = next((turn.text for turn in turns if turn.direction == "in"), "")
        return ConversationDetail(
            _with_preview(_summary(row), _shorten(first)), turns,
            [Note(n.id, as_utc(n.at), n.username, n.text) for n in notes], total)

    async def add_note(self, conversation_id: str, username: str, text: str) -> Note:
        """Add an officer's note; raises TranscriptError for an empty or overlong note and
        LookupError for an unknown conversation."""
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise TranscriptError("Ghi chú đang trống")
        if len(text) > MAX_NOTE_CHARS:
            raise TranscriptError(f"Ghi chú dài quá {MAX_NOTE_CHARS} ký tự")
        if CONTROL_CHARS.search(text):
            raise TranscriptError("Ghi chú chứa ký tự điều khiển không hợp lệ")
        now = utcnow()
        async with self.sessions.begin() as session:
            if await session.get(ConversationRow, conversation_id) is None:
                raise LookupError(conversation_id)
            row = ConversationNoteRow(conversation_id=conversation_id, at=now,
                                      username=username, text=text)
            session.add(row)
            await session.flush()
            return Note(row.id, now, username, text)

    async def set_tags(self, conversation_id: str,
                       tags: Sequence[str]) -> tuple[list[str], list[str]]:
        """Replace the conversation's tags (slugs from ``parse_tags``); returns the tags
        before and after. Raises LookupError for an unknown conversation."""
        for tag in tags:
            if not TAG_PATTERN.match(tag) or len(tag) > MAX_TAG_CHARS:
                raise TranscriptError(f"Nhãn “{tag[:40]}” không hợp lệ")
        if len(tags) > MAX_TAGS:
            raise TranscriptError(f"Mỗi hội thoại có tối đa {MAX_TAGS} nhãn")
        stored = " " + "".join(f"{tag} " for tag in tags)
        async with self.sessions.begin() as session:
            before = await session.scalar(select(ConversationRow.tags).where(
                ConversationRow.id == conversation_id).with_for_update())
            if before is None:
                raise LookupError(conversation_id)
            # Only the tags column: the dialogue state and activity time stay as they are.
            await session.execute(update(ConversationRow).where(
                ConversationRow.id == conversation_id).values(tags=stored))
        return _members(before), list(tags)

    async def procedure_names(self) -> dict[str, str]:
        """Every procedure's name by id (drafts included: old conversations may name them)."""
        async with self.sessions() as session:
            rows = await session.execute(select(ProcedureRow.id, ProcedureRow.name)
                                         .order_by(ProcedureRow.name))
        return {procedure_id: name for procedure_id, name in rows}



def _with_preview(item: ConversationSummary, preview: str) -> ConversationSummary:
    return replace(item, preview=preview)
