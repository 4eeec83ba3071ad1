"""Short typed answers to a yes/no question the bot just asked ("có", "đồng ý", "không").

Only a message that is nothing but such an answer counts: "có thủ tục nào ..." is a question,
not a yes. Used where a button question may also be answered by typing (deleting one's data).
"""

from __future__ import annotations

from nlu.normalize import fold

YES = frozenset({
    "co", "dong y", "co xoa", "xoa", "xoa di", "dong y xoa", "duoc", "vang", "da", "u",
    "uh", "yes", "chac chan", "co a", "vang a", "da co", "dong y a", "xac nhan", "co xoa di",
})
NO = frozenset({
    "khong", "khong xoa", "thoi", "huy", "khong a", "khong can", "no", "dung xoa", "khoi",
    "thoi khong xoa", "khong dong y",
})


def yes_or_no(text: str) -> bool | None:
    """True for a bare yes, False for a bare no, None for anything else."""
    key = fold(text).strip()
    if key in YES:
        return True
    if key in NO:
        return False
    return None
