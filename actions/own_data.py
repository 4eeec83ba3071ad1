"""A citizen's own data: "dữ liệu của tôi" says what is kept and for how long; "xóa dữ liệu
của tôi" deletes the conversation after a confirmation.

The confirmation carries a one-time token kept in the conversation's state: the "Xóa" button's
payload names it, so a button from an older question (or a forged payload) erases nothing. A
typed "có"/"đồng ý" right after the question confirms too (the policy sends it here). The
deletion itself is the unit of work's (``ActionResult.erase``): everything of the conversation
goes in the same transaction that saves the reply, and the conversation starts again empty.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, ReplyEvent, payload
from nlu.intents import Intent
from nlu.yes_no import yes_or_no

TOKEN_SLOT = "erase_token"
CONFIRM = "confirm"  # payload entities of the two buttons
CANCEL = "cancel"
DELETE_REQUEST_BUTTON = Button(texts.MY_DATA_DELETE_BUTTON, payload(Intent.DELETE_MY_DATA))


def describe(held: Mapping[str, int]) -> str:
    """Numbered lines of what is kept (tables with rows only), in the citizen's words."""
    lines = [texts.OWN_DATA_LINE.format(
        number=number, count=count,
        label=texts.OWN_DATA_LABELS.get(table, texts.OWN_DATA_OTHER.format(table=table)))
        for number, (table, count) in enumerate(
            ((t, c) for t, c in held.items() if c > 0), start=1)]
    return "\n".join(lines)


async def _held(ctx: ActionContext) -> dict[str, int]:
    recorder = ctx.services.personal_data
    if recorder is None:
        return {}
    return {table: count for table, count in (await recorder.held(ctx.conversation_id)).items()
            if count > 0}


class MyData:
    """Says what is kept about this conversation, for how long, and how to delete it."""

    name = Intent.MY_DATA.value

    async def run(self, ctx: ActionContext) -> ActionResult:
        """List the kept rows by kind."""
        held = await _held(ctx)
        days = ctx.services.retention_days
        if not held:
            return ActionResult((Reply(texts.MY_DATA_NOTHING.format(days=days)),))
        return ActionResult((Reply(texts.MY_DATA.format(kept=describe(held), days=days),
                                   (DELETE_REQUEST_BUTTON,)),))


class DeleteMyData:
    """Asks to confirm (with a fresh token), then erases on the matching "Xóa" or a typed yes;
    "Không xóa" or a typed no cancels."""

    name = Intent.DELETE_MY_DATA.value

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask, erase or cancel, by what the message carries."""
        token = ctx.slots.get(TOKEN_SLOT)
        confirm, cancel = ctx.parse.first(CONFIRM), ctx.parse.first(CANCEL)
        if confirm is None and cancel is None and token and \
                ctx.slots.get("last_intent") == self.name:
            answer = yes_or_no(ctx.text)
            if answer is not None:
                confirm, cancel = (token, None) if answer else (None, token)
        if confirm is not None or cancel is not None:
            if not token or not secrets.compare_digest(str(confirm or cancel), str(token)):
                return ActionResult((Reply(texts.DELETE_STALE),), {TOKEN_SLOT: None})
            if cancel is not None:
                return ActionResult((Reply(texts.DELETE_KEPT),), {TOKEN_SLOT: None})
            held = await _held(ctx)
            done = texts.DELETE_DONE.format(deleted=describe(held))
            return ActionResult((Reply(done, event=ReplyEvent.ERASED),),
                                {TOKEN_SLOT: None}, erase=True)
        held = await _held(ctx)
        if not held:
            return ActionResult((Reply(texts.DELETE_ASK_NOTHING),), {TOKEN_SLOT: None})
        fresh = secrets.token_urlsafe(9)
        buttons = (Button(texts.DELETE_BUTTON, payload(self.name, confirm=fresh)),
                   Button(texts.KEEP_BUTTON, payload(self.name, cancel=fresh)))
        return ActionResult((Reply(texts.DELETE_ASK.format(kept=describe(held)), buttons),),
                            {TOKEN_SLOT: fresh})


class DeleteWithStaff:
    """While an officer has the conversation, says why it cannot be deleted right now."""

    name = "delete_my_data_with_staff"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Tell the citizen clearly."""
        return ActionResult((Reply(texts.DELETE_WITH_STAFF),))
