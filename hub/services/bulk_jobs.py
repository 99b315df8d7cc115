"""Bulk jobs: upload a contact list, show progress, cancel, download outcomes.

The upload streams: bytes are parsed as they arrive and stored in chunks of
at most one send request, so the hub never holds more than a few chunks of a
file of any size. The job becomes claimable by a runner (``bulk_runner``)
only once the whole file is stored; a failed upload leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

from hub import clock
from hub.domain.contact_rows import RESULT_COLUMNS, RowReader, format_for, unsent_rows
from hub.domain.records import Org
from hub.errors import Conflict, InvalidRequest, NotFound, TooManyContacts
from hub.services.context import Hub
from hub.services.outbound import new_id
from hub.storage.bulk_jobs import public_job
from hub.storage.sql import bulk_jobs as sql_bulk

# Jobs, their outcomes and any unsent contacts are kept this long.
BULK_TTL_S = 7 * 86400
MAX_ROWS = 1_000_000
MAX_CHUNK = 1000
# Chunks written to Redis per round trip during an upload.
WRITE_BATCH = 20
RESULT_BATCH = 100


def finished_ttl_s(hub: Hub) -> int:
    """A finished job's summary stays in Redis as long as the history keeps
    it (its outcomes leave once archived, see ``bulk_sweep``)."""
    return max(BULK_TTL_S, hub.settings.retention_s)


async def create_job(
    hub: Hub, org: Org, config_id: str | None, content_type: str | None, stream: AsyncIterator[bytes]
) -> dict[str, Any]:
    fmt = format_for(content_type)
    if not config_id:
        raise InvalidRequest("configuration_id is required", details={"field": "configuration_id"})
    org_id = org.id
    if await hub.configurations.load(org_id, config_id) is None:
        raise NotFound("no such outbound configuration", details={"field": "configuration_id"})
    size = min(org.limits["contacts_per_request"], MAX_CHUNK)
    job_id = new_id("blk")
    reader = RowReader(fmt)
    current: list[dict[str, Any]] = []
    ready: list[str] = []
    stored = 0

    async def flush() -> None:
        nonlocal stored, ready
        await hub.bulk_jobs.save_chunks(org_id, job_id, stored, ready, BULK_TTL_S)
        stored, ready = stored + len(ready), []

    def take(contacts: list[dict[str, Any]]) -> None:
        nonlocal current
        if reader.rows > MAX_ROWS:
            raise TooManyContacts(f"at most {MAX_ROWS} contacts per bulk job", details={"limit": MAX_ROWS})
        for contact in contacts:
            current.append(contact)
            if len(current) == size:
                ready.append(json.dumps(current))
                current = []

    try:
        async for data in stream:
            take(reader.feed(data))
            if len(ready) >= WRITE_BATCH:
                await flush()
        take(reader.close())
        if current:
            ready.append(json.dumps(current))
        await flush()
    except Exception:
        await hub.bulk_jobs.discard(org_id, job_id, stored + len(ready))
        raise
    if reader.rows == 0:
        raise InvalidRequest("the file holds no contacts", details={"field": "body"})
    now_ms = clock.now_ms()
    fields = {
        "id": job_id,
        "org": org_id,
        "cfg": config_id,
        "status": "pending",
        "format": fmt,
        "total": reader.rows,
        "processed": 0,
        "chunks": stored,
        "chunk_size": size,
        "next": 0,
        "created": now_ms,
        "updated": now_ms,
    }
    await hub.bulk_jobs.create(org_id, fields, BULK_TTL_S)
    hub.board.announce(org_id, "bulk")
    return public_job({k: str(v) for k, v in fields.items()}, now_ms)


async def load_job(hub: Hub, org: Org, job_id: str) -> dict[str, str]:
    raw = await hub.bulk_jobs.load(org.id, job_id)
    if raw is None and hub.history is not None:
        raw = await sql_bulk.load_job(hub.history, org.id, job_id)
    if raw is None:
        raise NotFound("no such bulk job")
    return raw


async def show_job(hub: Hub, org: Org, job_id: str) -> dict[str, Any]:
    return public_job(await load_job(hub, org, job_id), clock.now_ms())


async def cancel_job(hub: Hub, org: Org, job_id: str) -> dict[str, Any]:
    """Stops a pending or running job; a chunk already being sent still goes out."""
    await load_job(hub, org, job_id)
    outcome = await hub.bulk_jobs.stop(org.id, job_id, "canceled", clock.now_ms(), finished_ttl_s(hub))
    hub.board.poke(org.id, "archive")
    if outcome == "gone":
        outcome = (await load_job(hub, org, job_id))["status"]  # only SQL has it
    if outcome not in ("ok", "canceled"):
        raise Conflict(f"the job is already {outcome}", details={"status": outcome})
    return await show_job(hub, org, job_id)


async def results_csv(hub: Hub, org: Org, raw: dict[str, str]) -> AsyncIterator[str]:
    """Every row of the job, in file order: its outcome, or why it was not sent."""
    org_id, job_id = org.id, raw["id"]
    total_chunks, size = int(raw["chunks"]), int(raw["chunk_size"])
    unsent = {"canceled": "canceled", "failed": "failed"}.get(raw["status"], "pending")
    error = json.loads(raw["error"]) if raw.get("error") else None
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RESULT_COLUMNS)
    for first in range(0, total_chunks, RESULT_BATCH):
        count = min(RESULT_BATCH, total_chunks - first)
        results = await hub.bulk_jobs.results(org_id, job_id, first, count)
        missing = [i for i, rows in enumerate(results) if rows is None]
        contacts = await hub.bulk_jobs.chunks(org_id, job_id, first, count) if missing else []
        for i, rows in enumerate(results):
            start = (first + i) * size + 1
            if rows is None and contacts[i] is not None:
                rows = unsent_rows(start, contacts[i] or [], unsent, error)
            if rows is None and hub.history is not None:
                # Archived, and gone from Redis once its hot window passed.
                rows = await sql_bulk.outcome_rows(hub.history, job_id, start, start + size - 1)
            writer.writerows(rows or [])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if total_chunks == 0:
        yield buffer.getvalue()


async def list_jobs(hub: Hub, org: Org, before: int | None, limit: int) -> tuple[list[dict[str, Any]], int | None]:
    raws, cursor = await hub.bulk_jobs.page(org.id, before=before, limit=limit)
    now_ms = clock.now_ms()
    return [public_job(raw, now_ms) for raw in raws], cursor
