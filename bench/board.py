"""What the supervisors' board costs Redis.

Against an embedded redis-server of its own: an org with ``--agents`` agents
(half available, each with ``--open`` open conversations) and ``--waiting``
conversations waiting, made with the hub's own scripts. Then

- the board read (``board_snapshot.lua``): its latency as the hub sees it,
  median and p99 over ``--reads`` reads, and Redis' CPU per read;
- what a routing script pays for the board: Redis' CPU per
  ``agent_presence`` call (available ↔ away, which re-routes nothing here)
  with nobody watching the org (one EXISTS), with the watch flag set but no
  subscriber, and with a subscriber on the board channel.

    python bench/board.py --agents 50 --waiting 500 --reads 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from hub.embedded_redis import EmbeddedRedis
from hub.storage import keys
from hub.storage.agents import AgentStore
from hub.storage.board import BoardStore
from hub.storage.conversations import ConversationStore
from hub.storage.redis import Scripts, connect

ORG = "org_bench"


async def redis_cpu(r) -> float:  # type: ignore[no-untyped-def]
    info = await r.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


async def populate(r, scripts: Scripts, agents: int, open_each: int, waiting: int) -> list[str]:  # type: ignore[no-untyped-def]
    store, convs = AgentStore(r), ConversationStore(r, scripts)
    ids = []
    for i in range(agents):
        agent_id = f"agt_{i:04d}"
        await store.create(
            ORG,
            {
                "id": agent_id,
                "name": f"Agent {i}",
                "email": f"a{i}@bench.test",
                "queues": ["default"],
                "capacity": open_each or 1,
                "created_at": time.time(),
            },
            "x",
        )
        ids.append(agent_id)
    now = int(time.time() * 1000)

    async def customer_writes(n: int) -> None:
        await convs.ingest(
            ORG,
            provider_id=f"SM{n:030d}",
            channel_id="ch_bench",
            channel_type="sms",
            customer=f"+1415555{n:04d}",
            message={"id": f"msg_{n}", "direction": "inbound", "body": "hello", "at": now / 1000},
            now_ms=now + n,
            keyword="",
            new_id="conv_" + secrets.token_hex(10),
            retention_s=86400,
            default_queue="default",
            named_activity="",
        )

    # Half the agents fill up with open conversations, then everyone else's customers wait.
    n = 0
    for agent_id in ids[: agents // 2]:
        await convs.set_presence(ORG, agent_id, "available", now_ms=now)
        for _ in range(open_each):
            await customer_writes(n)
            n += 1
        await convs.set_presence(ORG, agent_id, "away", now_ms=now)
    for _ in range(waiting):
        await customer_writes(n)
        n += 1
    for agent_id in ids[: agents // 2]:
        await r.hset(keys.agent(ORG, agent_id), "presence", "available")
    return ids


async def presence_cost(r, convs: ConversationStore, agent_id: str, calls: int) -> float:  # type: ignore[no-untyped-def]
    """Redis CPU (µs) per agent_presence call, toggling available and away."""
    before = await redis_cpu(r)
    for i in range(calls):
        await convs.set_presence(ORG, agent_id, "away" if i % 2 == 0 else "available", now_ms=int(time.time() * 1000))
    return (await redis_cpu(r) - before) / calls * 1e6


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp)).start()
        try:
            r = await connect(server.url)
            scripts = Scripts(r)
            ids = await populate(r, scripts, args.agents, args.open, args.waiting)
            board = BoardStore(r, scripts)
            raw = await board.snapshot(ORG)
            size = len(json.dumps(raw))
            times = []
            cpu0 = await redis_cpu(r)
            for _ in range(args.reads):
                t0 = time.perf_counter()
                await board.snapshot(ORG)
                times.append(time.perf_counter() - t0)
            cpu = (await redis_cpu(r) - cpu0) / args.reads
            times.sort()
            print(
                f"org: {args.agents} agents, {args.agents // 2 * args.open} open conversations, "
                f"{args.waiting} waiting; board JSON {size} bytes"
            )
            print(
                f"board read: median {statistics.median(times) * 1000:.2f} ms, "
                f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.2f} ms, Redis CPU {cpu * 1000:.2f} ms per read"
            )

            convs = ConversationStore(r, scripts)
            idle_agent = ids[-1]  # serves 'default' but takes nothing: at capacity below
            await r.hset(keys.agent(ORG, idle_agent), "capacity", 0)
            results = {}
            await r.delete(keys.board_watch(ORG))
            results["nobody watching"] = await presence_cost(r, convs, idle_agent, args.calls)
            await board.watch(ORG)
            results["flag set, no subscriber"] = await presence_cost(r, convs, idle_agent, args.calls)
            pubsub = r.pubsub()
            await pubsub.subscribe(keys.board_notify(ORG))
            results["one subscriber"] = await presence_cost(r, convs, idle_agent, args.calls)
            await pubsub.aclose()
            for name, us in results.items():
                print(f"agent_presence, {name}: Redis CPU {us:.1f} µs per call ({args.calls} calls)")
            await r.aclose()
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--open", type=int, default=3, help="open conversations of each busy agent")
    parser.add_argument("--waiting", type=int, default=500)
    parser.add_argument("--reads", type=int, default=500)
    parser.add_argument("--calls", type=int, default=5000)
    asyncio.run(main(parser.parse_args()))
