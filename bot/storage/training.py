"""The misunderstood inbox, staff labels and NLU model versions in the database.

* The inbox: citizen messages ("in" turns) the bot was unsure of or answered with a fallback
  (``TurnRow.misunderstood``), or whose answer got a 👎 (``feedback = -1`` on the bot's reply
  after them, as ``knowledge.feedback`` stores it, which also counts it in the conversation's
  ``feedback_down``; a 👎 stored on the message itself counts too), that nobody has labelled
  or dismissed yet
  (``reviewed``). The same question asked many ways appears once: turns are grouped by their
  accent-folded text in SQL, then groups whose folded texts are near-duplicates (rapidfuzz
  ``token_sort_ratio`` ≥ 90) are merged.
* Beyond those, two kinds of answers that look fine but may have missed: a small stable sample
  of confident answers that got no 👍 (``sampled``: about ``SAMPLE_SLOTS`` in
  ``SAMPLE_MODULUS`` of each day's, chosen by turn id so a page shows the same ones on every
  load, once ``SAMPLE_AFTER`` has passed without a 👍), and messages the citizen rephrased
  right after the answer (``rephrased``: the next message of the conversation, within
  ``REPHRASE_WINDOW``, is close in words or asks about the same procedure with the same
  intent again). Both look back ``REVIEW_DAYS`` only; the rephrase test needs fuzzy
  matching, so it runs in Python over that window.
* Labels: an officer gives a group its intent and, optionally, its procedure; every distinct
  wording in the group becomes a training example and the group's turns are marked reviewed.
* Model versions: each retraining is a row of ``nlu_models`` (training → active, rejected or
  failed; an active model becomes retired when another one is activated).

Turning labels into NLU training data is the bot's job (this package does not import the NLU);
``LabelledExample`` is the plain record it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    distinct,
    false,
    func,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.storage.tables import ConversationRow, NluModelRow, TrainingExampleRow, TurnRow
from knowledge.clock import as_utc, utcnow
from nlu.normalize import fold

MERGE_SCORE = 90.0  # token_sort_ratio at or above which two wordings are one question
CANDIDATE_GROUPS = 500  # folded texts read per inbox page before merging
MAX_KEYS = 200  # folded texts one label or dismissal may cover
STALE_TRAINING = dt.timedelta(minutes=30)  # a "training" row older than this has died
CONFIDENT = 0.8  # an answer given at this confidence or above, not a fallback, is confident
SAMPLE_MODULUS = 97  # a confident answer is sampled when its turn id modulo this ...
SAMPLE_SLOTS = 5  # ... is below this: about 5 % of them, the same ones on every load
SAMPLE_AFTER = dt.timedelta(hours=1)  # an answer is sampled once a 👍 had time to come
REPHRASE_WINDOW = dt.timedelta(minutes=3)  # a next message this soon may be a rephrasing
REPHRASE_SCORE = 70.0  # token_sort_ratio at or above which the next message is a rephrasing
REVIEW_DAYS = 14  # how far back samples and rephrasings are looked for
REPHRASE_SCAN = 50_000  # recent citizen messages read at most to find rephrasings

STATUS_TRAINING = "training"
STATUS_ACTIVE = "active"
STATUS_REJECTED = "rejected"
STATUS_RETIRED = "retired"
STATUS_FAILED = "failed"


class InboxError(ValueError):
    """A label or dismissal that cannot be done; the message says why (in Vietnamese)."""


class TrainingBusy(RuntimeError):
    """Another retraining is running (in this worker or another one)."""

    def __init__(self, running: ModelVersion) -> None:
        super().__init__(f"model {running.version} is training")
        self.running = running






@dataclass(frozen=True, slots=True)
class InboxGroup:
    """One question as the inbox shows it: its wordings, how often, when, where, the bot's guess."""

    keys: tuple[str, ...]  # the folded texts merged into this group (what a label covers)
    text: str  # the representative wording (masked), as a citizen typed it
    variants: tuple[str, ...]  # other wordings, most frequent first
    count: int  # how many messages
    unsure: int  # of which the bot was unsure or fell back (the rest got a 👎)
    last_at: dt.datetime
    channels: tuple[str, ...]
    intent: str | None  # the bot's guess for the representative message
    confidence: float | None
    turn_id: int  # the representative message
    procedure: str | None = None  # the procedure the bot found for it
    disliked: int = 0  # messages whose answer got a 👎
    sampled: int = 0  # confident answers with no 👍, in the review sample
    rephrased: int = 0  # messages the citizen asked again right after the answer
    followup: str | None = None  # what the citizen wrote next, for one rephrased message


@dataclass(frozen=True, slots=True)
class InboxPage:
    """The groups to show and how many distinct wordings wait in all."""

    groups: list[InboxGroup]
    waiting_texts: int  # distinct folded wordings waiting, on every page
    more: bool = False  # more groups wait than are shown


@dataclass(frozen=True, slots=True)
class LabelledExample:
    """A training example written by staff."""

    id: int
    text: str
    intent: str
    procedure: str | None
    turn_id: int | None
    username: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One trained NLU model: its file, its figures, whether it serves."""

    id: int
    version: str
    path: str
    created_at: dt.datetime
    username: str
    examples: int
    status: str
    note: str
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def baseline(self) -> bool:
        """The shipped model, recorded when the first retraining replaced it."""
        return bool(self.metrics.get("baseline"))

    @property
    def stale(self) -> bool:
        """A "training" row whose job has surely died."""
        return self.status == STATUS_TRAINING and utcnow() - self.created_at > STALE_TRAINING


def _version(row: NluModelRow) -> ModelVersion:
    return ModelVersion(row.id, row.version, row.path, as_utc(row.created_at), row.username,
                        row.examples, row.status, row.note, dict(row.metrics or {}))


def _example(row: TrainingExampleRow) -> LabelledExample:
    return LabelledExample(row.id, row.text, row.intent, row.procedure, row.turn_id,
                           row.username, as_utc(row.at))


def _disliked_questions() -> Any:
    """Ids of citizen messages whose answer got a 👎: the message just before a bot reply
    with ``feedback = -1`` (or a message carrying the 👎 itself). Only conversations that
    count a 👎 (``feedback_down``) are searched, through the per-conversation turn index."""
    answer = aliased(TurnRow)
    question = aliased(TurnRow)
    previous = (select(func.max(question.id))
                .where(question.conversation_id == answer.conversation_id,
                       question.direction == "in", question.id < answer.id)
                .correlate(answer).scalar_subquery())
    unhappy = select(ConversationRow.id).where(ConversationRow.feedback_down > 0)
    return select(case((answer.direction == "out", previous), else_=answer.id)).where(
        answer.conversation_id.in_(unhappy), answer.feedback == -1).correlate(None)


def _liked() -> ColumnElement[bool]:
    """The answer to a citizen message (the bot's replies before the citizen's next message)
    got a 👍, or the message carries the 👍 itself."""
    reply = aliased(TurnRow)
    between = aliased(TurnRow)
    later_question = select(between.id).where(
        between.conversation_id == TurnRow.conversation_id, between.direction == "in",
        between.id > TurnRow.id, between.id < reply.id).correlate_except(between).exists()
    liked_reply = select(reply.id).where(
        reply.conversation_id == TurnRow.conversation_id, reply.id > TurnRow.id,
        reply.feedback == 1, ~later_question).correlate_except(reply).exists()
    return or_(func.coalesce(TurnRow.feedback, 0) == 1, liked_reply)


def _sampled(since: dt.datetime, slots: int) -> ColumnElement[bool]:
    """A confident answer of the review window, in the stable sample, that got no 👍."""
    if slots <= 0:
        return false()
    return and_(TurnRow.misunderstood.is_(False), TurnRow.confidence >= CONFIDENT,
                TurnRow.at >= since, TurnRow.at <= utcnow() - SAMPLE_AFTER,
                TurnRow.id % SAMPLE_MODULUS < slots, ~_liked())


def _waiting(rephrased: Collection[int] = (), since: dt.datetime | None = None,
             slots: int = SAMPLE_SLOTS) -> ColumnElement[bool]:
    """Unreviewed citizen messages the bot misunderstood, whose answer got a 👎, that were
    rephrased right after (their ids), or that are in the sample of confident answers."""
    misunderstood = select(TurnRow.id).where(
        TurnRow.misunderstood == true(), TurnRow.reviewed == false()).correlate(None)
    reasons: list[ColumnElement[bool]] = [
        TurnRow.id.in_(union(misunderstood, _disliked_questions()))]
    if rephrased:
        reasons.append(TurnRow.id.in_(sorted(rephrased)))
    if since is not None:
        reasons.append(_sampled(since, slots))
    return and_(
        or_(*reasons),
        TurnRow.direction == "in",
        TurnRow.reviewed.is_(False),
        TurnRow.folded != "",
        ~TurnRow.text.startswith("/"),  # button payloads are not wordings to learn
    )


def is_rephrasing(first: tuple[str, str | None, str | None],
                  second: tuple[str, str | None, str | None]) -> bool:
    """Whether a citizen's next message (folded text, intent, procedure) asks the first one
    again: close in words, or the same procedure with the same intent."""
    if fuzz.token_sort_ratio(first[0], second[0]) >= REPHRASE_SCORE:
        return True
    return bool(first[2]) and first[1:] == second[1:]


def merge_groups(rows: Sequence[tuple[str, int]],
                 score: float = MERGE_SCORE) -> list[list[int]]:
    """Cluster (folded text, count) rows, largest first: each row joins the cluster whose
    leading text it matches best, if at ``score`` or better, else leads a new one. Returns the
    row indexes of each cluster, its leader first."""
    order = sorted(range(len(rows)), key=lambda i: -rows[i][1])
    leaders: list[str] = []
    clusters: list[list[int]] = []
    for index in order:
        text = rows[index][0]
        match = process.extractOne(text, leaders, scorer=fuzz.token_sort_ratio,
                                   score_cutoff=score) if leaders else None
        if match is None:
            leaders.append(text)
            clusters.append([index])
        else:
            clusters[match[2]].append(index)
    return clusters


class TrainingStore:
    """The inbox, the labelled examples and the model versions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 sample_slots: int = SAMPLE_SLOTS) -> None:
        self.sessions = sessions
        self.sample_slots = sample_slots  # of SAMPLE_MODULUS; 0 samples no confident answer

    # The inbox -----------------------------------------------------------------------------

    async def _rephrased(self, session: AsyncSession, since: dt.datetime) -> dict[int, str]:
        """Unreviewed citizen messages of the review window the citizen asked again right
        after the answer, with what they wrote next."""
        rows = (await session.execute(
            select(TurnRow.id, TurnRow.conversation_id, TurnRow.at, TurnRow.folded,
                   TurnRow.intent, TurnRow.procedure, TurnRow.text, TurnRow.reviewed)
            .where(TurnRow.direction == "in", TurnRow.at >= since)
            .order_by(TurnRow.id.desc()).limit(REPHRASE_SCAN))).all()
        rows = sorted(rows, key=lambda row: (row.conversation_id, row.id))
        found: dict[int, str] = {}
        for first, second in pairwise(rows):
            if (first.conversation_id != second.conversation_id or first.reviewed
                    or not first.folded or not second.folded
                    or first.text.startswith("/") or second.text.startswith("/")
                    or as_utc(second.at) - as_utc(first.at) > REPHRASE_WINDOW):
                continue
            if is_rephrasing((first.folded, first.intent, first.procedure),
                             (second.folded, second.intent, second.procedure)):
                found[first.id] = second.text
        return found

    async def _waiting_now(self, session: AsyncSession) -> tuple[ColumnElement[bool],
                                                                  dict[int, str]]:
        """What waits in the inbox now, and the rephrased messages with their follow-ups."""
        since = utcnow() - dt.timedelta(days=REVIEW_DAYS)
        rephrased = await self._rephrased(session, since)
        return _waiting(rephrased, since, self.sample_slots), rephrased

    async def inbox(self, limit: int = 100,
                    candidates: int = CANDIDATE_GROUPS) -> InboxPage:
        """The waiting questions, most asked first (then most recent)."""
        count = func.count(TurnRow.id)
        last = func.max(TurnRow.at)
        since = utcnow() - dt.timedelta(days=REVIEW_DAYS)

        def tally(condition: ColumnElement[bool]) -> Any:
            return func.sum(case((condition, 1), else_=0))

        async with self.sessions() as session:
            waiting, rephrased = await self._waiting_now(session)
            rephrased_ids = sorted(rephrased) or [-1]
            rows = (await session.execute(
                select(TurnRow.folded, count, last, func.max(TurnRow.id),
                       tally(TurnRow.misunderstood.is_(True)),
                       tally(TurnRow.id.in_(_disliked_questions())),
                       tally(_sampled(since, self.sample_slots)),
                       tally(TurnRow.id.in_(rephrased_ids)))
                .where(waiting).group_by(TurnRow.folded)
                .order_by(count.desc(), last.desc()).limit(candidates))).all()
            total = await session.scalar(select(func.count(distinct(TurnRow.folded)))
                                         .where(waiting)) or 0
            if not rows:
                return InboxPage([], 0)
            folded = [row[0] for row in rows]
            latest = {turn.id: turn for turn in (await session.scalars(
                select(TurnRow).where(TurnRow.id.in_([row[3] for row in rows])))).all()}
            channels: dict[str, set[str]] = {}
            followups: dict[str, str] = {}
            for key, channel, turn_id in (await session.execute(
                    select(TurnRow.folded, TurnRow.channel, TurnRow.id).where(
                        waiting, TurnRow.folded.in_(folded)))).all():
                channels.setdefault(key, set()).add(channel)
                if turn_id in rephrased:
                    followups.setdefault(key, rephrased[turn_id])
        groups = []
        for members in merge_groups([(row[0], int(row[1])) for row in rows]):
            member_rows = [rows[i] for i in members]
            lead = latest[member_rows[0][3]]
            texts: list[str] = []
            for row in member_rows:
                text = latest[row[3]].text
                if text not in texts:
                    texts.append(text)
            groups.append(InboxGroup(
                keys=tuple(row[0] for row in member_rows),
                text=lead.text,
                variants=tuple(texts[1:]),
                count=sum(int(row[1]) for row in member_rows),
                unsure=sum(int(row[4] or 0) for row in member_rows),
                last_at=max(as_utc(row[2]) for row in member_rows),
                channels=tuple(sorted(set().union(*(channels.get(row[0], set())
                                                    for row in member_rows)))),
                intent=lead.intent,
                confidence=lead.confidence,
                turn_id=lead.id,
                procedure=lead.procedure,
                disliked=sum(int(row[5] or 0) for row in member_rows),
                sampled=sum(int(row[6] or 0) for row in member_rows),
                rephrased=sum(int(row[7] or 0) for row in member_rows),
                followup=next((followups[row[0]] for row in member_rows
                               if row[0] in followups), None),
            ))
        groups.sort(key=lambda g: (-g.count, -g.last_at.timestamp()))
        return InboxPage(groups[:limit], int(total),
                         more=len(groups) > limit or len(rows) < int(total))

    async def label(self, keys: Sequence[str], intent: str, procedure: str | None,
                    username: str) -> int:
        """Store every wording of a group as a training example with this intent and
        procedure, and mark the group's messages reviewed. A wording labelled before gets the
        new label. Returns how many examples were stored; raises InboxError when the group was
        handled already."""
        wanted = self._check_keys(keys)
        now = utcnow()
        async with self.sessions.begin() as session:
            waiting, _ = await self._waiting_now(session)
            found = (await session.execute(
                select(TurnRow.id, TurnRow.folded, TurnRow.text).where(
                    waiting, TurnRow.folded.in_(wanted)).order_by(TurnRow.id.desc()))).all()
            if not found:
                raise InboxError("Câu hỏi này đã được xử lý (có thể bởi người khác). "
                                 "Vui lòng tải lại trang.")
            newest: dict[str, tuple[int, str]] = {}
            for turn_id, key, text in found:
                newest.setdefault(key, (turn_id, text))
            earlier = [row_id for row_id, text in (await session.execute(
                select(TrainingExampleRow.id, TrainingExampleRow.text))).all()
                if fold(text) in newest]
            if earlier:
                await session.execute(delete(TrainingExampleRow).where(
                    TrainingExampleRow.id.in_(earlier)))
            session.add_all(
                TrainingExampleRow(text=text, intent=intent, procedure=procedure or None,
                                   turn_id=turn_id, username=username, at=now)
                for turn_id, text in newest.values())
            await self._mark_reviewed(session, waiting, wanted,
                                      max(row[0] for row in found))
        return len(newest)

    async def dismiss(self, keys: Sequence[str]) -> int:
        """Mark a group's messages reviewed without a label ("Bỏ qua"); returns how many."""
        wanted = self._check_keys(keys)
        async with self.sessions.begin() as session:
            waiting, _ = await self._waiting_now(session)
            newest = await session.scalar(select(func.max(TurnRow.id)).where(
                waiting, TurnRow.folded.in_(wanted)))
            if newest is None:
                raise InboxError("Câu hỏi này đã được xử lý (có thể bởi người khác). "
                                 "Vui lòng tải lại trang.")
            return await self._mark_reviewed(session, waiting, wanted, newest)

    @staticmethod
    def _check_keys(keys: Sequence[str]) -> list[str]:
        wanted = sorted({key for key in keys if key})
        if not wanted:
            raise InboxError("Không rõ câu hỏi nào cần xử lý. Vui lòng tải lại trang.")
        if len(wanted) > MAX_KEYS:
            raise InboxError(f"Một lần chỉ xử lý được tối đa {MAX_KEYS} cách hỏi.")
        return wanted

    @staticmethod
    async def _mark_reviewed(session: AsyncSession, waiting: ColumnElement[bool],
                             keys: list[str], up_to: int) -> int:
        result = await session.execute(
            update(TurnRow).where(waiting, TurnRow.folded.in_(keys), TurnRow.id <= up_to)
            .values(reviewed=True).execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    # Labelled examples ---------------------------------------------------------------------

    async def add_examples(self, examples: Sequence[tuple[str, str, str | None]],
                           username: str) -> int:
        """Store (text, intent, procedure) examples that come from no message."""
        now = utcnow()
        async with self.sessions.begin() as session:
            session.add_all(TrainingExampleRow(text=text, intent=intent,
                                               procedure=procedure or None, turn_id=None,
                                               username=username, at=now)
                            for text, intent, procedure in examples)
        return len(examples)

    async def examples(self) -> list[LabelledExample]:
        """Every labelled example, oldest first."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(TrainingExampleRow)
                                          .order_by(TrainingExampleRow.id))).all()
        return [_example(row) for row in rows]

    async def count_examples(self) -> int:
        """How many labelled examples there are."""
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count(TrainingExampleRow.id))) or 0)

    # Model versions ------------------------------------------------------------------------

    async def start_model(self, version: str, path: str, username: str, examples: int,
                          note: str = "") -> ModelVersion:
        """Record a model being trained; raises TrainingBusy while another one is (a row
        left "training" by a worker that died stops counting after ``STALE_TRAINING``)."""
        now = utcnow()
        async with self.sessions.begin() as session:
            for row in (await session.scalars(select(NluModelRow).where(
                    NluModelRow.status == STATUS_TRAINING))).all():
                running = _version(row)
                if not running.stale:
                    raise TrainingBusy(running)
                row.status = STATUS_FAILED
                row.note = "Quá trình huấn luyện bị gián đoạn."
            row = NluModelRow(version=version, path=path, created_at=now, username=username,
                              examples=examples, metrics={}, status=STATUS_TRAINING,
                              note=note)
            session.add(row)
            await session.flush()
            return _version(row)

    async def add_model(self, version: str, path: str, username: str, examples: int,
                        status: str, metrics: dict[str, Any], note: str = "",
                        created_at: dt.datetime | None = None) -> ModelVersion:
        """Record a model that already exists (the shipped one), or update its row."""
        async with self.sessions.begin() as session:
            row = await session.scalar(select(NluModelRow).where(
                NluModelRow.version == version))
            if row is None:
                row = NluModelRow(version=version, created_at=created_at or utcnow())
                session.add(row)
            row.path, row.username, row.examples = path, username, examples
            row.status, row.metrics, row.note = status, metrics, note
            await session.flush()
            return _version(row)

    async def finish_model(self, version: str, status: str, metrics: dict[str, Any],
                           note: str = "", path: str | None = None) -> ModelVersion:
        """Store a trained model's figures and outcome (rejected or failed; ``activate``
        makes one active)."""
        async with self.sessions.begin() as session:
            row = await session.scalar(select(NluModelRow).where(
                NluModelRow.version == version))
            if row is None:
                raise LookupError(f"no model version {version}")
            row.status, row.metrics, row.note = status, metrics, note
            if path is not None:
                row.path = path
            return _version(row)

    async def activate(self, version: str) -> ModelVersion | None:
        """Make a version the active one; the one active before is retired and returned."""
        async with self.sessions.begin() as session:
            row = await session.scalar(select(NluModelRow).where(
                NluModelRow.version == version))
            if row is None:
                raise LookupError(f"no model version {version}")
            previous = (await session.scalars(select(NluModelRow).where(
                NluModelRow.status == STATUS_ACTIVE, NluModelRow.id != row.id))).all()
            for old in previous:
                old.status = STATUS_RETIRED
            row.status = STATUS_ACTIVE
            return _version(previous[0]) if previous else None

    async def models(self, limit: int = 50) -> list[ModelVersion]:
        """Model versions, newest first (the shipped model dates from its training)."""
        async with self.sessions() as session:
            rows = (await session.scalars(
                select(NluModelRow).order_by(NluModelRow.created_at.desc(),
                                             NluModelRow.id.desc()).limit(limit))).all()
        return [_version(row) for row in rows]

    async def model(self, version: str) -> ModelVersion | None:
        """One version."""
        async with self.sessions() as session:
            row = await session.scalar(select(NluModelRow).where(
                NluModelRow.version == version))
        return _version(row) if row is not None else None

    async def active_model(self) -> ModelVersion | None:
        """The version that serves, if staff ever activated one."""
        async with self.sessions() as session:
            row = await session.scalar(select(NluModelRow).where(
                NluModelRow.status == STATUS_ACTIVE).order_by(NluModelRow.id.desc()).limit(1))
        return _version(row) if row is not None else None
