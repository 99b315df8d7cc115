"""A contact's timeline: activities of configurations shown in the timeline
(and, with conversations, their messages), newest first."""

from __future__ import annotations

from typing import Any

from hub.errors import InvalidRequest
from hub.services.context import Hub
from hub.storage import keys


async def contact_timeline(
    hub: Hub, org_id: str, phone: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    max_score = "+inf"
    if cursor:
        try:
            max_score = f"({float(cursor)!r}"
        except ValueError:
            raise InvalidRequest("cursor is not valid", details={"field": "cursor"}) from None
    rows = await hub.redis.zrevrangebyscore(
        keys.timeline(org_id, phone), max_score, "-inf", start=0, num=limit + 1, withscores=True
    )
    more = len(rows) > limit
    rows = rows[:limit]
    act_ids = [m.split(":", 1)[1] for m, _ in rows if m.startswith("act:")]
    activities = {a["id"]: a for a in await hub.activities.load_many(org_id, act_ids)}
    items: list[dict[str, Any]] = []
    for member, _ in rows:
        kind, _, ident = member.partition(":")
        if kind == "act" and ident in activities:
            items.append({"kind": "activity", "at": activities[ident]["created_at"], "activity": activities[ident]})
    next_cursor = repr(rows[-1][1]) if more and rows else None
    return items, next_cursor
