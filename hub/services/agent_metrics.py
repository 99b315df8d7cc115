"""Agent metrics over hot and archived conversations.

Redis is read first, then SQL: a conversation that leaves Redis in between
was archived before it left, so it is in what SQL answers; one in both is
counted as Redis has it (its latest changes may not be archived yet)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hub.domain.agent_metrics import ConversationFacts, Reply, agent_metrics, day_bounds_ms
from hub.services.context import Hub
from hub.storage.sql.agent_metrics import closed_conversations

CHUNK = 500


def _replies(messages: list[str]) -> list[Reply]:
    out = []
    for raw in messages:
        m = json.loads(raw)
        if m.get("direction") == "outbound" and m.get("agent_id"):
            out.append(Reply(int(round(float(m["at"]) * 1000)), str(m["agent_id"])))
    return out


async def metrics(
    hub: Hub, org_id: str, first: dt.date, last: dt.date, agent_id: str | None = None
) -> list[dict[str, Any]]:
    start_ms, end_ms = day_bounds_ms(first, last)
    facts: dict[str, ConversationFacts] = {}
    ids = await hub.conversations.in_redis(org_id, end_ms)  # one started later has nothing in range
    for i in range(0, len(ids), CHUNK):
        for copy in await hub.conversations.copies(org_id, ids[i : i + CHUNK], {}):
            facts[copy.raw["id"]] = ConversationFacts.of(copy.raw, _replies(list(copy.messages)))
    if hub.history is not None:
        for raw, replies in await closed_conversations(hub.history, org_id, start_ms, end_ms):
            if raw["id"] not in facts:
                facts[raw["id"]] = ConversationFacts.of(raw, [Reply(at, agent) for at, agent in replies])
    names = {a["id"]: a.get("name", "") for a in await hub.agents.all(org_id)}
    return agent_metrics(facts.values(), start_ms, end_ms, names, agent_id)
