"""The citizen's conditions (age, who files, lost/damaged/expired): read from messages and
the NLU's relation entity, kept in the conversation's state, and used to narrow an answer."""

from __future__ import annotations

import pytest

from actions import texts
from actions.base import Services
from actions.conditions import SELF, Conditions, Situation, current, merged, read
from actions.fitting import age_range, fit, for_the_age
from actions.procedures import ProcedureAspect
from bot.core.messages import IncomingMessage
from bot.core.state import ConversationState
from bot.service.composition import Runtime
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from nlu.types import Entity, IntentScore, ParseResult
from tests.actions.support import make_context, make_parse, only_reply

MONTHS = 12


@pytest.mark.parametrize(("text", "age", "who", "situation"), [
    ("làm căn cước cho bé 6 tuổi được không", 6 * MONTHS, "be", None),
    ("lam can cuoc cho be 6 tuoi duoc khong", 6 * MONTHS, "be", None),
    ("làm căn cước cho bé 3 tháng", 3, "be", None),
    ("con em 6t làm cccd", 6 * MONTHS, "con", None),
    ("con em vừa đủ 14 tuổi", 14 * MONTHS, "con", None),
    ("bé nhà em mới sinh", 0, "be", None),
    ("mẹ em 70 tuổi", 70 * MONTHS, "me", None),
    ("khai tu cho bo", None, "bo", None),
    ("tôi tự làm được không", None, SELF, None),
    ("căn cước của tôi bị mất", None, None, Situation.LOST),
    ("em tự nộp được không", None, SELF, None),
    ("the bhyt cua me bi mat", None, "me", Situation.LOST),
    ("cccd gắn chip bị hỏng làm lại", None, None, Situation.DAMAGED),
    ("bằng lái sắp hết hạn", None, None, Situation.EXPIRED),
])
def test_conditions_are_read_with_and_without_diacritics(
        text: str, age: int | None, who: str | None, situation: Situation | None) -> None:
    assert read(text) == Conditions(age, who, situation)


@pytest.mark.parametrize("text", [
    "còn lệ phí?",  # "con le phi": no child
    "còn em thì sao",
    "cho em hỏi",
    "có mất phí không",  # costs, no loss
    "mất bao lâu",
    "nộp 2 tháng rồi chưa xong",  # no age
    "tạm trú 6 tháng",
    "trẻ dưới 6 tuổi làm thẻ bhyt",  # a rule, no one's age
    "/procedure_fee{\"procedure\":\"can-cuoc\"}",  # a button
    "trình tự làm giấy chứng tử",  # "tu lam", no one doing it alone
    "các bước cấp sổ hồng lần đầu",  # the land certificate, nothing damaged
    "hồ sơ của tôi đến đâu rồi",
    "vợ chồng em định đăng ký kết hôn",
    "bị lộ mật khẩu vneid thì khóa thế nào",  # a password, nothing lost
    "nuôi con một mình 6 tháng nay rồi",  # a time, no age
    "muốn tự làm chủ một cửa hàng",
])
def test_ordinary_questions_state_no_condition(text: str) -> None:
    found = read(text)
    assert found.age_months is None and found.situation is None
    assert found.who in (None, "tre")  # "trẻ" in a rule names no one's age


def test_the_nlu_relation_entity_is_used_when_the_engine_gives_one() -> None:
    top = IntentScore(Intent.PROCEDURE_DOCUMENTS, 0.9)
    parse = ParseResult("làm hộ nhé", top, (top,),
                        (Entity("relation", "mẹ", 0, 3, 0.9, "mẹ", "crf"),))
    assert read("làm hộ nhé", parse).who == "me"
    unknown = ParseResult("x", top, (top,), (Entity("relation", "hàng xóm", 0, 1),))
    assert read("x", unknown).who is None


def test_a_message_about_another_person_drops_the_earlier_age_and_case() -> None:
    child = Conditions(6 * MONTHS, "be", Situation.LOST)
    assert merged(child, read("mất bao lâu")) == child
    assert merged(child, read("còn làm cho bố thì sao")) == Conditions(None, "bo", None)
    assert merged(child, read("bé 7 tuổi rồi")) == Conditions(7 * MONTHS, "be", Situation.LOST)
    assert current({"conditions": child.to_dict()}, "le phi", None) == child


def test_the_state_keeps_conditions_and_ignores_malformed_ones() -> None:
    said = Conditions(6 * MONTHS, "be", Situation.EXPIRED)
    state = ConversationState().updated({"conditions": said.to_dict()})
    assert Conditions.from_dict(ConversationState.from_dict(state.to_dict()).conditions) == said
    broken = ConversationState.from_dict({"conditions": {"age_months": "six", "who": "x",
                                                         "situation": "stolen"}})
    assert broken.conditions is None
    assert ConversationState.from_dict({"conditions": [1, 2]}).conditions is None


def test_age_ranges_are_read_from_names() -> None:
    assert age_range("Cấp thẻ căn cước cho người dưới 14 tuổi") == (0, 14 * MONTHS)
    assert age_range("cấp lần đầu cho người từ đủ 14 tuổi, cấp đổi") == (14 * MONTHS, 10_000)
    assert age_range("người từ đủ 06 tuổi đến dưới 14 tuổi") == (6 * MONTHS, 14 * MONTHS)
    assert age_range("Tờ khai TK01 (từ đủ 14 tuổi) hoặc TK01a (dưới 14 tuổi)") is None
    assert age_range("Đăng ký kết hôn") is None


def test_a_procedure_is_for_the_age_its_name_gives_unless_the_paper_is_asked_again() -> None:
    children = "Liên thông điện tử: … cấp thẻ căn cước cho trẻ em dưới 6 tuổi"
    assert for_the_age(children, read("bé 3 tháng"))
    assert not for_the_age(children, read("con 8 tuổi"))
    assert for_the_age("Đăng ký thường trú", read("con 8 tuổi"))
    adults = "Cấp thẻ căn cước (cấp lần đầu cho người từ đủ 14 tuổi, cấp đổi, cấp lại)"
    assert not for_the_age(adults, read("con 10 tuổi"))
    assert for_the_age(adults, read("con 10 tuổi bị mất thẻ"))
    assert for_the_age(adults, read("cần giấy tờ gì"))


async def test_a_lost_card_answer_lists_only_what_a_reissue_needs(services: Services) -> None:
    said = "em bị mất căn cước cần giấy tờ gì"
    result = await ProcedureAspect(Intent.PROCEDURE_DOCUMENTS).run(make_context(
        services, said, Intent.PROCEDURE_DOCUMENTS, procedure="can-cuoc",
        parse=make_parse(said, Intent.PROCEDURE_DOCUMENTS)))
    reply = only_reply(result.replies)
    assert reply.text.startswith(texts.CONDITION_ITEMS.format(who="trường hợp giấy tờ bị mất"))
    assert "(DC02)" in reply.text and "(CC01)" not in reply.text
    plain = await ProcedureAspect(Intent.PROCEDURE_DOCUMENTS).run(make_context(
        services, "cần giấy tờ gì", Intent.PROCEDURE_DOCUMENTS, procedure="can-cuoc"))
    assert "(CC01)" in only_reply(plain.replies).text
    assert not only_reply(plain.replies).text.startswith("Với ")


async def test_conditions_that_change_nothing_are_not_announced(
        services: Services, knowledge: KnowledgeSnapshot) -> None:
    said = "bé nhà em 6 tuổi, đăng ký kết hôn mất bao lâu"
    result = await ProcedureAspect(Intent.PROCEDURE_DURATION).run(make_context(
        services, said, Intent.PROCEDURE_DURATION, procedure="ket-hon"))
    assert not only_reply(result.replies).text.startswith("Với ")
    kept = fit(knowledge.procedures["ket-hon"], read(said), knowledge, said)
    assert kept.procedure is knowledge.procedures["ket-hon"] and kept.line == ""


async def test_the_conversation_keeps_the_conditions_for_follow_ups(runtime: Runtime) -> None:
    async def say(text: str) -> str:
        handled = await runtime.pipeline.handle(IncomingMessage("test", "parent", text))
        return "\n".join(reply.text for reply in handled.replies)

    first = await say("làm căn cước cho bé 6 tuổi được không")
    assert first.startswith("Với bé 6 tuổi:")
    stored = await runtime.pipeline.conversations.load("test:parent")
    assert stored is not None
    state = ConversationState.from_dict(stored.state)
    assert Conditions.from_dict(state.conditions) == Conditions(6 * MONTHS, "be", None)
    assert state.procedure == "qg-1-014062"
    papers = await say("cần giấy tờ gì")
    assert "Cấp thẻ căn cước cho người dưới 14 tuổi" in papers
