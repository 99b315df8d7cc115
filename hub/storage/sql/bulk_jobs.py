"""Bulk jobs and each contact's outcome in SQL: written by the archiver from
what Redis holds, read back in the shape Redis answers.

Writes are idempotent: a job is upserted by id (never over a copy of a later
version), a sent contact's outcome upserted by (job, row) (a replayed chunk
writes the same values), and an unsent contact's row inserted only where no
outcome is (the chunk a canceled job still had on its way wins, whatever the
order the two are archived in).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import clock
from hub.storage.bulk_jobs import FINAL, version_of
from hub.storage.sql.db import Database

_JOB_COLUMNS = (
    "id",
    "org_id",
    "configuration_id",
    "status",
    "total",
    "processed",
    "created_ms",
    "finished_ms",
    "version",
    "record",
    "archived_ms",
    "in_redis",
)
UPSERT_JOB = (
    f"INSERT INTO bulk_jobs ({', '.join(_JOB_COLUMNS)}) VALUES ({', '.join('?' * len(_JOB_COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _JOB_COLUMNS if c not in ("id", "org_id"))
    + " WHERE bulk_jobs.version <= excluded.version"
)
_OUTCOME_COLUMNS = (
    "job_id",
    "row_number",
    "tocontactid",
    "status",
    "activity_id",
    "error_code",
    "error_message",
    "sent",
)
_INSERT_OUTCOME = (
    f"INSERT INTO bulk_outcomes ({', '.join(_OUTCOME_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_OUTCOME_COLUMNS))}) ON CONFLICT (job_id, row_number) "
)
UPSERT_SENT = _INSERT_OUTCOME + "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _OUTCOME_COLUMNS[2:])
INSERT_UNSENT = _INSERT_OUTCOME + "DO NOTHING"


@dataclass
class JobCopy:
    """A job as Redis holds it, and outcome rows (``[row, tocontactid, status,
    activity_id, error_code, error_message]``) to write with it."""

    raw: dict[str, str]
    sent: list[list[Any]] = field(default_factory=list)
    unsent: list[list[Any]] = field(default_factory=list)


def _job_row(raw: dict[str, str], now_ms: int) -> tuple[Any, ...]:
    return (
        raw["id"],
        raw["org"],
        raw["cfg"],
        raw["status"],
        int(raw.get("total") or 0),
        int(raw.get("processed") or 0),
        int(raw["created"]),
        int(raw["finished"]) if raw.get("finished") else None,
        version_of(raw),
        json.dumps(raw, sort_keys=True),
        now_ms,
        1,
    )


def _outcome(job_id: str, row: Sequence[Any], sent: int) -> tuple[Any, ...]:
    return (job_id, int(row[0]), *("" if v is None else str(v) for v in row[1:6]), sent)


async def write_jobs(db: Database, copies: Sequence[JobCopy]) -> None:
    """One transaction, jobs in id order (PostgreSQL row locks in one order)."""
    ordered = sorted(copies, key=lambda c: c.raw["id"])
    if not ordered:
        return
    now_ms = clock.now_ms()
    async with db.transaction() as tx:
        await tx.executemany(UPSERT_JOB, [_job_row(c.raw, now_ms) for c in ordered])
        sent = [_outcome(c.raw["id"], r, 1) for c in ordered for r in sorted(c.sent)]
        if sent:
            await tx.executemany(UPSERT_SENT, sent)
        unsent = [_outcome(c.raw["id"], r, 0) for c in ordered for r in sorted(c.unsent)]
        if unsent:
            await tx.executemany(INSERT_UNSENT, unsent)


async def load_job(db: Database, org_id: str, job_id: str) -> dict[str, str] | None:
    rows = await db.fetch("SELECT record FROM bulk_jobs WHERE org_id = ? AND id = ?", org_id, job_id)
    return json.loads(rows[0][0]) if rows else None


async def outcome_rows(db: Database, job_id: str, first_row: int, last_row: int) -> list[list[Any]]:
    """The outcome rows ``first_row``..``last_row`` of a job, in file order."""
    rows = await db.fetch(
        f"SELECT {', '.join(_OUTCOME_COLUMNS[1:7])} FROM bulk_outcomes"
        " WHERE job_id = ? AND row_number BETWEEN ? AND ? ORDER BY row_number",
        job_id,
        first_row,
        last_row,
    )
    return [[int(r[0]), *r[1:]] for r in rows]


@dataclass(frozen=True)
class Archived:
    """A finished job's archived copy, and how many of its rows SQL holds."""

    id: str
    version: int
    chunks: int
    complete: bool
    archived_ms: int


async def sweep_candidates(
    db: Database, org_id: str, *, before_ms: int, after: tuple[int, str], limit: int
) -> list[Archived]:
    """Finished jobs still in Redis whose last archived change is older than
    ``before_ms``, after the (archived_ms, id) mark, oldest first; complete
    when SQL holds a row for every contact and a sent outcome for every
    contact the job processed."""
    marks = ", ".join("?" * len(FINAL))
    rows = await db.fetch(
        "SELECT archived_ms, id, version, record, total, processed,"
        " (SELECT COUNT(*) FROM bulk_outcomes o WHERE o.job_id = j.id),"
        " (SELECT COUNT(*) FROM bulk_outcomes o WHERE o.job_id = j.id AND o.sent = 1)"
        " FROM bulk_jobs j WHERE org_id = ? AND in_redis = 1 AND archived_ms < ?"
        " AND (archived_ms > ? OR (archived_ms = ? AND id > ?))"
        f" AND status IN ({marks}) ORDER BY archived_ms, id LIMIT ?",
        org_id,
        before_ms,
        after[0],
        after[0],
        after[1],
        *FINAL,
        limit,
    )
    return [
        Archived(
            i,
            int(v),
            int(json.loads(rec).get("chunks") or 0),
            int(n) == int(total) and int(sent) == int(processed),
            int(at),
        )
        for at, i, v, rec, total, processed, n, sent in rows
    ]


async def mark_dropped(db: Database, dropped: Sequence[Archived]) -> None:
    """Redis no longer holds these jobs' outcomes (an archiver write of a
    later version sets ``in_redis`` again)."""
    if dropped:
        async with db.transaction() as tx:
            await tx.executemany(
                "UPDATE bulk_jobs SET in_redis = 0 WHERE id = ? AND version = ?", [(a.id, a.version) for a in dropped]
            )


async def purge_before(db: Database, org_id: str, cutoff_ms: int, *, batch: int = 1000) -> int:
    """Delete the org's jobs created before ``cutoff_ms`` with their outcomes,
    ``batch`` rows per short transaction; returns the jobs deleted."""
    removed = 0
    while True:
        jobs = await db.fetch(
            "SELECT id FROM bulk_jobs WHERE org_id = ? AND created_ms < ? ORDER BY created_ms LIMIT ?",
            org_id,
            cutoff_ms,
            batch,
        )
        if not jobs:
            return removed
        for (job_id,) in jobs:
            while True:
                last = await db.fetchval(
                    "SELECT row_number FROM bulk_outcomes WHERE job_id = ? ORDER BY row_number LIMIT 1 OFFSET ?",
                    job_id,
                    batch - 1,
                )
                async with db.transaction() as tx:
                    if last is None:
                        await tx.execute("DELETE FROM bulk_outcomes WHERE job_id = ?", job_id)
                        await tx.execute("DELETE FROM bulk_jobs WHERE id = ?", job_id)
                        break
                    await tx.execute("DELETE FROM bulk_outcomes WHERE job_id = ? AND row_number <= ?", job_id, last)
            removed += 1
