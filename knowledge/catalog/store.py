"""The national catalog in the database: import (idempotent, keeping the city's layer),
officers' corrections and promotion, and the procedures the bot answers from.

Converting 2,642 records takes most of a second, so the store keeps each converted
procedure with the row version it came from, and a reload after one edit converts one record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.catalog.convert import EDITABLE, codes_in, to_procedure, variant_key
from knowledge.catalog.record import NationalRecord
from knowledge.clock import utcnow
from knowledge.schema import City, Procedure, Tier
from knowledge.tables import AuditRow, NationalRecordRow
from nlu.normalize import fold

PAGE_SIZE = 50


@dataclass(slots=True)
class CatalogChanges:
    """What an import did: codes added, changed, unchanged; codes in the database that the
    capture no longer has (kept, not deleted); changed codes an officer had edited."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    edited_and_changed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The changes as a person reads them."""
        def some(codes: list[str]) -> str:
            shown = ", ".join(codes[:10])
            return shown + (f" … (+{len(codes) - 10})" if len(codes) > 10 else "")

        out = [f"database: {len(self.added)} added, {len(self.changed)} changed, "
               f"{len(self.unchanged)} unchanged, {len(self.missing)} no longer in the capture "
               f"(kept)"]
        for label, codes in (("added", self.added), ("changed", self.changed),
                             ("no longer in the capture", self.missing),
                             ("changed under an officer's edit (edit kept; check it)",
                              self.edited_and_changed)):
            if codes:
                out.append(f"  {label}: {some(codes)}")
        return out


def search_key(record: NationalRecord) -> str:
    """The folded text the officers' search reads: code, name, field."""
    return " | ".join(fold(part) for part in (record.code, record.name, record.field))


def row_tier(row: NationalRecordRow) -> Tier:
    """The tier a row answers in."""
    return Tier.VERIFIED if row.promoted_by is not None else Tier.NATIONAL


class EditRefused(ValueError):
    """An edit or promotion the procedure schema refuses; ``errors`` are pydantic's."""

    def __init__(self, error: ValidationError) -> None:
        super().__init__(str(error))
        self.errors = error.errors()


# Converted procedures by (code, row version, city context), shared by every store in the
# process: a reload after one edit converts one record, and copies of one database (workers,
# tests) convert once.
_CONVERTED: dict[tuple[Any, ...], Procedure] = {}
MAX_CONVERTED = 20_000


class CatalogStore:
    """National records in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def count(self) -> int:
        """How many records the database holds."""
        async with self.sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(
                NationalRecordRow)) or 0)

    async def import_records(self, records: Sequence[NationalRecord]) -> CatalogChanges:
        """Insert new records and replace changed ones, keeping every officer's edit and
        promotion, in one transaction."""
        changes = CatalogChanges()
        async with self.sessions.begin() as session:
            existing = {row.code: row for row in
                        (await session.scalars(select(NationalRecordRow))).all()}
            for record in records:
                data = record.model_dump(mode="json")
                row = existing.pop(record.code, None)
                if row is None:
                    session.add(NationalRecordRow(
                        code=record.code, name=record.name, field=record.field,
                        levels=", ".join(record.levels), record=data, edits={},
                        captured=record.captured, search_text=search_key(record)))
                    changes.added.append(record.code)
                    continue
                old = dict(row.record)
                old["captured"] = data["captured"]
                if old == data:
                    changes.unchanged.append(record.code)
                    if row.captured != record.captured:
                        row.captured = record.captured
                        row.record = data
                    continue
                row.record = data
                row.name, row.field = record.name, record.field
                row.levels, row.captured = ", ".join(record.levels), record.captured
                row.search_text = search_key(record)
                changes.changed.append(record.code)
                if row.edits or row.promoted_by:
                    changes.edited_and_changed.append(record.code)
            changes.missing = sorted(existing)
        return changes

    async def get(self, code: str) -> NationalRecordRow | None:
        """One row by code."""
        async with self.sessions() as session:
            return await session.get(NationalRecordRow, code)

    async def page(self, query: str = "", category: str = "", level: str = "",
                   tier: str = "", offset: int = 0,
                   limit: int = PAGE_SIZE) -> tuple[list[NationalRecordRow], int]:
        """Rows matching a search (accent-insensitive, on code, name, field), a field, a level
        and a tier, ordered by code; and how many match in all."""
        conditions = []
        for word in fold(query).split():
            conditions.append(NationalRecordRow.search_text.contains(word, autoescape=True))
        if category:
            conditions.append(NationalRecordRow.field == category)
        if level:
            conditions.append(NationalRecordRow.levels.contains(level, autoescape=True))
        if tier == Tier.VERIFIED:
            conditions.append(NationalRecordRow.promoted_by.is_not(None))
        elif tier == Tier.NATIONAL:
            conditions.append(NationalRecordRow.promoted_by.is_(None))
        async with self.sessions() as session:
            total = int(await session.scalar(
                select(func.count()).select_from(NationalRecordRow).where(*conditions)) or 0)
            rows = (await session.scalars(
                select(NationalRecordRow).where(*conditions).order_by(NationalRecordRow.code)
                .offset(max(0, offset)).limit(max(1, min(limit, 200))))).all()
        return list(rows), total

    async def fields(self) -> list[str]:
        """Every field (lĩnh vực) the catalog has, for the officers' filter."""
        async with self.sessions() as session:
            return list((await session.scalars(
                select(NationalRecordRow.field).distinct().order_by(
                    NationalRecordRow.field))).all())

    def check(self, row: NationalRecordRow, city: City, office_ids: set[str],
              edits: Mapping[str, Any] | None = None, promoted_by: str | None = None,
              promoted_at: dt.date | None = None) -> Procedure:
        """The procedure a row answers as with these edits (raises ``EditRefused``)."""
        try:
            return to_procedure(NationalRecord.model_validate(row.record), city, office_ids,
                                row.edits if edits is None else edits, promoted_by,
                                promoted_at)
        except ValidationError as exc:
            raise EditRefused(exc) from exc

    async def save_edits(self, code: str, edits: Mapping[str, Any], username: str,
                         city: City, office_ids: set[str]) -> Procedure:
        """Replace an officer's corrections of one record (only fields that differ from the
        record are kept), with an audit entry. Raises LookupError, ``EditRefused``."""
        async with self.sessions.begin() as session:
            row = await session.get(NationalRecordRow, code)
            if row is None:
                raise LookupError(code)
            base = self.check(row, city, office_ids, {}).model_dump(mode="json")
            kept = {key: value for key, value in edits.items()
                    if key in EDITABLE and value != base.get(key)}
            promoted_at = row.promoted_at.date() if row.promoted_at else None
            procedure = self.check(row, city, office_ids, kept, row.promoted_by, promoted_at)
            before = dict(row.edits)
            if before == kept:
                return procedure
            row.edits = kept
            session.add(AuditRow(at=utcnow(), username=username, kind="national",
                                 entry_id=code, action="update", before=before, after=kept,
                                 summary=f"sửa bản ghi quốc gia {code}"))
        return procedure

    async def promote(self, code: str, username: str, city: City,
                      office_ids: set[str]) -> Procedure:
        """Mark a record as checked for the city by ``username`` now. Raises LookupError,
        ``EditRefused`` (a verified procedure must state what the record lacks)."""
        now = utcnow()
        async with self.sessions.begin() as session:
            row = await session.get(NationalRecordRow, code)
            if row is None:
                raise LookupError(code)
            procedure = self.check(row, city, office_ids, None, username, now.date())
            row.promoted_by, row.promoted_at = username, now
            session.add(AuditRow(at=now, username=username, kind="national", entry_id=code,
                                 action="promote", before=None,
                                 after={"promoted_by": username},
                                 summary=f"xác minh bản ghi quốc gia {code}"))
        return procedure

    async def demote(self, code: str, username: str) -> None:
        """Undo a promotion: the record answers as the national template again."""
        async with self.sessions.begin() as session:
            row = await session.get(NationalRecordRow, code)
            if row is None:
                raise LookupError(code)
            before = {"promoted_by": row.promoted_by}
            row.promoted_by, row.promoted_at = None, None
            session.add(AuditRow(at=utcnow(), username=username, kind="national",
                                 entry_id=code, action="demote", before=before, after=None,
                                 summary=f"bỏ xác minh bản ghi quốc gia {code}"))

    async def procedures(self, city: City, office_ids: set[str],
                         curated: Sequence[Procedure] = ()) -> list[Procedure]:
        """Every record as the procedure it answers as, but those a curated procedure already
        covers (same national code: one procedure, not two). A record whose edits no longer
        validate answers as the record alone."""
        covered = set().union(*(codes_in(p.code) for p in curated)) if curated else set()
        context = (tuple(sorted(city.level_offices.items())), tuple(sorted(office_ids)))
        async with self.sessions() as session:
            versions = (await session.execute(select(
                NationalRecordRow.code, NationalRecordRow.name, NationalRecordRow.updated_at,
                NationalRecordRow.captured, NationalRecordRow.edits,
                NationalRecordRow.promoted_by, NationalRecordRow.promoted_at))).all()
            # the same procedure at another level is covered too ("… (thực hiện tại cấp tỉnh)")
            variants = {variant_key(row.name) for row in versions if row.code in covered}
            # a row's version: its time stamp has whole seconds only, so the layer counts too
            wanted = {row.code: (row.code, row.updated_at, row.captured,
                                 json.dumps(row.edits, sort_keys=True), row.promoted_by,
                                 row.promoted_at, context)
                      for row in versions
                      if row.code not in covered and variant_key(row.name) not in variants}
            stale = [code for code, key in wanted.items() if key not in _CONVERTED]
            if len(_CONVERTED) + len(stale) > MAX_CONVERTED:
                _CONVERTED.clear()
                stale = list(wanted)
            for start in range(0, len(stale), 500):
                chunk = stale[start:start + 500]
                for row in (await session.scalars(select(NationalRecordRow).where(
                        NationalRecordRow.code.in_(chunk)))).all():
                    _CONVERTED[wanted[row.code]] = self._convert(row, city, office_ids)
        return [_CONVERTED[wanted[code]] for code in sorted(wanted)]

    def _convert(self, row: NationalRecordRow, city: City, office_ids: set[str]) -> Procedure:
        promoted_at = row.promoted_at.date() if row.promoted_at else None
        try:
            return self.check(row, city, office_ids, None, row.promoted_by, promoted_at)
        except EditRefused:
            return self.check(row, city, office_ids, {}, None, None)

