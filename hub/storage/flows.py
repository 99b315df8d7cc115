"""Flows, their schedule, delayed sends and remembered events.

A flow is a JSON record like the catalogue's (listed by creation time).
Automated flows are also indexed by event type. Scheduled flows and delayed
event sends wait in the org's ``due`` sorted set (member → next occurrence in
ms); a claimed occurrence sits in the ``firing`` set under a lease until its
sends are done (see ``schedule_claim.lua``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.catalog import JsonRecords
from hub.storage.redis import Scripts

KIND = "flow"
RUNS_KEPT = 100


@dataclass(frozen=True)
class Due:
    org_id: str
    member: str
    score_ms: int


class FlowStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts
        self.records = JsonRecords(client, KIND)

    # -- flows -------------------------------------------------------------------

    async def create(self, org_id: str, flow: dict[str, Any], due_ms: int | None) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.set(keys.record(org_id, KIND, flow["id"]), json.dumps(flow))
            p.zadd(keys.records(org_id, KIND), {flow["id"]: flow["created_at"]})
            if flow["kind"] == "automated":
                p.sadd(keys.flows_by_event_type(org_id, flow["event_type"]), flow["id"])
            if due_ms is not None:
                p.zadd(keys.schedule_due(org_id), {flow["id"]: due_ms})
            await p.execute()

    async def load(self, org_id: str, flow_id: str) -> dict[str, Any] | None:
        return await self.records.load(org_id, flow_id)

    async def page(self, org_id: str, *, after: float | None, limit: int) -> tuple[list[dict[str, Any]], float | None]:
        return await self.records.page(org_id, after=after, limit=limit)

    async def save(self, org_id: str, flow: dict[str, Any], due_ms: int | None) -> None:
        """Store a changed flow; a scheduled one is (re)queued at ``due_ms`` or unqueued."""
        async with self.r.pipeline(transaction=True) as p:
            p.set(keys.record(org_id, KIND, flow["id"]), json.dumps(flow))
            if flow["kind"] == "scheduled":
                if due_ms is None:
                    p.zrem(keys.schedule_due(org_id), flow["id"])
                else:
                    p.zadd(keys.schedule_due(org_id), {flow["id"]: due_ms})
            await p.execute()

    async def delete(self, org_id: str, flow: dict[str, Any]) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.delete(keys.record(org_id, KIND, flow["id"]), keys.flow_runs(org_id, flow["id"]))
            p.zrem(keys.records(org_id, KIND), flow["id"])
            p.zrem(keys.schedule_due(org_id), flow["id"])
            if flow["kind"] == "automated":
                p.srem(keys.flows_by_event_type(org_id, flow["event_type"]), flow["id"])
            await p.execute()

    async def for_event(self, org_id: str, event_type: str) -> list[dict[str, Any]]:
        """The flows bound to an event type, by id (a stable order for retries)."""
        ids = sorted(cast(set[str], await self.r.smembers(keys.flows_by_event_type(org_id, event_type))))
        if not ids:
            return []
        raws = await self.r.mget([keys.record(org_id, KIND, i) for i in ids])
        return [json.loads(raw) for raw in raws if raw]

    async def next_run_ms(self, org_id: str, flow_id: str) -> int | None:
        score = await self.r.zscore(keys.schedule_due(org_id), flow_id)
        return None if score is None else int(score)

    async def runs(self, org_id: str, flow_id: str) -> list[tuple[str | None, dict[str, Any]]]:
        """(archive entry id, run) of the runs Redis holds, oldest first; a run
        recorded before runs were archived has no entry id."""
        out: list[tuple[str | None, dict[str, Any]]] = []
        for item in cast(list[str], await self.r.lrange(keys.flow_runs(org_id, flow_id), 0, -1)):
            entry, _, run = item.partition(" ") if not item.startswith("{") else ("", "", item)
            out.append((entry or None, json.loads(run)))
        return out

    async def drop_runs(self, org_id: str, runs: Sequence[tuple[str, str, str]]) -> None:
        """Drop archived runs ``(flow id, entry id, run JSON)`` from Redis."""
        async with self.r.pipeline(transaction=False) as p:
            for flow_id, entry, run in runs:
                p.lrem(keys.flow_runs(org_id, flow_id), 1, f"{entry} {run}")
            await p.execute()

    # -- the schedule ---------------------------------------------------------------

    async def due(self, org_id: str, now_ms: int, limit: int) -> tuple[list[Due], list[Due], int | None]:
        """One org's occurrences that are due, its firings whose lease lapsed,
        and when the next of either falls due (ms; None: nothing waits)."""
        async with self.r.pipeline(transaction=False) as p:
            p.zrange(keys.schedule_due(org_id), 0, limit - 1, withscores=True)
            p.zrange(keys.schedule_firing(org_id), 0, limit - 1, withscores=True)
            due_rows, firing_rows = await p.execute()
        due = [Due(org_id, m, int(s)) for m, s in due_rows if s <= now_ms]
        lapsed = [Due(org_id, m, int(s)) for m, s in firing_rows if s <= now_ms]
        later = [int(s) for _, s in due_rows + firing_rows if s > now_ms]
        return due, lapsed, min(later) if later else None

    async def claim(
        self, org_id: str, member: str, expected_ms: int, next_ms: int | None, firing: str, lease_until_ms: int
    ) -> bool:
        won = await self.s.schedule_claim(
            keys=[keys.schedule_due(org_id), keys.schedule_firing(org_id)],
            args=[member, expected_ms, "" if next_ms is None else next_ms, firing, lease_until_ms],
        )
        return bool(won)

    async def extend(self, org_id: str, firing: str, expected_ms: int, until_ms: int) -> bool:
        """Take over a lapsed lease, or push one out; only one caller wins."""
        won = await self.s.score_swap(keys=[keys.schedule_firing(org_id)], args=[firing, expected_ms, until_ms])
        return bool(won)

    async def finish(
        self, org_id: str, firing: str, *, flow_id: str | None, run: dict[str, Any] | None, delayed_id: str | None
    ) -> bool:
        won = await self.s.schedule_done(
            keys=[
                keys.schedule_firing(org_id),
                keys.flow_runs(org_id, flow_id or "-"),
                keys.record(org_id, KIND, flow_id or "-"),
                keys.delayed_send(org_id, delayed_id or "-"),
                keys.archive_stream(org_id),
            ],
            args=[firing, json.dumps(run) if run else "", RUNS_KEPT, "1" if delayed_id else "0", flow_id or ""],
        )
        return bool(won)

    # -- delayed event sends -------------------------------------------------------

    async def add_delayed(
        self, org_id: str, delayed_id: str, payload: dict[str, Any], at_ms: int, ttl_s: int
    ) -> dict[str, Any]:
        """Queue a delayed send once (a repeat keeps the first); returns the stored one."""
        key = keys.delayed_send(org_id, delayed_id)
        async with self.r.pipeline(transaction=True) as p:
            p.set(key, json.dumps(payload), nx=True, ex=ttl_s)
            p.zadd(keys.schedule_due(org_id), {delayed_id: at_ms}, nx=True)
            p.get(key)
            *_, stored = await p.execute()
        return dict(json.loads(stored))

    async def load_delayed(self, org_id: str, delayed_id: str) -> dict[str, Any] | None:
        raw = await self.r.get(keys.delayed_send(org_id, delayed_id))
        return json.loads(raw) if raw else None

    # -- events ----------------------------------------------------------------------

    async def load_event(self, org_id: str, event_id: str) -> dict[str, Any] | None:
        raw = await self.r.get(keys.event(org_id, event_id))
        return json.loads(raw) if raw else None

    async def save_event(self, org_id: str, event_id: str, record: dict[str, Any], ttl_s: int) -> None:
        await self.r.set(keys.event(org_id, event_id), json.dumps(record), ex=ttl_s, nx=True)
