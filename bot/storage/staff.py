"""Staff accounts and login sessions (changes are written to the audit log).

Passwords are hashed with Argon2id (argon2-cffi), a memory-hard algorithm. A login session is
a random token kept by the browser in an HttpOnly cookie; only its SHA-256 is stored, with the
session's CSRF token and expiry. Repeated failed logins lock the account for a while.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    delete,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.roles import Role
from knowledge.audit import recent_changes
from knowledge.clock import as_utc, utcnow
from knowledge.tables import AuditRow, Base

USERNAME_PATTERN = r"^[a-z0-9._-]{3,40}$"
MIN_PASSWORD_CHARS = 10


class StaffUserRow(Base):
    """A support officer or administrator."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                    server_default=func.now())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class StaffSessionRow(Base):
    """A logged-in browser: the hash of its cookie token, its CSRF token, its expiry."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))




@dataclass(frozen=True, slots=True)
class StaffUser:
    """A staff account as the web pages see it (no password hash)."""

    id: int
    username: str
    role: Role
    active: bool

    @property
    def is_admin(self) -> bool:
        """Admins may edit the knowledge base and manage users."""
        return self.role == Role.ADMIN


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A valid login session."""

    user: StaffUser
    csrf_token: str
    expires_at: dt.datetime


class AccountError(ValueError):
    """A staff account request that cannot be done; the message says why (in Vietnamese)."""






def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: StaffUserRow) -> StaffUser:
    return StaffUser(row.id, row.username, Role(row.role), row.active)


class StaffStore:
    """Accounts, sessions and the audit log in the database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 hasher: PasswordHasher | None = None) -> None:
        self.sessions = sessions
        self.hasher = hasher or PasswordHasher()

    async def add_user(self, username: str, password: str, role: Role) -> StaffUser:
        """Create an account; raises AccountError for a bad name, a weak password or a clash."""
        import re

        if not re.match(USERNAME_PATTERN, username):
            raise AccountError("Tên đăng nhập gồm 3–40 ký tự: chữ thường, số, dấu . _ -")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD_CHARS} ký tự")
        async with self.sessions.begin() as session:
            if await session.scalar(select(StaffUserRow.id).where(
                    StaffUserRow.username == username)) is not None:
                raise AccountError(f"Tài khoản {username} đã tồn tại")
            row = StaffUserRow(username=username, password_hash=self.hasher.hash(password),
                               role=role.value, active=True, failed_logins=0)
            session.add(row)
            await session.flush()
            return _user(row)

    async def users(self) -> list[StaffUser]:
        """Every account, by name."""
        async with self.sessions() as session:
            rows = (await session.scalars(select(StaffUserRow)
                                          .order_by(StaffUserRow.username))).all()
        return [_user(row) for row in rows]

    async def set_active(self, username: str, active: bool) -> StaffUser:
        """Enable or disable an account; disabling ends its sessions."""
        async with self.sessions.begin() as session:
            row = await session.scalar(select(StaffUserRow).where(
                StaffUserRow.username == username))
            if row is None:
                raise AccountError(f"Không có tài khoản {username}")
            row.active = active
            if not active:
                await session.execute(delete(StaffSessionRow).where(
                    StaffSessionRow.user_id == row.id))
            return _user(row)

    async def authenticate(self, username: str, password: str) -> StaffUser | None:
        """The user when the password is right and the account active; None otherwise, in
        the same time whether the name exists or not. Failed attempts are throttled by the
        caller (``bot/storage/login_throttle.py``), never by locking the account: a lock
        anyone could trigger would lock administrators out."""
        now = utcnow()
        async with self.sessions.begin() as session:
            row = await session.scalar(select(StaffUserRow).where(
                StaffUserRow.username == username))
            if row is None:
                self.spend_a_check(password)
                return None
            try:
                self.hasher.verify(row.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
            if not row.active:
                return None
            row.last_login_at = now
            if self.hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self.hasher.hash(password)
            return _user(row)

    def spend_a_check(self, password: str) -> None:
        """Take as long as checking a password, without checking one."""
        self.hasher.hash(password)

    async def start_session(self, user: StaffUser, lifetime: dt.timedelta) -> tuple[str,
                                                                                   StaffSession]:
        """A new login session: the cookie token (never stored) and the session."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        session_data = StaffSession(user, secrets.token_urlsafe(32), now + lifetime)
        async with self.sessions.begin() as session:
            await session.execute(delete(StaffSessionRow).where(
                StaffSessionRow.expires_at < now))
            session.add(StaffSessionRow(token_hash=_hash_token(token), user_id=user.id,
                                        csrf_token=session_data.csrf_token, created_at=now,
                                        expires_at=session_data.expires_at))
        return token, session_data

    async def session_for(self, token: str) -> StaffSession | None:
        """The valid session of a cookie token, if any (expired or disabled: None)."""
        async with self.sessions() as session:
            found = (await session.execute(
                select(StaffSessionRow, StaffUserRow)
                .join(StaffUserRow, StaffUserRow.id == StaffSessionRow.user_id)
                .where(StaffSessionRow.token_hash == _hash_token(token))
            )).first()
        if found is None:
            return None
        stored, user = found
        if as_utc(stored.expires_at) <= utcnow() or not user.active:
            return None
        return StaffSession(_user(user), stored.csrf_token, as_utc(stored.expires_at))

    async def end_session(self, token: str) -> None:
        """Log out."""
        async with self.sessions.begin() as session:
            await session.execute(delete(StaffSessionRow).where(
                StaffSessionRow.token_hash == _hash_token(token)))

    async def audit(self, username: str, kind: str, entry_id: str, action: str,
                    before: dict[str, Any] | None, after: dict[str, Any] | None,
                    summary: str = "") -> None:
        """Record one change."""
        async with self.sessions.begin() as session:
            session.add(AuditRow(at=utcnow(), username=username, kind=kind, entry_id=entry_id,
                                 action=action, before=before, after=after, summary=summary))

    async def audit_log(self, kind: str | None = None, entry_id: str | None = None,
                        limit: int = 100) -> list[AuditRow]:
        """Recent changes, newest first."""
        return await recent_changes(self.sessions, kind=kind, entry_id=entry_id, limit=limit)
