"""Bulk job outcomes and flow runs in the SQL history: archived, dropped from
Redis after the hot window, and purged at retention.

The scripts that record a bulk job's chunk (``bulk_chunk_done``), stop a job
(``bulk_stop``) or record a flow's run (``schedule_done``) put it on the
org's archive stream in the same step; the archiver hands those entries
here before acknowledging them, so a crash leaves them to be written again,
which changes nothing (see hub.storage.sql.bulk_jobs and .flow_runs).

Once a finished job has been archived for HUB_HOT_SECONDS and SQL holds a
row for every contact, its outcomes and unsent contacts leave Redis (its
summary stays, as long as the history keeps it); a run leaves the flow's
list in Redis HUB_HOT_SECONDS after it was recorded. Reads merge the two.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from hub.domain.contact_rows import unsent_rows
from hub.services.context import Hub
from hub.storage.bulk_jobs import FINAL
from hub.storage.sql import bulk_jobs as sql_bulk
from hub.storage.sql import flow_runs as sql_runs

# Outcome rows written per transaction at most (a backlog after an outage
# holds many chunks of 1,000 contacts).
ROWS_PER_WRITE = 10_000
SWEEP_BATCH = 200


async def archive_jobs(hub: Hub, org_id: str, entries: Sequence[tuple[str, dict[str, str]]]) -> None:
    """Write the bulk chunks, stopped jobs and flow runs these archive stream
    entries carry."""
    if hub.history is None:
        return
    chunks: dict[str, set[int]] = {}
    stopped: set[str] = set()
    runs: list[sql_runs.RunCopy] = []
    for entry_id, fields in entries:
        if fields.get("bulk"):
            job_id, _, index = fields["bulk"].partition(" ")
            chunks.setdefault(job_id, set())
            if index:
                chunks[job_id].add(int(index))
            else:
                stopped.add(job_id)
        if fields.get("run"):
            runs.append(sql_runs.RunCopy(org_id, fields["run"], entry_id, fields["data"]))
    for job_id in sorted(chunks):
        raw = await hub.bulk_jobs.load(org_id, job_id)
        if raw is None:
            continue  # expired long ago
        indexes = sorted(chunks[job_id])
        step = _chunks_per_write(raw)
        for first in range(0, max(len(indexes), 1), step):
            part = indexes[first : first + step]
            copy = sql_bulk.JobCopy(raw)
            for rows in await hub.bulk_jobs.results_at(org_id, job_id, part):
                copy.sent += rows or []
            await sql_bulk.write_jobs(hub.history, [copy])
        if job_id in stopped and raw["status"] in FINAL:
            await _archive_unsent(hub, org_id, raw)
    await sql_runs.write_runs(hub.history, runs)


def _chunks_per_write(raw: dict[str, str]) -> int:
    return max(1, ROWS_PER_WRITE // max(1, int(raw.get("chunk_size") or 1)))


async def _archive_unsent(hub: Hub, org_id: str, raw: dict[str, str]) -> None:
    """The rows of a stopped job's chunks that were never sent, as the
    results download shows them (``canceled`` or ``failed``)."""
    assert hub.history is not None
    job_id, size, total_chunks = raw["id"], int(raw["chunk_size"]), int(raw["chunks"])
    step = _chunks_per_write(raw)
    for first in range(int(raw["next"]), total_chunks, step):
        indexes = list(range(first, min(total_chunks, first + step)))
        contacts = await hub.bulk_jobs.chunks(org_id, job_id, first, len(indexes))
        copy = sql_bulk.JobCopy(raw)
        for index, chunk in zip(indexes, contacts):
            if chunk is not None:  # None: recorded meanwhile (its own entry writes it)
                copy.unsent += unsent_rows(index * size + 1, chunk, raw["status"], _error(raw))
        await sql_bulk.write_jobs(hub.history, [copy])


def _error(raw: dict[str, str]) -> dict[str, str] | None:
    return json.loads(raw["error"]) if raw.get("error") else None


async def sweep_jobs(hub: Hub, org_id: str, before_ms: int) -> int:
    """Drop from Redis what SQL holds of finished jobs and runs archived
    before ``before_ms``; returns how many jobs and runs left Redis."""
    assert hub.history is not None
    dropped = 0
    mark = (-1, "")
    while True:
        candidates = await sql_bulk.sweep_candidates(
            hub.history, org_id, before_ms=before_ms, after=mark, limit=SWEEP_BATCH
        )
        # A job not complete in SQL yet (an entry still to archive) waits for the next sweep.
        gone = [
            a for a in candidates if a.complete and await hub.bulk_jobs.drop_outcomes(org_id, a.id, a.chunks, a.version)
        ]
        await sql_bulk.mark_dropped(hub.history, gone)
        dropped += len(gone)
        if len(candidates) < SWEEP_BATCH:
            break
        mark = (candidates[-1].archived_ms, candidates[-1].id)
    while True:
        runs = await sql_runs.sweep_candidates(hub.history, org_id, before_ms=before_ms, limit=SWEEP_BATCH)
        await hub.flows.drop_runs(org_id, runs)
        await sql_runs.mark_dropped(hub.history, runs)
        dropped += len(runs)
        if len(runs) < SWEEP_BATCH:
            return dropped


async def purge_jobs(hub: Hub, org_id: str, cutoff_ms: int) -> int:
    """Retention: jobs created and runs recorded before ``cutoff_ms`` leave SQL."""
    assert hub.history is not None
    return await sql_bulk.purge_before(hub.history, org_id, cutoff_ms) + await sql_runs.purge_before(
        hub.history, org_id, cutoff_ms
    )
