"""Short cues a citizen means plainly but the classifier cannot read, for the policy.

Emoji carry no words ("🙏🙏🙏", "👍" are thanks); a bare aspect ("thời gian giải quyết",
"còn lệ phí?") is a follow-up about the procedure under discussion; "không có sổ đỏ thì được
không" asks whether the current procedure can do without a paper, not about the procedure that
paper belongs to. Every check reads the folded text (``nlu.normalize.fold``), so diacritics,
case and abbreviations do not matter.
"""

from __future__ import annotations

import re

from actions import conditions
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


# Words that start a new question about a procedure ("thủ tục …", "đăng ký …", "xin …",
# "cấp …"): without one, a message after an answer that names no procedure clearly is a
# follow-up about the procedure under discussion, whatever words of other procedures it holds
# ("làm trên vneid được không" is not about the procedures whose papers mention VNeID).
_NEW_QUESTION = re.compile(r"\b(?:thu tuc|dang ky|xin|cap moi|cap lai|cap doi|lam lai|lap"
                           r"|thanh lap)\b")


def new_question(text: str) -> bool:
    """Whether a message reads as a new question about some procedure, not a follow-up."""
    return _NEW_QUESTION.search(fold(text)) is not None


# Phrases that say which aspect a longer message asks about, when the classifier is unsure
# ("bằng lái sắp hết hạn, đổi ở đâu vậy" asks where; "làm online cho nhanh" asks online).
_ASPECT_CUES: dict[str, tuple[str, ...]] = {
    Intent.PROCEDURE_LOCATION: ("o dau", "cho nao", "noi nao", "noi nop"),
    Intent.PROCEDURE_FEE: ("bao nhieu tien", "le phi", "het bao nhieu", "mat phi", "chi phi"),
    Intent.PROCEDURE_DURATION: ("bao lau", "may ngay", "thoi gian giai quyet"),
    Intent.PROCEDURE_DOCUMENTS: ("giay to gi", "giay to can", "can nhung gi", "thanh phan ho so",
                                 "can giay to"),
    Intent.PROCEDURE_ONLINE: ("online", "truc tuyen", "vneid", "dich vu cong"),
    Intent.PROCEDURE_OVERVIEW: ("lam sao", "lam the nao", "thu tuc gi", "cac buoc"),
}
_ASPECT_CUE = {intent: re.compile(r"\b(?:" + "|".join(phrases) + r")\b")
               for intent, phrases in _ASPECT_CUES.items()}


def aspect_named(text: str) -> str | None:
    """The one aspect a message's words name plainly, else None (none, or several)."""
    words = fold(text)
    found = [intent for intent, cue in _ASPECT_CUE.items() if cue.search(words)]
    if len(found) > 1:  # "làm online thế nào" asks about online, not the steps
        found = [intent for intent in found if intent != Intent.PROCEDURE_OVERVIEW]
    return found[0] if len(found) == 1 else None


# "mã nằm ở đâu", "mã hồ sơ là cái nào": a question about the code the bot asked for.
_ABOUT_CODE = re.compile(r"(?<!\w)mã(?!\w)|\bma (?:ho so|so|nao|o dau|nam)\b")


def asks_about_code(text: str) -> bool:
    """Whether a message asks about a dossier code ("mã nằm ở đâu vậy")."""
    return _ABOUT_CODE.search(text.lower()) is not None or (
        _ABOUT_CODE.search(fold(text)) is not None)


# "giờ phải làm thế nào", "vậy em làm gì": what to do now, after an answer.
_WHAT_NOW = re.compile(r"^(?:(?:gio|vay|the|bay gio|h)\s+)?(?:(?:em|minh|toi|e)\s+)?"
                       r"(?:phai|nen|can)?\s*lam (?:the nao|sao|gi)(?:\s+(?:a|day|bay gio|gio))?$")


def what_now(text: str) -> bool:
    """Whether a message only asks what to do now ("h phải làm thế nào")."""
    return _WHAT_NOW.match(fold(text)) is not None


# "thôi không làm hộ chiếu nữa, …", "không làm cái đó nữa": the citizen drops the procedure
# under discussion and asks about another.
_CHANGE_OF_MIND = re.compile(r"\b(?:thoi|khong|ko|k|hong)\b(?:\s+\S+){0,2}?\s+lam\b.*\bnua\b"
                             r"|^thoi\b(?! gian)|\bnham\b|\by (?:em|minh|toi|e) la\b")


def changes_mind(text: str) -> bool:
    """Whether a message drops the procedure under discussion ("à thôi k làm … nữa", "em
    nhầm, ý em là …")."""
    return _CHANGE_OF_MIND.search(fold(text)) is not None


def asks_if_possible(text: str) -> bool:
    """Whether a message asks if a procedure can be done for the citizen's case ("làm căn
    cước cho bé 6 tuổi được không"): it states a condition and names no aspect. Its "được
    không" is no question about doing it online."""
    return bool(conditions.read(text)) and aspect_named(text) is None


CASE_ONLY_WORDS = 8  # a message stating the citizen's case and little else is this short


def states_a_case(text: str) -> bool:
    """Whether a short message only states the citizen's case ("con 15 tuổi thì sao",
    "còn làm cho bố thì sao", "bị mất thì sao"): the question just answered, asked again
    for that case."""
    return (bool(conditions.read(text)) and aspect_named(text) is None
            and not new_question(text) and len(fold(text).split()) <= CASE_ONLY_WORDS)


# "có phải thi lại không", "2 đứa có phải cùng đến không", "có bắt buộc … không": whether the
# procedure requires something, which its steps answer.
_REQUIREMENT = re.compile(r"\b(?:co phai|co can|co bat buoc|bat buoc phai|co buoc phai)\b"
                          r"(?:\s+\S+){1,6}?\s+(?:khong|chua)$")


_PAPER = re.compile(r"\b(?:giay|ban chinh|ban sao|ho khau|so do|so hong|anh|to khai|"
                    r"chung nhan|xac nhan|can cuoc|ho chieu|chu ky)\b")


def asks_a_requirement(text: str) -> str | None:
    """The aspect that answers a message asking if the procedure requires something,
    naming no aspect: a paper ("có cần hộ khẩu không") is the papers' question, anything
    else ("có phải thi lại không") the steps'. None for other messages."""
    words = fold(text)
    if _REQUIREMENT.search(words) is None or aspect_named(text) is not None:
        return None
    return (Intent.PROCEDURE_DOCUMENTS if _PAPER.search(words)
            else Intent.PROCEDURE_OVERVIEW)
