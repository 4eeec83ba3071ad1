"""Knowledge-base editing by administrators: drafts, publishing, hiding, deleting, undo, and
audited imports.

A draft is an unpublished version of one procedure, office or FAQ (a new entry or an edit of
a published one), kept in ``kb_drafts``; citizens never see it. A draft is validated by the
same schema as the YAML import and by the same cross-entry checks as a bundle (a procedure's
offices exist, an FAQ's procedure exists, ids are unique), with Vietnamese messages located at
the field (``knowledge.explain``). Publishing writes the entry into the main tables, drops the
draft and adds an audit row holding the entry before and after, in one transaction. Undo
restores the "before" of an entry's last audit row (and is audited as "undo").

Telling running workers to reload is the caller's job: the bot layer announces a new
knowledge version after every change made here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.audit import recent_changes
from knowledge.clock import utcnow
from knowledge.explain import FIELD_LABELS, KIND_LABELS, location_label, message
from knowledge.explain import reference_message as _reference_message
from knowledge.files import entry_data
from knowledge.schema import (
    Faq,
    KnowledgeBundle,
    Office,
    Procedure,
    PublishStatus,
    ReferenceProblem,
    reference_problems,
)
from knowledge.store import ENTRY_MODELS, Entry, KnowledgeStore, LoadSummary
from knowledge.tables import AuditRow, KbDraftRow

KB_KINDS = ("procedure", "faq", "office")
# the catalog layer (corrections, promotions) and the synonym table are audited here too
AUDIT_KINDS = (*KB_KINDS, "city", "kb", "national", "synonyms")
HIDEABLE_KINDS = ("procedure", "faq")  # offices have no status: they are always shown



@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with an entry: where (a pydantic location, () for the whole entry) and
    what, in Vietnamese."""

    loc: tuple[str | int, ...]
    message: str

    @property
    def label(self) -> str:
        """The field in words ("Lệ phí › dòng 1 › Số tiền (đồng)"); empty for the entry."""
        return location_label(self.loc)


class EntryInvalid(ValueError):
    """An entry or a change that cannot be accepted; ``errors`` says what and where."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(
            f"{e.label}: {e.message}" if e.loc else e.message for e in self.errors))


def refused(text: str) -> EntryInvalid:
    """A problem with the whole entry or action."""
    return EntryInvalid([FieldError((), text)])


def check_kind(kind: str) -> None:
    """Raise ValueError for anything but procedure, office or faq."""
    if kind not in KB_KINDS:
        raise ValueError(f"unknown kind of entry {kind!r}")


def validate_entry(kind: str, raw: Mapping[str, Any]) -> Entry:
    """The entry a form or draft holds, validated by the import's schema; raises EntryInvalid."""
    check_kind(kind)
    try:
        return ENTRY_MODELS[kind].model_validate(dict(raw))
    except ValidationError as exc:
        raise EntryInvalid([
            FieldError(tuple(error["loc"]),
                       message(error["type"], error.get("ctx"), tuple(error["loc"])))
            for error in exc.errors()
        ]) from exc


@dataclass(frozen=True, slots=True)
class Draft:
    """An unpublished version of one entry."""

    kind: str
    entry_id: str
    data: dict[str, Any]
    username: str
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Change:
    """What a publish, hide, delete, undo … did to one entry."""

    kind: str
    entry_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    @property
    def changed(self) -> bool:
        """False when the entry already was like that (nothing written, nothing audited)."""
        return self.before != self.after


def _draft(row: KbDraftRow) -> Draft:
    return Draft(row.kind, row.entry_id, dict(row.data), row.username, row.updated_at)


def _entries(bundle: KnowledgeBundle) -> dict[str, dict[str, Entry]]:
    return {
        "procedure": {p.id: p for p in bundle.procedures},
        "office": {o.id: o for o in bundle.offices},
        "faq": {f.id: f for f in bundle.faqs},
    }


def _problems(entries: Mapping[str, Mapping[str, Entry]]) -> list[ReferenceProblem]:
    return reference_problems(
        [e for e in entries["procedure"].values() if isinstance(e, Procedure)],
        [e for e in entries["office"].values() if isinstance(e, Office)],
        [e for e in entries["faq"].values() if isinstance(e, Faq)],
    )


def reference_error(problem: ReferenceProblem, kind: str, entry_id: str) -> FieldError:
    """A cross-entry problem as seen from the entry being changed."""
    if problem.kind == kind and problem.entry_id == entry_id:
        return FieldError((problem.field,),
                          _reference_message(problem.kind, problem.field, problem.target))
    owner = KIND_LABELS.get(problem.kind, problem.kind)
    return FieldError((), f"{owner[0].upper()}{owner[1:]} «{problem.entry_id}» vẫn dùng mã "
                          f"«{problem.target}» (mục {FIELD_LABELS.get(problem.field, '')}): "
                          f"hãy sửa {owner} đó trước")


class KbEditor:
    """Drafts, publishing and the audited history of knowledge-base entries."""

    def __init__(self, store: KnowledgeStore) -> None:
        self.store = store
        self.sessions = store.sessions

    # drafts

    async def drafts(self, kind: str | None = None) -> list[Draft]:
        """Pending drafts, newest first."""
        query = select(KbDraftRow).order_by(KbDraftRow.updated_at.desc())
        if kind is not None:
            query = query.where(KbDraftRow.kind == kind)
        async with self.sessions() as session:
            return [_draft(row) for row in (await session.scalars(query)).all()]

    async def draft(self, kind: str, entry_id: str) -> Draft | None:
        """The pending draft of one entry, if any."""
        async with self.sessions() as session:
            row = await session.get(KbDraftRow, (kind, entry_id))
        return _draft(row) if row is not None else None

    async def save_draft(self, kind: str, raw: Mapping[str, Any], username: str,
                         entry_id: str | None = None) -> Entry:
        """Validate and keep a draft. ``entry_id`` None creates a new entry (its id must be
        free); otherwise the draft edits that entry and may not change its id."""
        entry = validate_entry(kind, raw)
        if entry_id is None:
            if (await self.store.entry(kind, entry.id) is not None
                    or await self.draft(kind, entry.id) is not None):
                raise EntryInvalid([FieldError(("id",), f"Mã «{entry.id}» đã được dùng cho "
                                                        f"một {KIND_LABELS[kind]} khác")])
        elif entry.id != entry_id:
            raise EntryInvalid([FieldError(("id",), "Không đổi được mã của mục đã có; "
                                                    "hãy tạo mục mới nếu cần mã khác")])
        await self.check_references(kind, entry.id, entry)
        async with self.sessions.begin() as session:
            row = await session.get(KbDraftRow, (kind, entry.id))
            if row is None:
                session.add(KbDraftRow(kind=kind, entry_id=entry.id, data=entry_data(entry),
                                       username=username, updated_at=utcnow()))
            else:
                row.data = entry_data(entry)
                row.username = username
                row.updated_at = utcnow()
        return entry

    async def discard(self, kind: str, entry_id: str) -> bool:
        """Drop a draft; False when there was none."""
        async with self.sessions.begin() as session:
            row = await session.get(KbDraftRow, (kind, entry_id))
            if row is None:
                return False
            await session.delete(row)
            return True

    # checks

    async def check_references(self, kind: str, entry_id: str, entry: Entry | None) -> None:
        """Raise EntryInvalid when putting ``entry`` there (None: removing it) would leave a
        duplicate id or a reference to nothing, the checks a bundle import makes."""
        try:
            entries = _entries(await self.store.export_bundle())
        except LookupError:  # an empty knowledge base: nothing to refer to yet
            entries = {name: {} for name in KB_KINDS}
        before = set(_problems(entries))
        if entry is None:
            entries[kind].pop(entry_id, None)
        else:
            entries[kind][entry_id] = entry
        fresh = [p for p in _problems(entries) if p not in before]
        if fresh:
            raise EntryInvalid([reference_error(p, kind, entry_id) for p in fresh])

    # changes to the published entries

    async def publish(self, kind: str, entry_id: str, username: str) -> Change:
        """Make the draft the entry citizens get (or hide, when its status is draft)."""
        draft = await self.draft(kind, entry_id)
        if draft is None:
            raise refused("Không có bản nháp nào để xuất bản")
        entry = validate_entry(kind, draft.data)
        await self.check_references(kind, entry_id, entry)
        return await self._apply(kind, entry_id, entry, username, "publish", drop_draft=True)

    async def set_status(self, kind: str, entry_id: str, status: PublishStatus,
                         username: str) -> Change:
        """Hide an entry from citizens (status draft) or show it again."""
        if kind not in HIDEABLE_KINDS:
            raise refused("Nơi tiếp nhận không ẩn được; có thể xóa nếu không còn dùng")
        current = await self.store.entry(kind, entry_id)
        if current is None:
            raise refused("Không tìm thấy mục này")
        updated = current.model_copy(update={"status": status})
        action = "hide" if status == PublishStatus.DRAFT else "show"
        return await self._apply(kind, entry_id, updated, username, action)

    async def delete(self, kind: str, entry_id: str, username: str) -> Change:
        """Remove an entry (and its draft), unless another entry still refers to it."""
        if await self.store.entry(kind, entry_id) is None:
            raise refused("Không tìm thấy mục này")
        await self.check_references(kind, entry_id, None)
        return await self._apply(kind, entry_id, None, username, "delete", drop_draft=True)

    async def undo(self, kind: str, entry_id: str, username: str) -> Change:
        """Put back the entry as it was before its last recorded change."""
        last = await self.last_change(kind, entry_id)
        if last is None:
            raise refused("Mục này chưa có thay đổi nào để hoàn tác")
        current = await self.store.entry(kind, entry_id)
        if (entry_data(current) if current else None) != last.after:
            raise refused("Mục này đã bị thay đổi ngoài trang quản trị sau lần sửa cuối, "
                          "không hoàn tác tự động được; hãy sửa trực tiếp")
        restored = validate_entry(kind, last.before) if last.before is not None else None
        await self.check_references(kind, entry_id, restored)
        return await self._apply(kind, entry_id, restored, username, "undo",
                                 summary=f"hoàn tác thay đổi #{last.id}")

    async def _apply(self, kind: str, entry_id: str, entry: Entry | None, username: str,
                     action: str, drop_draft: bool = False, summary: str = "") -> Change:
        async with self.sessions.begin() as session:
            current = await self.store.entry(kind, entry_id, session)
            change = Change(kind, entry_id, action, entry_data(current) if current else None,
                            entry_data(entry) if entry else None)
            if drop_draft:
                await session.execute(delete(KbDraftRow).where(
                    KbDraftRow.kind == kind, KbDraftRow.entry_id == entry_id))
            if not change.changed:
                return change
            if entry is None:
                await self.store.delete_entry(session, kind, entry_id)
            else:
                await self.store.put_entry(session, entry)
            self._audit(session, username, change, summary)
        return change

    @staticmethod
    def _audit(session: AsyncSession, username: str, change: Change, summary: str = "") -> None:
        session.add(AuditRow(at=utcnow(), username=username, kind=change.kind,
                             entry_id=change.entry_id, action=change.action,
                             before=change.before, after=change.after, summary=summary))

    # imports

    async def import_bundle(self, bundle: KnowledgeBundle, username: str,
                            source: str) -> LoadSummary:
        """Load a validated bundle (insert or update; entries not in it stay) and audit every
        entry it changed, so each can be undone."""
        try:
            old = await self.store.export_bundle()
            old_entries = _entries(old)
            old_city: dict[str, Any] | None = entry_data(old.city)
        except LookupError:
            old_entries, old_city = {name: {} for name in KB_KINDS}, None
        summary = await self.store.load_bundle(bundle)
        changes = []
        for kind, entries in _entries(bundle).items():
            for entry_id, entry in entries.items():
                previous = old_entries[kind].get(entry_id)
                change = Change(kind, entry_id, "import",
                                entry_data(previous) if previous else None, entry_data(entry))
                if change.changed:
                    changes.append(change)
        city = Change("city", "city", "import", old_city, entry_data(bundle.city))
        if city.changed:
            changes.append(city)
        async with self.sessions.begin() as session:
            for change in changes:
                self._audit(session, username, change, f"nạp tệp {source}")
            self._audit(session, username, Change("kb", source, "import", None, None),
                        f"nạp tệp {source}: {_counts(summary)}")
        return summary

    # history

    async def history(self, kind: str | None = None, entry_id: str | None = None,
                      limit: int = 100) -> list[AuditRow]:
        """Recent knowledge-base changes, newest first."""
        return await recent_changes(self.sessions, kinds=AUDIT_KINDS, kind=kind,
                                    entry_id=entry_id, limit=limit)

    async def last_change(self, kind: str, entry_id: str) -> AuditRow | None:
        """The latest audited change of one entry."""
        rows = await self.history(kind, entry_id, limit=1)
        return rows[0] if rows else None


def _counts(summary: LoadSummary) -> str:
    def total(outcome: dict[str, list[str]]) -> int:
        return sum(len(ids) for ids in outcome.values())

    return (f"thêm {total(summary.added)}, cập nhật {total(summary.updated)}, "
            f"giữ nguyên {total(summary.unchanged)}")
