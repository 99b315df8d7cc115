"""Routing policy work that falls due: inactivity closes, overflow moves and
queues opening or closing by their operating hours.

Every hub process runs this loop. Each org is looked at when its first due
item falls due, as this process knows it (an inbound message, a transfer or
a policy change here pokes it), when a queue's hours next change, and every
idle interval for what another process scheduled. Each step is one routing
script, so two processes looking at once never close or move one
conversation twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hub.domain.routing_policy import is_open, next_change
from hub.logs import get_logger
from hub.services.context import Hub
from hub.services.workboard import RETRY_S

log = get_logger("hub.routing.policy")

BATCH = 500


async def look_once(hub: Hub, org_id: str, now: datetime | None = None) -> tuple[int, float | None]:
    """Do what is due for one org; (how much changed, when the next thing falls due, ms)."""
    now = now or datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    changed = 0
    due = await hub.queues.next_due_ms(org_id)
    if due is not None and due <= now_ms:
        while True:
            closed, moved = await hub.queues.run_due(org_id, now_ms, BATCH)
            changed += closed + moved
            if closed:
                log.info("conversations closed for inactivity", extra={"org": org_id, "count": closed})
            if moved:
                log.info("conversations moved to overflow queues", extra={"org": org_id, "count": moved})
            if closed < BATCH and moved < BATCH:
                break
        due = await hub.queues.next_due_ms(org_id)
    for policy in await hub.queues.all(org_id):
        hours = policy.get("hours")
        closed_now = await hub.queues.closed(org_id, policy["name"])
        should_open = is_open(hours, now)
        if should_open == closed_now:
            if await hub.queues.set_open(org_id, policy["name"], should_open, now_ms):
                changed += 1
            log.info("queue opened" if should_open else "queue closed", extra={"org": org_id, "queue": policy["name"]})
        turn = next_change(hours, now)
        if turn is not None:
            turn_ms = turn.timestamp() * 1000
            due = turn_ms if due is None else min(due, turn_ms)
    return changed, due


async def policy_loop(hub: Hub, stop: asyncio.Event) -> None:
    board = hub.board
    while not stop.is_set():
        look = await board.take("policy")
        if look is None:
            continue
        changed, due_ms, failed = 0, None, False
        try:
            changed, due_ms = await look_once(hub, look.org_id)
            if changed:
                board.poke(look.org_id, "archive")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("routing policy look failed")
            failed = True
            await asyncio.sleep(RETRY_S)
        finally:
            board.done(look, False, due_ms=due_ms, known=True, failed=failed)
