"""Live handoff pages (staff and admins): the waiting queue, one conversation, take/reply/close.

* ``GET /admin/handoff``: conversations waiting for a person, longest wait first, and those
  in progress (mine or everyone's); the lists refresh themselves every few seconds.
* ``GET /admin/handoff/{id}``: the history, the reply form and the Nhận / Đóng / Trả lại cho
  bot buttons; new citizen messages appear without reloading
  (``GET /admin/handoff/{id}/turns?after=N``).
* ``POST /admin/handoff/{id}/take|reply|close|release``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web

from actions.base import ConversationStatus
from bot.admin.web import RUNTIME, STAFF_STORE, current_session, environment, form_data, render
from bot.core.delivery import ReplySender
from bot.core.handoff_desk import DeskResult, HandoffDesk, ReplyRefused, wait_text
from bot.storage.handoff_queue import HandoffItem, Outcome
from knowledge.clock import utcnow
from knowledge.office_hours import when

DESK = web.AppKey("handoff_desk", HandoffDesk)
REFRESH_SECONDS = 5
HISTORY_REFRESH_SECONDS = 3
LAST_TEXT_CHARS = 140
CHANNEL_LABELS = {"web": "Web", "telegram": "Telegram", "zalo": "Zalo"}
STATUS_LABELS: dict[str, str] = {ConversationStatus.WAITING: "Đang chờ nhân viên",
                                 ConversationStatus.STAFF: "Nhân viên đang hỗ trợ",
                                 ConversationStatus.BOT: "Bot đang trả lời"}
DONE_MESSAGES = {
    "taken": "Bạn đã nhận hội thoại. Người dân được báo có nhân viên đang hỗ trợ.",
    "mine": "Bạn đã nhận hội thoại này rồi.",
    "sent": "Đã gửi trả lời.",
    "closed": "Đã đóng hội thoại. Bot trả lời tiếp và mời người dân đánh giá.",
    "released": "Đã trả hội thoại lại cho bot.",
}
PARTIAL_MESSAGES = {
    "taken": "Bạn đã nhận hội thoại, nhưng chưa báo được cho người dân: {problem}",
    "sent": "Chưa gửi được trả lời: {problem}",
    "closed": "Đã đóng hội thoại, nhưng chưa gửi được lời mời đánh giá: {problem}",
    "released": "Đã trả lại cho bot, nhưng chưa báo được cho người dân: {problem}",
}


def _path(conversation_id: str) -> str:
    return f"/admin/handoff/{quote(conversation_id, safe=':')}"


def _refusal(outcome: Outcome, item: HandoffItem | None, action: str) -> tuple[int, str]:
    """The HTTP status and the Vietnamese message for a change that did not happen."""
    who = item.assigned_to if item is not None and item.assigned_to else "nhân viên khác"
    if outcome is Outcome.NOT_FOUND:
        return 404, "Không tìm thấy hội thoại này"
    if outcome is Outcome.TAKEN:
        return 409, f"Hội thoại này đã được {who} nhận trước"
    if outcome is Outcome.NOT_WAITING:
        return 409, ("Hội thoại này không còn chờ nhân viên (người dân đã quay lại với bot "
                     "hoặc hội thoại đã được đóng)")
    if outcome is Outcome.NOT_YOURS:
        return 409, f"Hội thoại này do {who} đang hỗ trợ"
    if item is not None and item.status == ConversationStatus.WAITING and action == "reply":
        return 409, "Bạn cần bấm “Nhận” trước khi trả lời"
    return 409, "Hội thoại này hiện không do nhân viên nào hỗ trợ"


def _row(item: HandoffItem, now: dt.datetime) -> dict[str, Any]:
    text = item.last_text
    if len(text) > LAST_TEXT_CHARS:
        text = text[:LAST_TEXT_CHARS].rstrip() + "…"
    return {"item": item, "waited": wait_text(item.waited(now)), "last_text": text,
            "path": _path(item.id), "channel": CHANNEL_LABELS.get(item.channel, item.channel)}


def _office_status(desk: HandoffDesk, now: dt.datetime) -> str:
    schedule = desk.schedule
    hours = schedule.describe()
    if schedule.is_open(now):
        return f"Đang trong giờ làm việc ({hours})."
    opening = schedule.next_opening(now)
    later = f" Người dân được báo nhân viên sẽ trả lời từ {when(opening, now)}." if opening else ""
    return f"Đang ngoài giờ làm việc ({hours}).{later}"


async def queue_page(request: web.Request) -> web.Response:
    """The waiting queue and the conversations in progress."""
    desk = request.app[DESK]
    me = current_session(request).user
    view = "all" if request.query.get("view") == "all" else "mine"
    now = utcnow()
    waiting = await desk.store.waiting()
    in_progress = await desk.store.in_progress(None if view == "all" else me.username)
    counts = await desk.store.counts()
    context: dict[str, Any] = {
        "waiting": [_row(item, now) for item in waiting],
        "in_progress": [_row(item, now) for item in in_progress],
        "counts": counts, "view": view, "office_status": _office_status(desk, now),
        "refresh_seconds": REFRESH_SECONDS,
    }
    if request.query.get("fragment"):
        return render(request, "handoff_lists.html", **context)
    return render(request, "handoff.html", **context)


async def _conversation_page(request: web.Request, conversation_id: str, *, status: int = 200,
                             flash: str | None = None, flash_error: bool = False,
                             draft: str = "") -> web.Response:
    desk = request.app[DESK]
    item = await desk.store.get(conversation_id)
    if item is None:
        return render(request, "error.html", status=404, message="Không tìm thấy hội thoại này")
    me = current_session(request).user
    turns = await desk.store.history(conversation_id)
    now = utcnow()
    mine = item.status == ConversationStatus.STAFF and item.assigned_to == me.username
    return render(
        request, "handoff_conversation.html", status=status, flash=flash,
        flash_error=flash_error, item=item, turns=turns, path=_path(item.id),
        channel=CHANNEL_LABELS.get(item.channel, item.channel),
        status_label=STATUS_LABELS.get(item.status, item.status),
        waited=wait_text(item.waited(now)) if item.status == ConversationStatus.WAITING else "",
        last_id=turns[-1].id if turns else 0, can_take=item.status == ConversationStatus.WAITING,
        can_reply=mine,
        can_give_back=item.status == ConversationStatus.STAFF and (mine or me.is_admin),
        draft=draft, refresh_seconds=HISTORY_REFRESH_SECONDS)


async def conversation_page(request: web.Request) -> web.Response:
    """One conversation: history, reply form, actions."""
    message = DONE_MESSAGES.get(request.query.get("ok", ""))
    return await _conversation_page(request, request.match_info["id"], flash=message)


async def new_turns(request: web.Request) -> web.Response:
    """Turns after ``after`` as HTML, with the conversation's status (JSON, for the page)."""
    desk = request.app[DESK]
    conversation_id = request.match_info["id"]
    try:
        after = int(request.query.get("after", "0"))
    except ValueError:
        after = -1
    if not 0 <= after < 2**63:  # a database integer
        return web.json_response({"error": "'after' phải là số nguyên không âm"}, status=400)
    item = await desk.store.get(conversation_id)
    if item is None:
        return web.json_response({"error": "Không tìm thấy hội thoại này"}, status=404)
    turns = await desk.store.history(conversation_id, after)
    html = environment.get_template("handoff_turns.html").render(turns=turns)
    return web.json_response(
        {"html": html, "last_id": turns[-1].id if turns else after, "status": item.status,
         "assigned_to": item.assigned_to},
        headers={"Cache-Control": "no-store"})


async def _after_change(request: web.Request, result: DeskResult, action: str, done: str,
                        draft: str = "") -> web.Response:
    """Redirect to the conversation when it worked; else show it with what went wrong."""
    change = result.change
    conversation_id = request.match_info["id"]
    if change.outcome is Outcome.ALREADY_MINE:
        raise web.HTTPSeeOther(f"{_path(conversation_id)}?ok=mine")
    if change.outcome is not Outcome.DONE:
        status, message = _refusal(change.outcome, change.item, action)
        if change.item is None:
            return render(request, "error.html", status=status, message=message)
        return await _conversation_page(request, conversation_id, status=status, flash=message,
                                        flash_error=True, draft=draft)
    if result.problem is not None:  # done, but the citizen did not get the message
        return await _conversation_page(
            request, conversation_id, status=502, flash_error=True, draft=draft,
            flash=PARTIAL_MESSAGES[done].format(problem=result.problem))
    raise web.HTTPSeeOther(f"{_path(conversation_id)}?ok={done}")


async def take(request: web.Request) -> web.Response:
    """Nhận: take a waiting conversation."""
    result = await request.app[DESK].take(request.match_info["id"],
                                          current_session(request).user)
    return await _after_change(request, result, "take", "taken")


async def reply(request: web.Request) -> web.Response:
    """Send the officer's reply to the citizen."""
    form = await form_data(request)
    text = form.get("text", "")
    conversation_id = request.match_info["id"]
    try:
        result = await request.app[DESK].reply(conversation_id, current_session(request).user,
                                               text)
    except ReplyRefused as exc:
        return await _conversation_page(request, conversation_id, status=400, flash=str(exc),
                                        flash_error=True, draft=text)
    return await _after_change(request, result, "reply", "sent", draft=text)


async def close(request: web.Request) -> web.Response:
    """Đóng: end the help; the bot asks the citizen for a rating."""
    result = await request.app[DESK].close(request.match_info["id"],
                                           current_session(request).user)
    return await _after_change(request, result, "close", "closed")


async def release(request: web.Request) -> web.Response:
    """Trả lại cho bot: the bot answers again, no rating asked."""
    result = await request.app[DESK].release(request.match_info["id"],
                                             current_session(request).user)
    return await _after_change(request, result, "release", "released")


def add_routes(app: web.Application, channels: Mapping[str, ReplySender]) -> None:
    """Handoff routes (staff and admins); ``channels``: the dispatcher's senders by name. Call
    after the staff store and runtime are set."""
    runtime = app[RUNTIME]
    store = runtime.stores.handoff
    app[DESK] = HandoffDesk(channels, runtime.pipeline.locks,
                            runtime.stores.conversations, store, app[STAFF_STORE],
                            runtime.settings.office_schedule)
    app.router.add_get("/handoff", queue_page)
    app.router.add_get("/handoff/{id}", conversation_page)
    app.router.add_get("/handoff/{id}/turns", new_turns)
    app.router.add_post("/handoff/{id}/take", take)
    app.router.add_post("/handoff/{id}/reply", reply)
    app.router.add_post("/handoff/{id}/close", close)
    app.router.add_post("/handoff/{id}/release", release)
