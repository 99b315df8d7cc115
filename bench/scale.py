"""Scaling out: 1 vs N hub processes, on a standalone Redis and on a Redis
Cluster, and what an idle hub costs.

Two measurements, each on every Redis of the run (a fresh, flushed one for
each case):

  idle        P hub processes and K orgs with nothing to do: Redis commands
              per second (INFO commandstats deltas added up over every
              master, every command a script runs counted too, this
              script's own INFO left out) over --idle-seconds, per org per
              process. For each K in --idle-orgs and P in --idle-processes.
  throughput  bench/outbound.py's hub-callbacks scenario (M messages, status
              callbacks on, timed until the hub has answered the sandbox's
              two callbacks per message, and the report then counts every
              message delivered) with 1 and with N processes: messages/s, hub CPU
              (/proc, all processes) and Redis CPU (INFO cpu, added up over
              every master) per message, and Redis commands per message.
              Every figure is also given as a ratio of the same run's first
              case, 1 process on the standalone Redis (1.00 = the same cost
              per message: linear scaling). With --partitions P the org is
              created with P outbound partitions, and each case also says
              how the Redis CPU and commands split over the masters (one
              org on one master at P = 1; spread with P > 1 on a cluster).

The Redis: a standalone server, and with --cluster also a Redis Cluster of
--masters masters (3), both started here from one redis-server binary
(Debian's 7.x when installed, as tests/redis_cluster.py picks it) on TCP
loopback with the same AOF fsync (every second), so that they differ only
in being a cluster. REDIS_URL and CLUSTER_URL name ones started elsewhere
instead (any node of a cluster); they must be scratch instances: the script
flushes them between cases.

Usage:
  .venv/bin/python bench/scale.py --quick --cluster    # standalone and cluster: idle 1/100 orgs x 1/2 processes, 20 s each; 5,000 messages
  .venv/bin/python bench/scale.py --cluster --only throughput --messages 10000
  .venv/bin/python bench/scale.py --only idle --idle-seconds 60
  .venv/bin/python bench/scale.py --cluster-only --only throughput --messages 3000 --processes 1 --partitions 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.support import sending  # noqa: E402
from bench.support.measure import wait_quiet  # noqa: E402
from bench.support.org import CONTACTS_PER_REQUEST, make_phones  # noqa: E402
from bench.support.processes import ADMIN_TOKEN, Deadline  # noqa: E402
from bench.support.redis_nodes import Masters, Target, command_delta, given, start_cluster, start_standalone  # noqa: E402
from bench.support.sending import Env, Outcome  # noqa: E402
from hub.storage.redis import connect  # noqa: E402

# This script's own commands in a measured window (the flush and reset come before it).
OWN = ("info",)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


@dataclass
class Case:
    """One throughput case: its outcome and what the masters' INFO said."""

    target: str
    processes: int
    outcome: Outcome
    redis_cpu: float  # INFO cpu over every master, seconds
    commands: int
    by_command: dict[str, int] = field(default_factory=dict)
    partitions: int = 1
    cpu_by_master: list[float] = field(default_factory=list)
    calls_by_master: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        parts = f", {self.partitions} partitions" if self.partitions > 1 else ""
        return f"{self.target}, {self.processes} process{'es' if self.processes > 1 else ''}{parts}"


class Run:
    """One Redis at a time, the sandbox, and hub processes started per case."""

    def __init__(self, env: Env, args: argparse.Namespace) -> None:
        self.env = env
        self.args = args
        self.cases = 0

    def start_hubs(self, url: str, n: int) -> None:
        # One hub, one database: every process of a case shares it, and each
        # case starts on an empty one (as Redis is flushed).
        self.cases += 1
        sending.start_hubs(self.env, n, url, self.env.workdir / f"hub-data-{self.cases}", {})

    def idle(self, target: Target) -> list[dict[str, Any]]:
        rows = []
        for processes in self.args.idle_processes:
            for orgs in self.args.idle_orgs:
                asyncio.run(flush(target.url))
                self.start_hubs(target.url, processes)
                try:
                    asyncio.run(create_orgs(self.env.hub_url, orgs))
                    time.sleep(self.args.idle_warmup)  # first looks at the new orgs
                    rate, by_command = asyncio.run(idle_rate(target.url, self.args.idle_seconds))
                finally:
                    self.env.stop_hubs()
                row = {"orgs": orgs, "processes": processes, "per_s": rate, "per_org_process": rate / orgs / processes}
                rows.append(row)
                top = sorted(by_command.items(), key=lambda kv: -kv[1])[:7]
                print(
                    f"idle, {target.name}: {orgs:>4} orgs x {processes} processes: {rate:8.2f} commands/s, "
                    f"{row['per_org_process']:.3f} per org per process  "
                    f"(over {self.args.idle_seconds:.0f} s: {', '.join(f'{c} {n}' for c, n in top)})",
                    flush=True,
                )
        return rows

    def throughput(self, target: Target, phones: list[str]) -> list[Case]:
        cases = []
        for processes in sorted({1, self.args.processes}):
            asyncio.run(flush(target.url))
            self.start_hubs(target.url, processes)
            try:
                cases.append(asyncio.run(self.one_throughput(target, processes, phones)))
            finally:
                self.env.stop_hubs()
        return cases

    async def one_throughput(self, target: Target, processes: int, phones: list[str]) -> Case:
        env, args = self.env, self.args
        env.server_pids = target.pids  # /proc CPU as well, a check on INFO cpu
        masters = await Masters.open(target.url)
        r = await connect(target.url)  # the cluster client on a cluster (the org's stream)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                ctl = sending.Control(env, session)
                configs = (await ctl.setup(("warmup", "run"), args.partitions)).configs
                deadline = Deadline(max(180.0, len(phones) / 50), "throughput")
                await sending.warm_up(ctl, r, configs["warmup"], phones[: CONTACTS_PER_REQUEST * 3], deadline)
                pids = [h.pid for h in env.hubs] + target.pids + ([env.sandbox.pid] if env.sandbox else [])
                await wait_quiet(pids, args.quiet_wait, 0.25)
                label = f"{target.name}, {processes} process(es)"
                print(f"throughput, {label}: {len(phones)} messages; {load()}", flush=True)
                memory, cpu, calls = await masters.memory(), await masters.cpu(), await masters.calls()
                cpu_each, calls_each = await masters.cpu_each(), await masters.calls_each()
                outcome = await sending.run_hub(
                    ctl, r, phones, configs["run"], True, args, deadline, label, end_at_sandbox=True
                )
                redis_cpu = await masters.cpu() - cpu
                by_command = command_delta(calls, await masters.calls(), OWN)
                cpu_by_master = [b - a for a, b in zip(cpu_each, await masters.cpu_each())]
                calls_by_master = [b - a for a, b in zip(calls_each, await masters.calls_each())]
                grown = await masters.memory() - memory
        finally:
            await r.aclose()
            await masters.close()
        outcome.notes.append(f"{load()} at the end")
        outcome.notes.append(
            f"Redis memory grew {grown / len(phones):.0f} bytes per message "
            "(activity, history, indexes; kept for HUB_HOT_SECONDS once final)"
        )
        case = Case(
            target.name,
            processes,
            outcome,
            redis_cpu,
            sum(by_command.values()),
            by_command,
            args.partitions,
            cpu_by_master,
            calls_by_master,
        )
        print(f"  {case.name}: {outcome.seconds:.2f}s, {outcome.rate:.0f} msgs/s", flush=True)
        return case


async def flush(url: str) -> None:
    masters = await Masters.open(url)
    try:
        await masters.flush()
    finally:
        await masters.close()


async def create_orgs(hub_url: str, k: int) -> None:
    async with aiohttp.ClientSession() as s:
        for i in range(k):
            async with s.post(
                hub_url + "/v1/orgs", json={"name": f"Idle {i}"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            ) as resp:
                assert resp.status == 201, await resp.text()


async def idle_rate(url: str, seconds: float) -> tuple[float, dict[str, int]]:
    # One connection per master for both readings: their setup is not counted.
    masters = await Masters.open(url)
    try:
        before = await masters.calls()
        await asyncio.sleep(seconds)
        delta = command_delta(before, await masters.calls(), OWN)
    finally:
        await masters.close()
    return sum(delta.values()) / seconds, delta


def print_throughput(cases: list[Case]) -> None:
    if not cases:
        return
    base = cases[0]

    def ms(c: Case, part: str) -> float:
        cpu = c.redis_cpu if part == "redis" else c.outcome.cpu.get(part, float("nan"))
        return 1000 * cpu / c.outcome.messages

    def per_msg(c: Case) -> float:
        return c.commands / c.outcome.messages

    print(f"\nratios (x) against the same run's {base.name}")
    head = (
        f"{'case':<36} {'msgs/s':>7} {'x':>5}  {'hub cpu ms/msg':>14} {'x':>5}  "
        f"{'redis cpu ms/msg':>16} {'x':>5}  {'redis cmds/msg':>14} {'x':>5}  {'lost':>4} {'dup':>4}"
    )
    print(head)
    print("-" * len(head))
    for c in cases:
        o = c.outcome
        print(
            f"{c.name:<36} {o.rate:>7.0f} {o.rate / base.outcome.rate:>5.2f}  "
            f"{ms(c, 'hub'):>14.3f} {ms(c, 'hub') / ms(base, 'hub'):>5.2f}  "
            f"{ms(c, 'redis'):>16.3f} {ms(c, 'redis') / ms(base, 'redis'):>5.2f}  "
            f"{per_msg(c):>14.1f} {per_msg(c) / per_msg(base):>5.2f}  "
            f"{o.lost:>4} {o.duplicated:>4}"
        )
    for c in cases:
        proc = 1000 * c.outcome.cpu.get("redis", float("nan")) / c.outcome.messages
        other = c.outcome.cpu.get("other", float("nan")) / c.outcome.cpu.get("wall", float("nan"))
        top = sorted(c.by_command.items(), key=lambda kv: -kv[1])[:6]
        print(f"  {c.name}: Redis CPU per message by /proc {proc:.3f} ms; other processes used {other:.2f} cores")
        print(f"  {c.name}: commands {', '.join(f'{k} {n / c.outcome.messages:.1f}' for k, n in top)} per message")
        if len(c.cpu_by_master) > 1:
            cpu_total, calls_total = sum(c.cpu_by_master) or 1.0, sum(c.calls_by_master) or 1
            print(
                f"  {c.name}: by master, Redis CPU "
                f"{', '.join(f'{100 * x / cpu_total:.0f}%' for x in c.cpu_by_master)}; commands "
                f"{', '.join(f'{100 * n / calls_total:.0f}%' for n in c.calls_by_master)}"
            )
        for note in c.outcome.notes:
            print(f"  {c.name}: {note}")


def targets(args: argparse.Namespace) -> list[str]:
    if args.cluster_only:
        return ["cluster"]
    return ["standalone", "cluster"] if args.cluster else ["standalone"]


def open_target(kind: str, args: argparse.Namespace) -> Target:
    url = os.environ.get("CLUSTER_URL" if kind == "cluster" else "REDIS_URL", "")
    if url:
        return given(url)
    return start_cluster(args.masters) if kind == "cluster" else start_standalone()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=("idle", "throughput"))
    p.add_argument("--quick", action="store_true", help="20 s idle windows, 5,000 messages")
    p.add_argument("--cluster", action="store_true", help="also on a Redis Cluster (after the standalone Redis)")
    p.add_argument("--cluster-only", action="store_true", help="on the Redis Cluster only")
    p.add_argument("--masters", type=int, default=3, help="the cluster's masters (with --cluster)")
    p.add_argument("--idle-orgs", type=lambda s: [int(x) for x in s.split(",")], default=[1, 100])
    p.add_argument("--idle-processes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2])
    p.add_argument("--idle-seconds", type=float, default=60.0)
    p.add_argument("--idle-warmup", type=float, default=3.0)
    p.add_argument("--messages", type=int, default=20_000)
    p.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="N for the throughput comparison with 1")
    p.add_argument("--hub-concurrency", type=int, default=12)
    p.add_argument("--quiet-wait", type=float, default=20.0)
    p.add_argument("--partitions", type=int, default=1, help="the throughput org's outbound partitions (1 to 16)")
    args = p.parse_args()
    if args.quick:
        args.idle_seconds, args.messages = 20.0, 5_000
    args.messages -= args.messages % CONTACTS_PER_REQUEST
    env = Env(Path(tempfile.mkdtemp(prefix="hub-scale-")))
    run = Run(env, args)
    print(f"{os.cpu_count()} CPUs; {load()}; work dir {env.workdir}", flush=True)
    cases: list[Case] = []
    try:
        phones = make_phones(args.messages) if args.only != "idle" else []
        if args.only != "idle":
            sending.start_sandbox(env)
        for kind in targets(args):
            target = open_target(kind, args)
            try:
                version = asyncio.run(redis_version(target.url))
                print(f"{target.name}: Redis {version} at {target.url}", flush=True)
                if args.only in (None, "idle"):
                    run.idle(target)
                if args.only in (None, "throughput"):
                    cases += run.throughput(target, phones)
            finally:
                env.stop_hubs()
                target.stop()
        print_throughput(cases)
        print(f"\n{load()} at the end")
    finally:
        env.teardown()
    return 0


async def redis_version(url: str) -> str:
    masters = await Masters.open(url)
    try:
        return f"{await masters.version()}, {len(masters.clients)} master(s)"
    finally:
        await masters.close()


if __name__ == "__main__":
    raise SystemExit(main())
