"""What agent metrics read of the SQL history: conversations closed since a
time and started before another, with their agents' replies."""

from __future__ import annotations

import json
from typing import Any

from hub.storage.sql.db import Database

CHUNK = 500


async def closed_conversations(
    db: Database, org_id: str, closed_from_ms: int, created_before_ms: int
) -> list[tuple[dict[str, Any], list[tuple[int, str]]]]:
    """(the conversation's hash as archived, [(reply at ms, agent id)]) of the
    org's conversations closed at or after ``closed_from_ms`` and started
    before ``created_before_ms``. An open conversation is always in Redis."""
    rows = await db.fetch(
        "SELECT id, record FROM conversations WHERE org_id = ? AND closed_ms >= ? AND created_ms < ?",
        org_id,
        closed_from_ms,
        created_before_ms,
    )
    records = {str(i): json.loads(r) for i, r in rows}
    replies: dict[str, list[tuple[int, str]]] = {i: [] for i in records}
    ids = sorted(records)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        for conv, at_ms, record in await db.fetch(
            "SELECT conversation_id, at_ms, record FROM conversation_messages"
            f" WHERE direction = 'outbound' AND conversation_id IN ({marks})",
            *chunk,
        ):
            agent = json.loads(record).get("agent_id")
            if agent:
                replies[str(conv)].append((int(at_ms), str(agent)))
    return [(records[i], replies[i]) for i in ids]
