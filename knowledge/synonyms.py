"""Everyday words for official terms, as data staff can edit: "sổ hồng", "sổ đỏ" mean
"giấy chứng nhận quyền sử dụng đất"; "bằng lái" means "giấy phép lái xe".

Procedure search reads a question with the official term added wherever an everyday phrase
occurs, so a new synonym takes effect on the next publish, with no retraining. The shipped
table (``knowledge/data/synonyms.yaml``) seeds an empty database.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from pydantic import Field
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge.clock import utcnow
from knowledge.schema import ShortText, Strict
from knowledge.tables import AuditRow, SynonymRow

SYNONYMS_FILE = "synonyms.yaml"


class Synonym(Strict):
    """Everyday phrases and the official term they stand for."""

    phrases: list[ShortText] = Field(min_length=1, max_length=50)
    meaning: ShortText


def read_synonyms(path: Path) -> list[Synonym]:
    """The synonyms of a YAML file (a list of {phrases, meaning}); [] when there is none."""
    if not path.exists():
        return []
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [Synonym.model_validate(item) for item in raw]


class SynonymStore:
    """The synonym table in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def all(self) -> list[Synonym]:
        """Every synonym, in the order staff wrote them."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(SynonymRow).order_by(SynonymRow.id))).all()
        return [Synonym(phrases=list(row.phrases), meaning=row.meaning) for row in rows]

    async def replace(self, synonyms: Sequence[Synonym], username: str | None = None) -> None:
        """Replace the whole table (one transaction; audited when a person did it)."""
        async with self.sessions.begin() as session:
            before = [{"phrases": list(row.phrases), "meaning": row.meaning} for row in
                      (await session.scalars(select(SynonymRow).order_by(SynonymRow.id))).all()]
            await session.execute(delete(SynonymRow))
            after = [s.model_dump() for s in synonyms]
            session.add_all(SynonymRow(phrases=s.phrases, meaning=s.meaning) for s in synonyms)
            if username is not None and before != after:
                session.add(AuditRow(at=utcnow(), username=username, kind="synonyms",
                                     entry_id="synonyms", action="update",
                                     before={"synonyms": before}, after={"synonyms": after},
                                     summary=f"{len(after)} từ đồng nghĩa"))
