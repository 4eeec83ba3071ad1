"""The one place SQLAlchemy engines and sessions are configured (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

# What a database that is restarting or unreachable raises: worth waiting for, not a bug
# (asyncpg's own errors: the hot path's statements on PostgreSQL, bot/storage/postgres.py).
DATABASE_AWAY = (SQLAlchemyError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


DEFAULT_POOL_SIZE = 5  # connections of a process that is not the service (CLI, tools)


@dataclass(frozen=True)
class PoolShares:
    """How one process's ``database_pool_size`` PostgreSQL connections are shared: the
    engine's pool (staff pages, knowledge base, the rarer writes) and its brief overflow, and
    the asyncpg pool of the hot path (``bot/storage/postgres.py``), which takes the rest. The
    three add up to the setting (at least 5), so workers x the setting is what the server
    must allow."""

    engine: int
    overflow: int
    hot_path: int

    @classmethod
    def of(cls, total: int) -> PoolShares:
        engine, overflow = max(2, total // 4), max(1, total // 10)
        return cls(engine, overflow, max(2, total - engine - overflow))


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    """An async engine; SQLite files get their folder created, WAL mode and foreign keys.

    The pool keeps connections open and lets a few more exist only briefly: a pool smaller
    than the number of messages in flight opens and closes a connection for most queries
    under load (on PostgreSQL a TLS negotiation and a login; on SQLite one of aiosqlite's
    threads and three PRAGMAs). On SQLite it keeps ``pool_size``; on PostgreSQL the engine
    gets its share of ``pool_size`` (``PoolShares``) and the hot path's asyncpg pool the rest.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=pool_size,
                                     max_overflow=max(2, pool_size // 4))
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping (a round trip per checkout): after a server restart the first query on a
    # dead connection fails, the pool drops every connection, and the caller retries.
    shares = PoolShares.of(pool_size)
    return create_async_engine(url, pool_size=shares.engine, max_overflow=shares.overflow)


def make_sqlite_writer(engine: AsyncEngine) -> Engine:
    """A synchronous engine on the same SQLite file, for a writer thread that runs a whole
    batch of statements in one call instead of one thread hop per statement."""
    url = engine.url.set(drivername="sqlite")
    writer = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           poolclass=StaticPool)
    event.listen(writer, "connect", _sqlite_pragmas)
    event.listen(writer, "connect", _no_autocheckpoint)
    return writer


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    """The writer never checkpoints on commit (a checkpoint syncs the file and would stall
    every message in the batch); ``checkpoint_sqlite`` does it beside the writer."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


def checkpoint_sqlite(engine: Engine) -> None:
    """Copy the write-ahead log into the database without blocking readers or the writer
    (``engine`` must have a connection of its own, not the writer's)."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def make_autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine for single statements on the hot path (a read, or a write that is atomic by
    itself), run on a plain connection (no ORM session to open and close): autocommit, so a
    statement is one round trip instead of BEGIN, the statement and ROLLBACK or COMMIT. Never
    for several statements that must agree."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
