"""Following a dossier: start ("theo dõi hồ sơ <mã>", or the button under a lookup), stop
("hủy theo dõi", or the button under every notice), list ("hồ sơ đang theo dõi"), and the
words of a notice when a followed dossier changes.

Following shows nothing a lookup does not: the code, the status, the appointment date and
what to do. Starting to follow is a lookup (the code must exist, and it counts against the
same hourly limit), so following cannot be used to enumerate codes either.
"""

from __future__ import annotations

import datetime as dt

from actions import texts
from actions.base import ActionContext, ActionResult, Button, Reply, payload
from actions.dossier import OPEN, RATE_WINDOW_SECONDS
from actions.dossier_source import DossierNotFound, DossierUnavailable
from knowledge.clock import in_vietnam
from nlu.dossier_code import dossier_code_problem
from nlu.intents import EntityType, Intent

CODE = EntityType.DOSSIER_CODE.value
FINAL = frozenset({"done", "returned", "rejected"})


def status_name(status: str) -> str:
    """A contract status in Vietnamese."""
    return texts.DOSSIER_STATUS_NAMES.get(status, status)


def follow_button(code: str) -> Button:
    """The button under a lookup answer that follows its dossier."""
    return Button(texts.FOLLOW_BUTTON, payload(Intent.FOLLOW_DOSSIER, **{CODE: code}))


def unfollow_button(code: str) -> Button:
    """The button under a notice that stops following its dossier."""
    return Button(texts.UNFOLLOW_BUTTON, payload(Intent.UNFOLLOW_DOSSIER, **{CODE: code}))


def notice_reply(code: str, status: str, due_at: dt.datetime | None,
                 changed_at: dt.datetime, hotline: str, *, late: bool = False) -> Reply:
    """What a citizen is told when a followed dossier changed: the new status, the
    appointment, what to do, and a button to stop following (unless the follow ended)."""
    name = status_name(status)
    if late:
        lines = [texts.NOTICE_LATE.format(code=code, status=name,
                                          day=texts.day(in_vietnam(changed_at)))]
    else:
        lines = [texts.NOTICE.format(code=code, status=name)]
    if due_at is not None and status not in FINAL:
        lines.append(texts.NOTICE_DUE.format(day=texts.day(in_vietnam(due_at))))
    next_step = texts.DOSSIER_STATUS_NEXT.get(status)
    if next_step:
        lines.append(next_step.format(hotline=hotline))
    if status in FINAL:
        lines.append(texts.NOTICE_ENDED)
        return Reply("\n".join(lines))
    return Reply("\n".join(lines), (unfollow_button(code),))


class FollowDossier:
    """Starts following a dossier after looking it up."""

    name = Intent.FOLLOW_DOSSIER.value

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Ask for the code, check it as a lookup does, and follow from its current status."""
        services = ctx.services
        hotline = services.knowledge.city.hotline
        if services.follows is None:
            return ActionResult((Reply(texts.FOLLOW_OFF.format(hotline=hotline)),))
        code = ctx.parse.first(EntityType.DOSSIER_CODE)
        if code is None:
            return ActionResult((Reply(texts.FOLLOW_ASK_CODE),), {"awaiting": "follow_code"})
        problem = dossier_code_problem(code, ctx.now.date())
        if problem is not None:
            return ActionResult((Reply(texts.BAD_DOSSIER_CODE.format(code=code,
                                                                     problem=problem)),),
                                {"awaiting": "follow_code"})
        limit = services.dossier_lookups_per_hour
        if not await services.limiter.hit(f"dossier:{ctx.conversation_id}", limit,
                                          RATE_WINDOW_SECONDS):
            return ActionResult((Reply(texts.DOSSIER_RATE_LIMITED.format(limit=limit,
                                                                         hotline=hotline)),),
                                {"awaiting": None})
        try:
            dossier = await services.dossiers.lookup(code)
        except DossierNotFound:
            return ActionResult((Reply(texts.DOSSIER_NOT_FOUND.format(code=code,
                                                                      hotline=hotline)),),
                                {"awaiting": "follow_code"})
        except DossierUnavailable:
            return ActionResult((Reply(texts.DOSSIER_UNAVAILABLE.format(hotline=hotline)),),
                                {"awaiting": None})
        name = status_name(dossier.status)
        if dossier.status not in OPEN:
            return ActionResult((Reply(texts.FOLLOW_FINISHED.format(code=code, status=name)),),
                                {"awaiting": None})
        outcome = await services.follows.follow(ctx.conversation_id, code, dossier.status,
                                                dossier.due_at, dossier.changed_at, ctx.now)
        if outcome == "already":
            text = texts.FOLLOW_ALREADY.format(code=code)
        elif outcome == "full":
            text = texts.FOLLOW_FULL.format(limit=services.follows.limit)
            return ActionResult((Reply(text, (Button(texts.FOLLOWED_BUTTON, payload(
                Intent.FOLLOWED_DOSSIERS)),)),), {"awaiting": None})
        else:
            text = texts.FOLLOW_ADDED.format(code=code, status=name, days=services.follows.days)
        return ActionResult((Reply(text, (unfollow_button(code),)),), {"awaiting": None})


class UnfollowDossier:
    """Stops following one dossier, or asks which when several are followed."""

    name = Intent.UNFOLLOW_DOSSIER.value

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Unfollow the code named, the only one followed, or every one ("all")."""
        follows = ctx.services.follows
        if follows is None:
            return ActionResult((Reply(texts.UNFOLLOW_NONE),))
        code = ctx.parse.first(EntityType.DOSSIER_CODE)
        everything = ctx.parse.first("scope") == "all"
        if code is None and not everything:
            followed = await follows.followed(ctx.conversation_id)
            if not followed:
                return ActionResult((Reply(texts.UNFOLLOW_NONE),), {"awaiting": None})
            if len(followed) > 1:
                buttons = tuple(Button(f.code, payload(Intent.UNFOLLOW_DOSSIER, **{CODE: f.code}))
                                for f in followed[:4])
                everyone = Button(texts.UNFOLLOW_ALL_BUTTON,
                                  payload(Intent.UNFOLLOW_DOSSIER, scope="all"))
                return ActionResult((Reply(texts.UNFOLLOW_WHICH, (*buttons, everyone)),),
                                    {"awaiting": None})
            code = followed[0].code
        stopped = await follows.unfollow(ctx.conversation_id, None if everything else code)
        if not stopped:
            text = (texts.UNFOLLOW_NOT_FOLLOWED.format(code=code) if code
                    else texts.UNFOLLOW_NONE)
            return ActionResult((Reply(text),), {"awaiting": None})
        return ActionResult((Reply(texts.UNFOLLOWED.format(codes=", ".join(stopped))),),
                            {"awaiting": None})


class FollowedDossiers:
    """Lists the dossiers a citizen follows."""

    name = Intent.FOLLOWED_DOSSIERS.value

    async def run(self, ctx: ActionContext) -> ActionResult:
        """Each followed dossier with its last known status and how long it is followed."""
        follows = ctx.services.follows
        followed = await follows.followed(ctx.conversation_id) if follows is not None else []
        if follows is None or not followed:
            return ActionResult((Reply(texts.FOLLOWED_NONE),), {"awaiting": None})
        lines = [texts.FOLLOWED_HEADER.format(count=len(followed), limit=follows.limit)]
        for n, item in enumerate(followed, start=1):
            due = (texts.FOLLOWED_DUE.format(day=texts.day(in_vietnam(item.due_at)))
                   if item.due_at is not None else "")
            lines.append(texts.FOLLOWED_LINE.format(
                n=n, code=item.code, status=status_name(item.status), due=due,
                until=texts.day(in_vietnam(item.expires_at))))
        buttons = tuple(Button(f"{texts.UNFOLLOW_BUTTON} …{item.code[-11:]}",
                               payload(Intent.UNFOLLOW_DOSSIER, **{CODE: item.code}))
                        for item in followed[:5])
        return ActionResult((Reply("\n".join(lines), buttons),), {"awaiting": None})
