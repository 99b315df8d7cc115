"""Conversations: ingest, route, reply, close, transfer, all in Lua scripts
so that any number of hub processes act as one."""

from __future__ import annotations

import json
from typing import Any, Sequence

import redis.asyncio as aioredis

from hub.storage import keys
from hub.storage.cursors import split_score_cursor
from hub.storage.redis import Scripts


class ConversationStore:
    def __init__(self, client: aioredis.Redis, scripts: Scripts) -> None:
        self.r = client
        self.s = scripts

    async def ingest(
        self, org_id: str, *, provider_id: str, channel_id: str, channel_type: str, customer: str,
        message: dict[str, Any], now_ms: int, keyword: str, new_id: str, retention_s: int,
        default_queue: str,
    ) -> tuple[str, str, str]:
        outcome, conv, *rest = await self.s.ingest_inbound(keys=[keys.slot(org_id)], args=[
            keys.org_prefix(org_id), provider_id, channel_id, channel_type, customer,
            json.dumps(message), now_ms, keyword, new_id, retention_s, default_queue,
        ])
        return outcome, conv, (rest[0] if rest else "")

    async def views(self, org_id: str, ids: Sequence[str], *, messages: bool) -> list[dict[str, Any]]:
        if not ids:
            return []
        rows = await self.s.conversation_view(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), "1" if messages else "0", *ids])
        return [_fix(json.loads(row)) for row in rows]

    async def page(
        self, org_id: str, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        score, member = split_score_cursor(cursor)
        rows, next_cursor = await self.s.conversation_page(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), status or "", score, member, limit, 5000])
        return [_fix(json.loads(r)) for r in rows], (next_cursor or None)

    async def open_for_agent(self, org_id: str, agent_id: str) -> list[str]:
        return sorted(await self.r.smembers(keys.agent_conversations(org_id, agent_id)))

    async def waiting_count(self, org_id: str, queues: Sequence[str]) -> int:
        async with self.r.pipeline(transaction=False) as p:
            for q in queues:
                p.zcard(keys.queue_waiting(org_id, q))
            return int(sum(await p.execute()))

    async def reply(self, org_id: str, agent_id: str, conversation_id: str, client_id: str,
                    message_json: str, now_ms: int, retention_s: int) -> list[str]:
        """Record an agent's reply and queue its send, or say why not ([outcome, ...])."""
        result = await self.s.reply_message(
            keys=[keys.reply_stream(org_id)],
            args=[keys.org_prefix(org_id), agent_id, conversation_id, client_id, message_json,
                  now_ms, retention_s])
        return list(result)

    async def run(self, script: str, org_id: str, *args: Any) -> list[str]:
        """Run one of the routing scripts; they answer [outcome, ...] (or a bare value)."""
        result = await getattr(self.s, script)(
            keys=[keys.slot(org_id)], args=[keys.org_prefix(org_id), *args])
        return list(result) if isinstance(result, list) else [result]


def _fix(conv: dict[str, Any]) -> dict[str, Any]:
    # cjson writes an empty Lua table as {}; the API promises lists.
    if conv.get("messages") == {}:
        conv["messages"] = []
    for m in conv.get("messages") or []:
        if m.get("media") == {}:
            m["media"] = []
    return conv
