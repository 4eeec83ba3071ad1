"""Answers from an administrator-written FAQ."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Reply
from actions.feedback import rateable
from actions.procedures import aspect_buttons


class AnswerFaq:
    """Replies with the FAQ the policy matched."""

    name = "faq"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Answer from the matched FAQ; keep its procedure under discussion."""
        faq = ctx.services.knowledge.faqs.get(ctx.faq_id or "")
        if faq is None:
            return ActionResult((Reply(texts.OUT_OF_SCOPE),))
        buttons = aspect_buttons(faq.procedure, "") if faq.procedure else ()
        slots = {"procedure": faq.procedure} if faq.procedure else {}
        return ActionResult((rateable(Reply(faq.answer, buttons)),), slots)
