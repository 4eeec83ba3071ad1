"""The part of a procedure that fits the citizen's conditions (``actions.conditions``).

Two things change with what the citizen said of their case:

* the procedure itself, among a family of variants that differ by age: an identity card for
  a child under 6 (the electronic "liên thông" for young children), under 14 (its own
  national procedure) or from 14 (the curated one). The age bounds are read from the
  procedures' names ("dưới 6 tuổi", "từ đủ 14 tuổi"), so the family lists only which
  procedures are alternatives;
* the papers, fees and steps: an item that names the cases it applies to ("Cấp lần đầu và
  cấp đổi", "cấp lại do mất/hỏng thẻ", "cho người dưới 14 tuổi", "khi nhờ người khác làm
  thay") is left out when the citizen's case is another one. An item that names none stays.

The answer says in one line which conditions it used (``Fitted.line``), and only when they
changed something: an age said for one procedure is not announced in another's answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from actions import texts
from actions.conditions import SELF, Conditions, Situation
from knowledge.schema import Procedure
from knowledge.snapshot import KnowledgeSnapshot
from nlu.normalize import fold


@dataclass(frozen=True, slots=True)
class Family:
    """Procedures that are one another's alternatives by age, and the words of what they
    give: a family is chosen among when the message or the procedure's field says them
    ("liên thông" also registers the birth, which is no identity card), or when a
    follow-up's age is outside the procedure under discussion's (the family brought the
    conversation there)."""

    topic: str  # folded
    members: tuple[str, ...]


FAMILIES = (
    Family("can cuoc", ("lien-thong-tre-em", "qg-1-014062", "can-cuoc")),
)

_UNDER = re.compile(r"\bduoi (\d{1,2}) tuoi\b")
_FROM = re.compile(r"\b(?:tu du|tu|du) (\d{1,2}) tuoi\b")
_RANGE = re.compile(r"\btu (?:du )?(\d{1,2}) tuoi (?:den|toi) duoi (\d{1,2}) tuoi\b")

# The cases an item names, by folded words: a first card, a renewal, a re-issue.
_CASES = {
    "first": re.compile(r"\blan dau\b"),
    "renew": re.compile(r"(?<!thay )\b(?:cap doi|doi|het han)\b"),
    "reissue": re.compile(r"\b(?:cap lai|bi mat|lam mat|bao mat|mat hong|bi hong|hu hong)\b"),
}
_CASE_OF = {Situation.LOST: "reissue", Situation.DAMAGED: "reissue",
            Situation.EXPIRED: "renew"}
# An item only for someone filing on another adult's behalf.
_PROXY = re.compile(r"\b(?:nho nguoi khac|uy quyen|lam thay|nguoi dai dien)\b")
_CASE_PREFIX_CHARS = 60  # "Cấp lại do mất/hỏng thẻ: …" names the case of one sentence


# The fields narrowed to the citizen's case (an aspect's answer shows some of them).
ITEM_FIELDS = frozenset({"documents", "fees", "steps", "online"})


@dataclass(frozen=True, slots=True)
class Fitted:
    """The procedure narrowed to the citizen's case, and the line saying which conditions
    were used ("" when they changed nothing)."""

    procedure: Procedure
    line: str = ""


def age_range(text: str) -> tuple[int, int] | None:
    """The ages (in months, upper bound excluded) a text says it is for, if it says."""
    words = fold(text)
    both = _RANGE.search(words)
    if both is not None:
        return int(both.group(1)) * 12, int(both.group(2)) * 12
    under, above = _UNDER.search(words), _FROM.search(words)
    if under is None and above is None:
        return None
    if under is not None and above is not None and int(under.group(1)) <= int(above.group(1)):
        return None  # "TK01 (từ đủ 14 tuổi) hoặc TK01a (dưới 14 tuổi)": for every age
    return (int(above.group(1)) * 12 if above else 0,
            int(under.group(1)) * 12 if under else 10_000)


def for_the_age(name: str, conditions: Conditions) -> bool:
    """Whether a procedure of this name can be meant for the citizen's age: its name gives
    no ages, or the citizen's is among them, or the paper is asked for again (lost, damaged,
    expired: "cấp lại" has no age bound although the first card has)."""
    age = conditions.age_months
    bounds = age_range(name)
    return (age is None or bounds is None or conditions.situation is not None
            or bounds[0] <= age < bounds[1])


def fit(procedure: Procedure, conditions: Conditions, kb: KnowledgeSnapshot,
        text: str = "", shown: frozenset[str] = ITEM_FIELDS, follow_up: bool = False) -> Fitted:
    """The variant and the items of ``procedure`` that fit ``conditions`` (``text``: the
    message, which may name the family's topic; ``shown``: the fields of ``ITEM_FIELDS``
    the answer shows, whose narrowing the line announces; ``follow_up``: the message names
    no procedure)."""
    if not conditions:
        return Fitted(procedure)
    used: list[str] = []
    variant = _variant(procedure, conditions, kb, text, follow_up)
    chosen = variant is not None  # the age chose the procedure
    if variant is None:
        variant = procedure
    else:
        used.append("age")
    narrowed, by = _items(variant, conditions)
    used += [reason for field, reasons in by.items() if field in shown
             for reason in reasons if reason not in used]
    if not used:
        return Fitted(procedure)
    who = texts.conditions_said(
        age_months=conditions.age_months if "age" in used else None,
        who=conditions.who if ("who" in used or "age" in used) else None,
        situation=str(conditions.situation) if "situation" in used else None)
    if chosen:
        return Fitted(narrowed, texts.CONDITION_VARIANT.format(who=who, name=variant.name))
    return Fitted(narrowed, texts.CONDITION_ITEMS.format(who=who))


def _variant(procedure: Procedure, conditions: Conditions, kb: KnowledgeSnapshot,
             text: str, follow_up: bool) -> Procedure | None:
    """The family member whose age range holds the citizen's, narrowest first (None when
    the age chooses none); a lost, damaged or expired card is no first card: it stays with
    the procedure asked about."""
    age = conditions.age_months
    if age is None or conditions.situation is not None:
        return None
    family = next((f for f in FAMILIES if procedure.id in f.members), None)
    own = age_range(procedure.name)
    if family is None or not (family.topic in fold(text)
                              or family.topic in fold(procedure.category)
                              or (follow_up and own is not None
                                  and not own[0] <= age < own[1])):
        return None
    fitting = []
    for member_id in family.members:
        member = kb.procedures.get(member_id)
        bounds = age_range(member.name) if member is not None else None
        if member is not None and bounds is not None and bounds[0] <= age < bounds[1]:
            fitting.append((bounds[1] - bounds[0], member))
    return min(fitting, key=lambda found: found[0])[1] if fitting else None


def _items(procedure: Procedure,
           conditions: Conditions) -> tuple[Procedure, dict[str, list[str]]]:
    """The procedure with only the documents, fees, steps and online sentences that fit,
    and which conditions left something out of which field."""
    used: dict[str, list[str]] = {}

    def fitting(field: str) -> Callable[..., bool]:
        def fits(text: str, condition: str = "") -> bool:
            why = _excluded_by(text, condition, conditions)
            if why is not None and why not in used.setdefault(field, []):
                used[field].append(why)
            return why is None
        return fits

    documents = [d for d in procedure.documents
                 if fitting("documents")(d.name, d.condition or "")]
    fees = [f for f in procedure.fees if fitting("fees")(f.name)] or procedure.fees
    steps = [kept for step in procedure.steps
             if (kept := _sentences(step, fitting("steps")))] or procedure.steps
    online = procedure.online
    if online.note:
        note = _sentences(online.note, fitting("online"))
        online = online.model_copy(update={"note": note or None})
    if not documents and procedure.documents:  # never an empty checklist
        documents = procedure.documents
        used.pop("documents", None)
    if fees is procedure.fees:
        used.pop("fees", None)
    if steps is procedure.steps:
        used.pop("steps", None)
    if not used:
        return procedure, {}
    return procedure.model_copy(update={"documents": documents, "fees": fees,
                                        "steps": steps, "online": online}), used


def _sentences(text: str, fits: Callable[[str], bool]) -> str:
    """The sentences of a step or note that fit: one whose start names a case ("Cấp lại
    do mất/hỏng thẻ: …") is left out for another case."""
    kept = []
    for sentence in re.split(r"(?<=\.)\s+", text):
        head, colon, _ = sentence.partition(":")
        if not colon or len(head) > _CASE_PREFIX_CHARS or fits(head):
            kept.append(sentence)
    return " ".join(kept)


def _excluded_by(text: str, condition: str, conditions: Conditions) -> str | None:
    """Which condition leaves an item out ("age", "situation", "who"), or None: it fits."""
    words = fold(f"{text} {condition}")
    age = conditions.age_months
    if age is not None:
        bounds = age_range(words)
        if bounds is not None and not bounds[0] <= age < bounds[1]:
            return "age"
    if conditions.situation is not None:
        named = {case for case, pattern in _CASES.items() if pattern.search(words)}
        if named and _CASE_OF[conditions.situation] not in named:
            return "situation"
    if conditions.who == SELF and condition and _PROXY.search(fold(condition)):
        return "who"
    return None
