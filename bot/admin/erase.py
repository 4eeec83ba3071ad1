"""Deleting a citizen's data on request, from the staff pages (admins only, audited).

* ``GET /admin/conversations/{id}/erase``: what is stored about the conversation, and a form
  to confirm (the confirmation step: nothing is deleted by a GET or by one click).
* ``POST /admin/conversations/{id}/erase`` (CSRF-checked by the admin guard): deletes it all
  under the conversation's lock, records who deleted which conversation and how many rows in
  the audit log, and returns to the transcript list.

Staff accounts that are not admins are refused (403) both ways. The rows are the ones a
citizen's own "xóa dữ liệu của tôi" deletes (``bot/storage/own_data.py``).
"""

from __future__ import annotations

from aiohttp import web

from bot.admin.transcripts import CHANNEL_LABELS, conversation_url
from bot.admin.web import RUNTIME, STAFF_STORE, current_session, form_data, render
from bot.storage.own_data import PersonalDataStore

# What each table holds, for staff (the citizen's words are in actions/texts.py).
TABLE_LABELS = {
    "conversations": "Hội thoại (trạng thái)",
    "turns": "Tin nhắn trong lịch sử",
    "inbox": "Tin nhắn đã nhận (hộp thư đến)",
    "outbox": "Trả lời chờ gửi",
    "conversation_notes": "Ghi chú của nhân viên",
    "dossier_follows": "Hồ sơ đang theo dõi",
    "dossier_notices": "Thông báo về hồ sơ đang theo dõi",
}
NOTHING = "Không có dữ liệu nào của hội thoại này."
ADMINS_ONLY = "Chỉ quản trị viên được xóa dữ liệu của người dân."


def _store(request: web.Request) -> PersonalDataStore:
    return request.app[RUNTIME].stores.personal_data


def _refused(request: web.Request) -> web.Response | None:
    if current_session(request).user.is_admin:
        return None
    return render(request, "error.html", status=403, message=ADMINS_ONLY)


async def erase_page(request: web.Request) -> web.Response:
    """The confirmation: what would be deleted."""
    refused = _refused(request)
    if refused is not None:
        return refused
    conversation_id = request.match_info["id"]
    held = {table: count for table, count in
            (await _store(request).held(conversation_id)).items() if count}
    if not held:
        return render(request, "error.html", status=404, message=NOTHING)
    return render(request, "erase.html", conversation_id=conversation_id, held=held,
                  labels=TABLE_LABELS, channel_labels=CHANNEL_LABELS,
                  conversation_url=conversation_url)


async def erase(request: web.Request) -> web.StreamResponse:
    """Delete everything of the conversation, audited."""
    refused = _refused(request)
    if refused is not None:
        return refused
    conversation_id = request.match_info["id"]
    if (await form_data(request)).get("confirm") != "yes":
        raise web.HTTPSeeOther(conversation_url(conversation_id, "/erase"))
    async with request.app[RUNTIME].pipeline.locks.hold(conversation_id):
        deleted = {table: count for table, count in
                   (await _store(request).erase(conversation_id)).items() if count}
    if not deleted:
        return render(request, "error.html", status=404, message=NOTHING)
    me = current_session(request).user
    await request.app[STAFF_STORE].audit(
        me.username, "conversation", conversation_id, "erase", None, {"deleted": deleted},
        summary="Xóa dữ liệu của người dân: " + ", ".join(
            f"{TABLE_LABELS.get(table, table)} {count}" for table, count in deleted.items()))
    raise web.HTTPSeeOther("/admin/conversations?done=erase")


def add_routes(app: web.Application) -> None:
    """The erase routes (call after the transcript routes)."""
    app.router.add_get("/conversations/{id}/erase", erase_page)
    app.router.add_post("/conversations/{id}/erase", erase)
