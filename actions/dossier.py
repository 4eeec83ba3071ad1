"""Dossier status: ask for the code, check its shape, look it up, explain it plainly.

The applicant's personal data is never shown: only the status, dates, the current step, the
agency and the history notes are used. Lookups are limited per conversation and hour, and for
all conversations together per minute, so codes cannot be enumerated.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload
from actions.dossier_source import DossierNotFound, DossierState, DossierStatus, DossierUnavailable
from actions.feedback import rateable
from knowledge.clock import in_vietnam
from nlu.dossier_code import dossier_code_problem, find_code_attempt
from nlu.intents import EntityType, Intent

log = logging.getLogger(__name__)
# What the conversation waits for after a lookup reply (the state's ``awaiting``): the bot
# asked for the code, so anything else gets where the code is printed; or a code was not
# found, so a corrected code is read as one while anything else is a new question.
ASKED_CODE = "dossier_code"
RETRY_CODE = "dossier_retry"
RATE_WINDOW_SECONDS = 3600.0
GLOBAL_WINDOW_SECONDS = 60.0
# The end of a code without the receiving agency's part: "H31-261120-0001", "261120-0001".
PARTIAL_CODE = re.compile(r"(?:[a-z]\d{2}\s*[-–_/]\s*)?\d{6}\s*[-–_/]\s*\d{4}", re.IGNORECASE)


OPEN = frozenset({DossierState.RECEIVED, DossierState.PROCESSING,
                  DossierState.NEED_SUPPLEMENT, DossierState.OVERDUE})
WAITING = frozenset({DossierState.RECEIVED, DossierState.PROCESSING})


def timing(dossier: DossierStatus, today: dt.date) -> tuple[str, int]:
    """The appointment date against today for a dossier not finished yet ("" when there is
    none to compare), and how many days late it is (0 when not late)."""
    if dossier.status not in OPEN or dossier.due_at is None:
        return "", 0
    left = (in_vietnam(dossier.due_at).date() - today).days
    if left > 0:
        return texts.DOSSIER_DAYS_LEFT.format(days=left), 0
    if left == 0:
        return texts.DOSSIER_DUE_TODAY, 0
    return texts.DOSSIER_LATE.format(days=-left), -left


def explain(dossier: DossierStatus, procedure_name: str | None, hotline: str,
            now: dt.datetime) -> str:
    """The status in plain Vietnamese with dates (Vietnam time) compared with today, and what
    to do next."""
    lines = [f"Hồ sơ {dossier.code}"]
    if procedure_name:
        lines.append(f"Thủ tục: {procedure_name}")
    lines.append(f"Tình trạng: {dossier.status_text or dossier.status.value}")
    if dossier.agency:
        lines.append(f"Cơ quan xử lý: {dossier.agency}")
    lines.append(f"Ngày tiếp nhận: {texts.day(in_vietnam(dossier.received_at))}")
    if dossier.due_at:
        lines.append(f"Ngày hẹn trả kết quả: {texts.day(in_vietnam(dossier.due_at))}")
    if dossier.completed_at:
        lines.append(f"Ngày có kết quả: {texts.day(in_vietnam(dossier.completed_at))}")
    when, late = timing(dossier, in_vietnam(now).date())
    if when:
        lines.append(when)
    if dossier.current_step:
        lines.append(f"Bước hiện tại: {dossier.current_step}")
    reason = dossier.history[-1].note if dossier.history else ""
    if dossier.status in (DossierState.NEED_SUPPLEMENT, DossierState.RETURNED,
                          DossierState.REJECTED) and reason:
        label = "Cần bổ sung" if dossier.status == DossierState.NEED_SUPPLEMENT else "Lý do"
        lines.append(f"{label}: {reason}")
    lines.append("")
    next_step = (texts.DOSSIER_LATE_NEXT if late and dossier.status in WAITING
                 else texts.DOSSIER_STATUS_NEXT[dossier.status])
    lines.append(next_step.format(hotline=hotline))
    return "\n".join(lines)


class DossierStatusLookup:
    """Looks up a dossier by its code."""

    name = "dossier_status"

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask for, validate, look up and explain a dossier code."""
        kb = ctx.services.knowledge
        hotline = kb.city.hotline
        code = ctx.parse.first(EntityType.DOSSIER_CODE)
        if code is None:
            attempt = find_code_attempt(ctx.text)
            if attempt is None and ctx.slots.get("awaiting") == ASKED_CODE:
                # asked for the code, sent something else: where the code is printed
                handoff = (Button(texts.HANDOFF_BUTTON, payload(Intent.HUMAN_HANDOFF)),)
                return ActionResult((Reply(texts.NOT_A_DOSSIER_CODE.format(hotline=hotline),
                                           handoff),), {"awaiting": ASKED_CODE})
            if attempt is None:
                return ActionResult((Reply(texts.ASK_DOSSIER_CODE),),
                                    {"awaiting": ASKED_CODE})
            if PARTIAL_CODE.fullmatch(attempt):
                return ActionResult((Reply(texts.DOSSIER_CODE_PARTIAL.format(code=attempt)),),
                                    {"awaiting": ASKED_CODE})
            problem = dossier_code_problem(attempt, ctx.now.date()) or "mã không đúng dạng"
            return ActionResult((Reply(texts.BAD_DOSSIER_CODE.format(code=attempt,
                                                                     problem=problem)),),
                                {"awaiting": ASKED_CODE})
        invalid = dossier_code_problem(code, ctx.now.date())
        if invalid is not None:
            return ActionResult((Reply(texts.BAD_DOSSIER_CODE.format(code=code,
                                                                     problem=invalid)),),
                                {"awaiting": ASKED_CODE})
        limit = ctx.services.dossier_lookups_per_hour
        allowed = await ctx.services.limiter.hit(f"dossier:{ctx.conversation_id}", limit,
                                                 RATE_WINDOW_SECONDS)
        if not allowed:
            return ActionResult((Reply(texts.DOSSIER_RATE_LIMITED.format(limit=limit,
                                                                         hotline=hotline)),),
                                {"awaiting": None})
        # Sender ids (and, behind proxies, addresses) cost an enumerator nothing: all
        # conversations together get a fixed number of lookups a minute (shared by the workers
        # when the limiter is Redis).
        per_minute = ctx.services.dossier_lookups_per_minute
        if not await ctx.services.limiter.hit("dossier-global", per_minute,
                                              GLOBAL_WINDOW_SECONDS):
            log.warning("dossier lookups over %d a minute in all", per_minute)
            return ActionResult((Reply(texts.DOSSIER_LOOKUPS_BUSY.format(hotline=hotline)),),
                                {"awaiting": None})
        try:
            dossier = await ctx.services.dossiers.lookup(code)
        except DossierNotFound:
            # an answer, not a question: a corrected code is still read as one, anything
            # else is a new question (see RETRY_CODE)
            return ActionResult((Reply(texts.DOSSIER_NOT_FOUND.format(code=code,
                                                                      hotline=hotline)),),
                                {"awaiting": RETRY_CODE})
        except DossierUnavailable:
            handoff = (Button(texts.HANDOFF_BUTTON, payload(Intent.HUMAN_HANDOFF)),)
            return ActionResult((Reply(texts.DOSSIER_UNAVAILABLE.format(hotline=hotline),
                                       handoff),), {"awaiting": None})
        procedure = kb.procedures.get(dossier.procedure)
        text = explain(dossier, procedure.name if procedure else None, hotline, ctx.now)
        buttons: tuple[Button, ...] = ()
        if procedure is not None and dossier.status in (DossierState.NEED_SUPPLEMENT,
                                                        DossierState.RETURNED):
            buttons = (Button(texts.ASPECT_TITLES[Intent.PROCEDURE_DOCUMENTS],
                              payload(Intent.PROCEDURE_DOCUMENTS, procedure=procedure.id)),)
        if ctx.services.follows is not None and dossier.status in OPEN:
            follow = Button(texts.FOLLOW_BUTTON, payload(Intent.FOLLOW_DOSSIER, dossier_code=code))
            buttons = (*buttons, follow)
        slots = {"awaiting": None, "procedure": procedure.id if procedure else None}
        return ActionResult((rateable(Reply(text, buttons)),), slots)
