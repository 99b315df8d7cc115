"""Turns agents offline once their grace period has passed with no socket.

Every hub process runs this sweep; the script that does each check is
atomic, so two processes sweeping at once cannot both requeue an agent's
conversations.
"""

from __future__ import annotations

import asyncio
import time

from hub.logs import get_logger
from hub.services.context import Hub
from routing.ws import STALE_MS

log = get_logger("routing.presence")


async def sweep_once(hub: Hub) -> int:
    turned = 0
    grace_ms = int(hub.settings.agent_grace_s * 1000)
    for org_id in await hub.orgs.all_ids():
        for agent_id in await hub.agents.online(org_id):
            result = await hub.conversations.run(
                "agent_connection", org_id, "sweep", agent_id, "", int(time.time() * 1000), STALE_MS, grace_ms)
            if result[0] == "offline":
                turned += 1
                log.info("agent offline after grace period", extra={"org": org_id, "agent": agent_id})
    return turned


async def sweeper(hub: Hub, stop: asyncio.Event, interval: float = 1.0) -> None:
    while not stop.is_set():
        try:
            await sweep_once(hub)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("presence sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=min(interval, hub.settings.agent_grace_s / 4 or interval))
        except asyncio.TimeoutError:
            pass
