"""The timed phases of the inbound benchmark against one hub: webhooks/s
each opening a conversation or appended to open ones, and the latency of
webhook -> agent frame at a steady rate."""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bench.support.measure import percentile, redis_commands, wait_quiet
from bench.support.org import ACCOUNT, PhonePool
from bench.support.processes import Deadline, start_sandbox
from bench.support.profiles import INBOUND_PATH, PySpy

from .agents import AgentConn, Receiver, close_all_conversations, connect_all, wait_frames
from .hub_control import CAPACITY, Control, HubEnv, children, hub_log_errors, start_hub
from .loadgen import LoadResult, run_load, webhook_items


@dataclass
class Phase:
    name: str
    sent: int = 0
    ok: int = 0
    seconds: float = 0.0  # first send -> last HTTP answer
    e2e_seconds: float = 0.0  # first send -> last frame
    frames: int = 0
    dups: int = 0
    correlated: int = 0
    http_ms: list[float] = field(default_factory=list)
    frame_ms: list[float] = field(default_factory=list)  # webhook send -> frame (stamp)
    cpu: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rate_target: float = 0.0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else float("nan")

    @property
    def frame_rate(self) -> float:
        return self.frames / self.e2e_seconds if self.e2e_seconds else float("nan")


async def timed_phase(
    name: str,
    tag: str,
    hub: HubEnv,
    rx: Receiver,
    items: list[tuple[str, dict[str, str]]],
    args: argparse.Namespace,
    deadline: Deadline,
    rate: float = 0.0,
) -> Phase:
    """The webhooks as fast as they go (--concurrency in flight), or at a
    steady `rate` with the send time in each body (latency), until every
    answered one reached an agent."""
    pids = {"hub": hub.hub.pid, "redis": hub.redis_pid}
    stats = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    unarchived = await wait_archived(stats, 60.0)
    note = await wait_quiet([p for p in pids.values() if p], args.quiet_wait)
    pace = f" at {rate:.0f}/s" if rate else f", {args.concurrency} in flight"
    print(f"{name}: {len(items)} webhooks{pace}", flush=True)
    profile = None
    if args.profile == "py-spy":
        profile = PySpy(hub.hub.pid, hub.workdir, tag, args.profile_rate, args.profile_nonblocking, INBOUND_PATH)

    await stats.config_resetstat()

    async def frames(result: LoadResult | None) -> None:
        await wait_frames(
            rx, tag, result.ok if result else len(items), Deadline(30 if rate else 60, f"{name} frames", deadline)
        )

    result, cpu, _ = await run_load(
        hub.workdir,
        tag,
        hub.url,
        hub.url,
        items,
        args,
        Deadline(args.phase_timeout, name, deadline),
        pids,
        mode="paced" if rate else "max",
        rate=rate,
        after_go=frames,
        profile=profile,
    )
    commands = await redis_commands(stats, result.ok, "webhook")
    await stats.aclose()
    got, stamps = rx.got.get(tag, {}), rx.stamp.get(tag, {})
    p = Phase(
        name,
        sent=len(items),
        ok=result.ok,
        seconds=result.seconds,
        frames=len(got),
        dups=rx.dups[tag],
        correlated=rx.correlated[tag],
        http_ms=result.http_latencies_ms(),
        cpu=cpu,
        rate_target=rate,
    )
    if got:
        p.e2e_seconds = max(got.values()) - result.t_go
    if rate:  # the send time each body carries
        p.frame_ms = [1000 * (got[i] - stamps[i]) for i in got if i in stamps]
    else:  # bodies are numbered 0..n-1 in send order (webhook_items), as are sent_at
        p.frame_ms = [
            1000 * (got[i] - result.sent_at[i]) for i in got if 0 <= i < len(result.sent_at) and result.sent_at[i]
        ]
    if result.late:
        p.notes.append(
            f"{result.late} sends left >5 ms after their slot (load generator or "
            f"{args.concurrency} in flight saturated)"
        )
    if result.failed:
        p.notes.append(f"failed webhooks: {result.status_summary()}")
    if len(got) < result.ok:
        p.notes.append(f"{result.ok - len(got)} answered webhooks never reached an agent")
    if note:
        p.notes.append(note)
    if unarchived:
        p.notes.append(f"{unarchived} archive entries of the setup were still unwritten when the phase began")
    p.notes.append(commands)
    if profile:
        p.notes.append(f"py-spy profile: {profile.path}")
    if rate:
        print(
            f"  frame latency p50 {percentile(p.frame_ms, 50):.1f} ms, p99 {percentile(p.frame_ms, 99):.1f} ms",
            flush=True,
        )
    else:
        print(f"  {p.rate:.0f} webhooks/s; {p.frames} frames, {p.frame_rate:.0f} frames/s end to end", flush=True)
    return p


async def wait_archived(r: aioredis.Redis, seconds: float) -> int:
    """Wait until the archiver has written everything before the phase (the
    setup's outbound sends, the last phase's conversations): it writes a
    change once it is a couple of seconds old, and that work is not the
    phase's. Returns the entries still left when the wait gave up."""
    end = time.monotonic() + seconds
    while True:
        left = 0
        async for key in r.scan_iter(match="hub:*:archive", count=1000):
            left += int(await r.xlen(key))
        if not left or time.monotonic() > end:
            return left
        await asyncio.sleep(0.2)


async def run_hub_phases(
    workdir: Path, args: argparse.Namespace, phones: PhonePool, deadline: Deadline
) -> tuple[list[Phase], list[str]]:
    notes: list[str] = []
    phases: list[Phase] = []
    sandbox, sandbox_url = None, None
    if args.correlate:
        sandbox, sandbox_url = start_sandbox(workdir, ACCOUNT, start=children.start)
    hub = await start_hub(workdir, "hub", args, sandbox_url)
    rx = Receiver()
    conns: list[AgentConn] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    try:
        if sandbox_url:
            async with session.put(sandbox_url + "/_sandbox/settings", json={"callbacks_enabled": False}) as resp:
                await resp.read()
        ctl = Control(session, hub)
        await ctl.setup(sandbox_url)
        n_agents = max(args.agents, math.ceil(args.webhooks / CAPACITY) + 1)
        t = time.perf_counter()
        agents = await ctl.create_agents(n_agents, "t", 4, Deadline(600, "agents", deadline))
        took = time.perf_counter() - t
        notes.append(
            f"{n_agents} agents (capacity {CAPACITY}) created and logged in through the "
            f"API in {took:.1f}s ({took / n_agents * 1000:.0f} ms per agent: argon2 "
            f"hash + verify)"
        )
        print(notes[-1], flush=True)
        conns = [AgentConn(rx, aid, tok, hub.ws_url) for aid, tok in agents]
        failed = await connect_all(conns, 50, Deadline(120, "connect", deadline))
        if failed:
            raise RuntimeError(f"{failed} agent websockets failed to connect")
        capacity = n_agents * CAPACITY

        async def correlate(customers: list[str]) -> None:
            if args.correlate:
                secs = await ctl.correlate(customers, Deadline(300, "correlate", deadline))
                print(
                    f"  (outbound sent to {len(customers)} customers in {secs:.1f}s, so that their replies correlate)",
                    flush=True,
                )

        async def reset() -> None:
            closed = await close_all_conversations(conns, Deadline(300, "close all", deadline))
            if rx.errors:
                notes.append(f"{len(rx.errors)} error frames, first: {rx.errors[0]}")
                rx.errors.clear()
            if closed:
                print(f"  (closed {closed} conversations)", flush=True)

        # Warm-up: connections, scripts loaded, code paths hot.
        warm_customers = phones.take(args.warmup)
        await correlate(warm_customers)
        warm = webhook_items(ctl.channel_id, "warm", warm_customers, len(warm_customers))
        await run_load(
            workdir,
            "hub-warm",
            hub.url,
            hub.url,
            warm,
            args,
            Deadline(120, "warm-up", deadline),
            {},
            after_go=lambda r: wait_frames(rx, "warm", len(warm), Deadline(30, "warm frames", deadline)),
        )
        await reset()

        only = set(args.only.split(","))
        new_rate = append_rate = 0.0
        if "new" in only:
            customers = phones.take(args.webhooks)
            await correlate(customers)
            items = webhook_items(ctl.channel_id, "new", customers, len(customers))
            p = await timed_phase("hub, new conversation per webhook", "new", hub, rx, items, args, deadline)
            phases.append(p)
            new_rate = p.rate
            await reset()

        fixed_items: list[tuple[str, dict[str, str]]] = []
        fixed: list[str] = []
        if "append" in only or "latency" in only:
            fixed = phones.take(args.fixed_customers)
            await correlate(fixed)

        async def open_fixed(tag: str) -> None:
            opening = webhook_items(ctl.channel_id, tag, fixed, len(fixed))
            await run_load(
                workdir,
                tag,
                hub.url,
                hub.url,
                opening,
                args,
                Deadline(120, tag, deadline),
                {},
                after_go=lambda r: wait_frames(rx, tag, len(opening), Deadline(30, tag, deadline)),
            )

        if "append" in only:
            await open_fixed("open1")
            fixed_items = webhook_items(ctl.channel_id, "append", fixed, args.webhooks)
            p = await timed_phase(
                f"hub, append to {len(fixed)} open conversations", "append", hub, rx, fixed_items, args, deadline
            )
            phases.append(p)
            append_rate = p.rate
            await reset()

        if "latency" in only:
            fractions = [float(f) for f in args.latency_fractions.split(",") if f]
            runs = [(kind, frac) for frac in fractions for kind in ("new", "append")]
            if args.latency_rate:
                runs = [("new", 0.0), ("append", 0.0)]
            for kind, frac in runs:
                measured = new_rate if kind == "new" else append_rate
                if args.latency_rate:
                    rate = args.latency_rate
                elif measured == measured and measured > 0:
                    rate = measured * frac
                else:
                    continue
                count = int(rate * args.latency_seconds)
                tag = f"lat{kind}{int(frac * 100)}"
                if kind == "new":
                    if count > capacity - CAPACITY:
                        notes.append(f"latency (new): capped at {capacity - CAPACITY} webhooks (agent capacity)")
                        count = capacity - CAPACITY
                    customers = phones.take(count)
                    await correlate(customers)
                    items = webhook_items(ctl.channel_id, tag, customers, count)
                    label = "latency, new conversation"
                else:
                    await open_fixed(f"open-{tag}")
                    items = webhook_items(ctl.channel_id, tag, fixed, count)
                    label = f"latency, append ({len(fixed)} open)"
                share = f" ({frac:.0%} of max)" if frac else ""
                p = await timed_phase(f"{label} @ {rate:.0f}/s{share}", tag, hub, rx, items, args, deadline, rate)
                phases.append(p)
                await reset()
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        await session.close()
        children.stop(hub.hub)
        children.stop(sandbox)
    errors = hub_log_errors(hub.hub.log_path)
    if errors:
        notes.append(f"hub logged errors: {errors}")
    return phases, notes
