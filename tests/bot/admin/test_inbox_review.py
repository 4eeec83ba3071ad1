"""The inbox beyond misunderstandings: a stable sample of confident answers nobody gave a 👍,
questions a citizen asked again right after the answer, why each is there, what the bot
understood pre-selected, and intent titles instead of ids on every staff page.

Everything goes through the real service: citizens chat through ``POST /api/chat``; answers
are made older by moving their stored time back (the sample waits for a 👍 first).
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.admin.intent_titles import INTENT_TITLES
from bot.service.appkeys import RUNTIME
from bot.storage.tables import TurnRow
from bot.storage.training import InboxGroup
from nlu.normalize import fold
from tests.bot.admin.conftest import STAFF, http_login
from tests.bot.admin.test_inbox import chat, form, group_of, training

Client = TestClient[Any, Any]

CONFIDENT = [f"{aspect} {procedure}" for aspect in ("lệ phí", "giấy tờ", "thời gian")
             for procedure in ("làm hộ chiếu", "đăng ký khai sinh", "làm căn cước",
                               "đăng ký kết hôn", "cấp lý lịch tư pháp")]


async def move_back(client: Client, delta: dt.timedelta, sender: str | None = None,
                    first_only: bool = False) -> None:
    """Make stored turns older (all, or one web conversation's, or only its first message)."""
    async with client.app[RUNTIME].stores.knowledge.sessions.begin() as session:
        query = select(TurnRow.id, TurnRow.at)
        if sender is not None:
            query = query.where(TurnRow.conversation_id == f"web:{sender}")
        rows = (await session.execute(query.order_by(TurnRow.id))).all()
        if first_only:
            rows = rows[:1]
        for turn_id, at in rows:
            await session.execute(update(TurnRow).where(TurnRow.id == turn_id)
                                  .values(at=at - delta))


async def question_turns(client: Client) -> dict[int, TurnRow]:
    async with client.app[RUNTIME].stores.knowledge.sessions() as session:
        rows = (await session.scalars(select(TurnRow).where(TurnRow.direction == "in"))).all()
    return {row.id: row for row in rows}


def sampled_groups(groups: list[InboxGroup]) -> dict[tuple[str, ...], int]:
    return {g.keys: g.sampled for g in groups if g.sampled}


async def test_confident_answers_are_sampled_stably_until_a_thumbs_up(accounts: Client) -> None:
    store = training(accounts)
    store.sample_slots = 30  # about a third, so a few dozen answers surely give some
    for index, text in enumerate(CONFIDENT):
        await chat(accounts, f"sure{index}", text)
    confident = [t for t in (await question_turns(accounts)).values() if not t.misunderstood]
    assert len(confident) >= 10, "the bot should understand most of these"
    assert not (await store.inbox()).groups, "a fresh answer may still get its 👍"

    await move_back(accounts, dt.timedelta(hours=2))
    page = await store.inbox()
    sample = sampled_groups(page.groups)
    assert 0 < sum(sample.values()) < len(confident)
    assert all(g.unsure == g.disliked == g.rephrased == 0 for g in page.groups)
    assert sampled_groups((await store.inbox()).groups) == sample  # the same on every load
    await chat(accounts, "later", "chào bạn")  # later traffic does not reshuffle the sample
    assert sampled_groups((await store.inbox()).groups) == sample

    # a 👍 on one sampled answer takes it out
    liked = page.groups[0]
    turn = (await question_turns(accounts))[liked.turn_id]
    await chat(accounts, turn.conversation_id.removeprefix("web:"), '/feedback{"value":"up"}')
    assert liked.keys not in sampled_groups((await store.inbox()).groups)

    # the page says why and pre-selects what the bot understood
    other = next(g for g in (await store.inbox()).groups if g.procedure and g.intent)
    await http_login(accounts, STAFF)
    html = await (await accounts.get("/admin/inbox")).text()
    card = card_of(html, other)
    assert f"Kiểm tra ngẫu nhiên: bot trả lời chắc chắn, chưa được 👍: {other.sampled}" in card
    assert re.search(rf'<option value="{other.intent}" selected>', card)
    assert re.search(rf'name="procedure" value="{other.procedure}"', card)
    assert len(re.findall(r"<option [^>]*selected", card)) == 1


def card_of(html: str, group: InboxGroup) -> str:
    """The inbox card of one group."""
    start = html.index(f'data-keys="{"|".join(group.keys)}"')
    end = html.find('class="card inbox-group"', start)
    return html[start:end if end > 0 else len(html)]


async def test_a_question_asked_again_right_after_the_answer_is_in_the_inbox(
        accounts: Client) -> None:
    training(accounts).sample_slots = 0
    conversations = {
        "same-procedure": ["lệ phí làm hộ chiếu", "làm hộ chiếu hết bao nhiêu tiền"],
        "close-words": ["thủ tục đăng ký kết hôn", "thu tuc dang ky ket hon can gi"],
        "follow-up": ["giấy tờ làm căn cước", "nộp ở đâu"],
        "much-later": ["thời gian đăng ký khai sinh", "thời gian đăng ký khai sinh"],
        "button": ["thủ tục cấp lý lịch tư pháp", '/procedure_fee{"procedure":"ly-lich-tu-phap"}'],
    }
    for sender, (first, _) in conversations.items():
        await chat(accounts, sender, first)
    await move_back(accounts, dt.timedelta(minutes=30), "much-later", first_only=True)
    for sender, (_, second) in conversations.items():
        await chat(accounts, sender, second)

    turns = await question_turns(accounts)
    by_text = {t.text: t for t in turns.values()}
    first, second = (by_text[text] for text in conversations["same-procedure"])
    assert (first.intent, first.procedure) == (second.intent, second.procedure) != (None, None)
    page = await training(accounts).inbox()
    rephrased = {g.text: g for g in page.groups if g.rephrased}
    assert set(rephrased) == {"lệ phí làm hộ chiếu", "thủ tục đăng ký kết hôn"}, page.groups
    passport = rephrased["lệ phí làm hộ chiếu"]
    assert passport.rephrased == 1 and passport.followup == "làm hộ chiếu hết bao nhiêu tiền"

    csrf = await http_login(accounts, STAFF)
    html = await (await accounts.get("/admin/inbox")).text()
    card = card_of(html, passport)
    assert "Người dân hỏi lại ngay sau câu trả lời: 1" in card
    assert "Người dân hỏi lại: «làm hộ chiếu hết bao nhiêu tiền»" in card
    assert "nộp ở đâu" not in html

    response = await accounts.post("/admin/inbox/label", data=form(
        csrf, passport, intent="procedure_fee", procedure="ho-chieu"))
    assert response.status == 200 and "Đã lưu nhãn «Lệ phí — " in await response.text()
    left = {g.text for g in (await training(accounts).inbox()).groups}
    assert left == {"thủ tục đăng ký kết hôn"}
    marriage = await group_of(accounts, "thủ tục đăng ký kết hôn")
    dismissed = await accounts.post("/admin/inbox/dismiss", data=form(csrf, marriage))
    assert dismissed.status == 200 and "Đã bỏ qua 1 tin nhắn" in await dismissed.text()
    assert not (await training(accounts).inbox()).groups
    assert fold("lệ phí làm hộ chiếu") in passport.keys


class VisibleText(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden and not data.strip().startswith("/"):  # a tapped button's payload,
            self.parts.append(data)  # as the citizen's message, is not a label


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


async def test_staff_pages_show_intent_titles_never_ids(accounts: Client) -> None:
    for sender, text in (("a", "thời tiết hôm nay"), ("b", "lệ phí làm hộ chiếu"),
                         ("c", "chào bạn"), ("d", "cho gặp nhân viên")):
        await chat(accounts, sender, text)
    await chat(accounts, "b", '/feedback{"value":"down"}')
    turns = await question_turns(accounts)
    intents = {t.intent for t in turns.values()}
    assert {"out_of_scope", "feedback", "procedure_fee"} <= intents, intents
    await http_login(accounts, STAFF)
    pages = ["/admin", "/admin/conversations", "/admin/inbox", "/admin/models",
             "/admin/conversations/web%3Ab", "/admin/conversations/web%3Aa"]
    ids = re.compile(r"\b(" + "|".join(sorted(INTENT_TITLES, key=len, reverse=True)) + r")\b")
    for path in pages:
        response = await accounts.get(path)
        assert response.status == 200, path
        html = await response.text()
        text = visible(html)
        assert not ids.findall(text), (path, ids.findall(text))
    inbox = visible(await (await accounts.get("/admin/inbox")).text())
    assert "Ngoài phạm vi" in inbox and "Lệ phí" in inbox
    listing = visible(await (await accounts.get("/admin/conversations")).text())
    assert "Đánh giá câu trả lời (👍/👎)" in listing and "Ngoài phạm vi" in listing
