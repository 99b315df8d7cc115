"""Scaling out: 1 vs N hub processes on one Redis, and what an idle hub costs.

Two measurements, each on its own Redis (started here, or REDIS_URL):

  idle        P hub processes and K orgs with nothing to do: Redis commands
              per second (INFO commandstats deltas, every command a script
              runs counted too, this script's own INFO left out) over
              --idle-seconds, per org per process. For each K in --idle-orgs
              and P in --idle-processes.
  throughput  bench/outbound.py's hub-callbacks scenario (M messages, status
              callbacks on, timed until the report counts every message
              delivered) with 1 and with N processes: messages/s, and hub
              and Redis CPU seconds per 1,000 messages, with N's figures as a
              ratio of 1's (1.00 = the same cost per message: linear scaling).

REDIS_URL: measure against that Redis instead of starting one (e.g. a Redis
Cluster node, once the hub speaks cluster). It must be a scratch instance:
the script flushes it between runs. (On a cluster, sum INFO commandstats over
every master: not done here yet.)

Usage:
  .venv/bin/python bench/scale.py --quick             # idle 1/100 orgs x 1/2 processes, 20 s each; 5,000 messages
  .venv/bin/python bench/scale.py --only idle --idle-seconds 30
  .venv/bin/python bench/scale.py --only throughput --messages 20000 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402

from bench.support import sending  # noqa: E402
from bench.support.measure import wait_quiet  # noqa: E402
from bench.support.org import CONTACTS_PER_REQUEST, make_phones  # noqa: E402
from bench.support.processes import ADMIN_TOKEN, Deadline  # noqa: E402
from bench.support.sending import Env, Outcome  # noqa: E402
from hub.embedded_redis import EmbeddedRedis  # noqa: E402

OWN = ("info", "config", "flushall", "ping", "cluster")


async def command_calls(r: aioredis.Redis) -> dict[str, int]:
    """Calls per command since the last reset."""
    stats = await r.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


async def flush(url: str) -> None:
    r = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        await r.flushall()
        await r.config_resetstat()
    finally:
        await r.aclose()


def start_hubs(env: Env, url: str, n: int) -> None:
    # One hub, one database: every process of a run shares it (and a run
    # starts on an empty one, as Redis is flushed).
    sending.start_hubs(env, n, url, env.workdir / f"hub-data-{n}", {})


async def create_orgs(hub_url: str, k: int) -> None:
    async with aiohttp.ClientSession() as s:
        for i in range(k):
            async with s.post(
                hub_url + "/v1/orgs", json={"name": f"Idle {i}"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            ) as resp:
                assert resp.status == 201, await resp.text()


async def idle_rate(url: str, seconds: float) -> tuple[float, dict[str, int]]:
    # One connection for both readings: its own setup is not counted.
    r = aioredis.Redis.from_url(url, decode_responses=True, socket_timeout=None)
    try:
        before = await command_calls(r)
        await asyncio.sleep(seconds)
        after = await command_calls(r)
    finally:
        await r.aclose()
    delta = {c: after[c] - before.get(c, 0) for c in after if c not in OWN and after[c] - before.get(c, 0) > 0}
    return sum(delta.values()) / seconds, delta


def run_idle(env: Env, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for processes in args.idle_processes:
        for orgs in args.idle_orgs:
            asyncio.run(flush(url))
            start_hubs(env, url, processes)
            try:
                asyncio.run(create_orgs(env.hub_url, orgs))
                time.sleep(args.idle_warmup)  # first looks at the new orgs
                rate, by_command = asyncio.run(idle_rate(url, args.idle_seconds))
            finally:
                env.stop_hubs()
            row = {
                "orgs": orgs,
                "processes": processes,
                "per_s": rate,
                "per_org_process": rate / orgs / processes,
                "commands": by_command,
            }
            rows.append(row)
            top = sorted(by_command.items(), key=lambda kv: -kv[1])[:6]
            print(
                f"idle: {orgs:>4} orgs x {processes} processes: {rate:8.2f} commands/s, "
                f"{row['per_org_process']:.3f} per org per process  "
                f"(over {args.idle_seconds:.0f} s: {', '.join(f'{c} {n}' for c, n in top)})",
                flush=True,
            )
    return rows


def run_throughput(env: Env, url: str, args: argparse.Namespace) -> list[Outcome]:
    outcomes = []
    phones = make_phones(args.messages)
    sending.start_sandbox(env)
    for processes in sorted({1, args.processes}):
        asyncio.run(flush(url))
        start_hubs(env, url, processes)
        try:
            outcomes.append(asyncio.run(one_throughput(env, url, phones, args)))
        finally:
            env.stop_hubs()
    return outcomes


async def one_throughput(env: Env, url: str, phones: list[str], args: argparse.Namespace) -> Outcome:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ctl = sending.Control(env, session)
        r = aioredis.Redis.from_url(url, decode_responses=True)
        try:
            env.redis_pid = int((await r.info("server"))["process_id"])
            configs = (await ctl.setup(("warmup", "run"))).configs
            deadline = Deadline(max(180.0, len(phones) / 50), "throughput")
            await sending.warm_up(ctl, r, configs["warmup"], phones[: CONTACTS_PER_REQUEST * 3], deadline)
            await wait_quiet([h.pid for h in env.hubs] + env.redis_pids + [env.sandbox.pid], args.quiet_wait, 0.25)
            memory = int((await r.info("memory"))["used_memory"])
            outcome = await sending.run_hub(
                ctl, r, phones, configs["run"], True, args, deadline, f"{len(env.hubs)} process(es)"
            )
            grown = int((await r.info("memory"))["used_memory"]) - memory
            outcome.notes.append(
                f"Redis memory grew {grown / len(phones):.0f} bytes per message "
                "(activity, history, indexes; kept for HUB_HOT_SECONDS once final)"
            )
        finally:
            await r.aclose()
    print(f"  {outcome.name}: {outcome.seconds:.2f}s, {outcome.rate:.0f} msgs/s", flush=True)
    return outcome


def print_throughput(outcomes: list[Outcome]) -> None:
    if not outcomes:
        return
    base = outcomes[0]

    def per_k(o: Outcome, part: str) -> float:
        return 1000 * o.cpu.get(part, float("nan")) / o.messages

    print()
    head = (
        f"{'processes':<28} {'msgs/s':>8} {'x':>5}  {'hub cpu s/1k':>12} {'x':>5}  "
        f"{'redis cpu s/1k':>14} {'x':>5}  {'lost':>4} {'dup':>4}"
    )
    print(head)
    print("-" * len(head))
    for o in outcomes:
        print(
            f"{o.name:<28} {o.rate:>8.0f} {o.rate / base.rate:>5.2f}  "
            f"{per_k(o, 'hub'):>12.3f} {per_k(o, 'hub') / per_k(base, 'hub'):>5.2f}  "
            f"{per_k(o, 'redis'):>14.3f} {per_k(o, 'redis') / per_k(base, 'redis'):>5.2f}  "
            f"{o.lost:>4} {o.duplicated:>4}"
        )
    for o in outcomes:
        for note in o.notes:
            print(f"  {o.name}: {note}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=("idle", "throughput"))
    p.add_argument("--quick", action="store_true", help="20 s idle windows, 5,000 messages")
    p.add_argument("--idle-orgs", type=lambda s: [int(x) for x in s.split(",")], default=[1, 100])
    p.add_argument("--idle-processes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    p.add_argument("--idle-seconds", type=float, default=60.0)
    p.add_argument("--idle-warmup", type=float, default=3.0)
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="N for the throughput comparison with 1")
    p.add_argument("--hub-concurrency", type=int, default=12)
    p.add_argument("--quiet-wait", type=float, default=20.0)
    args = p.parse_args()
    if args.quick:
        args.idle_seconds, args.messages = 20.0, 5_000
    args.messages -= args.messages % CONTACTS_PER_REQUEST
    env = Env(Path(tempfile.mkdtemp(prefix="hub-scale-")))
    url = os.environ.get("REDIS_URL", "")
    try:
        if not url:
            env.redis = EmbeddedRedis(env.workdir / "redis").start()
            url = env.redis.url
        print(f"Redis {url}; {os.cpu_count()} CPUs; work dir {env.workdir}", flush=True)
        if args.only in (None, "idle"):
            run_idle(env, url, args)
        if args.only in (None, "throughput"):
            print_throughput(run_throughput(env, url, args))
    finally:
        env.teardown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
