"""Reads that Redis answers while a record is hot and SQL once it has left
Redis (the history keeps every activity for HUB_RETENTION_DAYS)."""

from __future__ import annotations

import time
from typing import Any

from hub.services.context import Hub
from hub.storage.activities import public_activity
from hub.storage.sql import activities as sql_activities


async def activity(hub: Hub, org_id: str, activity_id: str) -> dict[str, Any] | None:
    found = await hub.activities.load(org_id, activity_id)
    if found is not None or hub.history is None:
        return found
    archived = await sql_activities.load_activity(hub.history, org_id, activity_id)
    if archived is None:
        return None
    raw, history = archived
    # Past retention (the sweep may not have deleted it yet) it is gone.
    if int(raw["created"]) < (time.time() - hub.settings.retention_s) * 1000:
        return None
    return public_activity(raw, history)
