"""Answers about one aspect of a procedure: steps, papers, fee, time, place, online.

Every answer is built only from the knowledge base, names its source and date, warns when
the fact it uses is flagged as unconfirmed, and ends with buttons for the other aspects.
"""

from __future__ import annotations

from collections.abc import Callable

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Link, Reply, payload
from actions.feedback import rateable
from actions.offices import citizen_unit, office_name, office_note, place_question
from knowledge.office_choice import choose_offices
from knowledge.places import Unit, city_places
from knowledge.schema import Procedure, UnverifiedField
from knowledge.snapshot import KnowledgeSnapshot
from nlu.intents import Intent

# Which flagged facts each aspect relies on.
ASPECT_FACTS: dict[str, tuple[UnverifiedField, ...]] = {
    Intent.PROCEDURE_OVERVIEW: (UnverifiedField.STEPS, UnverifiedField.AGENCY,
                                UnverifiedField.CODE),
    Intent.PROCEDURE_DOCUMENTS: (UnverifiedField.DOCUMENTS,),
    Intent.PROCEDURE_FEE: (UnverifiedField.FEES,),
    Intent.PROCEDURE_DURATION: (UnverifiedField.PROCESSING_TIME,),
    Intent.PROCEDURE_LOCATION: (UnverifiedField.AGENCY,),
    Intent.PROCEDURE_ONLINE: (UnverifiedField.ONLINE,),
}


MAX_ITEMS = 10  # steps or papers shown in one answer (one phone screen or two)
MAX_ITEM_CHARS = 280  # a national record's step can be a page long


def _numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ITEM_CHARS else text[:MAX_ITEM_CHARS - 1].rstrip() + "…"


def _listed(items: list[str], more: str) -> str:
    """Numbered items, at most ``MAX_ITEMS``, each clipped, with how many were left out."""
    shown = _numbered([_clip(item) for item in items[:MAX_ITEMS]])
    if len(items) > MAX_ITEMS:
        shown += "\n" + more.format(count=len(items) - MAX_ITEMS)
    return shown


def silent(what: str, procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """"The national record does not say …", and where to ask."""
    return texts.RECORD_SILENT.format(what=texts.SILENT_WHAT[what],
                                      where=where_to_ask(procedure, kb), hotline=kb.city.hotline)


def overview(procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """Numbered steps with who handles it and how long it takes."""
    lines = [f"Thủ tục {procedure.name}",
             f"Cơ quan giải quyết: {procedure.agency}" if procedure.agency
             else silent("agency", procedure, kb)]
    if procedure.steps:
        lines.append(f"Các bước:\n{_listed(procedure.steps, texts.MORE_STEPS)}")
    else:
        lines.append(silent("steps", procedure, kb))
    if procedure.processing_time is not None:
        lines.append(f"Thời gian: {procedure.processing_time.text}")
    return "\n".join(lines)


def documents(procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """A checklist of papers with copies and conditions."""
    if not procedure.documents:
        return silent("documents", procedure, kb)
    lines = []
    for document in procedure.documents:
        line = document.name
        if document.copies:
            line += f" ({document.copies})"
        if document.condition and not procedure.is_national:
            line += f" — {document.condition}"
        if document.note:
            line += f". {document.note}"
        lines.append(line)
    return (f"Giấy tờ cần chuẩn bị cho thủ tục {procedure.name}:\n"
            f"{_listed(lines, texts.MORE_DOCUMENTS)}")


def fees(procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """Itemised fees with their legal source; an unknown amount is said to be unknown."""
    if not procedure.fees:
        return silent("fees", procedure, kb)
    lines = []
    for fee in procedure.fees:
        amount = texts.vnd(fee.amount_vnd) if fee.amount_vnd is not None else (
            "chưa có mức chính thức cho địa phương")
        note = _clip(fee.note or "")
        if fee.amount_vnd and note.startswith(texts.vnd(fee.amount_vnd).split()[0]):
            line = f"{fee.name}: {note}"  # the note already states the amount with its unit
        elif fee.amount_vnd is None and note and procedure.is_national:
            line = f"{fee.name}: {note}"  # the record's own words, the amount unstated
        else:
            line = f"{fee.name}: {amount}" + (f". {note}" if note else "")
        if fee.legal_source:
            line += f" (căn cứ: {fee.legal_source})"
        lines.append(line)
    return f"Lệ phí thủ tục {procedure.name}:\n{_numbered(lines)}"


def duration(procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """The processing time."""
    time = procedure.processing_time
    if time is None:
        return silent("processing_time", procedure, kb)
    text = f"Thời gian giải quyết thủ tục {procedure.name}: {time.text}"
    if (time.working_days is not None and time.working_days >= 1
            and texts.days(time.working_days) not in time.text):
        text += f" (khoảng {texts.days(time.working_days)} ngày làm việc)"
    return text


def location(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None = None) -> str:
    """Who receives the dossier, and the citizen's offices (by their unit, when known) with
    what is known of them."""
    lines = [f"Nơi nộp hồ sơ thủ tục {procedure.name}:"]
    if procedure.is_national:
        lines += [texts.LEVEL_PLACES[level] for level in texts.LEVEL_PLACES
                  if level in procedure.level]
    lines.append(f"Cơ quan giải quyết: {procedure.agency}" if procedure.is_national
                 and procedure.agency else procedure.agency)
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


def online(procedure: Procedure, kb: KnowledgeSnapshot) -> str:
    """Whether and how it can be done online."""
    text = f"Thủ tục {procedure.name}: {texts.ONLINE_MODES[procedure.online.mode]}"
    if procedure.online.note:
        text += f"\n{procedure.online.note}"
    if procedure.online.link:
        text += f"\nĐường link: {procedure.online.link}"
    return text


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


RENDERERS: dict[str, Callable[[Procedure, KnowledgeSnapshot], str]] = {
    Intent.PROCEDURE_OVERVIEW: overview,
    Intent.PROCEDURE_DOCUMENTS: documents,
    Intent.PROCEDURE_FEE: fees,
    Intent.PROCEDURE_DURATION: duration,
    Intent.PROCEDURE_LOCATION: location,
    Intent.PROCEDURE_ONLINE: online,
}


def where_to_ask(procedure: Procedure, kb: KnowledgeSnapshot, unit: Unit | None = None) -> str:
    """The office to check with: the citizen's own (chosen by their unit), never another
    unit's."""
    chosen = choose_offices(kb, procedure, unit, city_places()).offices
    return office_name(chosen[0]) if chosen else "cơ quan tiếp nhận hồ sơ"


def unverified_warnings(procedure: Procedure, aspect: str, kb: KnowledgeSnapshot,
                        unit: Unit | None = None) -> list[str]:
    """A warning for every flagged fact this aspect uses, pointing to where to check."""
    where = where_to_ask(procedure, kb, unit)
    notes = [procedure.unverified[f] for f in ASPECT_FACTS[aspect] if f in procedure.unverified]
    if aspect == Intent.PROCEDURE_LOCATION:
        chosen = choose_offices(kb, procedure, unit, city_places()).offices
        notes += [note for entry in chosen
                  if (note := office_note(entry)) and not entry.office.address]
        notes = notes[:2]
    return [
        texts.UNVERIFIED.format(note=note.rstrip(".") + ".", where=where,
                                hotline=kb.city.hotline)
        for note in notes
    ]


# The other aspects, likeliest next question first (an answer shows the first few).
FOLLOW_UP_ORDER = (Intent.PROCEDURE_OVERVIEW, Intent.PROCEDURE_DOCUMENTS, Intent.PROCEDURE_FEE,
                   Intent.PROCEDURE_LOCATION, Intent.PROCEDURE_ONLINE,
                   Intent.PROCEDURE_DURATION)


def aspect_buttons(procedure_id: str, current: str) -> tuple[Button, ...]:
    """Buttons for the other aspects of the same procedure, likeliest first."""
    return tuple(
        Button(texts.ASPECT_TITLES[aspect], payload(aspect, procedure=procedure_id))
        for aspect in FOLLOW_UP_ORDER
        if aspect != current
    )


class ProcedureAspect:
    """Answers one aspect of the procedure under discussion."""

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
        slots: dict[str, str | None] = {"procedure": procedure.id, "awaiting": None,
                                        "pending_intent": None}
        unit = citizen_unit(ctx)[0]
        buttons = aspect_buttons(procedure.id, self.aspect)
        question: str | None = None
        if self.aspect == Intent.PROCEDURE_LOCATION:
            body = location(procedure, kb, unit)
            asked = place_question(ctx, procedure)
            if asked is not None:  # the general answer, and which unit decides
                question, buttons = asked
                slots.update(awaiting="place", pending_intent=self.aspect)
            elif unit is not None:
                slots["place"] = unit.name
        else:
            body = RENDERERS[self.aspect](procedure, kb)
        parts = [body, *unverified_warnings(procedure, self.aspect, kb, unit)]
        parts.append(source_line(procedure, kb))
        if question is not None:
            parts.append(question)
        links: tuple[Link, ...] = ()
        if self.aspect == Intent.PROCEDURE_ONLINE and procedure.online.link:
            links = (Link("Nộp hồ sơ trực tuyến", str(procedure.online.link)),)
        reply = Reply("\n\n".join(parts), buttons, links)
        return ActionResult((reply if question else rateable(reply),), slots)
