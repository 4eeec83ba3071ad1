"""The hot path's statements compiled once and run on the driver's own connection.

Every message runs a handful of statements (storing the inbox row, saving the turn, the done
mark). Through SQLAlchemy's execution path each costs several times what the driver needs:
about 159 µs of CPU against 34 µs for asyncpg alone, and 27.5 µs against 6.1 µs for the
sqlite3 module (issue 16). Their SQL stays the SQLAlchemy statements the stores define (the
stores stay the one place of each table's SQL): ``Direct`` compiles one once for a dialect and
keeps its text, the order of its parameters and SQLAlchemy's own converters for them, so a
value is stored exactly as SQLAlchemy would store it.

On PostgreSQL ``bot.storage.postgres`` runs them on an asyncpg pool. On SQLite ``rowcount``,
``scalar`` and ``execute_many`` run them on the writer thread's sqlite3 connection, inside the
batch's SQLAlchemy transaction (its commit or rollback covers them); on any other connection,
or for a statement that cannot be compiled so, they go through SQLAlchemy as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

POSTGRES: Dialect = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
SQLITE: Dialect = SQLiteDialect_pysqlite(paramstyle="qmark")


@dataclass(frozen=True, slots=True)
class Direct:
    """A SQLAlchemy statement compiled once for one driver: its SQL text, and how to turn a
    dict of the statement's parameters into the driver's positional arguments."""

    sql: str
    names: tuple[str, ...]
    defaults: Mapping[str, Any]  # values fixed in the statement (literals, IN lists)
    converters: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: ClauseElement, column_keys: Sequence[str] | None = None,
           dialect: Dialect = POSTGRES) -> Direct:
        """``column_keys``: the columns an INSERT sets (the rest get their defaults)."""
        compiled = cast(SQLCompiler, statement.compile(
            dialect=dialect, column_keys=list(column_keys) if column_keys else None))
        params = {name for name, bind in compiled.binds.items() if bind.required}
        expanded = compiled.construct_expanded_state(dict.fromkeys(params))
        names = tuple(expanded.positiontup or ())
        converters = []
        for name in names:
            bind = compiled.binds.get(name)
            converters.append(bind.type._cached_bind_processor(dialect)
                              if bind is not None else None)
        defaults = {name: value.value if isinstance(value, Enum) else value
                    for name, value in expanded.parameters.items() if name not in params}
        if compiled.insert_prefetch:  # SQLAlchemy would compute these per execution
            raise ValueError(f"set {compiled.insert_prefetch} in the statement's parameters")
        return cls(expanded.statement, names, defaults, tuple(converters))

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The driver's arguments for these parameters."""
        values = []
        for name, convert in zip(self.names, self.converters, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(convert(value) if convert is not None and value is not None
                          else value)
        return values


@lru_cache(maxsize=512)  # the stores' statements are module-level or built once per shape
def _for_sqlite(statement: UpdateBase, column_keys: tuple[str, ...] | None
                ) -> Direct | None:
    try:
        return Direct.of(statement, column_keys, SQLITE)
    except ValueError:  # Python-side column defaults: SQLAlchemy fills them in
        return None


def _direct(connection: Connection, statement: UpdateBase,
            column_keys: Sequence[str] | None) -> tuple[sqlite3.Connection, Direct] | None:
    """The sqlite3 connection under ``connection`` and the statement compiled for it; None
    when ``connection`` is not the writer's sqlite3 connection (PostgreSQL, aiosqlite)."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        return None
    direct = _for_sqlite(statement, tuple(column_keys) if column_keys else None)
    return (driver, direct) if direct is not None else None


def rowcount(connection: Connection, statement: UpdateBase,
             params: Mapping[str, Any]) -> int:
    """Run an UPDATE or DELETE; how many rows it changed."""
    found = _direct(connection, statement, None)
    if found is None:
        return int(getattr(connection.execute(statement, params), "rowcount", 0))
    driver, direct = found
    return driver.execute(direct.sql, direct.args(params)).rowcount


def scalar(connection: Connection, statement: UpdateBase, params: Mapping[str, Any],
           column_keys: Sequence[str] | None = None) -> Any:
    """Run a statement; the first column of its first row (None without rows). Only for
    columns SQLite hands back as they are (integers, text): no result conversion is done."""
    found = _direct(connection, statement, column_keys)
    if found is None:
        return connection.execute(statement, params).scalar_one_or_none()
    driver, direct = found
    row = driver.execute(direct.sql, direct.args(params)).fetchone()
    return row[0] if row is not None else None


def execute_many(connection: Connection, statement: UpdateBase,
                 rows: Sequence[Mapping[str, Any]], column_keys: Sequence[str]) -> None:
    """Run an INSERT once per row (every row setting ``column_keys``)."""
    found = _direct(connection, statement, column_keys)
    if found is None:
        connection.execute(statement, list(rows))
        return
    driver, direct = found
    driver.executemany(direct.sql, [direct.args(row) for row in rows])
