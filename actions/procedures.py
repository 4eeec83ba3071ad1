"""Answers about one aspect of a procedure: steps, papers, fee, time, place, online.

Every answer is built only from the knowledge base, names its source and date, warns when
the fact it uses is flagged as unconfirmed, and ends with buttons for the other aspects.

The first answer is short: what was asked, about one phone screen, each unconfirmed fact
said once. The rest of that aspect (each paper's notes, legal sources, the long tail of a
list, the full unconfirmed notes) is behind a "Xem thêm" button, whose payload is the same
aspect with ``{"detail": "more"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from actions import conditions, texts
from actions.base import ActionContext, ActionResult, Button, Link, Reply, payload
from actions.feedback import MAX_BUTTONS, rateable
from actions.fitting import fit
from actions.offices import citizen_unit, office_name, office_note, place_question
from knowledge.office_choice import choose_offices
from knowledge.places import Unit, city_places
from knowledge.schema import Fee, Procedure, UnverifiedField
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import EntityType, Intent

# Which flagged facts each aspect relies on.
ASPECT_FACTS: dict[str, tuple[UnverifiedField, ...]] = {
    Intent.PROCEDURE_OVERVIEW: (UnverifiedField.STEPS,),
    Intent.PROCEDURE_DOCUMENTS: (UnverifiedField.DOCUMENTS,),
    Intent.PROCEDURE_FEE: (UnverifiedField.FEES,),
    Intent.PROCEDURE_DURATION: (UnverifiedField.PROCESSING_TIME,),
    Intent.PROCEDURE_LOCATION: (UnverifiedField.AGENCY,),
    Intent.PROCEDURE_ONLINE: (UnverifiedField.ONLINE,),
}
# What the "Xem thêm" page of an aspect adds to the facts it relies on (the steps' page also
# names the agency, the code's flag and the legal basis).
DETAIL_FACTS: dict[str, tuple[UnverifiedField, ...]] = {
    Intent.PROCEDURE_OVERVIEW: (UnverifiedField.AGENCY, UnverifiedField.CODE,
                                UnverifiedField.LEGAL_BASIS),
}

# What each aspect's answer lists, of what the citizen's conditions narrow (actions/fitting.py).
ASPECT_ITEMS: dict[str, frozenset[str]] = {
    Intent.PROCEDURE_OVERVIEW: frozenset({"steps"}),
    Intent.PROCEDURE_DOCUMENTS: frozenset({"documents"}),
    Intent.PROCEDURE_FEE: frozenset({"fees"}),
    Intent.PROCEDURE_ONLINE: frozenset({"online"}),
}

DETAIL_ENTITY = "detail"  # the payload entity asking for the rest of an aspect
DETAIL_MORE = "more"

SHORT_ITEMS = 6  # steps or papers in the first answer; the rest are behind "Xem thêm"
SHORT_ITEM_CHARS = 160  # one step or paper in the first answer (a national one can be a page)
SHORT_TEXT_CHARS = 400  # an agency, a time or an online note in the first answer
MAX_ITEM_CHARS = 500  # a line of a national record on a page behind "Xem thêm" (its page
# on the national portal, which every answer links, has the whole text)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An aspect's first answer, and the rest of it ("" when nothing more is known)."""

    short: str
    more: str = ""


def _numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))


def _clip(text: str, limit: int = MAX_ITEM_CHARS) -> str:
    """At most ``limit`` characters, cut at a word, with "…" where it was cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-—–") + "…"


def _listed(items: list[str], more: str) -> str:
    """The first ``SHORT_ITEMS`` items numbered and clipped, with how many are left."""
    shown = _numbered([_clip(item, SHORT_ITEM_CHARS) for item in items[:SHORT_ITEMS]])
    if len(items) > SHORT_ITEMS:
        shown += "\n" + more.format(count=len(items) - SHORT_ITEMS)
    return shown


def _whole(procedure: Procedure, items: list[str]) -> list[str]:
    """Items for a "Xem thêm" page: as written, a national record's clipped at a page."""
    return [_clip(item) for item in items] if procedure.is_national else items


def where_to_check(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None = None) -> str:
    """The office to check with, by its short name: the citizen's own (chosen by their
    unit), never another unit's."""
    chosen = choose_offices(kb, procedure, unit, city_places()).offices
    if not chosen:
        return texts.ANY_OFFICE
    return without_departments(office_name(chosen[0]))


def without_departments(name: str) -> str:
    """An office's name without the trailing list of its departments in brackets."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", name) or name


def in_sentence(city: str) -> str:
    """The city's name inside a sentence: "Thành phố Hải Phòng" -> "thành phố Hải Phòng"."""
    first, _, rest = city.partition(" ")
    return f"{first.lower()} {rest}" if first in ("Thành", "Tỉnh") and rest else city


def silent(what: str, procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """"The national record does not say …", and where to ask."""
    return texts.RECORD_SILENT.format(what=texts.SILENT_WHAT[what],
                                      where=where_to_check(procedure, kb),
                                      hotline=kb.city.hotline)


def overview(procedure: Procedure, kb: KnowledgeSnapshot) -> Rendered:
    """The numbered steps; the agency, every step in full, the time and the legal basis
    behind "Xem thêm"."""
    short = [f"Thủ tục {procedure.name}"]
    more = [f"Cơ quan giải quyết: {procedure.agency}" if procedure.agency
            else silent("agency", procedure, kb)]
    if procedure.steps:
        short.append(f"Các bước:\n{_listed(procedure.steps, texts.MORE_STEPS)}")
        more.append(f"Các bước:\n{_numbered(_whole(procedure, procedure.steps))}")
    else:
        short.append(silent("steps", procedure, kb))
    if procedure.processing_time is not None:
        more.append(f"Thời gian: {procedure.processing_time.text}")
    if procedure.legal_basis:
        more.append(texts.LEGAL_BASIS + "\n" + "\n".join(f"- {law}"
                                                          for law in procedure.legal_basis))
    return Rendered("\n".join(short), "\n".join(more))


def documents(procedure: Procedure, kb: KnowledgeSnapshot) -> Rendered:
    """A checklist of papers with copies and conditions; each paper's notes and the papers
    past the first few behind "Xem thêm"."""
    if not procedure.documents:
        return Rendered(silent("documents", procedure, kb))
    short: list[str] = []
    full: list[str] = []
    for document in procedure.documents:
        line = _clip(document.name, SHORT_ITEM_CHARS)
        whole = document.name
        if document.copies:
            line += f" ({document.copies})"
            whole += f" ({document.copies})"
        if document.condition and not procedure.is_national:
            line += f" — {document.condition}"
            whole += f" — {document.condition}"
        if document.note:
            whole += f". {document.note}"
        short.append(line)
        full.append(whole)
    shown = _numbered(short[:SHORT_ITEMS])
    if len(short) > SHORT_ITEMS:
        shown += "\n" + texts.MORE_DOCUMENTS.format(count=len(short) - SHORT_ITEMS)
    left_out = len(short) > SHORT_ITEMS or short != full
    return Rendered(f"Giấy tờ cần chuẩn bị cho thủ tục {procedure.name}:\n{shown}",
                    _numbered(_whole(procedure, full)) if left_out else "")


# An amount in a fee's note: "1.000.000 đ", "200.000 đ/lần", "10.000-15.000 đồng",
# "10 USD mỗi bản", "0,5% giá trị".
AMOUNT_IN_NOTE = re.compile(
    r"\d[\d.]*(?:,\d+)?(?:\s*[-–]\s*\d[\d.]*(?:,\d+)?)?\s*"
    r"(?:%\s+giá[^.,;()\d]{0,40}|(?:đồng|đ|USD)(?:\s*/\s*\w+|\s+mỗi\s+(?:trường hợp|\w+))?)"
    r"(?!\w)")  # a share only "of the value" ("giảm 50%" is no amount)


# A free fee's note that says so ("Không thu phí.", "Miễn lệ phí khi khai sinh đúng hạn …"):
# said in its own words, so the answer reads as the record does.
FREE_NOTE = re.compile(r"(?:Miễn|Không thu)\b")
FREE_NOTE_CHARS = 90


def fee_amount(fee: Fee, procedure: Procedure, city: str) -> str:
    """What a fee costs, said once: the amount; "khoảng …, chưa xác nhận" when only the note
    gives one; "chưa có mức chính thức" when nothing does (``city``: " cho …" or "")."""
    note = fee.note or ""
    if fee.amount_vnd is not None:
        amount = texts.vnd(fee.amount_vnd)
        first = note.split(". ")[0].rstrip(".")
        free = re.split(r"[.;] ", note)[0].rstrip(".")
        if fee.amount_vnd == 0 and FREE_NOTE.match(free) and len(free) <= FREE_NOTE_CHARS:
            return free  # the record's own words: "Không thu phí", "Miễn lệ phí …"
        if fee.amount_vnd and first.startswith(amount.split()[0]) and len(first) <= 60:
            return first  # the note states the amount with its unit: "200.000 đồng/hộ chiếu"
        if procedure.is_national and note:
            return f"{amount}. {_clip(note, SHORT_ITEM_CHARS)}"  # the record's own words
        return amount
    found = AMOUNT_IN_NOTE.search(note)
    if found is not None:
        return texts.FEE_UNCONFIRMED.format(amount=found.group(0).strip(), city=city)
    if procedure.is_national and note:
        return _clip(note, SHORT_ITEM_CHARS)  # the record's own words, the amount unstated
    return texts.FEE_UNKNOWN.format(city=city)


def fees(procedure: Procedure, kb: KnowledgeSnapshot) -> Rendered:
    """Each fee's amount, the legal sources once; each fee's note behind "Xem thêm". The
    city an amount is unconfirmed for is named once."""
    if not procedure.fees:
        return Rendered(silent("fees", procedure, kb))
    city = texts.FOR_CITY.format(city=in_sentence(kb.city.name))
    lines = []
    for fee in procedure.fees:
        amount = fee_amount(fee, procedure, city)
        if city and amount.endswith(city):
            city = ""
        lines.append(f"{fee.name}: {amount}")
    short = f"Lệ phí thủ tục {procedure.name}:\n{_numbered(lines)}"
    sources = list(dict.fromkeys(source.strip() for fee in procedure.fees
                                 for source in (fee.legal_source or "").split(";")
                                 if source.strip()))
    if sources:
        short += f"\n{texts.FEE_SOURCES}: {'; '.join(sources)}"
    full = []
    for fee in procedure.fees:
        line = f"{fee.name}: " + (texts.vnd(fee.amount_vnd) if fee.amount_vnd is not None
                                  else texts.FEE_UNKNOWN.format(city=""))
        if fee.note:
            line += f". {fee.note}"
        if fee.legal_source:
            line += f" ({texts.FEE_SOURCES.lower()}: {fee.legal_source})"
        full.append(line)
    noted = any(fee.note for fee in procedure.fees)
    return Rendered(short, _numbered(full) if noted else "")


def duration(procedure: Procedure, kb: KnowledgeSnapshot) -> Rendered:
    """The processing time."""
    time = procedure.processing_time
    if time is None:
        return Rendered(silent("processing_time", procedure, kb))
    days = ""
    if (time.working_days is not None and time.working_days >= 1
            and texts.days(time.working_days) not in time.text):
        days = f" (khoảng {texts.days(time.working_days)} ngày làm việc)"
    text = f"Thời gian giải quyết thủ tục {procedure.name}: "
    short = _clip(time.text, SHORT_TEXT_CHARS)
    return Rendered(text + short + days, time.text + days if short != time.text else "")


def location(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None = None) -> str:
    """Who receives the dossier, and the citizen's offices (by their unit, when known) with
    what is known of them."""
    lines = [f"Nơi nộp hồ sơ thủ tục {procedure.name}:"]
    if procedure.is_national:
        lines += [texts.LEVEL_PLACES[level] for level in texts.LEVEL_PLACES
                  if level in procedure.level]
    agency = _clip(procedure.agency, SHORT_TEXT_CHARS)
    lines.append(f"Cơ quan giải quyết: {agency}" if procedure.is_national
                 and procedure.agency else agency)
    choice = choose_offices(kb, procedure, unit, city_places())
    chosen = choice.offices
    if chosen:
        lines.append(texts.OFFICE_AT if unit is not None else texts.OFFICES_AT)
        for i, entry in enumerate(chosen, start=1):
            office = entry.office if entry.unit is None else None
            details = [
                f"địa chỉ: {office.address}" if office and office.address else texts.NO_ADDRESS,
                f"điện thoại: {office.phone}" if office and office.phone else "",
                f"giờ làm việc: {office.hours}" if office and office.hours else "",
            ]
            lines.append(f"{i}. {office_name(entry)} ({'; '.join(d for d in details if d)})")
    elif not procedure.agency:
        lines.append(silent("place", procedure, kb))
    if unit is not None and choice.needs_place:
        lines.append(texts.PLACE_USED.format(unit=unit.in_text))
    if procedure.online.mode != "none":
        lines.append("Bạn cũng có thể nộp trực tuyến (hỏi \"nộp online\" để xem cách làm).")
    return "\n".join(line for line in lines if line)


def place(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None = None) -> Rendered:
    """Where to file; the whole agency text (when clipped) behind "Xem thêm", with the
    offices' unconfirmed notes (see ``notes``)."""
    clipped = _clip(procedure.agency, SHORT_TEXT_CHARS) != procedure.agency
    return Rendered(location(procedure, kb, unit),
                    f"Cơ quan giải quyết: {procedure.agency}" if clipped else "")


def online(procedure: Procedure, kb: KnowledgeSnapshot) -> Rendered:
    """Whether and how it can be done online."""
    text = f"Thủ tục {procedure.name}: {texts.ONLINE_MODES[procedure.online.mode]}"
    note = procedure.online.note or ""
    short = _clip(note, SHORT_TEXT_CHARS)
    if note:
        text += f"\n{short}"
    if procedure.online.link:
        text += f"\nĐường link: {procedure.online.link}"
    return Rendered(text, note if short != note else "")


def source_line(procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """Where the answer comes from: the national template (said to be unchecked), an
    officer's check, or the curated entry's source and date."""
    source = next((s for s in procedure.sources if s.startswith("http")), procedure.sources[0])
    if procedure.is_national:
        return texts.NATIONAL_SOURCE.format(code=procedure.code, source=source,
                                            captured=texts.day(procedure.verified),
                                            city=kb.city.name)
    if procedure.checked_by is not None:
        return texts.CHECKED_SOURCE.format(source=source, city=kb.city.name,
                                           verified=texts.day(procedure.verified))
    return texts.SOURCE.format(source=source, verified=texts.day(procedure.verified))


RENDERERS: dict[str, Callable[[Procedure, KnowledgeSnapshot], Rendered]] = {
    Intent.PROCEDURE_OVERVIEW: overview,
    Intent.PROCEDURE_DOCUMENTS: documents,
    Intent.PROCEDURE_FEE: fees,
    Intent.PROCEDURE_DURATION: duration,
    Intent.PROCEDURE_LOCATION: place,
    Intent.PROCEDURE_ONLINE: online,
}


def notes(procedure: Procedure, aspect: str, kb: KnowledgeSnapshot, *,
          full: bool, unit: Unit | None = None) -> list[str]:
    """The unconfirmed notes an answer says, each once. The first answer about the place
    says that the offices' details are unconfirmed; the "Xem thêm" page says what each
    office's note is."""
    fields = ASPECT_FACTS[aspect] + (DETAIL_FACTS.get(aspect, ()) if full else ())
    found = [procedure.unverified[f] for f in fields if f in procedure.unverified]
    if aspect == Intent.PROCEDURE_LOCATION:
        chosen = choose_offices(kb, procedure, unit, city_places()).offices
        noted = [(without_departments(office_name(e)), note) for e in chosen
                 if (note := office_note(e))]
        if full:
            found += [f"{name}: {note}" for name, note in noted]
        elif noted:
            found.append(texts.OFFICES_UNVERIFIED)
    return list(dict.fromkeys(note.rstrip(". ") + "." for note in found))


def warning(procedure: Procedure, said: list[str], kb: KnowledgeSnapshot,
            unit: Unit | None = None) -> str:
    """One "⚠️ Lưu ý" paragraph for all the unconfirmed notes of an answer ("" for none)."""
    if not said:
        return ""
    return texts.UNVERIFIED.format(note=" ".join(said),
                                   where=where_to_check(procedure, kb, unit),
                                   hotline=kb.city.hotline)


# The other aspects, likeliest next question first (an answer shows the first few).
FOLLOW_UP_ORDER = (Intent.PROCEDURE_OVERVIEW, Intent.PROCEDURE_DOCUMENTS, Intent.PROCEDURE_FEE,
                   Intent.PROCEDURE_LOCATION, Intent.PROCEDURE_ONLINE,
                   Intent.PROCEDURE_DURATION)


@lru_cache(maxsize=1024)  # the same few buttons on most answers: built once each
def aspect_buttons(procedure_id: str, current: str) -> tuple[Button, ...]:
    """Buttons for the other aspects of the same procedure, likeliest first."""
    return tuple(
        Button(texts.ASPECT_TITLES[aspect], payload(aspect, procedure=procedure_id))
        for aspect in FOLLOW_UP_ORDER
        if aspect != current
    )


def more_button(procedure_id: str, aspect: str) -> Button:
    """"Xem thêm": the rest of this aspect of this procedure."""
    return Button(texts.MORE_BUTTON, payload(aspect, procedure=procedure_id,
                                             **{DETAIL_ENTITY: DETAIL_MORE}))


def with_check(procedure_id: str, buttons: tuple[Button, ...]) -> tuple[Button, ...]:
    """The answer's buttons with "Kiểm tra giấy tờ" (the walk through the papers) first
    after "Xem thêm", in the place of "Các bước thực hiện": a phone shows three of an answer's
    own buttons, and the steps are a question away (and usually the first answer)."""
    check = Button(texts.CHECK_BUTTON, payload(Intent.CHECK_PAPERS, procedure=procedure_id))
    steps = texts.ASPECT_TITLES[Intent.PROCEDURE_OVERVIEW]
    kept = tuple(b for b in buttons if b.title != steps)
    at = 1 if kept and kept[0].title == texts.MORE_BUTTON else 0
    return (*kept[:at], check, *kept[at:])


class ProcedureAspect:
    """Answers one aspect of the procedure under discussion: briefly, or in full when the
    citizen tapped "Xem thêm"."""

    def __init__(self, aspect: str) -> None:
        self.aspect = aspect
        self.name = aspect

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Render the aspect for ``ctx.procedure`` (the policy guarantees one is set)."""
        kb = ctx.services.knowledge
        procedure = kb.procedures.get(ctx.procedure or "")
        if procedure is None:
            return ActionResult((Reply(texts.ASK_PROCEDURE_NO_CANDIDATES),),
                                {"procedure": None, "awaiting": "procedure",
                                 "pending_intent": self.aspect})
        fitted = fit(procedure, conditions.current(ctx.slots, ctx.text, ctx.parse, ctx.said), kb,
                     ctx.text, ASPECT_ITEMS.get(self.aspect, frozenset()),
                     follow_up=ctx.parse.first(EntityType.PROCEDURE) is None)
        procedure = fitted.procedure
        slots: dict[str, str | None] = {"procedure": procedure.id, "awaiting": None,
                                        "pending_intent": None}
        unit = citizen_unit(ctx)[0]
        question: str | None = None
        asked: tuple[str, tuple[Button, ...]] | None = None
        if self.aspect == Intent.PROCEDURE_LOCATION:
            rendered = place(procedure, kb, unit)
            asked = place_question(ctx, procedure)
            if asked is not None:  # the general answer, and which unit decides
                slots.update(awaiting="place", pending_intent=self.aspect)
            elif unit is not None:
                slots["place"] = unit.name
        else:
            rendered = RENDERERS[self.aspect](procedure, kb)
        brief = notes(procedure, self.aspect, kb, full=False, unit=unit)
        every = notes(procedure, self.aspect, kb, full=True, unit=unit)
        if ctx.parse.first(DETAIL_ENTITY) == DETAIL_MORE:
            body = (texts.MORE_HEADERS[self.aspect].format(name=procedure.name) + "\n"
                    + rendered.more) if rendered.more else rendered.short
            parts = [body, warning(procedure, every, kb, unit)]
            buttons = aspect_buttons(procedure.id, self.aspect)
        else:
            parts = [rendered.short, warning(procedure, brief, kb, unit)]
            buttons = aspect_buttons(procedure.id, self.aspect)
            if rendered.more or every != brief:
                buttons = (more_button(procedure.id, self.aspect), *buttons)
        buttons = with_check(procedure.id, buttons)
        if fitted.line:  # which of the citizen's conditions chose what is said
            parts.insert(0, fitted.line)
        parts.append(source_line(procedure, kb))
        if asked is not None:  # the question last, its places first among the buttons
            question, places = asked
            parts.append(question)
            more = tuple(b for b in buttons if b.title == texts.MORE_BUTTON)
            buttons = (*places, *more)[:MAX_BUTTONS]
        links: tuple[Link, ...] = ()
        if self.aspect == Intent.PROCEDURE_ONLINE and procedure.online.link:
            links = (Link("Nộp hồ sơ trực tuyến", str(procedure.online.link)),)
        reply = Reply("\n\n".join(part for part in parts if part), buttons, links)
        return ActionResult((reply if question else rateable(reply),), slots)
