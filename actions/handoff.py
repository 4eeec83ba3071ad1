"""Handing the conversation to a person, and staying quiet while one has it."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply

RESUME_PAYLOAD = "/resume_bot"


class HumanHandoff:
    """Marks the conversation as waiting for staff and tells the citizen what happens next."""

    name = "human_handoff"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Hand over to staff."""
        text = texts.HANDOFF_WAITING.format(hours=ctx.services.office_hours,
                                            hotline=ctx.services.knowledge.city.hotline)
        return ActionResult((Reply(text, (Button(texts.RESUME_BUTTON, RESUME_PAYLOAD),)),),
                            {"awaiting": None, "fallbacks": 0}, status="waiting")


class WaitForStaff:
    """While waiting for staff: a short reminder the first time, silence after that."""

    name = "wait_for_staff"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Remind once; never answer in staff's place."""
        if ctx.slots.get("reminded"):
            return ActionResult(())
        text = texts.HANDOFF_STILL_WAITING.format(hotline=ctx.services.knowledge.city.hotline)
        return ActionResult((Reply(text, (Button(texts.RESUME_BUTTON, RESUME_PAYLOAD),)),),
                            {"reminded": True})


class WithStaff:
    """An officer has the conversation: the bot says nothing."""

    name = "with_staff"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Stay silent."""
        return ActionResult(())


class ResumeBot:
    """The citizen stops waiting for staff and continues with the bot."""

    name = "resume_bot"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Return the conversation to the bot."""
        return ActionResult((Reply(texts.RESUMED),), {"reminded": None}, status="bot")
