"""Reading and writing the knowledge base in the database, as validated schema objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.catalog.store import CatalogStore
from knowledge.schema import City, Faq, KnowledgeBundle, Office, Procedure, PublishStatus
from knowledge.search import faq_search_text, procedure_search_text
from knowledge.synonyms import SynonymStore
from knowledge.tables import CityRow, FaqRow, OfficeRow, ProcedureRow

EntryRow = ProcedureRow | OfficeRow | FaqRow


@dataclass(slots=True)
class LoadSummary:
    """What a load changed, by kind: ids added, updated and left unchanged."""

    added: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)

    def note(self, outcome: str, kind: str, entry_id: str) -> None:
        """Record one entry's outcome."""
        getattr(self, outcome).setdefault(kind, []).append(entry_id)

    def counts(self) -> str:
        """One line: how many of each outcome."""
        return ", ".join(
            f"{outcome} {sum(len(v) for v in getattr(self, outcome).values())}"
            for outcome in ("added", "updated", "unchanged")
        )


def procedure_to_row_values(procedure: Procedure) -> dict[str, Any]:
    """Column values of a procedure."""
    data = procedure.model_dump(mode="json")
    return {
        "id": procedure.id,
        "code": procedure.code,
        "name": procedure.name,
        "aliases": data["aliases"],
        "category": procedure.category,
        "level": procedure.level,
        "agency": procedure.agency,
        "offices": data["offices"],
        "steps": data["steps"],
        "documents": data["documents"],
        "processing_time_text": procedure.processing_time.text if procedure.processing_time
        else "",
        "processing_working_days": procedure.processing_time.working_days
        if procedure.processing_time else None,
        "fees": data["fees"],
        "online_mode": procedure.online.mode.value,
        "online_link": data["online"]["link"],
        "online_note": procedure.online.note,
        "legal_basis": data["legal_basis"],
        "sources": data["sources"],
        "verified": procedure.verified,
        "unverified": data["unverified"],
        "status": procedure.status.value,
        "search_text": procedure_search_text(procedure),
    }


def row_to_procedure(row: ProcedureRow) -> Procedure:
    """The validated procedure a row holds."""
    return Procedure.model_validate(
        {
            "id": row.id,
            "code": row.code,
            "name": row.name,
            "aliases": row.aliases,
            "category": row.category,
            "level": row.level,
            "agency": row.agency,
            "offices": row.offices,
            "steps": row.steps,
            "documents": row.documents,
            "processing_time": {"text": row.processing_time_text,
                                "working_days": row.processing_working_days},
            "fees": row.fees,
            "online": {"mode": row.online_mode, "link": row.online_link, "note": row.online_note},
            "legal_basis": row.legal_basis,
            "sources": row.sources,
            "verified": row.verified,
            "unverified": row.unverified,
            "status": row.status,
        }
    )


def office_to_row_values(office: Office) -> dict[str, Any]:
    """Column values of an office."""
    return office.model_dump(mode="json")


def row_to_office(row: OfficeRow) -> Office:
    """The validated office a row holds."""
    return Office.model_validate(
        {name: getattr(row, name) for name in Office.model_fields}
    )


def faq_to_row_values(faq: Faq) -> dict[str, Any]:
    """Column values of an FAQ."""
    return {**faq.model_dump(mode="json"), "search_text": faq_search_text(faq)}


def row_to_faq(row: FaqRow) -> Faq:
    """The validated FAQ a row holds."""
    return Faq.model_validate({name: getattr(row, name) for name in Faq.model_fields})


Entry = Procedure | Office | Faq
ENTRY_MODELS: dict[str, type[Entry]] = {"procedure": Procedure, "office": Office, "faq": Faq}


def _entry_table(kind: str) -> tuple[type[EntryRow], Callable[[Any], dict[str, Any]],
                                     Callable[[Any], Entry]]:
    """The table of a kind of entry, and its conversions to and from row values."""
    tables: dict[str, tuple[type[EntryRow], Callable[[Any], dict[str, Any]],
                            Callable[[Any], Entry]]] = {
        "procedure": (ProcedureRow, procedure_to_row_values, row_to_procedure),
        "office": (OfficeRow, office_to_row_values, row_to_office),
        "faq": (FaqRow, faq_to_row_values, row_to_faq),
    }
    if kind not in tables:
        raise ValueError(f"unknown kind of entry {kind!r}")
    return tables[kind]


def entry_kind(entry: Entry) -> str:
    """"procedure", "office" or "faq"."""
    return next(kind for kind, model in ENTRY_MODELS.items() if isinstance(entry, model))


class KnowledgeStore:
    """Knowledge-base access for the rest of the system."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.catalog = CatalogStore(sessions)
        self.synonyms = SynonymStore(sessions)

    async def is_empty(self) -> bool:
        """True when no procedure has been loaded yet."""
        async with self.sessions() as session:
            return (await session.scalar(select(ProcedureRow.id).limit(1))) is None

    async def load_bundle(self, bundle: KnowledgeBundle) -> LoadSummary:
        """Insert or update every entry of a validated bundle in one transaction."""
        summary = LoadSummary()
        async with self.sessions.begin() as session:
            await self._upsert(session, ProcedureRow, "procedures",
                               [procedure_to_row_values(p) for p in bundle.procedures], summary)
            await self._upsert(session, OfficeRow, "offices",
                               [office_to_row_values(o) for o in bundle.offices], summary)
            await self._upsert(session, FaqRow, "faqs",
                               [faq_to_row_values(f) for f in bundle.faqs], summary)
            city = await session.get(CityRow, 1)
            city_data = bundle.city.model_dump(mode="json")
            if city is None:
                session.add(CityRow(id=1, data=city_data))
                summary.note("added", "city", "city")
            elif city.data != city_data:
                city.data = city_data
                summary.note("updated", "city", "city")
            else:
                summary.note("unchanged", "city", "city")
        return summary

    async def _upsert(self, session: AsyncSession, table: type[EntryRow], kind: str,
                      rows: list[dict[str, Any]], summary: LoadSummary) -> None:
        found = cast("Sequence[EntryRow]", (await session.scalars(select(table))).all())
        existing = {row.id: row for row in found}
        for values in rows:
            row = existing.get(values["id"])
            if row is None:
                session.add(table(**values))
                summary.note("added", kind, values["id"])
                continue
            changed = False
            for name, value in values.items():
                if getattr(row, name) != value:
                    setattr(row, name, value)
                    changed = True
            summary.note("updated" if changed else "unchanged", kind, values["id"])

    async def entry(self, kind: str, entry_id: str,
                    session: AsyncSession | None = None) -> Entry | None:
        """One procedure, office or FAQ, whatever its status (in ``session`` if given)."""
        table, _values, to_entry = _entry_table(kind)
        if session is not None:
            row = await session.get(table, entry_id)
            return to_entry(row) if row is not None else None
        async with self.sessions() as own:
            row = await own.get(table, entry_id)
            return to_entry(row) if row is not None else None

    async def put_entry(self, session: AsyncSession, entry: Entry) -> None:
        """Insert or replace one validated entry, inside the caller's transaction."""
        table, to_values, _entry = _entry_table(entry_kind(entry))
        values = to_values(entry)
        row = await session.get(table, entry.id)
        if row is None:
            session.add(table(**values))
            return
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)

    async def delete_entry(self, session: AsyncSession, kind: str, entry_id: str) -> bool:
        """Remove one entry inside the caller's transaction; False when there was none."""
        table, _values, _entry = _entry_table(kind)
        row = await session.get(table, entry_id)
        if row is None:
            return False
        await session.delete(row)
        return True

    async def procedures(self, published_only: bool = True) -> list[Procedure]:
        """Procedures ordered by id."""
        query = select(ProcedureRow).order_by(ProcedureRow.id)
        if published_only:
            query = query.where(ProcedureRow.status == PublishStatus.PUBLISHED.value)
        async with self.sessions() as session:
            return [row_to_procedure(row) for row in (await session.scalars(query)).all()]

    async def procedure(self, procedure_id: str, published_only: bool = True) -> Procedure | None:
        """One procedure by id."""
        async with self.sessions() as session:
            row = await session.get(ProcedureRow, procedure_id)
        if row is None or (published_only and row.status != PublishStatus.PUBLISHED.value):
            return None
        return row_to_procedure(row)

    async def offices(self) -> list[Office]:
        """All offices ordered by id."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(OfficeRow).order_by(OfficeRow.id))).all()
        return [row_to_office(row) for row in rows]

    async def faqs(self, published_only: bool = True) -> list[Faq]:
        """FAQs ordered by id."""
        query = select(FaqRow).order_by(FaqRow.id)
        if published_only:
            query = query.where(FaqRow.status == PublishStatus.PUBLISHED.value)
        async with self.sessions() as session:
            return [row_to_faq(row) for row in (await session.scalars(query)).all()]

    async def city(self) -> City | None:
        """The city profile, if loaded."""
        async with self.sessions() as session:
            row = await session.get(CityRow, 1)
        return City.model_validate(row.data) if row is not None else None

    async def export_bundle(self) -> KnowledgeBundle:
        """Everything in the database, drafts included, as a bundle."""
        city = await self.city()
        if city is None:
            raise LookupError("the knowledge base is empty: run 'egovbot kb load' first")
        return KnowledgeBundle(
            city=city,
            procedures=await self.procedures(published_only=False),
            offices=await self.offices(),
            faqs=await self.faqs(published_only=False),
        )
