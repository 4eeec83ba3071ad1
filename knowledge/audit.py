"""Reading the audit log (who changed what, when), one query for every page that shows it:
the knowledge base's history and the staff accounts' log."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.tables import AuditRow


async def recent_changes(sessions: async_sessionmaker[AsyncSession], *,
                         kinds: Collection[str] | None = None, kind: str | None = None,
                         entry_id: str | None = None, limit: int = 100) -> list[AuditRow]:
    """Recent changes, newest first: of some kinds of entry, of one kind, of one entry."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if kinds is not None:
        query = query.where(AuditRow.kind.in_(kinds))
    if kind is not None:
        query = query.where(AuditRow.kind == kind)
    if entry_id is not None:
        query = query.where(AuditRow.entry_id == entry_id)
    async with sessions() as session:
        return list((await session.scalars(query)).all())
