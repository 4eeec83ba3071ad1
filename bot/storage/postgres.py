"""The hot path's statements on PostgreSQL, run straight through asyncpg.

SQLAlchemy's execution path around asyncpg cost about 159 µs of CPU per statement on a held
connection against 34 µs for asyncpg alone (issue 16), and a worker runs a few statements per
message. So the statements of every message (storing the inbox row, reading a conversation's
unfinished rows with its state, saving the turn, the done mark) run on a small asyncpg pool of
their own, made from the engine's URL. Their SQL is still the SQLAlchemy statements the stores
define (``bot/storage/tables.py`` and the stores stay the one place of each table's SQL):
``Direct`` compiles one once for PostgreSQL and keeps its text, the order of its parameters and
their converters; asyncpg prepares it once per connection (its statement cache).

Everything else, and SQLite always, keeps going through SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, cast

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import URL
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class Direct:
    """A SQLAlchemy statement compiled once for asyncpg: its SQL text, and how to turn a dict
    of the statement's parameters into asyncpg's positional arguments."""

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]  # values fixed in the statement (literals, IN lists)
    converters: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> Direct:
        """``column_keys``: the columns an INSERT sets (the rest get their defaults)."""
        compiled = cast(SQLCompiler, statement.compile(
            dialect=_DIALECT, column_keys=list(column_keys) if column_keys else None))
        params = {name for name, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(dict.fromkeys(params))
        names = tuple(expanded.positiontup or ())
        converters = []
        for name in names:
            bind = compiled.binds.get(name)
            converters.append(bind.type._cached_bind_processor(_DIALECT)
                              if bind is not None else None)
        defaults = {name: value.value if isinstance(value, Enum) else value
                    for name, value in expanded.parameters.items() if name not in params}
        if compiled.insert_prefetch:  # SQLAlchemy would compute these per execution
            raise ValueError(f"set {compiled.insert_prefetch} in the statement's parameters")
        return cls(expanded.statement, names, defaults, tuple(converters))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """asyncpg's arguments for these parameters."""
        values = []
        for name, convert in zip(self.names, self.converters, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(convert(value) if convert is not None and value is not None
                          else value)
        return values


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
