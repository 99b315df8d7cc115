"""Scheduled flows' runs in SQL, written by the archiver from the archive
stream entries that carried them; a run is identified by its entry id, so a
replayed entry writes nothing new."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hub.storage.sql.db import Database


@dataclass(frozen=True)
class RunCopy:
    org_id: str
    flow_id: str
    entry_id: str  # "<ms>-<seq>", as Redis assigned it
    run: str  # the run as JSON, as Redis keeps it

    @property
    def key(self) -> tuple[int, int]:
        ms, _, seq = self.entry_id.partition("-")
        return int(ms), int(seq or 0)


async def write_runs(db: Database, runs: Sequence[RunCopy]) -> None:
    if runs:
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO flow_runs (flow_id, entry_ms, entry_seq, org_id, run, in_redis)"
                " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (flow_id, entry_ms, entry_seq) DO NOTHING",
                sorted((r.flow_id, *r.key, r.org_id, r.run) for r in runs),
            )


async def latest_runs(db: Database, org_id: str, flow_id: str, limit: int) -> list[tuple[str, dict[str, Any]]]:
    """(entry id, run) of the flow's last ``limit`` runs, oldest first."""
    rows = await db.fetch(
        "SELECT entry_ms, entry_seq, run FROM flow_runs WHERE org_id = ? AND flow_id = ?"
        " ORDER BY entry_ms DESC, entry_seq DESC LIMIT ?",
        org_id,
        flow_id,
        limit,
    )
    return [(f"{ms}-{seq}", json.loads(run)) for ms, seq, run in reversed(rows)]


async def sweep_candidates(db: Database, org_id: str, *, before_ms: int, limit: int) -> list[tuple[str, str, str]]:
    """(flow id, entry id, run JSON) of archived runs recorded before
    ``before_ms`` that Redis still holds."""
    rows = await db.fetch(
        "SELECT flow_id, entry_ms, entry_seq, run FROM flow_runs"
        " WHERE org_id = ? AND in_redis = 1 AND entry_ms < ? ORDER BY entry_ms LIMIT ?",
        org_id,
        before_ms,
        limit,
    )
    return [(f, f"{ms}-{seq}", run) for f, ms, seq, run in rows]


async def mark_dropped(db: Database, runs: Sequence[tuple[str, str, str]]) -> None:
    if runs:
        async with db.transaction() as tx:
            await tx.executemany(
                "UPDATE flow_runs SET in_redis = 0 WHERE flow_id = ? AND entry_ms = ? AND entry_seq = ?",
                [(f, *map(int, e.split("-"))) for f, e, _ in runs],
            )


async def purge_before(db: Database, org_id: str, cutoff_ms: int, *, batch: int = 1000) -> int:
    """Delete the org's runs recorded before ``cutoff_ms``, in short transactions."""
    removed = 0
    while True:
        rows = await db.fetch(
            "SELECT flow_id, entry_ms, entry_seq FROM flow_runs WHERE org_id = ? AND entry_ms < ?"
            " ORDER BY entry_ms LIMIT ?",
            org_id,
            cutoff_ms,
            batch,
        )
        if not rows:
            return removed
        async with db.transaction() as tx:
            await tx.executemany("DELETE FROM flow_runs WHERE flow_id = ? AND entry_ms = ? AND entry_seq = ?", rows)
        removed += len(rows)
