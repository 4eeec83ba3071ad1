"""Knowledge-base pages for administrators: lists, edit forms with drafts and preview,
publishing, hiding, deleting, undo, the audit log, and YAML / FAQ-CSV download and upload.

Everything under /admin/kb is admin-only (the auth middleware refuses staff). Validation is
the import's (``knowledge.drafts`` uses the schema and the bundle's cross-checks); this module
maps form fields to schema fields and back, and shows each problem next to its field.
After every published change the new knowledge version is announced, so every worker reloads
its snapshot and NLU lexicon, and this worker's reloader is run at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import MultiDictProxy

from actions.base import ConversationStatus, Reply
from bot.admin.web import RELOADER, RUNTIME, current_session, local_time, render
from bot.core.brain import answer
from bot.core.messages import IncomingMessage
from bot.core.state import ConversationState
from bot.service.composition import Runtime
from bot.service.reload import KB_VERSION, Reloader, announce
from knowledge.clock import utcnow
from knowledge.drafts import (
    AUDIT_KINDS,
    HIDEABLE_KINDS,
    KB_KINDS,
    EntryInvalid,
    FieldError,
    KbEditor,
)
from knowledge.explain import FIELD_LABELS, KIND_LABELS, LINE_FIELDS, describe
from knowledge.faq_csv import FaqCsvError, read_faq_csv, write_faq_csv
from knowledge.files import KnowledgeFileError, entry_data, read_document, write_document
from knowledge.schema import Faq, OnlineMode, Procedure, PublishStatus, UnverifiedField
from knowledge.search import KnowledgeIndex
from knowledge.snapshot import KnowledgeSnapshot
from knowledge.store import Entry
from knowledge.tables import AuditRow
from nlu.normalize import fold

log = logging.getLogger(__name__)

KIND_PATTERN = "procedure|faq|office"
ROW_FIELDS = {"documents": ("name", "copies", "condition", "note"),
              "fees": ("name", "amount_vnd", "note", "legal_source")}
GROUP_FIELDS = ("processing_time", "online", "unverified")
ONLINE_LABELS = {
    OnlineMode.FULL.value: "Toàn trình: làm trọn vẹn trực tuyến",
    OnlineMode.PARTIAL.value: "Một phần: nộp trực tuyến, còn bước phải đến trực tiếp",
    OnlineMode.NONE.value: "Không: chỉ nộp trực tiếp",
}
STATUS_LABELS = {
    PublishStatus.PUBLISHED.value: "Hiển thị cho người dân",
    PublishStatus.DRAFT.value: "Ẩn (người dân không thấy)",
}
ACTION_LABELS = {
    "publish": "Xuất bản", "hide": "Ẩn", "show": "Hiện lại", "delete": "Xóa", "undo": "Hoàn tác",
    "import": "Nạp tệp", "create": "Tạo mới", "update": "Sửa",
    "promote": "Xác minh cho thành phố", "demote": "Bỏ xác minh",
}
MESSAGES = {
    "saved": "Đã lưu nháp. Người dân chưa thấy thay đổi này cho đến khi bạn bấm «Xuất bản».",
    "published": "Đã xuất bản. Trợ lý trả lời theo nội dung mới ngay từ bây giờ.",
    "unchanged": "Bản nháp giống hệt bản đang dùng nên không có gì để xuất bản; đã bỏ nháp.",
    "discarded": "Đã hủy bản nháp.",
    "hidden": "Đã ẩn: người dân không còn thấy mục này.",
    "shown": "Đã hiện lại cho người dân.",
    "deleted": "Đã xóa.",
    "undone": "Đã hoàn tác thay đổi gần nhất.",
}
STALE_AFTER = dt.timedelta(days=365)
AMOUNT_GROUPED = re.compile(r"-?\d{1,3}(?:[., ]\d{3})+")
AMOUNT_UNIT = re.compile(r"\s*(?:đồng|đ|vnđ|vnd)\.?$", re.IGNORECASE)


def _live(request: web.Request) -> tuple[Runtime, Reloader]:

    return request.app[RUNTIME], request.app[RELOADER]


def _editor(request: web.Request) -> KbEditor:
    return KbEditor(_live(request)[0].stores.knowledge)


def _kind(request: web.Request) -> str:
    kind = request.match_info["kind"]
    if kind not in KB_KINDS:
        raise web.HTTPNotFound()
    return kind


async def announce_change(request: web.Request, what: str) -> None:
    """Tell every worker to reload the knowledge base, and reload this one now."""
    runtime, reloader = _live(request)
    user = current_session(request).user.username
    await announce(runtime.stores.key_values, KB_VERSION,
                   {"by": user, "what": what, "at": utcnow().isoformat()},
                   runtime.redis)
    try:
        await reloader.check()
    except Exception:  # the change is saved; the poller retries within seconds
        log.exception("reloading after %s failed", what)


# Forms <-> entries


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _optional(value: str) -> str | None:
    return value.strip() or None


def _amount(value: str) -> str | None:
    """An amount as typed ("150.000", "150 000 đ") in the schema's terms (digits)."""
    text = AMOUNT_UNIT.sub("", value.strip())
    if AMOUNT_GROUPED.fullmatch(text):
        text = re.sub(r"[., ]", "", text)
    return text or None


def _rows(form: MultiDictProxy[Any], name: str) -> list[dict[str, Any]]:
    fields = ROW_FIELDS[name]
    indexes = sorted({int(key.split(".")[1]) for key in form
                      if key.startswith(f"{name}.") and key.split(".")[1].isdigit()})
    rows = []
    for index in indexes:
        cells = {field: str(form.get(f"{name}.{index}.{field}", "")).strip()
                 for field in fields}
        if not any(cells.values()):
            continue
        row: dict[str, Any] = {field: cells[field] or None for field in fields}
        row["name"] = cells["name"]
        if name == "fees":
            row["amount_vnd"] = _amount(cells["amount_vnd"])
        rows.append(row)
    return rows


def entry_from_form(kind: str, form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The raw entry a posted form describes, in the schema's shape (not yet validated)."""
    def text(key: str) -> str:
        value = form.get(key, "")
        return value.strip() if isinstance(value, str) else ""

    def values(key: str) -> list[str]:
        return [v for v in form.getall(key, []) if isinstance(v, str) and v]

    if kind == "procedure":
        days = text("processing_time.working_days").replace(",", ".")
        return {
            "id": text("id"), "code": _optional(text("code")), "name": text("name"),
            "aliases": _lines(text("aliases")), "category": text("category"),
            "level": text("level"), "agency": text("agency"), "offices": values("offices"),
            "steps": _lines(text("steps")), "documents": _rows(form, "documents"),
            "processing_time": {"text": text("processing_time.text"),
                                "working_days": days or None},
            "fees": _rows(form, "fees"),
            "online": {"mode": text("online.mode"), "link": _optional(text("online.link")),
                       "note": _optional(text("online.note"))},
            "legal_basis": _lines(text("legal_basis")), "sources": _lines(text("sources")),
            "verified": text("verified"),
            "unverified": {field.value: text(f"unverified.{field.value}")
                           for field in UnverifiedField if text(f"unverified.{field.value}")},
            "status": text("status") or PublishStatus.PUBLISHED.value,
        }
    if kind == "faq":
        return {
            "id": text("id"), "question": text("question"),
            "paraphrases": _lines(text("paraphrases")), "answer": text("answer"),
            "procedure": _optional(text("procedure")),
            "tags": _lines(text("tags").replace(",", "\n")),
            "status": text("status") or PublishStatus.PUBLISHED.value,
        }
    return {
        "id": text("id"), "name": text("name"), "address": _optional(text("address")),
        "phone": _optional(text("phone")), "hours": _optional(text("hours")),
        "map_link": _optional(text("map_link")), "places": _lines(text("places")),
        "handles": values("handles"), "unverified": _optional(text("unverified")),
        "sources": _lines(text("sources")),
    }


def blank_entry(kind: str) -> dict[str, Any]:
    """What a new entry's form starts with."""
    if kind == "procedure":
        return {"status": PublishStatus.PUBLISHED.value, "online": {"mode": "none"},
                "verified": dt.date.today().isoformat(), "documents": [], "fees": [],
                "processing_time": {}, "unverified": {}}
    if kind == "faq":
        return {"status": PublishStatus.PUBLISHED.value}
    return {}


def form_key(loc: Sequence[str | int]) -> tuple[str, str]:
    """The form field showing an error at a schema location, and a prefix for the message
    (the line of a one-per-line field)."""
    if not loc:
        return "", ""
    head = str(loc[0])
    line = f"Dòng {int(loc[1]) + 1}: " if len(loc) > 1 and isinstance(loc[1], int) else ""
    if head in LINE_FIELDS:
        return head, line
    if head in ROW_FIELDS:
        return (f"{head}.{loc[1]}.{loc[2]}", "") if len(loc) >= 3 else (head, line)
    if head in GROUP_FIELDS and len(loc) >= 2:
        return (head, "") if loc[-1] == "[key]" else (f"{head}.{loc[1]}", "")
    return head, ""


@dataclass(frozen=True, slots=True)
class FormErrors:
    """Errors by form field, and all of them as a list for the summary."""

    by_field: dict[str, list[str]]
    summary: list[tuple[str, str]]  # (form field, "label: message")

    @classmethod
    def of(cls, errors: Sequence[FieldError]) -> FormErrors:
        """Place each error at its field."""
        by_field: dict[str, list[str]] = {}
        summary = []
        for error in errors:
            key, prefix = form_key(error.loc)
            by_field.setdefault(key, []).append(prefix + error.message)
            summary.append((key, f"{error.label}: {error.message}" if error.loc
                            else error.message))
        return cls(by_field, summary)


NO_ERRORS = FormErrors({}, [])


# Preview


@dataclass(frozen=True, slots=True)
class PreviewAnswer:
    """One question asked against the draft and against what citizens get now."""

    question: str
    draft: list[Reply]
    current: list[Reply]


def snapshot_with(base: KnowledgeSnapshot, kind: str, entry_id: str,
                  entry: Entry | None) -> KnowledgeSnapshot:
    """The published knowledge with one entry replaced (removed when None or hidden)."""
    tables: dict[str, dict[str, Any]] = {"procedure": dict(base.procedures),
                                         "office": dict(base.offices),
                                         "faq": dict(base.faqs)}
    tables[kind].pop(entry_id, None)
    if entry is not None and getattr(entry, "status", PublishStatus.PUBLISHED) == "published":
        tables[kind][entry_id] = entry
    return KnowledgeSnapshot.build(base.city, list(tables["procedure"].values()),
                                   list(tables["office"].values()),
                                   list(tables["faq"].values()), base.synonyms)


async def _ask(runtime: Runtime, snapshot: KnowledgeSnapshot, question: str,
               username: str) -> list[Reply]:
    """The bot's replies to a first message, from this knowledge; nothing is saved."""
    brain = runtime.pipeline.brain.with_knowledge(snapshot)
    # no feedback recorder: a preview stores nothing, even a 👍 payload typed as a question
    brain = brain.with_services(dataclasses.replace(brain.services, feedback=None))
    turn = await answer(brain, ConversationState(), ConversationStatus.BOT,
                        IncomingMessage("preview", username, question))
    return list(turn.result.replies)


async def preview(runtime: Runtime, kind: str, entry: Entry, questions: Sequence[str],
                  username: str) -> list[PreviewAnswer]:
    """Ask the real NLU, policy and actions each question with the draft applied, and
    without it, saving no conversation state or transcript."""
    current = runtime.pipeline.brain.knowledge
    draft = snapshot_with(current, kind, entry.id, entry)
    return [PreviewAnswer(q, await _ask(runtime, draft, q, username),
                          await _ask(runtime, current, q, username))
            for q in questions]


def default_questions(entry: Entry, knowledge: KnowledgeSnapshot) -> list[str]:
    """What to ask when the officer typed no question."""
    if isinstance(entry, Procedure):
        return [f"thủ tục {entry.name}", f"lệ phí {entry.name}"]
    if isinstance(entry, Faq):
        return [entry.question]
    handled = [knowledge.procedures[p].name for p in entry.handles if p in knowledge.procedures]
    return [f"nộp hồ sơ {handled[0]} ở đâu"] if handled else [entry.name]


# Pages


def _number(value: Any) -> Any:
    """A float that is a whole number without its ".0" (8.0 -> 8), for form fields."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _stale(entry: Procedure) -> bool:
    return dt.date.today() - entry.verified > STALE_AFTER


def _matches(query: str, *texts: str | None) -> bool:
    words = fold(query).split()
    haystack = " ".join(fold(t) for t in texts if t)
    return all(word in haystack for word in words)


async def kb_home(request: web.Request) -> web.Response:
    """Procedures, FAQs and offices with their status and pending drafts; a search box."""
    store = _live(request)[0].stores.knowledge
    query = request.query.get("q", "").strip()[:200]
    all_procedures = await store.procedures(published_only=False)
    all_faqs = await store.faqs(published_only=False)
    all_offices = await store.offices()
    procedures, faqs, offices = all_procedures, all_faqs, all_offices
    if query:
        fuzzy = {(hit.kind, hit.id) for hit in KnowledgeIndex(procedures, faqs).search(
            query, limit=50, min_score=80)}
        procedures = [p for p in procedures if ("procedure", p.id) in fuzzy or _matches(
            query, p.id, p.name, p.code, p.category, p.agency, *p.aliases)]
        faqs = [f for f in faqs if ("faq", f.id) in fuzzy or _matches(
            query, f.id, f.question, f.answer, *f.paraphrases, *f.tags)]
        offices = [o for o in offices if _matches(query, o.id, o.name, o.address, *o.places)]
    existing = ({("procedure", p.id) for p in all_procedures}
                | {("faq", f.id) for f in all_faqs} | {("office", o.id) for o in all_offices})
    drafts = await _editor(request).drafts()
    return render(
        request, "kb.html", query=query, procedures=procedures, faqs=faqs, offices=offices,
        drafts=drafts, drafted={(d.kind, d.entry_id) for d in drafts}, existing=existing,
        procedure_names={p.id: p.name for p in all_procedures}, stale=_stale,
        kind_labels=KIND_LABELS, flash=MESSAGES.get(request.query.get("msg", "")),
    )


async def _edit_page(request: web.Request, kind: str, entry_id: str | None,
                     entry: Mapping[str, Any], errors: FormErrors = NO_ERRORS,
                     answers: Sequence[PreviewAnswer] = (), question: str = "",
                     flash: str | None = None, status: int = 200) -> web.Response:
    runtime, _reloader = _live(request)
    editor = KbEditor(runtime.stores.knowledge)
    published = await runtime.stores.knowledge.entry(kind, entry_id) if entry_id else None
    draft = await editor.draft(kind, entry_id) if entry_id else None
    last = await editor.last_change(kind, entry_id) if entry_id else None
    return render(
        request, "kb_edit.html", status=status, kind=kind, kind_label=KIND_LABELS[kind],
        entry_id=entry_id, entry=entry, published=entry_data(published) if published else None,
        draft=draft, last_change=last, errors=errors.by_field, error_list=errors.summary,
        answers=answers, question=question, flash=flash, number=_number,
        offices=await runtime.stores.knowledge.offices(),
        procedures=await runtime.stores.knowledge.procedures(published_only=False),
        unverified_fields=[(f.value, f"Chưa xác minh: {FIELD_LABELS[f.value]}")
                           for f in UnverifiedField],
        online_labels=ONLINE_LABELS, status_labels=STATUS_LABELS,
        hideable=kind in HIDEABLE_KINDS,
        draft_diff=field_diffs(entry_data(published), draft.data) if draft and published else [],
    )


async def new_form(request: web.Request) -> web.Response:
    """An empty form for a new entry."""
    kind = _kind(request)
    return await _edit_page(request, kind, None, blank_entry(kind))


async def edit_form(request: web.Request) -> web.Response:
    """The form of an entry: its pending draft if there is one, else the published entry."""
    kind = _kind(request)
    entry_id = request.match_info["entry_id"]
    runtime, _reloader = _live(request)
    draft = await KbEditor(runtime.stores.knowledge).draft(kind, entry_id)
    published = await runtime.stores.knowledge.entry(kind, entry_id)
    if draft is not None:
        data = draft.data
    elif published is not None:
        data = entry_data(published)
    else:
        return render(request, "error.html", status=404,
                      message=f"Không có {KIND_LABELS[kind]} mã «{entry_id}».")
    return await _edit_page(request, kind, entry_id, data,
                            flash=MESSAGES.get(request.query.get("msg", "")))


def _entry_url(kind: str, entry_id: str, message: str | None = None) -> str:
    return f"/admin/kb/{kind}/{entry_id}" + (f"?msg={message}" if message else "")


async def submit(request: web.Request) -> web.StreamResponse:
    """The edit form's buttons: Lưu nháp, Xem trước, Xuất bản, Hủy nháp."""
    kind = _kind(request)
    entry_id = request.match_info.get("entry_id")
    form = await request.post()
    action = str(form.get("action", "save"))
    runtime, _reloader = _live(request)
    editor = KbEditor(runtime.stores.knowledge)
    user = current_session(request).user.username
    if action == "discard":
        if entry_id is not None:
            await editor.discard(kind, entry_id)
            if await runtime.stores.knowledge.entry(kind, entry_id) is not None:
                raise web.HTTPSeeOther(_entry_url(kind, entry_id, "discarded"))
        raise web.HTTPSeeOther("/admin/kb?msg=discarded")
    raw = entry_from_form(kind, form)
    question = str(form.get("question", "")).strip()[:500]
    try:
        entry = await editor.save_draft(kind, raw, user, entry_id)
        if action == "publish":
            change = await editor.publish(kind, entry.id, user)
            if change.changed:
                await announce_change(request, f"{kind} {entry.id}")
            raise web.HTTPSeeOther(_entry_url(kind, entry.id,
                                              "published" if change.changed else "unchanged"))
    except EntryInvalid as invalid:
        return await _edit_page(request, kind, entry_id, raw, FormErrors.of(invalid.errors),
                                question=question, status=400)
    if action == "preview":
        questions = [question] if question else default_questions(
            entry, runtime.pipeline.brain.knowledge)
        answers = await preview(runtime, kind, entry, questions, user)
        return await _edit_page(request, kind, entry.id, entry_data(entry), answers=answers,
                                question=question, flash="Đã lưu nháp. Dưới đây là câu trả lời "
                                "thử theo bản nháp, chưa ai khác thấy.")
    raise web.HTTPSeeOther(_entry_url(kind, entry.id, "saved"))


async def _entry_action(request: web.Request) -> web.StreamResponse:
    """Hide, show, delete or undo one entry."""
    kind = _kind(request)
    entry_id = request.match_info["entry_id"]
    operation = request.match_info["operation"]
    editor = _editor(request)
    user = current_session(request).user.username
    try:
        if operation == "hide":
            change = await editor.set_status(kind, entry_id, PublishStatus.DRAFT, user)
        elif operation == "show":
            change = await editor.set_status(kind, entry_id, PublishStatus.PUBLISHED, user)
        elif operation == "delete":
            change = await editor.delete(kind, entry_id, user)
        else:
            change = await editor.undo(kind, entry_id, user)
    except EntryInvalid as invalid:
        return render(request, "error.html", status=400, message=str(invalid))
    if change.changed:
        await announce_change(request, f"{operation} {kind} {entry_id}")
    message = {"hide": "hidden", "show": "shown", "delete": "deleted",
               "undo": "undone"}[operation]
    if change.after is None:
        raise web.HTTPSeeOther(f"/admin/kb?msg={message}")
    back = request.query.get("back", "")
    if back == "audit":
        raise web.HTTPSeeOther(f"/admin/kb/audit?msg={message}")
    raise web.HTTPSeeOther(_entry_url(kind, entry_id, message))


# Audit


@dataclass(frozen=True, slots=True)
class DiffLine:
    """One line of a field's diff: kind is "add", "del" or "same"."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class FieldDiff:
    """How one field changed."""

    field: str
    label: str
    lines: list[DiffLine]


def _yaml_lines(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) and "\n" not in value:
        return [value]
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False,
                          width=100).rstrip("\n").removesuffix("\n...").splitlines()


def field_diffs(before: Mapping[str, Any] | None,
                after: Mapping[str, Any] | None) -> list[FieldDiff]:
    """A readable, per-field diff of two versions of an entry (YAML of each field)."""
    old, new = dict(before or {}), dict(after or {})
    names = list(new) + [name for name in old if name not in new]
    diffs = []
    for name in names:
        if old.get(name) == new.get(name):
            continue
        lines = []
        for line in difflib.unified_diff(_yaml_lines(old.get(name)), _yaml_lines(new.get(name)),
                                         lineterm="", n=1):
            if line.startswith(("---", "+++", "@@")):
                continue
            kind = {"+": "add", "-": "del"}.get(line[:1], "same")
            lines.append(DiffLine(kind, line[1:]))
        diffs.append(FieldDiff(name, FIELD_LABELS.get(name, name), lines))
    return diffs


@dataclass(frozen=True, slots=True)
class AuditView:
    """One audit row as the page shows it."""

    row: AuditRow
    diffs: list[FieldDiff]
    can_undo: bool
    exists: bool


async def audit_page(request: web.Request) -> web.Response:
    """Who changed what and when, with a diff, and undo for each entry's last change."""
    runtime, _reloader = _live(request)
    kind = request.query.get("kind") or None
    entry_id = request.query.get("entry") or None
    if kind is not None and kind not in AUDIT_KINDS:
        kind = None
    rows = await KbEditor(runtime.stores.knowledge).history(kind, entry_id, limit=200)
    seen: set[tuple[str, str]] = set()
    views = []
    for row in rows:
        key = (row.kind, row.entry_id)
        latest = key not in seen
        seen.add(key)
        views.append(AuditView(row, field_diffs(row.before, row.after),
                               latest and row.kind in KB_KINDS, row.after is not None))
    return render(request, "kb_audit.html", views=views, kind=kind, entry_id=entry_id,
                  kind_labels={**KIND_LABELS, "city": "thông tin thành phố", "kb": "cả tệp",
                               "national": "bản ghi quốc gia", "synonyms": "từ đồng nghĩa"},
                  action_labels=ACTION_LABELS, flash=MESSAGES.get(request.query.get("msg", "")))


# Download and upload


def _stamp() -> str:
    return local_time(utcnow(), "%Y%m%d-%H%M")


async def export_yaml(request: web.Request) -> web.Response:
    """The whole knowledge base (hidden entries included) as one YAML document."""
    bundle = await _live(request)[0].stores.knowledge.export_bundle()
    return web.Response(
        body=write_document(bundle).encode("utf-8"),
        headers={"Content-Type": "application/x-yaml; charset=utf-8",
                 "Content-Disposition": f'attachment; filename="co-so-tri-thuc-{_stamp()}.yaml"',
                 "Cache-Control": "no-store"},
    )


async def export_faq_csv(request: web.Request) -> web.Response:
    """Every FAQ as a CSV sheet (UTF-8 with BOM, for Excel)."""
    faqs = await _live(request)[0].stores.knowledge.faqs(published_only=False)
    return web.Response(
        body=write_faq_csv(faqs),
        headers={"Content-Type": "text/csv; charset=utf-8",
                 "Content-Disposition": f'attachment; filename="cau-hoi-{_stamp()}.csv"',
                 "Cache-Control": "no-store"},
    )


async def import_page(request: web.Request, problems: Sequence[str] = (),
                      done: Sequence[str] = (), upload: str = "",
                      status: int = 200) -> web.Response:
    """Download links and the upload forms, with what the last upload found."""
    return render(request, "kb_import.html", status=status, problems=problems, done=done,
                  upload=upload, flash_error=bool(problems),
                  flash=("Tệp có lỗi nên chưa thay đổi gì. Hãy sửa các lỗi dưới đây rồi tải "
                         "lên lại." if problems else None))


async def _uploaded(request: web.Request) -> tuple[str, bytes] | None:
    form = await request.post()
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        return upload.filename or "tep-tai-len", upload.file.read()
    return None


def _summary_lines(change_counts: str, added: Mapping[str, list[str]],
                   updated: Mapping[str, list[str]]) -> list[str]:
    names = {"procedures": "thủ tục", "offices": "nơi tiếp nhận", "faqs": "câu hỏi",
             "city": "thông tin thành phố"}
    lines = [change_counts]
    for title, outcome in (("Thêm", added), ("Cập nhật", updated)):
        for kind, ids in outcome.items():
            lines.append(f"{title} {names.get(kind, kind)}: {', '.join(ids)}")
    return lines


async def upload_yaml(request: web.Request) -> web.Response:
    """Validate a whole YAML document first; load it only when nothing is wrong."""
    uploaded = await _uploaded(request)
    if uploaded is None or not uploaded[1].strip():
        return await import_page(request, ["Hãy chọn một tệp YAML để tải lên."], upload="yaml",
                                 status=400)
    name, data = uploaded
    try:
        bundle = read_document(data.decode("utf-8-sig"), name)
    except UnicodeDecodeError:
        return await import_page(request, [f"Tệp {name}: không đọc được, tệp phải mã hóa "
                                           "UTF-8."], upload="yaml", status=400)
    except KnowledgeFileError as exc:
        return await import_page(request, [describe(p) for p in exc.details], upload="yaml",
                                 status=400)
    user = current_session(request).user.username
    summary = await _editor(request).import_bundle(bundle, user, name)
    await announce_change(request, f"import {name}")
    counts = summary.counts().replace("added", "thêm").replace("updated", "cập nhật")
    counts = counts.replace("unchanged", "giữ nguyên")
    return await import_page(request, done=_summary_lines(
        f"Đã nạp tệp {name}: {counts}.", summary.added, summary.updated), upload="yaml")


async def upload_faq_csv(request: web.Request) -> web.Response:
    """Validate every row of an FAQ sheet first; load it only when nothing is wrong."""
    uploaded = await _uploaded(request)
    if uploaded is None or not uploaded[1].strip():
        return await import_page(request, ["Hãy chọn một tệp CSV để tải lên."], upload="csv",
                                 status=400)
    name, data = uploaded
    runtime, _reloader = _live(request)
    try:
        bundle = read_faq_csv(data, await runtime.stores.knowledge.export_bundle())
    except FaqCsvError as exc:
        return await import_page(request, [f"Tệp {name} › {p}" for p in exc.problems],
                                 upload="csv", status=400)
    user = current_session(request).user.username
    summary = await _editor(request).import_bundle(bundle, user, name)
    await announce_change(request, f"import {name}")
    faqs_added = len(summary.added.get("faqs", []))
    faqs_updated = len(summary.updated.get("faqs", []))
    return await import_page(request, done=_summary_lines(
        f"Đã nạp tệp {name}: thêm {faqs_added}, cập nhật {faqs_updated} câu hỏi.",
        {k: v for k, v in summary.added.items() if k == "faqs"},
        {k: v for k, v in summary.updated.items() if k == "faqs"}), upload="csv")


def add_routes(app: web.Application) -> None:
    """Knowledge-base routes (all admin-only by their /admin/kb prefix)."""
    app.router.add_get("/kb", kb_home)
    app.router.add_get("/kb/audit", audit_page)
    app.router.add_get("/kb/export.yaml", export_yaml)
    app.router.add_get("/kb/import", import_page)
    app.router.add_post("/kb/import", upload_yaml)
    app.router.add_get("/kb/faqs.csv", export_faq_csv)
    app.router.add_post("/kb/faqs.csv", upload_faq_csv)
    app.router.add_get(f"/kb/new/{{kind:{KIND_PATTERN}}}", new_form)
    app.router.add_post(f"/kb/new/{{kind:{KIND_PATTERN}}}", submit)
    app.router.add_get(f"/kb/{{kind:{KIND_PATTERN}}}/{{entry_id}}", edit_form)
    app.router.add_post(f"/kb/{{kind:{KIND_PATTERN}}}/{{entry_id}}", submit)
    app.router.add_post(f"/kb/{{kind:{KIND_PATTERN}}}/{{entry_id}}/"
                        "{operation:hide|show|delete|undo}", _entry_action)
