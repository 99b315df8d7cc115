"""Each org's stream of changed activity and conversation ids, read by the
archivers of every process in one consumer group.

The scripts that change an activity or a conversation append its id (one
entry per script call: fields ``ids`` for activities, ``conv`` for
conversations, ids separated by spaces) in the same atomic step, so no
change can happen without its entry. An entry stays pending until the
archiver that read it has committed the copy to SQL; one left by a dead
process is claimed by another after ``claim_idle_ms``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import NamedTuple

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.redis import script_source
from hub.storage.sql.activities import ActivityCopy, LateCallback
from hub.storage.sql.conversations import LateMessageStatus
from hub.storage.streams import ConsumerGroup

GROUP = "archivers"


class Entry(NamedTuple):
    id: str
    ids: list[str]  # changed activities
    late: LateCallback | None  # a status callback for an activity no longer in Redis
    # The entry's fields (other kinds of change: bulk jobs and flow runs, see
    # hub.services.job_history).
    fields: dict[str, str]
    convs: list[str] = []  # changed conversations
    message_late: LateMessageStatus | None = None  # the same for an agent's reply
    # A status callback for a provider id Redis does not know (yet, or any more).
    sid_late: SidCallback | None = None


class SidCallback(NamedTuple):
    provider_id: str
    status: str
    at_ms: int
    error_code: str


def _entries(rows: Sequence[tuple[str, dict[str, str]]]) -> list[Entry]:
    out: list[Entry] = []
    for eid, fields in rows:
        fields = fields or {}
        late = message_late = sid_late = None
        if fields.get("late"):
            e = json.loads(fields["late"])
            late = LateCallback(e["id"], e["status"], int(e["at"]), e.get("error_code") or "")
        if fields.get("mlate"):
            e = json.loads(fields["mlate"])
            message_late = LateMessageStatus(e["conv"], e["msg"], e["status"], int(e["at"]), e.get("error_code") or "")
        if fields.get("sidlate"):
            e = json.loads(fields["sidlate"])
            sid_late = SidCallback(e["sid"], e["status"], int(e["at"]), e.get("error_code") or "")
        out.append(
            Entry(
                eid, fields.get("ids", "").split(), late, fields, fields.get("conv", "").split(), message_late, sid_late
            )
        )
    return out


class ArchiveQueue:
    def __init__(self, client: aioredis.Redis) -> None:
        self.r = client
        self.group = ConsumerGroup(client, keys.archive_stream, GROUP)
        self.ack = self.group.ack
        self.length = self.group.length
        self.copies_script = client.register_script(script_source("archive_copies"))
        self.in_flight_script = client.register_script(script_source("report_in_flight"))

    async def read(self, org_id: str, consumer: str, count: int) -> list[Entry]:
        return _entries(await self.group.read(org_id, consumer, count))

    async def claim_abandoned(self, org_id: str, consumer: str, min_idle_ms: int, count: int) -> list[Entry]:
        return _entries(await self.group.claim_abandoned(org_id, consumer, min_idle_ms, count))

    async def hot(self, org_id: str, ids: Sequence[str]) -> set[str]:
        """Those of these activities whose record is still in Redis."""
        found = await asyncio.gather(*(self.r.exists(keys.activity(org_id, i)) for i in ids))
        return {i for i, n in zip(ids, found) if n}

    async def unarchived(self, org_id: str, config_id: str) -> list[dict[str, str]]:
        """The report's fields of the configuration's activities whose Redis
        record may be ahead of SQL, as Redis holds them now: those waiting to
        be sent or sent again (outbound stream, retry set, deferred set; not archived
        before the provider takes them) and those with changes waiting in the
        archive stream (its entries are deleted once written)."""
        found = await self.in_flight_script(
            keys=[
                keys.send_retries(org_id),
                keys.outbound_stream(org_id),
                keys.archive_stream(org_id),
                keys.deferred_sends(org_id),
            ]
        )
        ids = {i for group in found for i in group.split() if i.startswith("act_")}
        if not ids:
            return []
        fields = ("id", "cfg", "created", "tpl", "locale", "status", "delivered_at", "type", "segments")
        async with self.r.pipeline(transaction=False) as p:
            for i in sorted(ids):
                p.hmget(keys.activity(org_id, i), *fields)
            rows = await p.execute()
        return [
            {f: v for f, v in zip(fields, row) if v is not None}
            for row in rows
            if row[0] is not None and row[1] == config_id
        ]

    async def copies(self, org_id: str, ids: Sequence[str]) -> list[ActivityCopy]:
        """The activities as they are now (an id whose record expired is left out)."""
        per_activity = (k for i in ids for k in (keys.activity(org_id, i), keys.activity_history(org_id, i)))
        replies = await self.copies_script(keys=[keys.activities(org_id), *per_activity], args=list(ids))
        out = []
        for n in range(0, len(replies), 3):
            flat, history, score = replies[n : n + 3]
            if flat:
                raw = dict(zip(flat[::2], flat[1::2]))
                out.append(
                    ActivityCopy(raw, history, int(score) if score is not None else int(raw.get("created") or 0) * 1000)
                )
        return out
