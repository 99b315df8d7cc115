"""Versioned schema migrations, applied at start.

Migrations are the files ``migrations/NNNN_name.sql``, applied in order, each
in the same transaction as its row in ``schema_version``, so a database is
always at exactly one version. The whole run holds a lock (a PostgreSQL
advisory lock; SQLite's write lock), so when several processes start at once
one migrates and the others then find nothing left to do. Statements are
separated by ``;`` at the end of a line; a migration is never edited once
released, a change is a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from hub import clock
from hub.storage.sql.db import Database

# Any constant will do, as long as nothing else uses it as an advisory lock key.
MIGRATION_LOCK = 0x6875625F736368  # "hub_sch"

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


class SchemaTooNew(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        return [s.strip() for s in re.split(r";\s*$", "\n".join(lines), flags=re.M) if s.strip()]


def migrations() -> list[Migration]:
    found = []
    for entry in (resources.files("hub.storage.sql") / "migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m[1]), m[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    assert [m.version for m in found] == list(range(1, len(found) + 1)), "migration numbers have a gap"
    return found


def latest_version() -> int:
    return len(migrations())


async def current_version(db: Database) -> int:
    rows = await db.fetch("SELECT MAX(version) FROM schema_version")
    return int(rows[0][0] or 0)


async def migrate(db: Database, *, target: int | None = None) -> int:
    """Bring the schema to ``target`` (default: the latest); returns the version."""
    todo = migrations()
    target = len(todo) if target is None else target
    async with db.transaction(lock_key=MIGRATION_LOCK) as tx:
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
        )
        current = int(await tx.fetchval("SELECT MAX(version) FROM schema_version") or 0)
        if current > len(todo):
            raise SchemaTooNew(f"the database's schema is at version {current}; this hub knows up to {len(todo)}")
        for m in todo[current:target]:
            for statement in m.statements():
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)",
                m.version,
                m.name,
                clock.now_ms(),
            )
        return max(current, target)
