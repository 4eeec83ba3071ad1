"""👍/👎 on the bot's answers, and the 1–5 rating of staff help after a handoff is closed.

Where the buttons go (least clutter): only on answers — a procedure aspect, an FAQ, a dossier
status — never on questions back, errors or small talk. An answer carries at most
``MAX_BUTTONS`` buttons: three follow-up aspects plus 👍 and 👎, so it is one Zalo message
(five quick replies at most) and one short Telegram keyboard. Payloads are short
(``/feedback{"value":"up"}``, ``/rate{"value":"5"}``), well under Telegram's 64 bytes.
"""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload
from nlu.intents import PROCEDURE_INTENTS, Intent

FEEDBACK_INTENT = "feedback"
RATE_INTENT = "rate"
MAX_BUTTONS = 5  # Zalo's limit of quick replies on one message
FEEDBACK_BUTTONS = (
    Button(texts.FEEDBACK_UP_BUTTON, payload(FEEDBACK_INTENT, value="up")),
    Button(texts.FEEDBACK_DOWN_BUTTON, payload(FEEDBACK_INTENT, value="down")),
)
FEEDBACK_VALUES = {"up": 1, "down": -1}
# The actions whose replies are answers that may be rated.
RATEABLE_ACTIONS = frozenset({*(str(i) for i in PROCEDURE_INTENTS), "faq",
                              str(Intent.DOSSIER_STATUS)})
RATING_BUTTONS = tuple(Button(title, payload(RATE_INTENT, value=str(value)))
                       for value, title in texts.RATING_TITLES.items())
HANDOFF_BUTTON = Button(texts.HANDOFF_BUTTON, payload(Intent.HUMAN_HANDOFF))


def rateable(reply: Reply) -> Reply:
    """The answer with 👍/👎 added after at most three of its own buttons."""
    kept = reply.buttons[: MAX_BUTTONS - len(FEEDBACK_BUTTONS)]
    return Reply(reply.text, (*kept, *FEEDBACK_BUTTONS), reply.links)


class Feedback:
    """Stores a 👍/👎 on the latest answer and thanks; after a 👎, offers a person."""

    name = FEEDBACK_INTENT

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Record the vote the button carries."""
        value = FEEDBACK_VALUES.get(ctx.parse.first("value") or "")
        recorder = ctx.services.feedback
        if value is None or recorder is None or not await recorder.rate_answer(
                ctx.conversation_id, value, RATEABLE_ACTIONS):
            return ActionResult((Reply(texts.FEEDBACK_NOTHING),))
        if value > 0:
            return ActionResult((Reply(texts.FEEDBACK_THANKS),))
        return ActionResult((Reply(texts.FEEDBACK_SORRY, (HANDOFF_BUTTON,)),))


class RateHelp:
    """Stores the 1–5 rating of the help an officer gave, and thanks."""

    name = RATE_INTENT

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Record the rating the button carries."""
        raw = (ctx.parse.first("value") or "").strip()
        rating = int(raw) if raw.isdigit() else 0
        if not 1 <= rating <= 5:
            return ActionResult((Reply(texts.RATING_INVALID, RATING_BUTTONS),))
        recorder = ctx.services.feedback
        if recorder is None or not await recorder.rate_help(ctx.conversation_id, rating):
            return ActionResult((Reply(texts.RATING_NOTHING),), {"awaiting": None})
        template = texts.RATING_THANKS if rating >= 3 else texts.RATING_SORRY
        text = template.format(rating=rating, hotline=ctx.services.knowledge.city.hotline)
        return ActionResult((Reply(text),), {"awaiting": None})
