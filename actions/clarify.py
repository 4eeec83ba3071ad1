"""Questions back to the citizen: which procedure, or which of a few likely meanings."""

from __future__ import annotations

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload
from nlu.intents import PROCEDURE_INTENTS, Intent

MAX_CANDIDATES = 4
BUTTON_CHARS = 60


def button_title(name: str) -> str:
    """A procedure's name as a button's title: official names can run to 300 characters."""
    name = name.removeprefix("Thủ tục ").strip()
    name = name[:1].upper() + name[1:]
    return name if len(name) <= BUTTON_CHARS else name[:BUTTON_CHARS - 1].rstrip() + "…"


class AskProcedure:
    """A procedure question with no procedure known: offer the closest ones as buttons."""

    name = "ask_procedure"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask which procedure the question is about: the close candidates procedure search
        found, else the best names matching the words."""
        kb = ctx.services.knowledge
        ids = [choice.id for choice in ctx.parse.procedure_choices]
        if not ids:
            ids = [hit.id for hit in kb.index.search(ctx.text, limit=MAX_CANDIDATES,
                                                     kind="procedure", min_score=70)]
        buttons = tuple(
            Button(button_title(kb.procedures[procedure_id].name),
                   payload(ctx.intent, procedure=procedure_id))
            for procedure_id in ids[:MAX_CANDIDATES]
            if procedure_id in kb.procedures
        )
        text = texts.ASK_PROCEDURE if buttons else texts.ASK_PROCEDURE_NO_CANDIDATES
        offered = [procedure_id for procedure_id in ids[:MAX_CANDIDATES]
                   if procedure_id in kb.procedures]
        return ActionResult((Reply(text, buttons),),
                            {"awaiting": "procedure", "pending_intent": ctx.intent,
                             "options": offered or None})


class NoProcedure:
    """A procedure question no procedure fits: say so in one sentence, offer the closest
    procedure only when procedure search found one, and the hotline and a person."""

    name = "no_procedure"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Say the bot has no such procedure; the closest one (if any), hotline, person."""
        kb = ctx.services.knowledge
        asked = ctx.intent if ctx.intent in PROCEDURE_INTENTS else Intent.PROCEDURE_OVERVIEW
        lines = [texts.NO_PROCEDURE]
        buttons = []
        if ctx.procedure is not None and ctx.procedure in kb.procedures:
            lines.append(texts.NO_PROCEDURE_CLOSEST)
            buttons.append(Button(button_title(kb.procedures[ctx.procedure].name),
                                  payload(asked, procedure=ctx.procedure)))
        lines.append(texts.NO_PROCEDURE_CONTACT.format(hotline=kb.city.hotline,
                                                       hours=ctx.services.office_hours))
        buttons.append(Button(texts.HANDOFF_BUTTON, payload(Intent.HUMAN_HANDOFF)))
        return ActionResult((Reply("\n".join(lines), tuple(buttons)),),
                            {"awaiting": None, "procedure": None})


# What the bot may offer as a guess of an unsure message: never a greeting or a goodbye.
GUESSABLE = PROCEDURE_INTENTS | {Intent.DOSSIER_STATUS, Intent.HELP}


class Clarify:
    """An unsure parse: offer the two or three most likely meanings instead of guessing.

    The question stays open: the procedure it is about becomes the one under discussion, so
    a typed answer ("cần giấy tờ gì") is read against it like a tap."""

    name = "clarify"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Offer the likely meanings as buttons."""
        buttons = []
        for option in ctx.options:
            label = texts.INTENT_LABELS.get(option.name)
            if label is None or option.name not in GUESSABLE:
                continue  # a person is always offered last; goodbye is never a guess
            if option.name in PROCEDURE_INTENTS and ctx.procedure:
                name = ctx.services.knowledge.procedures[ctx.procedure].name
                title = f"{label}: {name}"[:60]
                buttons.append(Button(title, payload(option.name, procedure=ctx.procedure)))
            else:
                buttons.append(Button(label, payload(option.name)))
        buttons.append(Button(texts.INTENT_LABELS[Intent.HUMAN_HANDOFF],
                              payload(Intent.HUMAN_HANDOFF)))
        slots = {"procedure": ctx.procedure} if ctx.procedure else {}
        return ActionResult((Reply(texts.CLARIFY, tuple(buttons)),), slots)
