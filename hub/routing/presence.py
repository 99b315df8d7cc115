"""Turns agents offline once their grace period has passed with no socket.

Every hub process runs this sweep; the script that does each check is
atomic, so two processes sweeping at once cannot both requeue an agent's
conversations.
"""

from __future__ import annotations

import asyncio
import time

from hub.logs import get_logger
from hub.routing.ws import STALE_MS
from hub.services.context import Hub

log = get_logger("hub.routing.presence")


FULL_SWEEP_S = 15.0


async def sweep_once(hub: Hub, org_id: str, *, full: bool = True) -> tuple[int, int | None, bool | None]:
    """Agents of one org whose grace period is over go offline. A full sweep
    also looks at every agent counted online, to notice connections of a
    process that died without closing them (their heartbeats stop); otherwise
    only agents already without a connection are looked at. Returns how many
    went offline, when the next grace period ends (ms), if one runs, and
    (full sweeps) whether any agent was counted online."""
    turned = 0
    grace_ms = int(hub.settings.agent_grace_s * 1000)
    now_ms = int(time.time() * 1000)
    gone = await hub.agents.disconnected(org_id)
    due = [a for a, since in gone if since + grace_ms <= now_ms]
    online = await hub.agents.online(org_id) if full else None
    if online:
        due = sorted(set(due) | set(online))
    later = [since + grace_ms for a, since in gone if a not in due]
    for agent_id in due:
        outcome = await hub.conversations.agent_connection(
            org_id, agent_id, "sweep", connection_id="", now_ms=now_ms, stale_ms=STALE_MS, grace_ms=grace_ms
        )
        if outcome == "grace":  # a stale connection found now: its grace period starts
            later.append(now_ms + grace_ms)
        if outcome == "offline":
            turned += 1
            hub.board.poke(org_id, "archive")  # its conversations went back to their queues
            log.info("agent offline after grace period", extra={"org": org_id, "agent": agent_id})
    return turned, min(later) if later else None, None if online is None else bool(online)


async def sweeper(hub: Hub, stop: asyncio.Event) -> None:
    """One org at a time, when the board says: when a grace period ends,
    when this process saw a connection close or another announced one
    opening, and a full sweep every FULL_SWEEP_S for orgs with agents online
    (every idle interval otherwise)."""
    board = hub.board
    board.configure("presence", claim_every=FULL_SWEEP_S)
    online: set[str] = set()  # orgs with agents online at their last full sweep
    while not stop.is_set():
        look = await board.take("presence")
        if look is None:
            continue
        turned, due_ms, failed = 0, None, False
        try:
            turned, due_ms, any_online = await sweep_once(hub, look.org_id, full=look.claim)
            if any_online is not None:
                (online.add if any_online else online.discard)(look.org_id)
            if look.org_id in online:
                full_ms = int((time.time() + FULL_SWEEP_S) * 1000)
                due_ms = full_ms if due_ms is None else min(due_ms, full_ms)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("presence sweep failed")
            failed = True
            await asyncio.sleep(1.0)
        finally:
            board.done(look, turned > 0, due_ms=due_ms, known=True, failed=failed)
