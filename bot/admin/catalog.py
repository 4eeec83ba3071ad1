"""The whole catalog of procedures for administrators: both tiers searched and paged together,
one national record with the city's corrections, promotion, and the synonym table.

* ``GET /admin/kb/catalog``: the curated procedures and the 2,642 national records, searched
  by code, name and field (accent-insensitive), filtered by field, level and tier, 50 a page.
  The national records are queried page by page from the database; the curated ones (a few
  dozen) are filtered in Python and listed first.
* ``GET/POST /admin/kb/catalog/{code}``: what the national record says, the officer's edits
  with a field-by-field comparison, who promoted it; the edit form (``EDITABLE`` fields, the
  same form fields as the curated editor's), "Xác minh cho thành phố" and "Bỏ xác minh".
* ``GET/POST /admin/kb/synonyms``: everyday words -> official terms, as editable rows.
* ``GET /admin/api/procedures?q=``: the top matches among the procedures citizens are
  answered from (both tiers), for labelling in the inbox; staff may use it too.

Every saved change is audited by the store and announced like a published knowledge-base
change, so the bot answers from it at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import MultiDictProxy
from pydantic import ValidationError

from bot.admin.kb import (
    NO_ERRORS,
    ONLINE_LABELS,
    FormErrors,
    announce_change,
    entry_from_form,
    field_diffs,
)
from bot.admin.web import RUNTIME, current_session, render
from knowledge.audit import recent_changes
from knowledge.catalog.convert import EDITABLE, codes_in, procedure_id
from knowledge.catalog.record import FilingMode, NationalRecord
from knowledge.catalog.store import PAGE_SIZE, CatalogStore, EditRefused, row_tier
from knowledge.drafts import FieldError
from knowledge.explain import FIELD_LABELS, message
from knowledge.schema import Procedure, Tier
from knowledge.synonyms import Synonym
from knowledge.tables import NationalRecordRow
from nlu.normalize import fold

LEVELS = ("Cấp xã", "Cấp tỉnh", "Cấp bộ")
TIER_LABELS = {Tier.VERIFIED.value: "Đã xác minh (biên soạn hoặc đã xác minh cho thành phố)",
               Tier.NATIONAL.value: "Bản ghi quốc gia (chưa xác minh)"}
MODE_LABELS = {FilingMode.IN_PERSON: "Trực tiếp", FilingMode.ONLINE: "Trực tuyến",
               FilingMode.POST: "Bưu chính"}
RECORD_LABELS = {"ways": "Cách thức thực hiện (thời gian, lệ phí)",
                 "ways.duration": "Thời gian giải quyết", "ways.fee": "Lệ phí",
                 "documents": "Thành phần hồ sơ", "legal_basis": "Căn cứ pháp lý"}
# What a promotion needs that a national record may lack (the schema's verified-tier checks)
REQUIRED_FOR_PROMOTION = ("agency", "steps", "documents", "processing_time", "fees")
MESSAGES = {
    "saved": "Đã lưu sửa đổi. Trợ lý trả lời theo nội dung mới ngay từ bây giờ.",
    "unchanged": "Không có gì thay đổi so với lần lưu trước.",
    "reset": "Đã bỏ mọi sửa đổi: trợ lý trả lời theo bản ghi quốc gia.",
    "promoted": "Đã xác minh cho thành phố. Trợ lý trả lời thủ tục này như thông tin đã "
                "xác minh.",
    "demoted": "Đã bỏ xác minh: trợ lý trả lời theo bản ghi quốc gia (chưa xác minh).",
    "synonyms": "Đã lưu bảng từ đồng nghĩa. Trợ lý dùng bảng mới ngay từ bây giờ.",
}
API_LIMIT = 20
BLANK_SYNONYM_ROWS = 3
MAX_SYNONYM_ROWS = 2000


def _code(request: web.Request) -> str:
    return request.match_info["code"].strip()


# The list


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """One line of the catalog page, curated or national."""

    curated: bool
    code: str
    name: str
    field: str
    level: str
    tier: str
    url: str
    checked_by: str | None = None
    edited: bool = False
    covered_by: str | None = None  # the curated procedure that answers instead


def _matches(words: Sequence[str], *texts: str | None) -> bool:
    haystack = " | ".join(fold(text) for text in texts if text)
    return all(word in haystack for word in words)


def curated_items(procedures: Sequence[Procedure], query: str, category: str, level: str,
                  tier: str) -> list[CatalogItem]:
    """The curated procedures that match the filters, by name (they are all verified)."""
    if tier == Tier.NATIONAL:
        return []
    words = fold(query).split()
    items = [CatalogItem(True, p.code or "", p.name, p.category, p.level, Tier.VERIFIED.value,
                         f"/admin/kb/procedure/{p.id}")
             for p in procedures
             if _matches(words, p.id, p.code, p.name, p.category, *p.aliases)
             and (not category or p.category == category)
             and (not level or fold(level) in fold(p.level))]
    return sorted(items, key=lambda item: fold(item.name))


def national_item(row: NationalRecordRow, covered: Mapping[str, str]) -> CatalogItem:
    """A national record as a line of the list."""
    return CatalogItem(False, row.code, row.name, row.field, row.levels, row_tier(row).value,
                       f"/admin/kb/catalog/{row.code}", row.promoted_by, bool(row.edits),
                       covered.get(row.code))


def _page_number(value: str) -> int:
    try:
        return max(1, min(int(value), 10_000))
    except ValueError:
        return 1


async def catalog_page(request: web.Request) -> web.Response:
    """Both tiers searched, filtered and paged together."""
    runtime = request.app[RUNTIME]
    knowledge = runtime.stores.knowledge
    query = request.query.get("q", "").strip()[:200]
    category = request.query.get("field", "").strip()[:300]
    level = request.query.get("level", "").strip()
    level = level if level in LEVELS else ""
    tier = request.query.get("tier", "").strip()
    tier = tier if tier in TIER_LABELS else ""
    page = _page_number(request.query.get("page", "1"))
    procedures = await knowledge.procedures(published_only=False)
    curated = curated_items(procedures, query, category, level, tier)
    covered = {code: p.id for p in procedures for code in codes_in(p.code)}
    offset = (page - 1) * PAGE_SIZE
    shown: list[CatalogItem] = curated[offset:offset + PAGE_SIZE]
    national_offset = max(0, offset - len(curated))
    national_limit = PAGE_SIZE - len(shown)
    rows, national_total = await knowledge.catalog.page(
        query, category, level, tier, national_offset, max(1, national_limit))
    if national_limit > 0:
        shown += [national_item(row, covered) for row in rows[:national_limit]]
    total = len(curated) + national_total
    pages = max(1, -(-total // PAGE_SIZE))
    fields = sorted(set(await knowledge.catalog.fields()) | {p.category for p in procedures},
                    key=fold)

    def link(to_page: int) -> str:
        params = {"q": query, "field": category, "level": level, "tier": tier,
                  "page": str(to_page)}
        return request.rel_url.with_query({k: v for k, v in params.items() if v}).path_qs

    return render(request, "catalog.html", items=shown, total=total, page=page, pages=pages,
                  first=offset + 1 if shown else 0, last=offset + len(shown), query=query,
                  category=category, level=level, tier=tier, fields=fields, levels=LEVELS,
                  tier_labels=TIER_LABELS, curated_total=len(curated),
                  previous_url=link(page - 1) if page > 1 else None,
                  next_url=link(page + 1) if page < pages else None)


# One record


@dataclass(frozen=True, slots=True)
class EditedField:
    """One field an officer changed: the record's value and theirs, as text, and a diff."""

    field: str
    label: str
    record: str
    edited: str
    lines: list[Any]


def _as_text(value: Any) -> str:
    if value is None or value == [] or value == {}:
        return "(trống)"
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return "\n".join(value)
    if isinstance(value, str):
        return value
    dumped: str = yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=100)
    return dumped.rstrip("\n").removesuffix("\n...")


def edited_fields(base: Mapping[str, Any], edits: Mapping[str, Any]) -> list[EditedField]:
    """Each edited field, the record's value against the edited one."""
    out = []
    for name in EDITABLE:
        if name not in edits:
            continue
        diffs = field_diffs({name: base.get(name)}, {name: edits[name]})
        out.append(EditedField(name, FIELD_LABELS.get(name, name), _as_text(base.get(name)),
                               _as_text(edits[name]), diffs[0].lines if diffs else []))
    return out


def _context(request: web.Request) -> tuple[Any, set[str]]:
    knowledge = request.app[RUNTIME].pipeline.brain.knowledge
    return knowledge.city, set(knowledge.offices)


def _promoted_at(row: NationalRecordRow) -> dt.date | None:
    return row.promoted_at.date() if row.promoted_at else None


def effective(store: CatalogStore, row: NationalRecordRow, city: Any,
              office_ids: set[str]) -> Procedure:
    """What the row answers as now (the record alone when its edits no longer validate)."""
    try:
        return store.check(row, city, office_ids, None, row.promoted_by, _promoted_at(row))
    except EditRefused:
        return store.check(row, city, office_ids, {}, None, None)


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Pydantic's errors as located Vietnamese messages (as the curated editor shows them)."""
    return [FieldError(tuple(error["loc"]),
                       message(error["type"], error.get("ctx"), tuple(error["loc"])))
            for error in errors]


def edits_from_form(form: MultiDictProxy[Any]) -> dict[str, Any]:
    """The editable fields a posted form holds, in the schema's shape (not yet validated)."""
    raw = entry_from_form("procedure", form)
    edits = {key: raw[key] for key in EDITABLE if key in raw}
    time = edits.get("processing_time") or {}
    if not time.get("text") and time.get("working_days") is None:
        edits["processing_time"] = None
    return edits


async def record_page(request: web.Request, edits: Mapping[str, Any] | None = None,
                      errors: FormErrors = NO_ERRORS, flash: str | None = None,
                      flash_error: bool = False, status: int = 200) -> web.Response:
    """The record, the city's layer over it, and the edit form (``edits``: what the officer
    posted, shown again with the errors)."""
    runtime = request.app[RUNTIME]
    store = runtime.stores.knowledge.catalog
    code = _code(request)
    row = await store.get(code)
    if row is None:
        return render(request, "error.html", status=404,
                      message=f"Không có bản ghi quốc gia mã «{code}».")
    record = NationalRecord.model_validate(row.record)
    city, office_ids = _context(request)
    base = store.check(row, city, office_ids, {}).model_dump(mode="json")
    current = effective(store, row, city, office_ids)
    entry = current.model_dump(mode="json")
    if edits is not None:
        entry.update(edits)
    snapshot = runtime.pipeline.brain.knowledge
    pid = procedure_id(code)
    curated = await runtime.stores.knowledge.procedures(published_only=False)
    covered_by = next((p for p in curated if code in codes_in(p.code)), None)
    history = await recent_changes(runtime.stores.knowledge.sessions, kind="national",
                                   entry_id=code, limit=20)
    return render(
        request, "catalog_record.html", status=status, row=row, record=record,
        entry=entry, current=current, edited=edited_fields(base, row.edits),
        errors=errors.by_field, error_list=errors.summary, history=history,
        answering=snapshot.procedures.get(pid), procedure_id=pid, covered_by=covered_by,
        offices=list(snapshot.offices.values()), online_labels=ONLINE_LABELS,
        mode_labels=MODE_LABELS, record_labels=RECORD_LABELS,
        tier=row_tier(row).value,
        missing=[FIELD_LABELS[name] for name in REQUIRED_FOR_PROMOTION
                 if not getattr(current, name)],
        number=_number, flash=flash or MESSAGES.get(request.query.get("msg", "")),
        flash_error=flash_error)


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _missing_labels(errors: Sequence[FieldError]) -> list[str]:
    heads = dict.fromkeys(str(error.loc[0]) for error in errors if error.loc)
    return [FIELD_LABELS.get(head, head) for head in heads]


async def record_submit(request: web.Request) -> web.StreamResponse:
    """The record page's buttons: save the edits, drop them, promote, demote."""
    runtime = request.app[RUNTIME]
    store = runtime.stores.knowledge.catalog
    code = _code(request)
    row = await store.get(code)
    if row is None:
        return render(request, "error.html", status=404,
                      message=f"Không có bản ghi quốc gia mã «{code}».")
    form = await request.post()
    action = str(form.get("action", "save"))
    user = current_session(request).user.username
    city, office_ids = _context(request)
    if action == "promote":
        try:
            await store.promote(code, user, city, office_ids)
        except EditRefused as refused:
            errors = field_errors(refused.errors)
            missing = ", ".join(_missing_labels(errors)) or "một số thông tin"
            return await record_page(
                request, errors=FormErrors.of(errors), flash_error=True, status=400,
                flash=f"Chưa thể xác minh cho thành phố: bản ghi còn thiếu {missing}. Hãy "
                      "bổ sung các mục này trong biểu mẫu bên dưới, bấm «Lưu sửa đổi», rồi "
                      "bấm «Xác minh cho thành phố».")
        await announce_change(request, f"promote national {code}")
        raise web.HTTPSeeOther(f"/admin/kb/catalog/{code}?msg=promoted")
    if action == "demote":
        if row.promoted_by is not None:
            await store.demote(code, user)
            await announce_change(request, f"demote national {code}")
        raise web.HTTPSeeOther(f"/admin/kb/catalog/{code}?msg=demoted")
    edits: dict[str, Any] = {} if action == "reset" else edits_from_form(form)
    try:
        # the form's values in the schema's terms ("150.000" -> 150000), so that a field
        # left as the record has it is not kept as an edit
        checked = store.check(row, city, office_ids, edits, row.promoted_by,
                              _promoted_at(row)).model_dump(mode="json")
        before = dict(row.edits)
        await store.save_edits(code, {key: checked[key] for key in edits}, user, city,
                               office_ids)
    except EditRefused as refused:
        return await record_page(request, edits, FormErrors.of(field_errors(refused.errors)),
                                 status=400)
    after = await store.get(code)
    changed = after is not None and after.edits != before
    if changed:
        await announce_change(request, f"national {code}")
    raise web.HTTPSeeOther(f"/admin/kb/catalog/{code}?msg="
                           + (("reset" if action == "reset" else "saved") if changed
                              else "unchanged"))


# Synonyms


def _synonym_rows(form: MultiDictProxy[Any]) -> list[dict[str, str]]:
    indexes = sorted({int(key.split(".")[1]) for key in form
                      if key.startswith("synonyms.") and key.split(".")[1].isdigit()})
    rows = []
    for index in indexes[:MAX_SYNONYM_ROWS]:
        rows.append({
            "phrases": str(form.get(f"synonyms.{index}.phrases", "")).strip(),
            "meaning": str(form.get(f"synonyms.{index}.meaning", "")).strip(),
            "delete": str(form.get(f"synonyms.{index}.delete", "")),
        })
    return rows


def _phrases(text: str) -> list[str]:
    return list(dict.fromkeys(p.strip() for p in text.replace("\n", ",").split(",")
                              if p.strip()))


def parse_synonyms(rows: Sequence[Mapping[str, str]]) -> tuple[list[Synonym],
                                                                dict[str, list[str]]]:
    """The table the rows describe (blank and deleted rows left out), and the errors by form
    field ("synonyms.<row>.phrases")."""
    synonyms: list[Synonym] = []
    errors: dict[str, list[str]] = {}
    for index, row in enumerate(rows):
        if row.get("delete") or not (row["phrases"] or row["meaning"]):
            continue
        try:
            synonyms.append(Synonym(phrases=_phrases(row["phrases"]), meaning=row["meaning"]))
        except ValidationError as exc:
            for error in exc.errors():
                loc = tuple(error["loc"])
                key = f"synonyms.{index}.{loc[0]}"
                text = message(error["type"], error.get("ctx"), loc)
                if loc[0] == "phrases" and len(loc) > 1:
                    text = f"Cụm từ thứ {int(loc[1]) + 1}: {text}"
                elif loc[0] == "phrases" and error["type"] == "too_short":
                    text = "Cần ít nhất một từ thường dùng"
                errors.setdefault(key, []).append(text)
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        if row.get("delete"):
            continue
        for phrase in _phrases(row["phrases"]):
            first = seen.setdefault(fold(phrase), index)
            if first != index:
                errors.setdefault(f"synonyms.{index}.phrases", []).append(
                    f"«{phrase}» đã có ở dòng {first + 1}")
    return synonyms, errors


async def synonyms_page(request: web.Request, rows: Sequence[Mapping[str, str]] | None = None,
                        errors: Mapping[str, list[str]] | None = None,
                        status: int = 200) -> web.Response:
    """The table as editable rows, a few blank ones to add."""
    if rows is None:
        stored = await request.app[RUNTIME].stores.knowledge.synonyms.all()
        rows = [{"phrases": ", ".join(s.phrases), "meaning": s.meaning} for s in stored]
    shown = [*rows, *({"phrases": "", "meaning": ""} for _ in range(BLANK_SYNONYM_ROWS))]
    error_count = sum(len(messages) for messages in (errors or {}).values())
    return render(request, "synonyms.html", status=status, rows=shown, errors=errors or {},
                  flash_error=bool(errors),
                  flash=(f"Chưa lưu được: có {error_count} chỗ cần sửa (chữ đỏ bên dưới)."
                         if errors else MESSAGES.get(request.query.get("msg", ""))))


async def synonyms_submit(request: web.Request) -> web.StreamResponse:
    """Validate every row, then replace the table, audit it and reload the bot."""
    rows = _synonym_rows(await request.post())
    synonyms, errors = parse_synonyms(rows)
    if errors:
        return await synonyms_page(request, rows, errors, status=400)
    store = request.app[RUNTIME].stores.knowledge.synonyms
    if [s.model_dump() for s in await store.all()] != [s.model_dump() for s in synonyms]:
        await store.replace(synonyms, current_session(request).user.username)
        await announce_change(request, "synonyms")
    raise web.HTTPSeeOther("/admin/kb/synonyms?msg=synonyms")


# The procedures citizens are answered from, as JSON


async def procedures_api(request: web.Request) -> web.Response:
    """The top matches of a search among the live procedures: id, code, name, tier."""
    query = request.query.get("q", "").strip()[:200]
    words = fold(query).split()
    if not words:
        return web.json_response({"procedures": []})
    procedures = request.app[RUNTIME].pipeline.brain.knowledge.procedures
    folded = fold(query)
    hits = []
    for procedure in procedures.values():
        name = fold(procedure.name)
        if procedure.id == query.strip() or (procedure.code or "") == query.strip():
            rank = 0
        elif not _matches(words, procedure.id, procedure.code, procedure.name,
                          *procedure.aliases):
            continue
        elif folded in name:
            rank = 1
        else:
            rank = 2
        hits.append((rank, procedure.is_national, len(name), name, procedure))
    hits.sort(key=lambda hit: hit[:4])
    return web.json_response({"procedures": [
        {"id": p.id, "code": p.code or "", "name": p.name, "tier": p.tier.value}
        for *_key, p in hits[:API_LIMIT]]})


def add_routes(app: web.Application) -> None:
    """Catalog and synonym routes (admin-only by their /admin/kb prefix); the procedure
    search for labelling (staff too)."""
    app.router.add_get("/kb/catalog", catalog_page)
    app.router.add_get("/kb/catalog/{code}", record_page)
    app.router.add_post("/kb/catalog/{code}", record_submit)
    app.router.add_get("/kb/synonyms", synonyms_page)
    app.router.add_post("/kb/synonyms", synonyms_submit)
    app.router.add_get("/api/procedures", procedures_api)
