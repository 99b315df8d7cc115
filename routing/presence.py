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


FULL_SWEEP_S = 15.0


async def sweep_once(hub: Hub, *, full: bool = True) -> int:
    """Agents whose grace period is over go offline. A full sweep also looks
    at every agent counted online, to notice connections of a process that
    died without closing them (their heartbeats stop); otherwise only agents
    already without a connection are checked, which keeps idle cost flat."""
    turned = 0
    grace_ms = int(hub.settings.agent_grace_s * 1000)
    for org_id in await hub.orgs.all_ids():
        agents = await (hub.agents.online(org_id) if full else hub.agents.disconnected(org_id))
        for agent_id in agents:
            result = await hub.conversations.run(
                "agent_connection", org_id, "sweep", agent_id, "", int(time.time() * 1000), STALE_MS, grace_ms)
            if result[0] == "offline":
                turned += 1
                log.info("agent offline after grace period", extra={"org": org_id, "agent": agent_id})
    return turned


async def sweeper(hub: Hub, stop: asyncio.Event, interval: float = 1.0) -> None:
    last_full = 0.0
    while not stop.is_set():
        try:
            full = time.monotonic() - last_full >= FULL_SWEEP_S
            await sweep_once(hub, full=full)
            if full:
                last_full = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("presence sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=min(interval, hub.settings.agent_grace_s / 4 or interval))
        except asyncio.TimeoutError:
            pass
