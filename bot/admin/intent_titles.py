"""Vietnamese titles of every intent a turn can carry (and of the action that answered it),
for all staff pages.

Staff read Vietnamese; intent ids ("out_of_scope", "feedback") are only form values. The
citizen-facing titles live in ``actions/texts.py`` and are reused; this module adds the intents
citizens never see a title for (out of scope, and the button-only ones of
``bot/core/payloads.py``) and a title for an id nobody named yet, so no page shows a raw id.
"""

from __future__ import annotations

from actions.texts import INTENT_LABELS
from bot.core.payloads import EXTRA_INTENTS
from nlu.intents import Intent

UNKNOWN_TITLE = "Ý định khác"
EXTRA_TITLES: dict[str, str] = {
    Intent.OUT_OF_SCOPE.value: "Ngoài phạm vi",
    "feedback": "Đánh giá câu trả lời (👍/👎)",
    "rate": "Chấm điểm nhân viên hỗ trợ",
    "resume_bot": "Quay lại trò chuyện với bot",
}
# Intents staff may give a message as its label (the NLU's), in the contract's order.
LABEL_TITLES: dict[str, str] = {
    intent.value: INTENT_LABELS.get(intent.value) or EXTRA_TITLES[intent.value]
    for intent in Intent
}
# Every intent a stored turn can carry: the NLU's and the button-only ones.
INTENT_TITLES: dict[str, str] = {
    **LABEL_TITLES,
    **{name: EXTRA_TITLES[name] for name in sorted(EXTRA_INTENTS)},
}


def intent_title(intent: str | None) -> str:
    """The Vietnamese title of an intent id; never the id itself."""
    if not intent:
        return "Không rõ"
    return INTENT_TITLES.get(intent, UNKNOWN_TITLE)


# Actions whose name is not an intent's (most actions are named after the intent they answer).
ACTION_TITLES: dict[str, str] = {
    "ask_procedure": "Hỏi người dân về thủ tục nào",
    "clarify": "Hỏi lại cho rõ ý",
    "faq": "Trả lời câu hỏi thường gặp",
    "notice": "Thông báo",
    "offer_human": "Đề nghị gặp nhân viên",
    "wait_for_staff": "Chờ nhân viên",
    "with_staff": "Nhân viên đang hỗ trợ",
    "staff_reply": "Nhân viên trả lời",
    "delete_my_data_with_staff": "Chưa xóa dữ liệu (nhân viên đang hỗ trợ)",
}


def action_title(action: str | None) -> str:
    """The Vietnamese title of the action that answered a turn; never the id itself."""
    if not action:
        return "Không rõ"
    if action in ACTION_TITLES:
        return ACTION_TITLES[action]
    if action in INTENT_TITLES:
        return f"Trả lời «{INTENT_TITLES[action]}»"
    return "Hành động khác"
