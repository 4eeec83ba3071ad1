"""The dispatcher on fakes: an in-memory inbox, a recording channel and a scripted pipeline.

What a citizen relies on: a delivery that arrives twice is answered once, a conversation's
messages are answered in order, a platform that fails for a while gets the replies later (and
the conversation's newer replies wait for them), a platform that refuses for good is given up,
a crash in the pipeline still gets an apology, rows left unfinished by a previous run are
answered at start, and stopping waits for the messages in hand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import types
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import pytest

import bot.core.dispatcher as dispatcher_module
from actions.base import Reply
from bot.core.delivery import DeliveryFailed
from bot.core.dispatcher import APOLOGY, Dispatcher
from bot.core.messages import IncomingMessage
from bot.core.pipeline import Pipeline
from bot.service.coordination.locks import ConversationLocks
from bot.storage.inbox import ANSWERED, DONE, PENDING, AlreadyHandled, Inbox, InboxItem
from bot.storage.turns import TurnTransaction

CHANNEL = "telegram"


# -- fakes ---------------------------------------------------------------------------------


class FakeInbox:
    """The inbox's contract in memory: unique on (channel, message id), rows go pending ->
    answered (with replies) -> done."""

    def __init__(self) -> None:
        self.rows: dict[int, InboxItem] = {}
        self.accepted: list[tuple[str, str]] = []

    async def accept(self, message: IncomingMessage) -> int | None:
        assert message.message_id is not None
        key = (message.channel, message.message_id)
        self.accepted.append(key)
        if any((r.channel, r.message.message_id) == key for r in self.rows.values()):
            return None
        inbox_id = len(self.rows) + 1
        self.rows[inbox_id] = InboxItem(inbox_id, message)
        return inbox_id

    def add(self, user_id: str, text: str, status: str = PENDING,
            replies: tuple[str, ...] = ()) -> InboxItem:
        """A row as a previous run left it."""
        inbox_id = len(self.rows) + 1
        item = InboxItem(inbox_id, IncomingMessage(CHANNEL, user_id, text, f"old-{inbox_id}",
                                                   dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
                         status, tuple(Reply(r).to_dict() for r in replies))
        self.rows[inbox_id] = item
        return item

    def settle(self, inbox_id: int, replies: list[dict[str, Any]]) -> None:
        """What ``Inbox.answered_job`` does in the turn's transaction."""
        if self.rows[inbox_id].status != PENDING:
            raise AlreadyHandled(inbox_id)
        self.rows[inbox_id] = replace(self.rows[inbox_id], status=ANSWERED,
                                      replies=tuple(replies))

    async def keep_unsent(self, inbox_id: int, replies: list[dict[str, Any]]) -> None:
        if self.rows[inbox_id].status == ANSWERED:
            self.rows[inbox_id] = replace(self.rows[inbox_id], replies=tuple(replies))

    async def answered(self, inbox_id: int, replies: list[dict[str, Any]]) -> None:
        self.settle(inbox_id, replies)

    async def done(self, inbox_id: int, text: str) -> None:
        self.rows[inbox_id] = replace(self.rows[inbox_id], status=DONE)

    async def get(self, inbox_id: int) -> InboxItem | None:
        return self.rows.get(inbox_id)

    async def unfinished_for(self, channel: str, user_id: str) -> tuple[list[InboxItem], None]:
        return [r for r in self.rows.values()
                if (r.channel, r.user_id) == (channel, user_id) and r.status != DONE], None

    async def unfinished(self, limit: int = 10_000,
                         received_before: dt.datetime | None = None) -> list[InboxItem]:
        return [r for r in self.rows.values() if r.status != DONE
                and (received_before is None
                     or r.message.received_at < received_before)][:limit]

    def status(self, text: str) -> str:
        """The status of the row with this text."""
        (row,) = [r for r in self.rows.values() if r.message.text == text]
        return row.status


@dataclass
class Handled:
    """The part of ``HandledMessage`` the dispatcher reads."""

    replies: list[Reply]


@dataclass
class FakePipeline:
    """Answers "re: <text>" (two replies for a text starting with "two"), marking the inbox
    row answered as the real pipeline's unit of work does. Texts can be made to fail or to
    wait."""

    inbox: FakeInbox
    events: list[str]
    conversations: None = None  # the dispatcher hands it to the unit of work, unused here
    locks: ConversationLocks = field(default_factory=ConversationLocks)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    failures: dict[str, list[BaseException]] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    overlaps: int = 0

    async def handle(self, message: IncomingMessage,
                     unit: TurnTransaction | None = None) -> Handled:
        key = message.conversation_id
        self.active[key] += 1
        self.overlaps += self.active[key] > 1
        try:
            self.events.append(f"process {message.text}")
            gate = self.gates.get(message.text)
            if gate is not None:
                await gate.wait()
            failures = self.failures.get(message.text)
            if failures:
                raise failures.pop(0)
            replies = [Reply(f"re: {message.text}")]
            if message.text.startswith("two"):
                replies.append(Reply(f"and: {message.text}"))
            if unit is not None and unit.inbox_id is not None:
                self.inbox.settle(unit.inbox_id, [reply.to_dict() for reply in replies])
            return Handled(replies)
        finally:
            self.active[key] -= 1


@dataclass
class FakeChannel:
    """Records every send; raises the failures it is given, one per send."""

    events: list[str]
    sent: list[tuple[str, list[str]]] = field(default_factory=list)
    failures: list[DeliveryFailed] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def send(self, user_id: str, replies: Sequence[Reply]) -> None:
        texts = [reply.text for reply in replies]
        async with self._changed:
            if self.failures:
                self.events.append(f"send fails {texts}")
                self._changed.notify_all()
                raise self.failures.pop(0)
            self.events.append(f"send {texts}")
            self.sent.append((user_id, texts))
            self._changed.notify_all()

    async def wait_for(self, count: int) -> None:
        """Until ``count`` sends succeeded (a hang fails the test instead of blocking it)."""
        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(self.sent) >= count)

    def texts_to(self, user_id: str) -> list[str]:
        return [text for user, texts in self.sent if user == user_id for text in texts]


# -- fixtures ------------------------------------------------------------------------------


@dataclass
class Setup:
    dispatcher: Dispatcher
    inbox: FakeInbox
    pipeline: FakePipeline
    channel: FakeChannel
    events: list[str]


@pytest.fixture
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The dispatcher's own sleeps (a backoff of 1 s and more, the sweeper's 30 s) last a
    thousandth as long; nothing else's ``asyncio.sleep`` changes."""
    real_sleep = asyncio.sleep

    async def sleep(delay: float, result: Any = None) -> Any:
        return await real_sleep(delay / 1000, result)

    fast = types.SimpleNamespace(**{name: getattr(asyncio, name) for name in dir(asyncio)
                                    if not name.startswith("__")})
    fast.sleep = sleep
    monkeypatch.setattr(dispatcher_module, "asyncio", fast)
    yield


MakeSetup = Callable[..., Awaitable[Setup]]


@pytest.fixture
async def make(instant_backoff: None) -> AsyncIterator[MakeSetup]:
    """Builds a dispatcher on fakes (keyword arguments go to Dispatcher); drained after."""
    made: list[Dispatcher] = []

    async def build(inbox: FakeInbox | None = None, **kwargs: Any) -> Setup:
        events: list[str] = []
        inbox = inbox or FakeInbox()
        pipeline = FakePipeline(inbox, events)
        channel = FakeChannel(events)
        dispatcher = Dispatcher(cast(Pipeline, pipeline), cast(Inbox, inbox), **kwargs)
        dispatcher.add_channels({CHANNEL: cast(Any, channel)})  # only send() is used
        made.append(dispatcher)
        return Setup(dispatcher, inbox, pipeline, channel, events)

    yield build
    for dispatcher in made:
        await dispatcher.drain(timeout=5)


def message(text: str, message_id: str | None = None, user_id: str = "u1",
            channel: str = CHANNEL) -> IncomingMessage:
    return IncomingMessage(channel, user_id, text, message_id or f"id-{text}")


# -- tests ---------------------------------------------------------------------------------


async def test_a_repeated_delivery_is_answered_once(make: MakeSetup) -> None:
    s = await make()
    assert await s.dispatcher.submit(message("xin chào", "update-1")) is True
    assert await s.dispatcher.submit(message("xin chào", "update-1")) is False
    await s.channel.wait_for(1)
    assert await s.dispatcher.submit(message("xin chào", "update-1")) is False
    await s.dispatcher.drain()
    assert s.channel.sent == [("u1", ["re: xin chào"])]
    assert s.events.count("process xin chào") == 1
    assert s.inbox.status("xin chào") == DONE


async def test_messages_of_a_conversation_are_answered_one_at_a_time_in_order(
        make: MakeSetup) -> None:
    s = await make()
    s.pipeline.gates["1"] = asyncio.Event()
    await s.dispatcher.submit(message("1"))
    async with asyncio.timeout(10):
        while "process 1" not in s.events:  # the first message is being handled ...
            await asyncio.sleep(0)
    for text in ("2", "3", "4"):  # ... when the next ones arrive
        await s.dispatcher.submit(message(text))
    await s.dispatcher.submit(message("other", user_id="u2"))
    await s.channel.wait_for(1)
    assert s.channel.sent == [("u2", ["re: other"])]  # another citizen does not wait
    s.pipeline.gates["1"].set()
    await s.channel.wait_for(5)
    assert s.channel.texts_to("u1") == ["re: 1", "re: 2", "re: 3", "re: 4"]
    assert s.pipeline.overlaps == 0


async def test_a_backlog_is_answered_a_bounded_number_of_conversations_at_a_time(
        make: MakeSetup) -> None:
    """A burst of webhook messages is stored at once but handled at most DRAINING_AT_ONCE
    conversations at a time (memory and database connections stay bounded); nothing waits
    for ever, and a web chat message is answered at once past the backlog."""
    s = await make()
    bound = dispatcher_module.DRAINING_AT_ONCE
    held = asyncio.Event()
    texts = [f"backlog {i}" for i in range(bound + 20)]
    for i, text in enumerate(texts):
        s.pipeline.gates[text] = held
        assert await s.dispatcher.submit(message(text, user_id=f"c{i}"))
    async with asyncio.timeout(10):
        while sum(e.startswith("process backlog") for e in s.events) < bound:
            await asyncio.sleep(0)
    for _ in range(20):  # let anything past the bound start, if it could
        await asyncio.sleep(0)
    assert sum(e.startswith("process backlog") for e in s.events) == bound
    assert [r.text for r in await s.dispatcher.handle_now(message("web", user_id="w1"))
            or []] == ["re: web"]
    held.set()
    await s.channel.wait_for(len(texts))
    assert sorted(t for _, sent in s.channel.sent for t in sent) == sorted(
        f"re: {t}" for t in texts)


async def test_handle_now_returns_the_replies_instead_of_sending_them(make: MakeSetup) -> None:
    s = await make()
    replies = await s.dispatcher.handle_now(message("lệ phí hộ chiếu", "w1", channel="web"))
    assert replies == [Reply("re: lệ phí hộ chiếu")]
    assert s.channel.sent == []
    assert s.inbox.status("lệ phí hộ chiếu") == DONE
    assert await s.dispatcher.handle_now(message("lệ phí hộ chiếu", "w1", channel="web")) is None


async def test_handle_now_answers_the_conversations_earlier_messages_first(
        make: MakeSetup) -> None:
    s = await make()
    await s.dispatcher.submit(message("trước"))
    replies = await s.dispatcher.handle_now(message("sau"))
    assert replies == [Reply("re: sau")]
    assert s.channel.sent == [("u1", ["re: trước"])]
    assert s.events.index("process trước") < s.events.index("process sau")


async def test_a_temporary_delivery_failure_is_retried_before_anything_newer(
        make: MakeSetup) -> None:
    s = await make()
    s.channel.failures.append(DeliveryFailed("502 from Telegram", temporary=True))
    await s.dispatcher.submit(message("1"))
    await s.dispatcher.submit(message("2"))
    await s.channel.wait_for(2)
    assert s.events == ["process 1", "send fails ['re: 1']", "send ['re: 1']",
                        "process 2", "send ['re: 2']"]
    assert s.inbox.status("1") == DONE and s.inbox.status("2") == DONE


async def test_replies_delivered_before_a_failure_are_not_sent_again(make: MakeSetup) -> None:
    s = await make()
    s.channel.failures.append(DeliveryFailed("429", temporary=True, delivered=1))
    await s.dispatcher.submit(message("two parts"))
    await s.channel.wait_for(1)
    assert s.channel.sent == [("u1", ["and: two parts"])]


async def test_a_permanent_delivery_failure_is_given_up(make: MakeSetup) -> None:
    s = await make()
    s.channel.failures.append(DeliveryFailed("403: bot was blocked", temporary=False))
    await s.dispatcher.submit(message("1"))
    await s.dispatcher.submit(message("2"))
    await s.channel.wait_for(1)
    assert s.events == ["process 1", "send fails ['re: 1']", "process 2", "send ['re: 2']"]
    assert s.inbox.status("1") == DONE  # not tried again at the next start


async def test_a_temporary_failure_past_the_deadline_is_given_up(make: MakeSetup) -> None:
    s = await make(give_up_after=0.0)
    s.channel.failures.append(DeliveryFailed("502", temporary=True))
    await s.dispatcher.submit(message("1"))
    await s.dispatcher.submit(message("2"))
    await s.channel.wait_for(1)
    assert s.channel.sent == [("u1", ["re: 2"])]
    assert s.inbox.status("1") == DONE


async def test_a_failure_in_the_pipeline_gets_an_apology_and_the_next_message_an_answer(
        make: MakeSetup) -> None:
    s = await make()
    s.pipeline.failures["boom"] = [RuntimeError("a bug")]
    await s.dispatcher.submit(message("boom"))
    await s.dispatcher.submit(message("sau đó"))
    await s.channel.wait_for(2)
    assert s.channel.texts_to("u1") == [APOLOGY.text, "re: sau đó"]
    row = next(r for r in s.inbox.rows.values() if r.message.text == "boom")
    assert row.status == DONE
    assert row.replies == (APOLOGY.to_dict(),)


async def test_handle_now_apologises_too(make: MakeSetup) -> None:
    s = await make()
    s.pipeline.failures["boom"] = [ValueError("a bug")]
    assert await s.dispatcher.handle_now(message("boom", channel="web")) == [APOLOGY]


async def test_a_database_outage_in_the_pipeline_is_waited_for_not_apologised_for(
        make: MakeSetup) -> None:
    s = await make()
    s.pipeline.failures["1"] = [OSError("connection refused")]
    await s.dispatcher.submit(message("1"))
    await s.channel.wait_for(1)
    assert s.channel.sent == [("u1", ["re: 1"])]
    assert s.events.count("process 1") == 2


async def test_a_message_another_worker_handled_gets_its_stored_replies(
        make: MakeSetup) -> None:
    s = await make()
    inbox = s.inbox
    original = s.pipeline.handle

    async def handled_elsewhere(msg: IncomingMessage,
                                unit: TurnTransaction | None = None) -> Handled:
        (row,) = [r for r in inbox.rows.values() if r.message.message_id == msg.message_id]
        inbox.settle(row.id, [Reply("answered by the other worker").to_dict()])
        raise AlreadyHandled(row.id)

    s.pipeline.handle = handled_elsewhere  # type: ignore[method-assign,assignment]
    await s.dispatcher.submit(message("1"))
    await s.channel.wait_for(1)
    s.pipeline.handle = original  # type: ignore[method-assign]
    assert s.channel.sent == [("u1", ["answered by the other worker"])]
    assert s.inbox.status("1") == DONE


async def test_recover_answers_what_a_previous_run_left(make: MakeSetup) -> None:
    inbox = FakeInbox()
    inbox.add("a", "pending one")
    inbox.add("b", "answered one", ANSWERED, ("stored reply",))
    inbox.add("c", "done one", DONE, ("already sent",))
    inbox.add("a", "pending two")
    s = await make(inbox)
    assert await s.dispatcher.recover() == 3
    await s.channel.wait_for(3)
    assert s.channel.texts_to("a") == ["re: pending one", "re: pending two"]
    assert s.channel.texts_to("b") == ["stored reply"]  # sent again, not handled again
    assert s.channel.texts_to("c") == []
    assert "process answered one" not in s.events
    assert all(row.status == DONE for row in inbox.rows.values())


async def test_start_recovers_and_a_shared_dispatcher_reads_rows_from_the_inbox(
        make: MakeSetup) -> None:
    inbox = FakeInbox()
    inbox.add("a", "left behind")
    s = await make(inbox, shared=True)
    await s.dispatcher.start()
    await s.dispatcher.submit(message("new"))
    await s.channel.wait_for(2)
    assert s.channel.texts_to("a") == ["re: left behind"]
    assert s.channel.texts_to("u1") == ["re: new"]


async def test_drain_waits_for_the_messages_in_hand(make: MakeSetup) -> None:
    s = await make()
    s.pipeline.gates["1"] = asyncio.Event()
    await s.dispatcher.submit(message("1"))
    await s.dispatcher.submit(message("2"))
    stopping = asyncio.create_task(s.dispatcher.drain(timeout=10))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not stopping.done()
    assert s.dispatcher.accepting is False
    assert s.channel.sent == []
    s.pipeline.gates["1"].set()
    await stopping
    assert s.channel.texts_to("u1") == ["re: 1", "re: 2"]
    assert s.dispatcher.in_flight == 0


async def test_replies_that_failed_while_stopping_stay_for_the_next_start(
        make: MakeSetup) -> None:
    s = await make()
    s.pipeline.gates["1"] = asyncio.Event()
    s.channel.failures.append(DeliveryFailed("502", temporary=True))
    await s.dispatcher.submit(message("1"))
    stopping = asyncio.create_task(s.dispatcher.drain(timeout=10))
    await asyncio.sleep(0)
    s.pipeline.gates["1"].set()
    await stopping
    assert s.channel.sent == []
    assert s.inbox.status("1") == ANSWERED  # the next start sends its stored replies
    restarted = await make(s.inbox)
    assert await restarted.dispatcher.recover() == 1
    await restarted.channel.wait_for(1)
    assert restarted.channel.sent == [("u1", ["re: 1"])]
    assert "process 1" not in restarted.events


async def test_replies_delivered_in_part_while_stopping_are_not_sent_again_at_the_next_start(
        make: MakeSetup) -> None:
    s = await make()
    s.pipeline.gates["two parts"] = asyncio.Event()
    s.channel.failures.append(DeliveryFailed("502", temporary=True, delivered=1))
    await s.dispatcher.submit(message("two parts"))
    stopping = asyncio.create_task(s.dispatcher.drain(timeout=10))
    await asyncio.sleep(0)
    s.pipeline.gates["two parts"].set()
    await stopping
    # the platform took the first reply before failing; only the second is kept
    assert s.inbox.status("two parts") == ANSWERED
    restarted = await make(s.inbox)
    assert await restarted.dispatcher.recover() == 1
    await restarted.channel.wait_for(1)
    assert restarted.channel.sent == [("u1", ["and: two parts"])]
