"""One async interface over SQLite (aiosqlite) and PostgreSQL (asyncpg).

Queries are written once, with ``?`` placeholders; the PostgreSQL side
numbers them (``$1``, ``$2``, ...). Both engines accept the same DDL and
``INSERT ... ON CONFLICT ... DO UPDATE``, so that is all the dialect layer
there is. Writes go through ``transaction()``, which on SQLite takes the
write lock up front (``BEGIN IMMEDIATE``) so two processes queue instead of
failing halfway through.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

Row = tuple[Any, ...]

# How long a SQLite writer waits for another process's write lock.
SQLITE_BUSY_TIMEOUT_MS = 30_000


class Tx:
    """The statements of one transaction."""

    async def execute(self, sql: str, *args: Any) -> None:
        raise NotImplementedError

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        raise NotImplementedError

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None


class Database:
    dialect: str

    @contextlib.asynccontextmanager
    async def transaction(self, *, lock_key: int | None = None) -> AsyncIterator[Tx]:
        """A write transaction. With ``lock_key`` it also holds a lock that
        every process asking for the same key waits for (migrations)."""
        raise NotImplementedError
        yield  # pragma: no cover

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        raise NotImplementedError

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return rows[0][0] if rows else None

    async def close(self) -> None:
        raise NotImplementedError


# -- SQLite ----------------------------------------------------------------------------


class _SqliteTx(Tx):
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await (await self.conn.execute(sql, args)).close()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await (await self.conn.executemany(sql, rows)).close()

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self.conn.execute(sql, args) as cursor:
            return [tuple(r) for r in await cursor.fetchall()]


class SqliteDatabase(Database):
    """Two connections per process: one that writes (SQLite has one writer at
    a time anyway; a lock keeps this process's transactions from interleaving
    on it) and one that reads, which in WAL mode never waits for a writer.
    The database-wide lock of ``BEGIN IMMEDIATE`` serves as the lock for any
    ``lock_key``."""

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, reader: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.reader = reader
        self.path = path
        self._lock = asyncio.Lock()

    @staticmethod
    async def _connect(path: Path) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL loses no committed transaction on a process
        # crash (only, possibly, the last ones on power loss) and is fast.
        await conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await cls._connect(path)
        reader = await cls._connect(path)
        await reader.execute("PRAGMA query_only = ON")
        return cls(writer, reader, path)

    @contextlib.asynccontextmanager
    async def transaction(self, *, lock_key: int | None = None) -> AsyncIterator[Tx]:
        async with self._lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await _SqliteTx(self.reader).fetch(sql, *args)

    async def close(self) -> None:
        await self.reader.close()
        await self.conn.close()


# -- PostgreSQL ------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\?")


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, ...`` (our queries hold no
    ``?`` in literals)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


class _PgTx(Tx):
    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self.conn.execute(numbered(sql), *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(numbered(sql), rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [tuple(r) for r in await self.conn.fetch(numbered(sql), *args)]


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, besides rolling back a
    transaction left open (which it always does): nothing. The default sends
    a reset query (RESET ALL, UNLISTEN *, ...), one more round trip per read;
    this package sets no session state, takes only transaction-scoped
    advisory locks and never listens, so there is nothing to reset."""


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def open(cls, url: str, *, max_size: int = 8) -> PostgresDatabase:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size, reset=_keep_session)
        return cls(pool)

    @contextlib.asynccontextmanager
    async def transaction(self, *, lock_key: int | None = None) -> AsyncIterator[Tx]:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                if lock_key is not None:
                    await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key)
                yield _PgTx(conn)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [tuple(r) for r in await self.pool.fetch(numbered(sql), *args)]

    async def close(self) -> None:
        await self.pool.close()


# -- opening -----------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative/file`` or ``sqlite:////absolute/file``."""
    return Path(url.removeprefix("sqlite:///"))


async def open_database(url: str) -> Database:
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDatabase.open(url)
    if url.startswith("sqlite:///"):
        return await SqliteDatabase.open(sqlite_path(url))
    raise ValueError("DATABASE_URL must start with postgresql:// or sqlite:///")
