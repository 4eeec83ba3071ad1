"""Handing the conversation to a person, and staying quiet while one has it."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, ConversationStatus, Reply
from knowledge.office_hours import when

RESUME_PAYLOAD = "/resume_bot"


def next_opening(ctx: ActionContext) -> str | None:
    """When officers will be back ("từ 7:30 sáng mai"); None while they are at work."""
    schedule = ctx.services.office_schedule
    if schedule.is_open(ctx.now):
        return None
    opening = schedule.next_opening(ctx.now)
    if opening is None:
        return texts.NO_OPENING
    return texts.OPENING.format(when=when(opening, ctx.now))


async def queue_place(ctx: ActionContext) -> str:
    """" (vị trí thứ 2 trong hàng đợi)" when the queue is known, else ""."""
    if ctx.services.queue is None:
        return ""
    position = await ctx.services.queue.position(ctx.conversation_id)
    return texts.HANDOFF_QUEUE_PLACE.format(position=position)


class HumanHandoff:
    """Marks the conversation as waiting for staff and tells the citizen what happens next."""

    name = "human_handoff"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Hand over to staff; outside office hours, say when someone will answer."""
        hotline = ctx.services.knowledge.city.hotline
        opening = next_opening(ctx)
        place = await queue_place(ctx)
        if opening is None:
            text = texts.HANDOFF_WAITING.format(hours=ctx.services.office_hours, hotline=hotline,
                                                place=place)
        else:
            text = texts.HANDOFF_OUTSIDE_HOURS.format(hours=ctx.services.office_hours,
                                                      opening=opening, hotline=hotline,
                                                      place=place)
        return ActionResult((Reply(text, (Button(texts.RESUME_BUTTON, RESUME_PAYLOAD),)),),
                            {"awaiting": None, "fallbacks": 0, "reminded": None},
                            status=ConversationStatus.WAITING)


class WaitForStaff:
    """While waiting for staff: every message is kept for the officer (it is in the
    transcript the queue shows) and answered with a short "still waiting" and the place in
    the queue; the first time also with the hotline and when officers are back."""

    name = "wait_for_staff"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Say the citizen still waits, and where; never answer in staff's place."""
        place = await queue_place(ctx)
        buttons = (Button(texts.RESUME_BUTTON, RESUME_PAYLOAD),)
        if ctx.slots.get("reminded"):
            return ActionResult((Reply(texts.HANDOFF_STILL_WAITING_SHORT.format(place=place),
                                       buttons),))
        hotline = ctx.services.knowledge.city.hotline
        opening = next_opening(ctx)
        text = (texts.HANDOFF_STILL_WAITING.format(hotline=hotline, place=place)
                if opening is None else
                texts.HANDOFF_STILL_WAITING_CLOSED.format(opening=opening, hotline=hotline,
                                                          place=place))
        return ActionResult((Reply(text, buttons),), {"reminded": True})


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
        return ActionResult((Reply(texts.RESUMED),), {"reminded": None},
                            status=ConversationStatus.BOT)
