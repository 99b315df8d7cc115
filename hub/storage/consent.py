"""Consent in Redis: who is opted out of which channel (what the send and
webhook paths read), the org's salt for hashing numbers, an API opt-out or
opt-in, and a customer's erasure.

Opt-outs stay in the plain sets the hot path always read
(``keys.opted_out``); an erased customer's opt-out moves to a set of their
number's HMAC under the org's salt (``keys.opted_out_hashed``), which the
send path checks only for a channel that has one, and which inbound ingest
moves back to the plain set should that customer write again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.redis import Scripts

ERASE_PAGE = 1000


def number_hash(salt: str, number: str) -> str:
    return hmac.new(salt.encode(), number.encode(), hashlib.sha256).hexdigest()


class ConsentStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts
        self._salts: dict[str, str] = {}  # a salt never changes once made

    async def salt(self, org_id: str) -> str:
        """The org's salt, made on first use (kept as long as the org)."""
        if org_id not in self._salts:
            key = keys.consent_salt(org_id)
            await self.r.set(key, secrets.token_hex(32), nx=True)
            self._salts[org_id] = str(await self.r.get(key))
        return self._salts[org_id]

    async def hash(self, org_id: str, number: str) -> str:
        return number_hash(await self.salt(org_id), number)

    async def opted_out(self, org_id: str, channel_id: str, numbers: Sequence[str]) -> set[str]:
        """Which of ``numbers`` are opted out of the channel (erased customers' included)."""
        if not numbers:
            return set()
        async with self.r.pipeline(transaction=False) as p:
            p.smismember(keys.opted_out(org_id, channel_id), list(numbers))
            p.exists(keys.opted_out_hashed(org_id, channel_id))
            flags, hashed = await p.execute()
        out = {n for n, flag in zip(numbers, flags) if flag}
        if hashed:
            salt = await self.salt(org_id)
            rest = [n for n in numbers if n not in out]
            if rest:
                flags = await self.r.smismember(
                    keys.opted_out_hashed(org_id, channel_id), [number_hash(salt, n) for n in rest]
                )
                out |= {n for n, flag in zip(rest, flags) if flag}
        return out

    async def states(self, org_id: str, number: str, number_hash_: str, channel_ids: Sequence[str]) -> dict[str, bool]:
        """Channel id → opted out."""
        async with self.r.pipeline(transaction=False) as p:
            for ch in channel_ids:
                p.sismember(keys.opted_out(org_id, ch), number)
                p.sismember(keys.opted_out_hashed(org_id, ch), number_hash_)
            flags = await p.execute()
        return {ch: bool(flags[2 * i] or flags[2 * i + 1]) for i, ch in enumerate(channel_ids)}

    async def set(
        self, org_id: str, channel_id: str, number: str, number_hash_: str, action: str, entry: dict[str, Any]
    ) -> None:
        await self.s.consent_set(
            keys=[
                keys.opted_out(org_id, channel_id),
                keys.opted_out_hashed(org_id, channel_id),
                keys.consent_state(org_id, channel_id),
                keys.archive_stream(org_id),
                keys.event_types(org_id),
                keys.event_log(org_id),
            ],
            args=[number, number_hash_, action, json.dumps([entry]), channel_id, str(entry.get("at", ""))],
        )

    async def erase_conversations(
        self,
        org_id: str,
        number: str,
        number_hash_: str,
        channel_ids: Sequence[str],
        agent_ids: Sequence[str],
    ) -> tuple[list[str], dict[str, Any]]:
        """(open conversations to close first, else []; what was erased)."""
        reply = await self.s.erase_contact(
            keys=[keys.slot(org_id)],
            args=[
                keys.org_prefix(org_id),
                number,
                number_hash_,
                json.dumps(list(channel_ids)),
                json.dumps(list(agent_ids)),
            ],
        )
        if reply[0] == "open":
            return list(json.loads(reply[1]) or []), {}
        return [], {
            "conversations": list(json.loads(reply[1]) or []),
            "messages": list(json.loads(reply[2]) or []),
            "timeline_entries": int(reply[3]),
            "opt_outs_kept": int(reply[4]),
        }

    async def forget_in_partition(self, unit: str, number: str, channel_ids: Sequence[str]) -> int:
        """In an org's partition (hub.domain.partitions): the customer's
        timeline and latest-sent pointers go; returns the timeline's entries."""
        entries = int(await self.r.zcard(keys.timeline(unit, number)))
        await self.r.delete(keys.timeline(unit, number))
        for channel_id in channel_ids:
            await self.r.delete(keys.last_outbound(unit, channel_id, number))
        return entries

    async def erase_activities(self, org_id: str, number: str) -> tuple[list[str], int]:
        """(activity ids redacted, activities left whole while in flight)."""
        redacted: list[str] = []
        in_flight = 0
        after, after_id = "", ""
        while True:
            score, last_id, ids, flying = await self.s.erase_activities(
                keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), number, after, after_id, ERASE_PAGE]
            )
            redacted += list(json.loads(ids) or [])
            in_flight += int(flying)
            if not score:
                return redacted, in_flight
            after, after_id = score, last_id
