"""Checking one's papers before going: a walk through a procedure's documents, one at a time.

The citizen answers each paper with Có / Chưa có / Không áp dụng (buttons or typed words);
a paper that depends on a condition ("nếu ủy quyền") is preceded by the condition as a
question, and a "no" skips it. "Quay lại" takes back the last answer, "dừng" stops, and
"tiếp tục kiểm tra" resumes, also days later: the walk lives in the ``precheck`` slot
(``{"procedure", "answers", "trail", "stopped"}``), which outlives the dialogue's idle reset
(``bot.core.state.PRECHECK_KEPT``). The end says what is ready, what is missing and where to
get it, the fee and time, where to submit and the online link, each fact as the knowledge
base states it (an unconfirmed one said so). A national record whose papers are only text is
shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Link, Reply, payload
from actions.offices import citizen_unit
from actions.procedures import (
    SHORT_ITEM_CHARS,
    SHORT_TEXT_CHARS,
    _clip,
    fee_amount,
    in_sentence,
    notes,
    silent,
    source_line,
    warning,
    where_to_check,
)
from knowledge.places import Unit
from knowledge.schema import Document, Procedure, UnverifiedField
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import EntityType, Intent
from nlu.normalize import fold

PRECHECK_DAYS = 7  # an unfinished walk is kept this long (bot.core.state.PRECHECK_KEPT)
ANSWER_ENTITY = "answer"  # a button's answer: one of the values below
YES, NO, NOT_MINE, BACK, STOP, RESUME, AGAIN = "yes", "no", "na", "back", "stop", "resume", "again"
STEP_ANSWERS = frozenset({YES, NO, NOT_MINE})
TEXT_ONLY_CHARS = 1500  # a record's papers shown as text
# Typed answers, folded (diacritics, case and abbreviations do not matter).
_TYPED: dict[str, frozenset[str]] = {
    YES: frozenset({"co", "co roi", "roi", "da co", "da co roi", "co a", "co roi a", "du",
                    "co giay nay", "yes", "ok", "co nhe"}),
    NO: frozenset({"chua", "chua co", "chua a", "chua co a", "khong", "khong co", "khong a",
                   "thieu", "con thieu", "chua co giay nay", "no"}),
    NOT_MINE: frozenset({"khong ap dung", "khong can", "khong lien quan", "khong phai",
                         "bo qua"}),
    BACK: frozenset({"quay lai", "lui lai", "quay lai cau truoc", "sua lai", "back"}),
    STOP: frozenset({"dung", "dung lai", "tam dung", "thoi", "dung kiem tra", "stop"}),
    RESUME: frozenset({"tiep tuc kiem tra", "tiep tuc kiem tra giay to", "tiep tuc"}),
}
# Conditions that need no question: the paper itself is "if you have one".
_NO_QUESTION = frozenset({"neu co", "tuy truong hop", "khi phap luat yeu cau"})
_CASE_WORDS = ("truong hop", "doi voi", "neu", "khi")  # how a national group says a case
_CASE_PREFIX = re.compile(r"^\s*trường hợp\s+", re.IGNORECASE)


def walk_answer(text: str) -> str | None:
    """What a short typed message means inside a walk ("có", "chưa", "ko co", "quay lại",
    "dừng", "tiếp tục kiểm tra"), or None when it is something else."""
    key = fold(text).strip()
    if key == "dung" and "đúng" in text.lower():
        return YES  # "đúng" (right), not "dừng" (stop)
    return next((answer for answer, said in _TYPED.items() if key in said), None)


def _condition(procedure: Procedure, document: Document) -> str | None:
    """The condition a paper depends on, when it is worth asking. A national record's group
    is a condition only when it says a case ("Trường hợp ủy quyền …"), not a heading
    ("Giấy tờ phải nộp")."""
    condition = (document.condition or "").strip()
    folded = fold(condition)
    if not condition or folded in _NO_QUESTION:
        return None
    if procedure.is_national and not folded.startswith(_CASE_WORDS):
        return None
    return condition


def next_step(procedure: Procedure, answers: Mapping[str, str]) -> str | None:
    """The key of the next question ("c<i>": the condition first met at paper i, "d<i>": paper
    i), or None when every paper is answered or skipped."""
    first: dict[str, int] = {}
    for i, document in enumerate(procedure.documents):
        condition = _condition(procedure, document)
        if condition is not None:
            key = f"c{first.setdefault(condition, i)}"
            if key not in answers:
                return key
            if answers[key] != YES:
                continue
        if f"d{i}" not in answers:
            return f"d{i}"
    return None


def text_only(procedure: Procedure) -> bool:
    """A national record whose papers are one unparsed text."""
    return (procedure.is_national and UnverifiedField.DOCUMENTS in procedure.unverified
            and len(procedure.documents) == 1)


def _button(title: str, answer: str) -> Button:
    return Button(title, payload(Intent.CHECK_PAPERS, **{ANSWER_ENTITY: answer}))


PAPER_BUTTONS = (_button(texts.CHECK_HAVE, YES), _button(texts.CHECK_MISSING, NO),
                 _button(texts.CHECK_NOT_MINE, NOT_MINE), _button(texts.CHECK_BACK, BACK),
                 _button(texts.CHECK_STOP, STOP))
CONDITION_BUTTONS = (_button(texts.CHECK_YES, YES), _button(texts.CHECK_NO, NO),
                     _button(texts.CHECK_BACK, BACK), _button(texts.CHECK_STOP, STOP))


def condition_question(condition: str) -> str:
    """A condition asked in the citizen's words where the bot knows them."""
    lowered = condition.lower()
    asked = next((q for word, q in texts.CHECK_CONDITION_QUESTIONS.items() if word in lowered),
                 None)
    return asked or texts.CHECK_CONDITION


def _paper_line(document: Document, index: int, count: int) -> dict[str, Any]:
    return {"number": index + 1, "count": count, "name": _clip(document.name, SHORT_TEXT_CHARS),
            "copies": f" ({document.copies})" if document.copies else ""}


def question(procedure: Procedure, step: str) -> Reply:
    """The reply asking step ``step``: a paper, or the case a paper is needed in (naming the
    paper first, and how many more depend on the same case)."""
    index = int(step[1:])
    document = procedure.documents[index]
    count = len(procedure.documents)
    if step.startswith("c"):
        condition = _condition(procedure, document) or ""
        more = sum(1 for d in procedure.documents[index + 1:]
                   if _condition(procedure, d) == condition)
        shown = _clip(_CASE_PREFIX.sub("", condition), SHORT_ITEM_CHARS)  # no "hợp: Trường hợp"
        paper = _paper_line(document, index, count)
        head = (texts.CHECK_CONDITION_PAPERS.format(more=more, condition=shown, **paper) if more
                else texts.CHECK_CONDITION_PAPER.format(condition=shown, **paper))
        return Reply(head + "\n" + condition_question(condition), CONDITION_BUTTONS)
    text = texts.CHECK_PAPER.format(**_paper_line(document, index, count))
    if document.note:
        text += "\n" + texts.CHECK_PAPER_NOTE.format(note=_clip(document.note,
                                                                 SHORT_ITEM_CHARS))
    return Reply(text, PAPER_BUTTONS)


def _tail(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None) -> list[str]:
    """The fee, the time, where to submit and the online link, as the knowledge base says."""
    city = texts.FOR_CITY.format(city=in_sentence(kb.city.name))
    if procedure.fees:
        fees = "; ".join(f"{fee.name}: {fee_amount(fee, procedure, city)}"
                         for fee in procedure.fees)
        lines = [texts.CHECK_FEE.format(fees=fees)]
    else:
        lines = [silent("fees", procedure, kb)]
    time = procedure.processing_time
    lines.append(texts.CHECK_TIME.format(time=_clip(time.text, SHORT_TEXT_CHARS))
                 if time is not None else silent("processing_time", procedure, kb))
    lines.append(texts.CHECK_SUBMIT.format(office=where_to_check(procedure, kb, unit)))
    if procedure.online.mode != "none" and procedure.online.link:
        lines.append(texts.CHECK_ONLINE.format(link=procedure.online.link))
    return lines


def _closing(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None) -> list[str]:
    """The unconfirmed notes of the papers, fee, time and place, and the source."""
    said = list(dict.fromkeys(
        note for aspect in (Intent.PROCEDURE_DOCUMENTS, Intent.PROCEDURE_FEE,
                            Intent.PROCEDURE_DURATION)
        for note in notes(procedure, aspect, kb, full=False, unit=unit)))
    return [warning(procedure, said, kb, unit), source_line(procedure, kb)]


def _end_buttons(procedure: Procedure) -> tuple[Button, ...]:
    buttons = [Button(texts.ASPECT_TITLES[Intent.PROCEDURE_LOCATION],
                      payload(Intent.PROCEDURE_LOCATION, procedure=procedure.id))]
    if procedure.online.mode != "none":
        buttons.append(Button(texts.ASPECT_TITLES[Intent.PROCEDURE_ONLINE],
                              payload(Intent.PROCEDURE_ONLINE, procedure=procedure.id)))
    buttons.append(Button(texts.CHECK_AGAIN, payload(Intent.CHECK_PAPERS,
                                                     procedure=procedure.id,
                                                     **{ANSWER_ENTITY: AGAIN})))
    return tuple(buttons)


def _links(procedure: Procedure) -> tuple[Link, ...]:
    if procedure.online.mode != "none" and procedure.online.link:
        return (Link("Nộp hồ sơ trực tuyến", str(procedure.online.link)),)
    return ()


def summary(procedure: Procedure, answers: Mapping[str, str], kb: KnowledgeSnapshot,
            unit: Unit | None) -> Reply:
    """What is ready, what is missing and where to get it, and how to submit."""
    ready: list[str] = []
    missing: list[str] = []
    skipped = 0
    for i, document in enumerate(procedure.documents):
        said = answers.get(f"d{i}")
        name = _clip(document.name, SHORT_ITEM_CHARS)
        if said == YES:
            ready.append(name)
        elif said == NO:
            note = f" ({_clip(document.note, SHORT_ITEM_CHARS)})" if document.note else ""
            missing.append(name + note)
        else:
            skipped += 1
    office = where_to_check(procedure, kb, unit)
    parts = [texts.CHECK_RESULT.format(name=procedure.name)]
    if ready:
        parts.append(texts.CHECK_READY.format(count=len(ready)) + "\n"
                     + "\n".join(f"{i}. {line}" for i, line in enumerate(ready, start=1)))
    if missing:
        parts.append(texts.CHECK_MISSING_LIST.format(count=len(missing)) + "\n"
                     + "\n".join(f"{i}. {line}" for i, line in enumerate(missing, start=1))
                     + "\n" + texts.CHECK_GET_AT.format(office=office, hotline=kb.city.hotline))
    else:
        parts.append(texts.CHECK_ALL_READY)
    if skipped:
        parts.append(texts.CHECK_NOT_NEEDED.format(count=skipped))
    parts.append("\n".join(_tail(procedure, kb, unit)))
    parts += _closing(procedure, kb, unit)
    return Reply("\n\n".join(p for p in parts if p), _end_buttons(procedure),
                 _links(procedure))


def without_walk(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None) -> Reply:
    """A procedure whose papers cannot be walked: its text, or that the record lists none."""
    if not procedure.documents:
        head = (silent("documents", procedure, kb) if procedure.is_national
                else texts.CHECK_NO_PAPERS.format(name=procedure.name))
    else:
        head = (texts.CHECK_TEXT_ONLY.format(name=procedure.name) + "\n"
                + _clip(procedure.documents[0].name, TEXT_ONLY_CHARS))
    parts = [head, "\n".join(_tail(procedure, kb, unit)), *_closing(procedure, kb, unit)]
    return Reply("\n\n".join(p for p in parts if p), _end_buttons(procedure)[:-1],
                 _links(procedure))


def _walk(slots: Mapping[str, Any]) -> dict[str, Any] | None:
    walk = slots.get("precheck")
    if not isinstance(walk, dict) or not isinstance(walk.get("procedure"), str):
        return None
    answers = walk.get("answers")
    trail = walk.get("trail")
    return {"procedure": walk["procedure"],
            "answers": dict(answers) if isinstance(answers, dict) else {},
            "trail": [str(t) for t in trail] if isinstance(trail, list) else [],
            "stopped": bool(walk.get("stopped"))}


def _new_walk(procedure_id: str) -> dict[str, Any]:
    return {"procedure": procedure_id, "answers": {}, "trail": [], "stopped": False}


class CheckPapers:
    """Walks the citizen through a procedure's papers (see the module docstring)."""

    name = Intent.CHECK_PAPERS.value

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Start, answer, go back, stop or resume the walk."""
        kb = ctx.services.knowledge
        walk = _walk(ctx.slots)
        answer = ctx.parse.first(ANSWER_ENTITY) or walk_answer(ctx.text)
        named = ctx.parse.first(EntityType.PROCEDURE)
        if named is not None and answer not in STEP_ANSWERS | {BACK, STOP}:
            if walk is None or walk["procedure"] != named or answer == AGAIN:
                walk = _new_walk(named)
            walk["stopped"] = False
            return self._ask(ctx, walk, start=not walk["trail"])
        if walk is None or kb.procedures.get(walk["procedure"]) is None:
            if answer == RESUME or ctx.procedure is None:
                if answer == RESUME:
                    return ActionResult((Reply(texts.CHECK_NOTHING_TO_RESUME),),
                                        {"precheck": None})
                return ActionResult((Reply(texts.CHECK_WHICH),),
                                    {"awaiting": "procedure",
                                     "pending_intent": Intent.CHECK_PAPERS.value})
            return self._ask(ctx, _new_walk(ctx.procedure), start=True)
        if answer == STOP:
            walk["stopped"] = True
            procedure = kb.procedures[walk["procedure"]]
            text = texts.CHECK_STOPPED.format(
                name=procedure.name, done=len({k for k in walk["answers"] if k[0] == "d"}),
                count=len(procedure.documents), days=PRECHECK_DAYS)
            return ActionResult((Reply(text, (_button(texts.CHECK_RESUME, RESUME),)),),
                                {"precheck": walk})
        if walk["stopped"] or answer in (None, RESUME, AGAIN):
            if answer == AGAIN:
                walk = _new_walk(walk["procedure"])
            walk["stopped"] = False
            return self._ask(ctx, walk, start=not walk["trail"])
        if answer == BACK:
            if not walk["trail"]:
                return self._ask(ctx, walk, prefix=texts.CHECK_AT_START)
            walk["answers"].pop(walk["trail"].pop(), None)
            return self._ask(ctx, walk)
        procedure = kb.procedures[walk["procedure"]]
        step = next_step(procedure, walk["answers"])
        if step is not None and answer in STEP_ANSWERS:
            walk["answers"][step] = (answer if step[0] == "d" or answer == YES else NO)
            walk["trail"].append(step)
        return self._ask(ctx, walk)

    def _ask(self, ctx: ActionContext, walk: dict[str, Any], *, start: bool = False,
             prefix: str = "") -> ActionResult:
        """The next question, or the summary when every paper is answered."""
        kb = ctx.services.knowledge
        procedure = kb.procedures.get(walk["procedure"])
        if procedure is None:
            return ActionResult((Reply(texts.ASK_PROCEDURE_NO_CANDIDATES),), {"precheck": None})
        unit = citizen_unit(ctx)[0]
        slots: dict[str, Any] = {"procedure": procedure.id, "awaiting": None,
                                 "pending_intent": None}
        if not procedure.documents or text_only(procedure):
            return ActionResult((without_walk(procedure, kb, unit),),
                                {**slots, "precheck": None})
        step = next_step(procedure, walk["answers"])
        if step is None:
            return ActionResult((summary(procedure, walk["answers"], kb, unit),),
                                {**slots, "precheck": None})
        asked = question(procedure, step)
        lead = [prefix] if prefix else []
        if start:
            lead.append(texts.CHECK_START.format(name=procedure.name,
                                                 count=len(procedure.documents)))
        text = "\n\n".join([*lead, asked.text])
        return ActionResult((Reply(text, asked.buttons),), {**slots, "precheck": walk})

