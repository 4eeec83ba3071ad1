"""Transcripts for support officers: the filtered conversation list, one conversation, notes,
tags and CSV export.

* ``GET /admin/conversations``: the filter form (it keeps its values), a table, "Trang sau".
* ``GET /admin/conversations/{id}``: every turn as a chat with the parse in small text, notes
  and tags (ids such as ``telegram:12345`` are percent-encoded in links).
* ``POST /admin/conversations/{id}/notes`` and ``/tags``: recorded in the audit log.
* ``GET /admin/conversations.csv`` (one row per conversation) and
  ``GET /admin/conversations/turns.csv`` (one row per message), with the list's filters.
  Every export is recorded in the audit log, and its text is masked again with today's rules
  (``mask_personal_data``): rows stored under older, weaker rules leave masked too.

Dates in the form are Vietnam dates; the queries live in ``knowledge.transcripts``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from actions import texts
from actions.base import ConversationStatus
from actions.follow import status_name
from bot.admin.intent_titles import INTENT_TITLES, action_title, intent_title
from bot.admin.web import RUNTIME, STAFF_STORE, current_session, form_data, render
from bot.core.policy import LOW_CONFIDENCE
from bot.storage.redact import mask_personal_data
from bot.storage.transcripts import (
    COUNT_CAP,
    EXPORT_MAX_ROWS,
    ConversationSummary,
    Cursor,
    TranscriptError,
    TranscriptFilter,
    TranscriptStore,
    TurnView,
    parse_tags,
    tag_slug,
)
from knowledge.clock import VN_TIME

END_REASONS = {"unfollowed": "người dân hủy", "final": "hồ sơ đã kết thúc",
               "expired": "hết hạn theo dõi"}

log = logging.getLogger(__name__)

TRANSCRIPTS = web.AppKey("transcripts", TranscriptStore)
CHANNEL_LABELS = {"web": "Web", "telegram": "Telegram", "zalo": "Zalo",
                  "console": "Thử trên máy (console)"}
STATUS_LABELS: dict[str, str] = {ConversationStatus.BOT: "Bot đang trả lời",
                                 ConversationStatus.WAITING: "Chờ nhân viên",
                                 ConversationStatus.STAFF: "Nhân viên đang hỗ trợ"}
CONFIDENCE_CHOICES = (
    ("0.3", "Dưới 30%"),
    (f"{LOW_CONFIDENCE:g}", f"Dưới {LOW_CONFIDENCE:.0%} (bot phải hỏi lại)"),
    ("0.6", "Dưới 60%"),
    ("0.8", "Dưới 80%"),
)
FLAGS = ("fallback", "handoff", "negative")
FIELDS = ("q", "channel", "from", "to", "intent", "procedure", "confidence", "tag", *FLAGS)
DONE_MESSAGES = {"note": "Đã lưu ghi chú", "tags": "Đã lưu nhãn",
                 "erase": "Đã xóa dữ liệu của hội thoại (đã ghi nhật ký)"}


def conversation_url(conversation_id: str, suffix: str = "") -> str:
    """The page of a conversation; the id is percent-encoded (it holds ':' and may hold '/')."""
    return f"/admin/conversations/{quote(conversation_id, safe='')}{suffix}"


def vn_number(value: int) -> str:
    """1234 -> "1.234"."""
    return f"{value:,}".replace(",", ".")


def percent(value: float | None) -> str:
    """0.734 -> "73%"."""
    return "" if value is None else f"{value:.0%}"


def turn_details(turn: TurnView, names: Mapping[str, str]) -> list[str]:
    """The parse and handling of a turn, as short phrases for the small text under it."""
    parts: list[str] = []
    if turn.intent:
        confidence = "" if turn.confidence is None else f", tin cậy {percent(turn.confidence)}"
        parts.append(f"ý định: {intent_title(turn.intent)}{confidence}")
    if turn.procedure:
        parts.append(f"thủ tục: {names.get(turn.procedure, turn.procedure)}")
    if turn.entities:
        found = ", ".join(f"{e.get('entity')}={e.get('value')}" for e in turn.entities)
        parts.append(f"nhận ra: {found}")
    if turn.action:
        parts.append(f"hành động: {action_title(turn.action)}")
    if turn.latency_ms is not None:
        parts.append(f"xử lý {turn.latency_ms:.0f} ms")
    if turn.misunderstood:
        parts.append("bot không hiểu")
    if turn.feedback == 1:
        parts.append("👍 người dân thích")
    elif turn.feedback == -1:
        parts.append("👎 người dân không thích")
    return parts


@dataclass(slots=True)
class FilterForm:
    """The list's filters as typed (to show them back) and as a query (to run them)."""

    values: dict[str, str]
    wanted: TranscriptFilter = field(default_factory=TranscriptFilter)
    errors: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any filter is set."""
        return any(self.values.values())

    def query(self, **extra: str) -> str:
        """The filters (and ``extra``) as a URL query string, empty values left out."""
        items = {k: v for k, v in self.values.items() if v}
        items.update({k: v for k, v in extra.items() if v})
        return urlencode(items)


def _vn_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), VN_TIME)


def parse_filter(query: Mapping[str, str]) -> FilterForm:
    """Read the filter form; each bad field adds a clear message and filters nothing."""
    values = {name: query.get(name, "").strip()[:200] for name in FIELDS}
    for flag in FLAGS:
        values[flag] = "1" if values[flag] else ""
    errors: list[str] = []
    dates: dict[str, dt.date] = {}
    for name, label in (("from", "Từ ngày"), ("to", "Đến ngày")):
        if values[name]:
            try:
                dates[name] = dt.date.fromisoformat(values[name])
            except ValueError:
                errors.append(f"{label} không đúng dạng ngày (ví dụ 2025-03-31)")
    if "from" in dates and "to" in dates and dates["from"] > dates["to"]:
        errors.append("“Từ ngày” đang sau “Đến ngày”")
    confidence: float | None = None
    if values["confidence"]:
        try:
            confidence = float(values["confidence"])
        except ValueError:
            confidence = None
        if confidence is None or not 0 < confidence <= 1:
            errors.append("Mức độ tin cậy không hợp lệ")
            confidence = None
    tag = tag_slug(values["tag"]) if values["tag"] else None
    if values["tag"] and not tag:
        errors.append("Nhãn cần có chữ hoặc số")
    wanted = TranscriptFilter(
        channel=values["channel"] or None,
        updated_from=_vn_day_start(dates["from"]) if "from" in dates else None,
        updated_before=(_vn_day_start(dates["to"] + dt.timedelta(days=1))
                        if "to" in dates else None),
        intent=values["intent"] or None,
        procedure=values["procedure"] or None,
        confidence_below=confidence,
        fallback=bool(values["fallback"]),
        handoff=bool(values["handoff"]),
        negative_feedback=bool(values["negative"]),
        tag=tag,
        text=values["q"],
    )
    if not errors:
        try:
            wanted.conditions()
        except TranscriptError as exc:
            errors.append(str(exc))
    return FilterForm(values, wanted, errors)


def _store(request: web.Request) -> TranscriptStore:
    return request.app[TRANSCRIPTS]


async def _names(request: web.Request) -> dict[str, str]:
    return await _store(request).procedure_names()


def _choices(labels: Mapping[str, str], current: str) -> list[tuple[str, str]]:
    """Select options, keeping an unknown current value selectable."""
    options = list(labels.items())
    if current and current not in labels:
        options.append((current, current))
    return options


async def conversation_list(request: web.Request) -> web.Response:
    """The filtered list, one keyset page at a time."""
    form = parse_filter(request.query)
    store = _store(request)
    after: Cursor | None = None
    raw_cursor = request.query.get("after", "")
    if raw_cursor and not form.errors:
        try:
            after = Cursor.decode(raw_cursor)
        except TranscriptError as exc:
            form.errors.append(str(exc))
    names = await store.procedure_names()
    items: list[ConversationSummary] = []
    next_query = ""
    total: int | None = None
    if not form.errors:
        page = await store.page(form.wanted, after)
        items = page.items
        if page.next is not None:
            next_query = form.query(after=page.next.encode())
        if after is None:  # the count is the same on every page: shown on the first
            total = len(items) if page.next is None else await store.count(form.wanted)
    return render(
        request, "transcripts.html", status=400 if form.errors else 200,
        form=form, items=items, names=names, next_query=next_query, total=total,
        count_cap=COUNT_CAP, later_page=after is not None,
        channels=_choices(CHANNEL_LABELS, form.values["channel"]),
        intents=_choices(INTENT_TITLES, form.values["intent"]),
        procedures=_choices(names, form.values["procedure"]),
        confidences=_choices(dict(CONFIDENCE_CHOICES), form.values["confidence"]),
        channel_labels=CHANNEL_LABELS,
        status_labels=STATUS_LABELS, conversation_url=conversation_url,
        low_confidence=LOW_CONFIDENCE, vn_number=vn_number, percent=percent,
        export_max=vn_number(EXPORT_MAX_ROWS),
        flash="; ".join(form.errors) if form.errors else DONE_MESSAGES.get(
            request.query.get("done", "")), flash_error=bool(form.errors),
    )


async def _detail_page(request: web.Request, conversation_id: str, status: int = 200,
                       flash: str | None = None, flash_error: bool = False,
                       note_text: str = "", tags_text: str | None = None) -> web.Response:
    detail = await _store(request).conversation(conversation_id)
    if detail is None:
        return render(request, "error.html", status=404,
                      message="Không tìm thấy hội thoại này (có thể mã hội thoại bị sai).")
    return render(
        request, "transcript.html", status=status, detail=detail, c=detail.summary,
        names=await _names(request),
        channel_labels=CHANNEL_LABELS, status_labels=STATUS_LABELS,
        conversation_url=conversation_url, vn_number=vn_number, percent=percent,
        turn_details=turn_details, note_text=note_text,
        tags_text=", ".join(detail.summary.tags) if tags_text is None else tags_text,
        flash=flash, flash_error=flash_error,
        follows=await request.app[RUNTIME].stores.follows.history(conversation_id),
        status_name=status_name, day=texts.day, end_reasons=END_REASONS,
    )


async def conversation_page(request: web.Request) -> web.Response:
    """One conversation: its turns as a chat, its notes and tags."""
    done = DONE_MESSAGES.get(request.query.get("done", ""))
    return await _detail_page(request, request.match_info["id"], flash=done)


async def add_note(request: web.Request) -> web.StreamResponse:
    """Save an officer's note on a conversation."""
    conversation_id = request.match_info["id"]
    text = (await form_data(request)).get("text", "")
    me = current_session(request).user
    try:
        note = await _store(request).add_note(conversation_id, me.username, text)
    except TranscriptError as exc:
        return await _detail_page(request, conversation_id, 400, str(exc), True, note_text=text)
    except LookupError:
        return render(request, "error.html", status=404, message="Không tìm thấy hội thoại này.")
    await request.app[STAFF_STORE].audit(me.username, "conversation", conversation_id, "note",
                                         None, {"note": note.text}, summary="Thêm ghi chú")
    raise web.HTTPSeeOther(conversation_url(conversation_id, "?done=note"))


async def set_tags(request: web.Request) -> web.StreamResponse:
    """Replace a conversation's tags."""
    conversation_id = request.match_info["id"]
    text = (await form_data(request)).get("tags", "")
    me = current_session(request).user
    try:
        before, after = await _store(request).set_tags(conversation_id, parse_tags(text))
    except TranscriptError as exc:
        return await _detail_page(request, conversation_id, 400, str(exc), True, tags_text=text)
    except LookupError:
        return render(request, "error.html", status=404, message="Không tìm thấy hội thoại này.")
    if before != after:
        await request.app[STAFF_STORE].audit(
            me.username, "conversation", conversation_id, "tags", {"tags": before},
            {"tags": after}, summary=f"Nhãn: {', '.join(after) or '(không có)'}")
    raise web.HTTPSeeOther(conversation_url(conversation_id, "?done=tags"))


def _csv_time(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(VN_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _cell(value: Any) -> str:
    """A CSV cell; text a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


SUMMARY_HEADER = ("Mã hội thoại", "Kênh", "Người dùng", "Trạng thái",
                  "Bắt đầu (giờ Việt Nam)", "Hoạt động gần nhất (giờ Việt Nam)",
                  "Số tin nhắn của người dân", "Ý định", "Thủ tục", "Số lần bot không hiểu",
                  "Độ tin cậy thấp nhất", "Đã yêu cầu gặp nhân viên", "Số lượt thích",
                  "Số lượt không thích", "Điểm đánh giá", "Nhãn", "Nhân viên phụ trách",
                  "Tin nhắn đầu tiên")
TURN_HEADER = ("Mã hội thoại", "Kênh", "Thời điểm (giờ Việt Nam)", "Chiều", "Người gửi",
               "Nội dung", "Ý định", "Độ tin cậy", "Thủ tục", "Thông tin nhận ra",
               "Hành động", "Thời gian xử lý (ms)", "Bot không hiểu", "Phản hồi")


def _summary_cells(c: ConversationSummary) -> list[str]:
    return [_cell(v) for v in (
        c.id, c.channel, c.user_id, STATUS_LABELS.get(c.status, c.status),
        _csv_time(c.created_at), _csv_time(c.updated_at), c.messages, " ".join(c.intents),
        " ".join(c.procedures), c.fallbacks,
        "" if c.min_confidence is None else f"{c.min_confidence:.2f}",
        "có" if c.handoff else "không", c.feedback_up, c.feedback_down, c.rating,
        " ".join(c.tags), c.assigned_to, _masked(c.preview))]


def _masked(text: str | None) -> str | None:
    """Text for an export: masked with the current rules (masking masked text changes
    nothing)."""
    return None if text is None else mask_personal_data(text)


def _direction(turn: TurnView) -> str:
    if turn.direction == "in":
        return "Người dân"
    return "Bot" if turn.sender == "bot" else "Nhân viên"


def _turn_cells(c: ConversationSummary, t: TurnView) -> list[str]:
    entities = _masked("; ".join(f"{e.get('entity')}={e.get('value')}" for e in t.entities))
    feedback = {1: "thích", -1: "không thích"}.get(t.feedback or 0, "")
    return [_cell(v) for v in (
        c.id, t.channel, _csv_time(t.at), _direction(t), t.sender if t.direction == "out" else
        c.user_id, _masked(t.text), t.intent, "" if t.confidence is None else f"{t.confidence:.2f}",
        t.procedure, entities, t.action,
        "" if t.latency_ms is None else f"{t.latency_ms:.0f}",
        "có" if t.misunderstood else "", feedback)]


CsvRows = AsyncIterator[list[list[str]]]


async def _export(request: web.Request, name: str, header: tuple[str, ...],
                  rows: Callable[[FilterForm], CsvRows]) -> web.StreamResponse:
    """Stream a CSV file of the filtered conversations, batch by batch. A client that goes
    away mid-way (a cancelled download, a closed tab) ends the export quietly: the next write
    fails with ConnectionResetError, and nobody is left to tell."""
    form = parse_filter(request.query)
    if form.errors:
        return render(request, "error.html", status=400, message="; ".join(form.errors))
    me = current_session(request).user
    log.info("%s exported %s with filters %s", me.username, name, form.query())
    await request.app[STAFF_STORE].audit(me.username, "conversation", "*", "export", None,
                                         {"file": name, "filters": form.query()},
                                         summary=f"Tải {name}.csv")
    stamp = dt.datetime.now(VN_TIME).strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"',
        "Cache-Control": "no-store",
    })
    try:
        await response.prepare(request)
        buffer = io.StringIO()
        buffer.write("\ufeff")  # the BOM makes Excel read the file as UTF-8
        csv.writer(buffer).writerow(header)
        await response.write(buffer.getvalue().encode("utf-8"))
        async for batch in rows(form):
            buffer = io.StringIO()
            csv.writer(buffer).writerows(batch)
            await response.write(buffer.getvalue().encode("utf-8"))
        await response.write_eof()
    except ConnectionResetError:  # aiohttp's ClientConnectionResetError is one
        log.info("%s went away during the %s export; stopped", me.username, name)
    return response


async def export_conversations(request: web.Request) -> web.StreamResponse:
    """The filtered list as CSV, one row per conversation (at most EXPORT_MAX_ROWS)."""
    async def rows(form: FilterForm) -> CsvRows:
        async for batch in _store(request).batches(form.wanted, previews=True):
            yield [_summary_cells(item) for item in batch]

    return await _export(request, "hoi-thoai", SUMMARY_HEADER, rows)


async def export_turns(request: web.Request) -> web.StreamResponse:
    """Every message of the filtered conversations as CSV (at most EXPORT_MAX_ROWS)."""
    async def rows(form: FilterForm) -> CsvRows:
        async for batch in _store(request).turn_batches(form.wanted):
            yield [_turn_cells(item, turn) for item, turn in batch]

    return await _export(request, "tin-nhan", TURN_HEADER, rows)


def add_routes(app: web.Application) -> None:
    """Transcript routes (staff and admins); call after the staff store is set."""
    app[TRANSCRIPTS] = app[RUNTIME].stores.transcripts
    app.router.add_get("/conversations", conversation_list)
    app.router.add_get("/conversations.csv", export_conversations)
    app.router.add_get("/conversations/turns.csv", export_turns)
    app.router.add_get("/conversations/{id}", conversation_page)
    app.router.add_post("/conversations/{id}/notes", add_note)
    app.router.add_post("/conversations/{id}/tags", set_tags)
