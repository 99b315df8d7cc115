"""Bulk jobs: the job hash, its contacts in chunks, and per-chunk outcomes.

A job's contacts are stored as JSON chunks of at most one send request each;
a chunk's contacts are dropped once its outcomes are recorded. Pending and
running jobs sit in the org's ``active`` sorted set scored by lease expiry
(0 = never claimed): a runner claims a job whose lease lapsed, so exactly one
runner works a job at a time and a dead runner's job is taken over.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from hub.domain.flows import JOB_STATUSES
from hub.storage import keys
from hub.storage.redis import Scripts

STATUSES = JOB_STATUSES
FINAL = ("done", "failed", "canceled")
# Chunks whose keys one sweep script call drops.
SWEEP_CHUNKS = 250


def version_of(raw: dict[str, str]) -> int:
    """Grows with every change the archiver copies (a chunk recorded, the job
    stopped), so an older copy never overwrites a newer one (bulk_sweep.lua
    computes the same)."""
    return 2 * int(raw.get("next") or 0) + (1 if raw.get("status") in FINAL else 0)


def public_job(raw: dict[str, str], now_ms: int) -> dict[str, Any]:
    def seconds(field: str) -> float | None:
        value = raw.get(field)
        return int(value) / 1000 if value else None

    waiting_until = int(raw.get("waiting_until") or 0)
    waiting = raw.get("status") == "running" and waiting_until > now_ms
    return {
        "id": raw["id"],
        "configuration_id": raw["cfg"],
        "status": raw["status"],
        "format": raw.get("format"),
        "total": int(raw.get("total") or 0),
        "processed": int(raw.get("processed") or 0),
        "counts": {k[2:]: int(v) for k, v in sorted(raw.items()) if k.startswith("c:") and int(v)},
        "chunks": int(raw.get("chunks") or 0),
        "chunks_done": int(raw.get("next") or 0),
        "waiting": waiting,
        "retry_after": -(-(waiting_until - now_ms) // 1000) if waiting else None,
        "error": json.loads(raw["error"]) if raw.get("error") else None,
        "created_at": seconds("created"),
        "started_at": seconds("started"),
        "finished_at": seconds("finished"),
    }


class BulkJobStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    # -- upload --------------------------------------------------------------------

    async def save_chunks(self, org_id: str, job_id: str, first: int, chunks: Sequence[str], ttl_s: int) -> None:
        async with self.r.pipeline(transaction=False) as p:
            for offset, chunk in enumerate(chunks):
                p.set(keys.bulk_chunk(org_id, job_id, first + offset), chunk, ex=ttl_s)
            await p.execute()

    async def discard(self, org_id: str, job_id: str, chunks: int) -> None:
        """Drop the chunks of an upload that did not finish."""
        for start in range(0, chunks, 500):
            await self.r.delete(*[keys.bulk_chunk(org_id, job_id, i) for i in range(start, min(chunks, start + 500))])

    async def create(self, org_id: str, fields: dict[str, Any], ttl_s: int) -> None:
        """The uploaded job becomes visible and claimable in one step."""
        job_key = keys.bulk_job(org_id, fields["id"])
        async with self.r.pipeline(transaction=True) as p:
            p.hset(job_key, mapping={k: str(v) for k, v in fields.items()})
            p.expire(job_key, ttl_s)
            p.zadd(keys.bulk_active(org_id), {fields["id"]: 0})
            p.zadd(keys.bulk_jobs(org_id), {fields["id"]: int(fields["created"])})
            await p.execute()

    # -- reading -------------------------------------------------------------------

    async def load(self, org_id: str, job_id: str) -> dict[str, str] | None:
        raw = cast(dict[str, str], await self.r.hgetall(keys.bulk_job(org_id, job_id)))
        return raw or None

    async def page(self, org_id: str, *, before: int | None, limit: int) -> tuple[list[dict[str, str]], int | None]:
        """Jobs newest first; a job whose record expired leaves the index."""
        high = f"({before}" if before is not None else "+inf"
        rows = cast(
            list[tuple[str, float]],
            await self.r.zrevrangebyscore(
                keys.bulk_jobs(org_id), high, "-inf", start=0, num=limit + 1, withscores=True
            ),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        async with self.r.pipeline(transaction=False) as p:
            for job_id, _ in rows:
                p.hgetall(keys.bulk_job(org_id, job_id))
            raws = await p.execute()
        gone = [job_id for (job_id, _), raw in zip(rows, raws) if not raw]
        if gone:
            await self.r.zrem(keys.bulk_jobs(org_id), *gone)
        return [raw for raw in raws if raw], (int(rows[-1][1]) if more and rows else None)

    async def chunk(self, org_id: str, job_id: str, index: int) -> list[dict[str, Any]] | None:
        raw = await self.r.get(keys.bulk_chunk(org_id, job_id, index))
        return json.loads(raw) if raw else None

    async def results(self, org_id: str, job_id: str, first: int, count: int) -> list[list[list[Any]] | None]:
        """Outcome rows of chunks ``first``.. (None for a chunk not recorded)."""
        raws = await self.r.mget([keys.bulk_results(org_id, job_id, i) for i in range(first, first + count)])
        return [json.loads(raw) if raw else None for raw in raws]

    async def results_at(self, org_id: str, job_id: str, indexes: Sequence[int]) -> list[list[list[Any]] | None]:
        if not indexes:
            return []
        raws = await self.r.mget([keys.bulk_results(org_id, job_id, i) for i in indexes])
        return [json.loads(raw) if raw else None for raw in raws]

    async def chunks(self, org_id: str, job_id: str, first: int, count: int) -> list[list[dict[str, Any]] | None]:
        raws = await self.r.mget([keys.bulk_chunk(org_id, job_id, i) for i in range(first, first + count)])
        return [json.loads(raw) if raw else None for raw in raws]

    # -- running ---------------------------------------------------------------------

    async def claimable(self, org_id: str, now_ms: int) -> tuple[list[tuple[str, int]], int | None]:
        """(job, score) of one org's jobs nobody holds a live lease on, oldest
        lease first, and when the next live lease ends (ms; None: no job)."""
        rows = cast(list[tuple[str, float]], await self.r.zrange(keys.bulk_active(org_id), 0, 3, withscores=True))
        free = [(job_id, int(score)) for job_id, score in rows if score <= now_ms]
        later = [int(score) for _, score in rows if score > now_ms]
        return free, min(later) if later else None

    async def claim(self, org_id: str, job_id: str, seen: int, owner: str, lease_until_ms: int, now_ms: int) -> bool:
        won = await self.s.bulk_claim(
            keys=[keys.bulk_active(org_id), keys.bulk_job(org_id, job_id)],
            args=[job_id, seen, owner, lease_until_ms, now_ms],
        )
        return bool(won)

    async def renew(
        self, org_id: str, job_id: str, owner: str, lease_until_ms: int, waiting_until_ms: int | None = None
    ) -> str:
        return str(
            await self.s.bulk_renew(
                keys=[keys.bulk_active(org_id), keys.bulk_job(org_id, job_id)],
                args=[job_id, owner, lease_until_ms, waiting_until_ms or ""],
            )
        )

    async def record_chunk(
        self,
        org_id: str,
        job_id: str,
        index: int,
        rows: list[list[Any]],
        counts: dict[str, int],
        now_ms: int,
        ttl_s: int,
        finished_ttl_s: int,
    ) -> str:
        args: list[Any] = [job_id, index, json.dumps(rows), len(rows), now_ms, ttl_s, finished_ttl_s]
        for status, n in sorted(counts.items()):
            args += [status, n]
        return str(
            await self.s.bulk_chunk_done(
                keys=[
                    keys.bulk_job(org_id, job_id),
                    keys.bulk_results(org_id, job_id, index),
                    keys.bulk_chunk(org_id, job_id, index),
                    keys.bulk_active(org_id),
                    keys.archive_stream(org_id),
                ],
                args=args,
            )
        )

    async def stop(
        self,
        org_id: str,
        job_id: str,
        status: str,
        now_ms: int,
        ttl_s: int,
        *,
        error: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> str:
        """``ttl_s``: how long the stopped job's summary stays."""
        return str(
            await self.s.bulk_stop(
                keys=[keys.bulk_active(org_id), keys.bulk_job(org_id, job_id), keys.archive_stream(org_id)],
                args=[job_id, status, now_ms, json.dumps(error) if error else "", owner or "", ttl_s],
            )
        )

    # -- the hot window ------------------------------------------------------------

    async def drop_outcomes(self, org_id: str, job_id: str, chunks: int, version: int) -> bool:
        """Drop a finished job's outcomes and unsent contacts from Redis (SQL
        has them), unless the job changed since the copy of ``version``."""
        for first in range(0, max(chunks, 1), SWEEP_CHUNKS):
            indexes = range(first, min(chunks, first + SWEEP_CHUNKS))
            dropped = await self.s.bulk_sweep(
                keys=[keys.bulk_job(org_id, job_id)]
                + [keys.bulk_results(org_id, job_id, i) for i in indexes]
                + [keys.bulk_chunk(org_id, job_id, i) for i in indexes],
                args=[version],
            )
            if not dropped:
                return False
        return True
