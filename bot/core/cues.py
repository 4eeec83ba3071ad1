"""Short cues a citizen means plainly but the classifier cannot read, for the policy.

Emoji carry no words ("🙏🙏🙏", "👍" are thanks); a bare aspect ("thời gian giải quyết",
"còn lệ phí?") is a follow-up about the procedure under discussion; "không có sổ đỏ thì được
không" asks whether the current procedure can do without a paper, not about the procedure that
paper belongs to. Every check reads the folded text (``nlu.normalize.fold``), so diacritics,
case and abbreviations do not matter.
"""

from __future__ import annotations

import re

from nlu.intents import Intent
from nlu.normalize import fold

# Emoji a citizen sends to thank or approve (skin tones and variation selectors are ignored).
THANKS_EMOJI = frozenset("🙏👍👌👏❤♥💯🥰😊😍🤝✅💐🌹😘☺🙂😄😁")
_EMOJI_MODIFIERS = re.compile("[\ufe0f\u200d\U0001f3fb-\U0001f3ff\\s]")

# A bare aspect, as a citizen types it after an answer (folded; "còn", "thế", "ạ" around it
# are dropped first).
_ASPECTS: dict[str, tuple[str, ...]] = {
    Intent.PROCEDURE_DURATION: ("thoi gian giai quyet", "thoi gian", "thoi han giai quyet",
                                "bao lau", "mat bao lau", "may ngay", "bao gio co ket qua"),
    Intent.PROCEDURE_FEE: ("le phi", "phi", "chi phi", "bao nhieu tien", "het bao nhieu",
                           "mat phi khong", "co mat phi khong"),
    Intent.PROCEDURE_DOCUMENTS: ("giay to", "ho so", "can giay to gi", "thanh phan ho so",
                                 "can nhung gi", "giay to gi"),
    Intent.PROCEDURE_LOCATION: ("noi nop", "nop o dau", "o dau", "noi nop ho so", "dia chi"),
    Intent.PROCEDURE_ONLINE: ("online", "truc tuyen", "nop online", "nop truc tuyen",
                              "online duoc khong", "lam online duoc khong",
                              "nop truc tuyen duoc khong", "truc tuyen duoc khong"),
    Intent.PROCEDURE_OVERVIEW: ("cac buoc", "cac buoc thuc hien", "trinh tu", "cach lam"),
}
_ASPECT_OF = {phrase: intent for intent, phrases in _ASPECTS.items() for phrase in phrases}
_FILLER = re.compile(r"^(?:con|the con|vay con|the|vay|va|con ve)\s+|\s+(?:thi sao|the nao|"
                     r"nhu the nao|ra sao|a|nhe|nha|vay|the|ad|ak|ah|oi)$")

# "không có / chưa có / thiếu <a paper> (thì) …": can the current procedure do without it.
_LACKING = re.compile(r"^(?:neu\s+)?(?:khong|chua|thieu|ko|k|kg|hong)\s+(?:co\s+)?\S")
# Words that make it a new question about doing something ("… thì làm hộ chiếu được không").
_DOING = re.compile(r"\b(?:lam|thu tuc|dang ky|xin|cap|nop)\b")


def emoji_thanks(text: str) -> bool:
    """Whether a message is only thanks or approval emoji ("🙏🙏🙏", "👍")."""
    rest = _EMOJI_MODIFIERS.sub("", text)
    return bool(rest) and all(char in THANKS_EMOJI for char in rest)


def bare_aspect(text: str) -> str | None:
    """The procedure question a message that is only an aspect asks ("thời gian giải quyết",
    "còn lệ phí?", "online được không"), else None."""
    words = fold(text)
    while True:
        shorter = _FILLER.sub("", words).strip()
        if shorter == words:
            break
        words = shorter
    return _ASPECT_OF.get(words)


def lacks_a_paper(text: str) -> bool:
    """Whether a message asks if one can do without something ("ko có sổ đỏ thì được
    không"), which stays within the procedure under discussion."""
    words = fold(text)
    return _LACKING.match(words) is not None and _DOING.search(words) is None
