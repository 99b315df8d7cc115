"""Memory per idle agent socket: one hub's RSS before and after connecting
N idle websockets (N agents, or N sockets of a few agents), its idle CPU
with them open, and optionally tracemalloc snapshots of what they hold."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from bench.support.measure import CpuMeter, rss_kb
from bench.support.processes import ROOT, Deadline

from .agents import AgentConn, Receiver, connect_all, direct_agents
from .hub_control import Control, HubEnv, children, hub_log_errors, start_hub


@dataclass
class MemoryResult:
    name: str
    sockets: int
    agents: int
    connected: int
    connect_seconds: float
    rss_before_kb: int
    rss_after_kb: int
    rss_closed_kb: int
    redis_before_kb: int
    redis_after_kb: int
    redis_used_before: int
    redis_used_after: int
    idle_cpu: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def kb_per_socket(self) -> float:
        return (self.rss_after_kb - self.rss_before_kb) / max(1, self.connected)

    @property
    def redis_kb_per_socket(self) -> float:
        return (self.redis_after_kb - self.redis_before_kb) / max(1, self.connected)


async def settle_rss(pid: int, seconds: float) -> int:
    """RSS after it stops moving (or after `seconds`): the last of a few samples."""
    end = time.monotonic() + seconds
    last = rss_kb(pid)
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        last = rss_kb(pid)
    return last


async def redis_memory(hub: HubEnv) -> tuple[int, int]:
    """(redis-server RSS KiB, used_memory bytes)."""
    r = aioredis.Redis.from_url(hub.redis_url, decode_responses=True)
    try:
        info = await r.info("memory")
    finally:
        await r.aclose()
    return (rss_kb(hub.redis_pid) if hub.redis_pid else 0), int(info.get("used_memory", 0))


async def memory_variant(workdir: Path, args: argparse.Namespace, variant: str, deadline: Deadline) -> MemoryResult:
    n = args.sockets
    name = f"memory-{variant}"
    hub = await start_hub(workdir, name, args, None)
    rx = Receiver()
    conns: list[AgentConn] = []
    notes: list[str] = []
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
    try:
        ctl = Control(session, hub)
        await ctl.setup(None)
        if variant == "distinct":
            t = time.perf_counter()
            sample = await ctl.create_agents(args.api_agent_sample, "sample", 4, Deadline(300, "agents", deadline))
            took = time.perf_counter() - t
            per = took / len(sample)
            notes.append(
                f"API: {len(sample)} agents created+logged in at {per * 1000:.0f} ms "
                f"each (4 at once) -> {n} would take ~{per * n / 60:.0f} min; the rest "
                "were written through the hub's AgentStore instead"
            )
            print(f"  {notes[-1]}", flush=True)
            t = time.perf_counter()
            agents = sample + await direct_agents(
                hub, ctl.org_id, n - len(sample), Deadline(300, "direct agents", deadline)
            )
            notes.append(f"{n - len(sample)} agents + tokens written in {time.perf_counter() - t:.1f}s")
            tokens = agents
        else:
            k = args.shared_agents
            agents = await ctl.create_agents(k, "shared", 4, Deadline(300, "agents", deadline))
            tokens = [agents[i % k] for i in range(n)]
        print(f"{name}: {n} sockets for {len({a for a, _ in tokens})} agents", flush=True)

        # Warm the connection path (imports, first-use allocations), then let go.
        warm = [AgentConn(rx, aid, tok, hub.ws_url) for aid, tok in tokens[:50]]
        await connect_all(warm, 50, Deadline(60, "warm sockets", deadline))
        await asyncio.gather(*(c.close() for c in warm))
        await asyncio.sleep(2)

        before = await settle_rss(hub.hub.pid, 3)
        redis_before, used_before = await redis_memory(hub)
        if args.tracemalloc:
            os.kill(hub.hub.pid, signal.SIGUSR1)  # snapshot 1: before
            await asyncio.sleep(3)
        conns = [AgentConn(rx, aid, tok, hub.ws_url) for aid, tok in tokens]
        t = time.perf_counter()
        failed = await connect_all(conns, args.connect_concurrency, Deadline(600, "connect sockets", deadline))
        connect_s = time.perf_counter() - t
        connected = n - failed
        if failed:
            notes.append(f"{failed} sockets failed to connect")
        print(f"  {connected} connected in {connect_s:.1f}s ({connected / connect_s:.0f}/s)", flush=True)
        after = await settle_rss(hub.hub.pid, args.settle)
        redis_after, used_after = await redis_memory(hub)
        if args.tracemalloc:
            os.kill(hub.hub.pid, signal.SIGUSR1)  # snapshot 2: with the sockets open
            await asyncio.sleep(5)
        meter = CpuMeter({"hub": hub.hub.pid, "redis": hub.redis_pid}).begin()
        await asyncio.sleep(args.idle_seconds)
        idle = meter.done()
        print(
            f"  RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB: "
            f"{(after - before) / max(1, connected):.1f} KiB per socket; idle hub CPU "
            f"{idle['hub'] / idle['wall']:.2f} cores",
            flush=True,
        )
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        conns = []
        closed = await settle_rss(hub.hub.pid, 5)
        if args.tracemalloc:
            os.kill(hub.hub.pid, signal.SIGUSR1)  # snapshot 3: after they closed
            await asyncio.sleep(5)
        errors = hub_log_errors(hub.hub.log_path)
        if errors:
            notes.append(f"hub logged errors: {errors}")
        return MemoryResult(
            name,
            n,
            len({a for a, _ in tokens}),
            connected,
            connect_s,
            before,
            after,
            closed,
            redis_before,
            redis_after,
            used_before,
            used_after,
            idle,
            notes,
        )
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
        await session.close()
        children.stop(hub.hub)


def tracemalloc_report(workdir: Path, top: int = 30) -> str:
    """What the open sockets allocated: snapshot 2 (sockets open) minus 1 (before)."""
    import tracemalloc

    lines = []
    for variant in ("distinct", "shared"):
        name = f"memory-{variant}"
        first, second = workdir / f"{name}-1.tracemalloc", workdir / f"{name}-2.tracemalloc"
        if not (first.exists() and second.exists()):
            continue
        third = workdir / f"{name}-3.tracemalloc"
        old, new = tracemalloc.Snapshot.load(str(first)), tracemalloc.Snapshot.load(str(second))
        pairs = [("sockets open vs before", new, key) for key in ("lineno", "filename")]
        if third.exists():
            pairs.append(("after close vs before (left behind)", tracemalloc.Snapshot.load(str(third)), "lineno"))
        for what, snap, key in pairs:
            diff = snap.compare_to(old, key)
            grown = sum(d.size_diff for d in diff)
            lines.append(f"== {name}, {what}: {grown / 1024 / 1024:+.1f} MiB traced, by {key} ==")
            for d in diff[: top if key == "lineno" else 15]:
                frame = d.traceback[0]
                where = frame.filename.replace(str(ROOT) + "/", "")
                where = where.split("site-packages/")[-1]
                lines.append(
                    f"{d.size_diff / 1024:+10.0f} KiB {d.count_diff:+8d} blocks  "
                    f"{where}" + (f":{frame.lineno}" if key == "lineno" else "")
                )
            lines.append("")
    return "\n".join(lines) + "\n"
