"""The citizen's own circumstances, read from what they write and kept for the conversation.

A procedure's answer depends on whom it is for and why: an identity card for a child of 6 is
another procedure than for an adult, and a lost card is re-issued with other papers than a
first one. This module only reads those conditions — the age ("bé 6 tuổi", "con 3 tháng"),
who files ("cho con", "cho bố", "tôi tự làm"; the NLU's ``relation`` entity when the engine
gives one, the patterns here otherwise) and whether the paper was lost, damaged or has expired
("bị mất", "bị hỏng", "hết hạn") — and merges them with the ones said earlier (the state's
``conditions`` slot), so a follow-up keeps them. What they change in an answer is
``actions.fitting``'s job.

Every pattern reads the folded text (``nlu.normalize.fold``): diacritics, case and
abbreviations do not matter. The words are chosen so that ordinary questions do not read as
conditions: "còn lệ phí?" folds to "con le phi" (no child), "có mất phí không" is no loss,
"bố tôi mất rồi" (died) is no lost paper, "nộp 2 tháng rồi" is no age.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nlu.normalize import fold
from nlu.types import ParseResult

RELATION_ENTITY = "relation"  # the learned NLU's entity for whom a paper is for, when present
SELF = "self"  # who files: the citizen for themselves
ADULT_AGE_MONTHS = 18 * 12


class Situation(StrEnum):
    """Why a paper is asked for again."""

    LOST = "lost"
    DAMAGED = "damaged"
    EXPIRED = "expired"


# Whom a paper is for, by the folded word (their citizen-facing names are in actions/texts.py).
CHILDREN = frozenset({"con", "be", "chau", "tre", "con trai", "con gai", "em be"})
RELATIONS = CHILDREN | {"bo", "me", "cha", "vo", "chong", "ong", "ba", "em trai", "em gai",
                        "anh trai", "chi gai", "bo me", "ong noi", "ba noi", "ong ngoai",
                        "ba ngoai"}

_RELATION_WORDS = "|".join(sorted((re.escape(w) for w in RELATIONS), key=len, reverse=True))
# "cho con", "của bố", "giúp mẹ", "hộ vợ", "làm thay ông": the paper is theirs.
_FOR_RELATION = re.compile(rf"\b(?:cho|cua|giup|ho|thay)\s+(?:(?:con|be)\s+)?({_RELATION_WORDS})"
                           r"\b(?! (?:hoi|biet|xin|gap))")
# "bố em", "mẹ tôi", "vợ mình": a relative named with the citizen's pronoun ("con" is left
# out: "còn em thì sao" folds to the same words as "con em").
_RELATIVE_OF = re.compile(rf"\b((?!con\b)(?:{_RELATION_WORDS}))\s+(?:nha\s+)?(?:toi|em|minh|tao)"
                          r"\b")
# between a child and their age: "bé nhà em mới được 3 tháng", "con em vừa đủ 14 tuổi"
_BEFORE_AGE = (r"(?:(?:nha\s+)?(?:toi|em|minh)\s+)?"
               r"(?:(?:moi|duoc|da|la|nay|ca|vua|du|sap|tron|gan|sinh|de|ra)\s+){0,3}")
# a child named right before an age: "bé 6 tuổi", "con em 3 tháng", "cháu nhà mình 10 tuổi"
_CHILD_AGED = re.compile(rf"\b(be|con|chau|tre)\s+{_BEFORE_AGE}\d{{1,2}}\s*(?:tuoi|thang|t)\b")
# "tôi tự làm", "tự nộp được không": the citizen files for themselves ("trình tự làm",
# "chứng tử làm" fold to the same "tu lam": a pronoun or the message's start says "tự";
# "hồ sơ của tôi" says whose dossier, not who files)
_SELF = re.compile(r"(?:^|\b(?:toi|minh|em|tao|co the|duoc|muon|se|phai)\s+)tu\s+"
                   r"(?:lam|nop|di)\b(?! chu)|\bban than (?:toi|minh|em)\b")
_COUPLE = re.compile(r"\bvo chong\b")  # "vợ chồng em": the couple, no relative

# "6 tuổi", "6t" after a child, "dưới 6 tuổi", "3 tháng tuổi", "bé 3 tháng", "mới sinh".
_YEARS = re.compile(r"\b(duoi|tren|du|tu du)?\s*(\d{1,3})\s*tuoi\b")
_CHILD_MONTHS = re.compile(rf"\b(?:be|con|chau|tre)\s+{_BEFORE_AGE}(\d{{1,2}})\s*thang\b"
                           r"|\b(\d{1,2})\s*thang tuoi\b")
_CHILD_YEARS_SHORT = re.compile(rf"\b(?:be|con|chau)\s+{_BEFORE_AGE}(\d{{1,2}})t\b")
_NEWBORN = re.compile(r"\b(?:moi sinh|so sinh|moi de|vua sinh|vua de)\b")

_LOST = re.compile(r"\b(?:bi|lam|danh|lo) mat\b(?! (?:tien|phi|bao|thoi gian|may|nhieu|cong|"
                   r"viec|tich|khau))|\bmat (?:the|can cuoc|ho chieu|bang|giay|so|vi|cccd|cmnd|"
                   r"chung minh)\b|\bthat lac\b|\bdanh roi\b")
_DAMAGED = re.compile(r"\b(?:bi|da|the|bang) (?:hong|hu|rach|gay|nhau|mo)\b"  # "sổ hồng" is a
                      r"|\bhong roi\b|\bhu hong\b")  # land certificate
_EXPIRED = re.compile(r"\b(?:het han|het hieu luc|sap het han)\b")


@dataclass(frozen=True, slots=True)
class Conditions:
    """What the citizen said of their case; None where they said nothing."""

    age_months: int | None = None
    who: str | None = None  # SELF, or a folded relation word of RELATIONS
    situation: Situation | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in (self.age_months, self.who, self.situation))

    @property
    def child(self) -> bool:
        """Whether the paper is for a child (by the relation, or the age)."""
        return self.who in CHILDREN or (self.age_months is not None
                                        and self.age_months < ADULT_AGE_MONTHS)

    def to_dict(self) -> dict[str, Any] | None:
        """The slot's JSON value (None when nothing is known)."""
        if not self:
            return None
        return {"age_months": self.age_months, "who": self.who,
                "situation": str(self.situation) if self.situation else None}

    @classmethod
    def from_dict(cls, data: Any) -> Conditions:
        """The conditions a slot holds (anything malformed reads as unknown)."""
        if not isinstance(data, Mapping):
            return cls()
        age = data.get("age_months")
        who = data.get("who")
        situation = data.get("situation")
        return cls(
            age if isinstance(age, int) and not isinstance(age, bool) and age >= 0 else None,
            who if who == SELF or who in RELATIONS else None,
            Situation(situation) if situation in set(Situation) else None)


def read(text: str, parse: ParseResult | None = None) -> Conditions:
    """The conditions one message states (see the module docstring)."""
    words = fold(text)
    if not words or text.startswith("/"):  # a button's payload states nothing
        return Conditions()
    return Conditions(_age(words), _who(words, parse), _situation(words))


def merged(saved: Conditions, said: Conditions) -> Conditions:
    """What holds after a message: what it says, over what was said before. A message about
    another person starts again: the earlier age and situation were that person's."""
    base = saved
    if said.who is not None and saved.who is not None and said.who != saved.who:
        base = Conditions()
    return Conditions(
        said.age_months if said.age_months is not None else base.age_months,
        said.who if said.who is not None else base.who,
        said.situation if said.situation is not None else base.situation)


def current(slots: Mapping[str, Any], text: str, parse: ParseResult | None,
            said: Conditions | None = None) -> Conditions:
    """The conditions for answering a message: the conversation's, with the message's
    (``said``, when the caller read them already)."""
    return merged(Conditions.from_dict(slots.get("conditions")),
                  said if said is not None else read(text, parse))


def _age(words: str) -> int | None:
    years = _YEARS.search(words)
    if years is not None:
        bound, number = years.group(1), int(years.group(2))
        if number > 120 or bound in ("duoi", "tren"):  # "trẻ dưới 6 tuổi": a rule, no age
            return None
        return number * 12
    months_said = _CHILD_MONTHS.search(words)
    if months_said is not None:
        number = int(months_said.group(1) or months_said.group(2))
        return number if number <= 36 else None
    short = _CHILD_YEARS_SHORT.search(words)
    if short is not None:
        return int(short.group(1)) * 12
    return 0 if _NEWBORN.search(words) else None


def _who(words: str, parse: ParseResult | None) -> str | None:
    # the patterns first: where they are sure they keep the citizen's own word ("bé", not the
    # tagger's canonical "con"); the learned entity fills in where they find nothing
    couple = _COUPLE.search(words) is not None
    for pattern in (_FOR_RELATION, _CHILD_AGED, _RELATIVE_OF):
        found = pattern.search(words)
        if found is not None and not (couple and found.group(1) in ("vo", "chong")):
            return found.group(1)
    if _SELF.search(words):
        return SELF
    if parse is not None:
        for value in parse.entity_values(RELATION_ENTITY):
            key = fold(value)
            if key in RELATIONS and not (couple and key in ("vo", "chong")):
                return key
    return None


def _situation(words: str) -> Situation | None:
    for situation, pattern in ((Situation.LOST, _LOST), (Situation.DAMAGED, _DAMAGED),
                               (Situation.EXPIRED, _EXPIRED)):
        if pattern.search(words):
            return situation
    return None
