"""The walk through a procedure's papers (actions/precheck.py), on the shipped knowledge base
and on national records built here as the catalog tier converts them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from actions import texts
from actions.base import ActionResult, Services
from actions.precheck import (
    BACK,
    NO,
    NOT_MINE,
    RESUME,
    STOP,
    YES,
    CheckPapers,
    next_step,
    text_only,
    walk_answer,
)
from knowledge.schema import Procedure
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent
from tests.actions.support import make_context, make_parse


@pytest.mark.parametrize(("typed", "meaning"), [
    ("có", YES), ("Có ạ", YES), ("co roi", YES), ("đúng", YES), ("chưa", NO), ("ko co", NO),
    ("Chưa có", NO), ("không áp dụng", NOT_MINE), ("ko ap dung", NOT_MINE),
    ("quay lại", BACK), ("dừng", STOP), ("dung", STOP), ("tiếp tục kiểm tra", RESUME),
    ("có mất phí không", None), ("lệ phí bao nhiêu", None), ("dừng xe ở đâu", None),
])
def test_typed_answers_are_read_with_or_without_diacritics(typed: str,
                                                          meaning: str | None) -> None:
    assert walk_answer(typed) == meaning


def test_a_paper_behind_a_condition_is_asked_only_after_a_yes(
        knowledge: KnowledgeSnapshot) -> None:
    khai_tu = knowledge.procedures["khai-tu"]
    assert next_step(khai_tu, {"d0": YES, "d1": YES}) == "c2"
    assert next_step(khai_tu, {"d0": YES, "d1": YES, "c2": NO}) == "c3"
    assert next_step(khai_tu, {"d0": YES, "d1": YES, "c2": YES}) == "d2"
    assert next_step(khai_tu, {"d0": YES, "d1": YES, "c2": NO, "c3": NO, "d4": YES}) is None


def _national(documents: list[dict[str, Any]], unverified: dict[str, str] | None = None
              ) -> Procedure:
    return Procedure.model_validate({
        "tier": "national", "id": "qg-9-000001", "code": "9.000001",
        "name": "Thủ tục mẫu toàn quốc", "category": "Khác", "level": "Cấp xã",
        "documents": documents, "online": {"mode": "none"},
        "sources": ["https://dichvucong.gov.vn/p/9.000001"], "verified": dt.date(2026, 7, 1),
        "unverified": unverified or {}})


def test_a_national_group_is_a_condition_only_when_it_says_a_case() -> None:
    record = _national([
        {"name": "Tờ khai", "condition": "Giấy tờ phải nộp"},
        {"name": "Giấy ủy quyền", "condition": "Trường hợp ủy quyền thực hiện thủ tục"}])
    assert next_step(record, {}) == "d0"
    assert next_step(record, {"d0": YES}) == "c1"


def test_papers_only_as_text_are_not_walked() -> None:
    record = _national([{"name": "Hồ sơ gồm: tờ khai, giấy tờ tùy thân ..."}],
                       {"documents": "Bản ghi quốc gia chỉ có thành phần hồ sơ dạng văn bản."})
    assert text_only(record)
    assert not text_only(_national([{"name": "Tờ khai"}]))


async def _run(services: Services, text: str, slots: dict[str, Any],
               entities: dict[str, str] | None = None,
               procedure: str | None = None) -> ActionResult:
    parse = make_parse(text, Intent.CHECK_PAPERS, entities=entities)
    ctx = make_context(services, text, Intent.CHECK_PAPERS, procedure=procedure, slots=slots,
                       parse=parse)
    return await CheckPapers().run(ctx)


async def test_a_walk_starts_answers_goes_back_and_ends_with_the_summary(
        services: Services) -> None:
    started = await _run(services, "kiểm tra giấy tờ", {}, {"procedure": "ket-hon"})
    assert "Giấy 1/4" in started.replies[0].text
    walk = started.slots["precheck"]
    answered = await _run(services, "có", {"precheck": walk})
    assert "Giấy 2/4" in answered.replies[0].text
    back = await _run(services, "quay lại", {"precheck": answered.slots["precheck"]})
    assert "Giấy 1/4" in back.replies[0].text
    slots = {"precheck": back.slots["precheck"]}
    for said in ("có", "chưa", "không", "không"):
        result = await _run(services, said, slots)
        slots = {"precheck": result.slots["precheck"]}
    summary = result.replies[0].text
    assert "✅ Đã có (1)" in summary and "❌ Còn thiếu (1)" in summary
    assert texts.CHECK_SUBMIT.split(":")[0] in summary
    assert result.slots["precheck"] is None


async def test_without_a_procedure_it_asks_which(services: Services) -> None:
    result = await _run(services, "kiểm tra giấy tờ", {})
    assert result.slots["awaiting"] == "procedure"
    assert result.slots["pending_intent"] == Intent.CHECK_PAPERS


async def test_a_stopped_walk_resumes_where_it_stopped(services: Services) -> None:
    started = await _run(services, "kiểm tra giấy tờ", {}, {"procedure": "khai-tu"})
    first = await _run(services, "có", {"precheck": started.slots["precheck"]})
    stopped = await _run(services, "dừng", {"precheck": first.slots["precheck"]})
    assert stopped.slots["precheck"]["stopped"] is True
    assert [b.title for b in stopped.replies[0].buttons] == [texts.CHECK_RESUME]
    resumed = await _run(services, "tiếp tục kiểm tra", {"precheck": stopped.slots["precheck"]})
    assert "Giấy 2/5" in resumed.replies[0].text
