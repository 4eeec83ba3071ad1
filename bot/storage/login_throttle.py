"""Throttling of failed staff logins, by client address and by name from that address.

An account is never locked for everyone: five wrong passwords from one address slow down that
address for that name (and many from one address slow down the address), so an anonymous
caller elsewhere cannot lock an administrator out. Every attempt is counted *before* the
password is checked, in one atomic statement, so parallel requests cannot slip past the limit
(each gets its own count), on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.tables import LoginAttemptRow
from knowledge.clock import utcnow

WINDOW = dt.timedelta(minutes=15)
PER_NAME = 5  # attempts at one name from one address per window
PER_ADDRESS = 30  # attempts at any names from one address per window


class LoginThrottle:
    """Counts attempts and says whether one may go on to the password check."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    async def admit(self, username: str, address: str) -> bool:
        """Count this attempt; False when the name or the address has used up its window."""
        by_address = await self._count(f"addr:{address}")
        by_name = await self._count(f"name:{username}|addr:{address}")
        return by_address <= PER_ADDRESS and by_name <= PER_NAME

    async def succeeded(self, username: str, address: str) -> None:
        """A right password: the name's count from that address starts again, and the
        address's count forgets this attempt (an office behind one address logs in often)."""
        async with self.sessions.begin() as session:
            await session.execute(delete(LoginAttemptRow).where(
                LoginAttemptRow.key == f"name:{username}|addr:{address}"))
            await session.execute(update(LoginAttemptRow).where(
                LoginAttemptRow.key == f"addr:{address}", LoginAttemptRow.attempts > 0)
                .values(attempts=LoginAttemptRow.attempts - 1))

    async def _count(self, key: str) -> int:
        now = utcnow()
        table = LoginAttemptRow.__table__
        expired = table.c.window_start < now - WINDOW
        async with self.sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
            counted = insert_(LoginAttemptRow).values(key=key, attempts=1, window_start=now)
            statement = counted.on_conflict_do_update(
                index_elements=["key"],
                set_={"attempts": case((expired, 1), else_=table.c.attempts + 1),
                      "window_start": case((expired, now), else_=table.c.window_start)},
            ).returning(LoginAttemptRow.attempts)
            return int((await session.execute(statement)).scalar_one())
