"""The hot path's statements on PostgreSQL, run straight through asyncpg.

SQLAlchemy's execution path around asyncpg cost about 159 µs of CPU per statement on a held
connection against 34 µs for asyncpg alone (issue 16), and a worker runs a few statements per
message. So the statements of every message (storing the inbox row, reading a conversation's
unfinished rows with its state, saving the turn, the done mark) run on a small asyncpg pool of
their own, made from the engine's URL. Their SQL is still the SQLAlchemy statements the stores
define (``bot/storage/tables.py`` and the stores stay the one place of each table's SQL):
``bot.storage.direct.Direct`` compiles one once for PostgreSQL and keeps its text, the order
of its parameters and their converters; asyncpg prepares it once per connection (its
statement cache).

Everything else keeps going through SQLAlchemy (SQLite's hot path: ``bot.storage.direct``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from bot.storage.direct import Direct


async def _json_codecs(connection: asyncpg.Connection) -> None:
    """JSON columns come back decoded, as through SQLAlchemy (they go in as text)."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(name, schema="pg_catalog", encoder=str,
                                        decoder=json.loads, format="text")


# Every statement here finds its rows by a key: a generic plan is as good as a custom one, and
# planning anew at each execution (the server's default for a prepared statement's first five
# runs, and later whenever it estimates a custom plan pays) costs the turn's many-parameter
# statement more than running it.
_SETTINGS = {"plan_cache_mode": "force_generic_plan"}


async def _keep(_connection: asyncpg.Connection) -> None:
    """A connection goes back to the pool as it is: its statements run in autocommit or in
    transactions that end (asyncpg rolls back one left open), and nothing sets session state;
    the default reset would cost a round trip per use."""


class Postgres:
    """A small asyncpg pool beside the engine's, for the hot path's statements.

    After a server restart, a connection that the server closed is replaced at its next use;
    a query on one that died unnoticed fails once, as through SQLAlchemy, and the caller
    retries (the pool then connects anew)."""

    def __init__(self, url: URL, size: int) -> None:
        self.url = url
        self.size = max(1, size)
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Lock | None = None

    async def _get(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._opening is None or self._loop is not loop:
            self._opening, self._loop, self._pool = asyncio.Lock(), loop, None
        async with self._opening:
            if self._pool is None:
                url = self.url
                self._pool = await asyncpg.create_pool(
                    host=url.host, port=url.port, user=url.username, password=url.password,
                    database=url.database, min_size=0, max_size=self.size, init=_json_codecs,
                    reset=_keep, server_settings=_SETTINGS, **dict(url.query))
            return self._pool

    async def fetch(self, statement: Direct, params: Mapping[str, Any]) -> list[asyncpg.Record]:
        """The statement's rows (autocommit)."""
        pool = await self._get()
        async with pool.acquire() as connection:
            rows: list[asyncpg.Record] = await connection.fetch(statement.sql,
                                                                *statement.args(params))
            return rows

    async def fetchval(self, statement: Direct, params: Mapping[str, Any]) -> Any:
        """The first column of the statement's first row, None without rows (autocommit)."""
        pool = await self._get()
        async with pool.acquire() as connection:
            return await connection.fetchval(statement.sql, *statement.args(params))

    async def execute(self, statement: Direct, params: Mapping[str, Any]) -> None:
        """Run a statement (autocommit)."""
        pool = await self._get()
        async with pool.acquire() as connection:
            await connection.execute(statement.sql, *statement.args(params))

    async def close(self) -> None:
        """Close the pool's connections."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
