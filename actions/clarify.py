"""Questions back to the citizen: which procedure, or which of a few likely meanings."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload
from nlu.intents import PROCEDURE_INTENTS, Intent

MAX_CANDIDATES = 4


class AskProcedure:
    """A procedure question with no procedure known: offer the closest ones as buttons."""

    name = "ask_procedure"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask which procedure the question is about."""
        kb = ctx.services.knowledge
        hits = kb.index.search(ctx.text, limit=MAX_CANDIDATES, kind="procedure", min_score=70)
        buttons = tuple(
            Button(kb.procedures[hit.id].name[:60], payload(ctx.intent, procedure=hit.id))
            for hit in hits
            if hit.id in kb.procedures
        )
        text = texts.ASK_PROCEDURE if buttons else texts.ASK_PROCEDURE_NO_CANDIDATES
        return ActionResult((Reply(text, buttons),),
                            {"awaiting": "procedure", "pending_intent": ctx.intent})


class Clarify:
    """An unsure parse: offer the two or three most likely meanings instead of guessing."""

    name = "clarify"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Offer the likely meanings as buttons."""
        buttons = []
        for option in ctx.options:
            label = texts.INTENT_LABELS.get(option.name)
            if label is None:
                continue
            if option.name in PROCEDURE_INTENTS and ctx.procedure:
                name = ctx.services.knowledge.procedures[ctx.procedure].name
                title = f"{label}: {name}"[:60]
                buttons.append(Button(title, payload(option.name, procedure=ctx.procedure)))
            else:
                buttons.append(Button(label, payload(option.name)))
        buttons.append(Button(texts.INTENT_LABELS[Intent.HUMAN_HANDOFF],
                              payload(Intent.HUMAN_HANDOFF)))
        return ActionResult((Reply(texts.CLARIFY, tuple(buttons)),))
