"""Greeting, goodbye, thanks, help and the polite answer to anything out of scope."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload


def _help_buttons() -> tuple[Button, ...]:
    buttons = []
    for title, intent, procedure in texts.HELP_EXAMPLES:
        entities = {"procedure": procedure} if procedure else {}
        buttons.append(Button(title, payload(intent, **entities)))
    return tuple(buttons)


class Greet:
    """Says hello and what the bot can do."""

    name = "greet"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reply to a greeting."""
        city = ctx.services.knowledge.city.name
        return ActionResult((Reply(texts.GREET.format(city=city), _help_buttons()),))


class Goodbye:
    """Says goodbye and forgets the procedure under discussion."""

    name = "goodbye"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reply to a goodbye."""
        return ActionResult((Reply(texts.GOODBYE),), {"procedure": None, "awaiting": None})


class Thank:
    """Answers thanks."""

    name = "thank"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reply to thanks."""
        return ActionResult((Reply(texts.THANK),))


class Help:
    """Explains what the bot can do, with example questions as buttons."""

    name = "help"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reply to a request for help."""
        count = len(ctx.services.knowledge.procedures)
        return ActionResult((Reply(texts.HELP.format(count=count), _help_buttons()),))


class OutOfScope:
    """A polite "I cannot help with that", with what the bot can do."""

    name = "out_of_scope"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Reply to a message the bot did not understand."""
        return ActionResult((Reply(texts.OUT_OF_SCOPE, _help_buttons()),))


class OfferHuman:
    """After repeated misunderstandings: offer a person, the hotline and office hours."""

    name = "offer_human"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Offer a handoff."""
        text = texts.OFFER_HUMAN.format(hotline=ctx.services.knowledge.city.hotline,
                                        hours=ctx.services.office_hours)
        buttons = (Button(texts.HANDOFF_BUTTON, payload("human_handoff")),
                   Button(texts.INTENT_LABELS["help"], payload("help")))
        return ActionResult((Reply(text, buttons),))
