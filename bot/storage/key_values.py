"""Named values that must survive restarts, updated atomically (compare-and-set on a version).

Used for a channel's single-use refresh token: the new token is stored only if nobody else
stored one since we read it, so two workers refreshing at once cannot lose it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import KeyValueRow
from knowledge.clock import utcnow


@dataclass(frozen=True, slots=True)
class Versioned:
    """A stored value with its version."""

    value: dict[str, Any]
    version: int


class KeyValueStore:
    """Small persistent values with optimistic concurrency."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def get(self, key: str) -> Versioned | None:
        """The value and its version, if set."""
        async with self.sessions() as session:
            row = await session.get(KeyValueRow, key)
        return Versioned(dict(row.value), row.version) if row is not None else None

    async def compare_and_set(self, key: str, value: dict[str, Any],
                              expected_version: int | None) -> bool:
        """Store ``value`` if the stored version is still ``expected_version`` (None: unset)."""
        now = utcnow()
        try:
            async with self.sessions.begin() as session:
                if expected_version is None:
                    session.add(KeyValueRow(key=key, value=value, version=1, updated_at=now))
                    return True
                result = await session.execute(
                    update(KeyValueRow)
                    .where(KeyValueRow.key == key, KeyValueRow.version == expected_version)
                    .values(value=value, version=expected_version + 1, updated_at=now)
                )
                return bool(getattr(result, "rowcount", 0) == 1)
        except IntegrityError:
            return False
