"""The scheduler: every hub process looks at each org's due schedule when it
falls due (see hub.services.workboard) and fires it.

One look: read what is due (scheduled flows, delayed event sends) and what
is firing under a lapsed lease; claim each occurrence in one script (only
one process wins it, and a cron moves on to its next occurrence in the same
step); send with ``schedule:{flow}:{occurrence}:{chunk}`` (or the event's
keys) as Idempotency-Key; record the run and drop the lease. A process that
dies between claim and record leaves a lease that lapses; the next process
to see it sends again with the same keys, which replays instead of sending.

Over the hourly limit the firing waits: its lease is pushed to Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub import clock
from hub.domain.flows import event_key, schedule_key
from hub.domain.schedules import UTC, due_firing, from_ms, iso, to_ms
from hub.errors import HubError, RateLimited
from hub.logs import get_logger
from hub.services.context import Hub
from hub.services.flows import error_of, send_in_chunks, summary
from hub.services.workboard import Look
from hub.storage.flows import Due

log = get_logger("hub.scheduler")

LEASE_MS = 60_000
POLL_LIMIT = 100


@dataclass(frozen=True)
class Claimed:
    org_id: str
    firing: str  # "{member}|{occurrence ms}|{late 0/1}|{skipped}" in the firing set
    lease_ms: int

    @property
    def parts(self) -> tuple[str, int, bool, int]:
        member, occurrence, late, skipped = self.firing.split("|")
        return member, int(occurrence), late == "1", int(skipped)


async def scheduler(hub: Hub, stop: asyncio.Event) -> None:
    """Looks at one org's schedule at a time, when the board says: when its
    next occurrence or lapsed lease falls due (as last read), when a flow or
    delayed send is created or re-enabled on any process, and every idle
    interval; never twice within HUB_SCHEDULER_INTERVAL. An org's firings run
    in a task of their own, so a long send does not hold other orgs back."""
    board = hub.board
    board.configure("schedule", min_gap=hub.settings.scheduler_interval_s)
    looks: set[asyncio.Task[None]] = set()
    failing: list[float] = [0.0]  # when a look last failed (Redis away): one a second then
    try:
        while not stop.is_set():
            if time.monotonic() - failing[0] < 1.0:
                await asyncio.sleep(1.0)
            look = await board.take("schedule")
            if look is None:
                continue
            task = asyncio.create_task(_look(hub, look, failing))
            looks.add(task)
            task.add_done_callback(looks.discard)
    finally:
        for task in list(looks):
            task.cancel()


async def _look(hub: Hub, look: Look, failing: list[float]) -> None:
    fired, due_ms, failed = 0, None, False
    try:
        fired, due_ms = await run_due(hub, look.org_id)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("scheduler poll failed")
        failed = True
        failing[0] = time.monotonic()
    finally:
        hub.board.done(look, fired > 0, due_ms=due_ms, known=True, failed=failed)


async def run_due(hub: Hub, org_id: str, now: datetime | None = None) -> tuple[int, int | None]:
    """Claim and fire what of one org is due at ``now``; returns how many
    firings ran, and when its next occurrence or lease falls due (ms)."""
    now = now or datetime.now(UTC)
    now_ms = to_ms(now)
    due, lapsed, next_ms = await hub.flows.due(org_id, now_ms, POLL_LIMIT)
    claimed: list[Claimed] = []
    for item in due:
        firing = await _claim(hub, item, now)
        if firing is not None:
            claimed.append(firing)
    for item in lapsed:
        # Its process died (or stalled) mid-send: take it over.
        if await hub.flows.extend(item.org_id, item.member, item.score_ms, now_ms + LEASE_MS):
            log.info("took over a scheduled firing", extra={"org": item.org_id})
            claimed.append(Claimed(item.org_id, item.member, now_ms + LEASE_MS))
    await asyncio.gather(*[_fire(hub, c) for c in claimed])
    return len(claimed), next_ms


async def _claim(hub: Hub, item: Due, now: datetime) -> Claimed | None:
    settings = hub.settings
    due = from_ms(item.score_ms)
    cron: str | None = None
    zone = ZoneInfo("UTC")
    if not item.member.startswith("dly_"):
        flow = await hub.flows.load(item.org_id, item.member)
        # A flow deleted or disabled meanwhile is claimed as a one-off: it leaves
        # the schedule, and firing it sends nothing.
        if flow is not None and flow.get("enabled") and flow.get("cron"):
            cron, zone = flow["cron"], ZoneInfo(flow["timezone"])
    firing = due_firing(cron=cron, zone=zone, due=due, now=now, late_after_s=settings.schedule_late_after_s)
    member = f"{item.member}|{to_ms(firing.occurrence)}|{int(firing.late)}|{firing.skipped}"
    lease_ms = to_ms(now) + LEASE_MS
    next_ms = to_ms(firing.next_at) if firing.next_at is not None else None
    if not await hub.flows.claim(item.org_id, item.member, item.score_ms, next_ms, member, lease_ms):
        return None  # another process got it
    if firing.skipped:
        log.warning(
            "missed scheduled occurrences", extra={"org": item.org_id, "flow": item.member, "skipped": firing.skipped}
        )
    return Claimed(item.org_id, member, lease_ms)


async def _fire(hub: Hub, claimed: Claimed) -> None:
    try:
        member = claimed.parts[0]
        if member.startswith("dly_"):
            await _fire_delayed(hub, claimed)
        else:
            await _fire_flow(hub, claimed)
    except RateLimited as exc:
        until = clock.now_ms() + exc.retry_after * 1000
        await hub.flows.extend(claimed.org_id, claimed.firing, claimed.lease_ms, until)
        log.info(
            "scheduled send waits for the hourly limit", extra={"org": claimed.org_id, "retry_after": exc.retry_after}
        )
    except asyncio.CancelledError:
        raise
    except Exception:
        # The lease lapses and another poll (here or elsewhere) tries again.
        log.exception("scheduled firing failed", extra={"org": claimed.org_id})
    finally:
        hub.board.poke(claimed.org_id, "archive")  # the run, for the SQL history


async def _fire_flow(hub: Hub, claimed: Claimed) -> None:
    flow_id, occurrence_ms, late, skipped = claimed.parts
    org = await hub.orgs.load(claimed.org_id)
    flow = await hub.flows.load(claimed.org_id, flow_id)
    if org is None or flow is None or not flow.get("enabled"):
        await hub.flows.finish(claimed.org_id, claimed.firing, flow_id=None, run=None, delayed_id=None)
        return
    run: dict[str, Any] = {"occurrence": iso(from_ms(occurrence_ms)), "late": late, "skipped": skipped}
    try:
        answers = await send_in_chunks(
            hub, org, flow["configuration_id"], flow["contacts"], lambda i: schedule_key(flow_id, occurrence_ms, i)
        )
        run.update(summary(answers))
    except RateLimited:
        raise
    except HubError as exc:
        run.update(request_id=None, request_ids=[], counts={}, error=error_of(exc))
    run["at"] = iso(datetime.now(UTC))
    await hub.flows.finish(claimed.org_id, claimed.firing, flow_id=flow_id, run=run, delayed_id=None)


async def _fire_delayed(hub: Hub, claimed: Claimed) -> None:
    delayed_id = claimed.parts[0]
    org = await hub.orgs.load(claimed.org_id)
    payload = await hub.flows.load_delayed(claimed.org_id, delayed_id)
    flow = payload and await hub.flows.load(claimed.org_id, payload["flow_id"])
    # A flow disabled or deleted meanwhile sends nothing more.
    if org is not None and payload is not None and flow and flow.get("enabled"):
        try:
            await send_in_chunks(
                hub,
                org,
                payload["configuration_id"],
                payload["contacts"],
                lambda i: event_key(payload["event_id"], payload["flow_id"], i),
            )
        except RateLimited:
            raise
        except HubError as exc:
            log.warning(
                "delayed event send refused",
                extra={"org": claimed.org_id, "flow": payload["flow_id"], "code": exc.code},
            )
    await hub.flows.finish(claimed.org_id, claimed.firing, flow_id=None, run=None, delayed_id=delayed_id)
