"""Test support for the SQL history."""

from __future__ import annotations

import asyncio
import sqlite3

import asyncpg

from hub.storage.sql.db import sqlite_path


class SqlWriteLock:
    """Holds the database's write lock from outside the hub, so an archiver
    that read a batch waits in the middle of writing it."""

    def __init__(self, url: str, tables: tuple[str, ...] = ("activities", "activity_history")) -> None:
        self.url = url
        self.tables = tables
        self.sqlite: sqlite3.Connection | None = None
        self.pg: asyncpg.Connection | None = None
        self.loop = asyncio.new_event_loop()

    def take(self) -> None:
        if self.url.startswith("sqlite"):
            self.sqlite = sqlite3.connect(sqlite_path(self.url), isolation_level=None, check_same_thread=False)
            self.sqlite.execute("BEGIN IMMEDIATE")
        else:
            self.pg = self.loop.run_until_complete(asyncpg.connect(self.url))
            self.loop.run_until_complete(
                self.pg.execute(f"BEGIN; LOCK TABLE {', '.join(self.tables)} IN EXCLUSIVE MODE")
            )

    def release(self) -> None:
        if self.sqlite is not None:
            self.sqlite.execute("ROLLBACK")
            self.sqlite.close()
        if self.pg is not None:
            self.loop.run_until_complete(self.pg.execute("ROLLBACK"))
            self.loop.run_until_complete(self.pg.close())
        self.loop.close()
