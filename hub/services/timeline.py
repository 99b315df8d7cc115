"""A contact's timeline: activities of configurations shown in the timeline
(and, with conversations, their messages), newest first."""

from __future__ import annotations

import math
import time
from typing import Any

from hub.errors import InvalidRequest
from hub.services.context import Hub
from hub.storage.timeline import timeline_page


async def contact_timeline(
    hub: Hub, org_id: str, phone: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    # Cursor: "score|member" of the last item returned.
    after_score, after_member = None, ""
    if cursor:
        raw_score, _, after_member = cursor.partition("|")
        try:
            after_score = float(raw_score)
        except ValueError:
            after_score = math.nan
        if not math.isfinite(after_score):
            raise InvalidRequest("cursor is not valid", details={"field": "cursor"})
    rows, more = await timeline_page(
        hub.redis, org_id, phone, after_score=after_score, after_member=after_member, limit=limit,
        expired_before=(time.time() - hub.settings.retention_s) * 1_000_000)
    act_ids = [m.split(":", 1)[1] for m, _ in rows if m.startswith("act:")]
    conv_ids = sorted({m.split(":")[1] for m, _ in rows if m.startswith("msg:")})
    activities = {a["id"]: a for a in await hub.activities.load_many(org_id, act_ids)}
    messages: dict[tuple[str, str], dict[str, Any]] = {}
    for conv in await hub.conversations.views(org_id, conv_ids, messages=True):
        for message in conv.get("messages") or []:
            messages[(conv["id"], message["id"])] = message
    items: list[dict[str, Any]] = []
    for member, _ in rows:
        kind, _, ident = member.partition(":")
        if kind == "act" and ident in activities:
            activity = activities[ident]
            items.append({"kind": "activity", "at": activity["created_at"], "activity": activity})
        elif kind == "msg":
            conv_id, _, message_id = ident.partition(":")
            message = messages.get((conv_id, message_id))
            if message is not None:
                items.append({"kind": "message", "at": message["at"], "conversation_id": conv_id,
                              "message": message})
    next_cursor = f"{rows[-1][1]!r}|{rows[-1][0]}" if more and rows else None
    return items, next_cursor
