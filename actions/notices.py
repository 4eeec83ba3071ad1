"""The fixed answer to a message the bot cannot read: an image or other media, a text over
the length it reads, a tap on an expired button. It changes nothing in the conversation."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Reply


class Notice:
    """Says politely what the bot can read instead."""

    name = "notice"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """The notice for this kind of message."""
        return ActionResult((Reply(texts.NOTICES[ctx.kind]),))
