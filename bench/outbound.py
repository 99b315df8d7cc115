"""Outbound throughput: the hub's send path against a plain HTTP client.

Everything runs on 127.0.0.1, started by this script and torn down on exit
(Ctrl+C included): its own redis-server, a standalone sandbox provider
(`hub sandbox`) and one `hub serve` process (or several, --hubs).

Scenarios, each with the same N messages to N distinct valid numbers:

  baseline       one aiohttp client posts the N messages straight to the
                 sandbox's Messages API (bounded concurrency), callbacks off;
                 the most the sandbox takes from one cheap client
  hub            N/100 requests of 100 contacts to POST /v1/outbound/send,
                 callbacks off; timed from the first request until the
                 sandbox holds all N messages
  baseline-callbacks
                 the baseline with the sandbox's status callbacks on, sent
                 to a bare Starlette endpoint (`await request.form()`, 204);
                 timed until the sandbox has had its two callbacks per
                 message (sent, delivered) answered
  hub-callbacks  the hub with the sandbox's status callbacks on, back into
                 the hub; timed the same way

With both callback scenarios the script prints their CPU ratio: CPU
per message of the baseline (this script's aiohttp client + the bare
endpoint) over the hub's (the hub + its Redis). The sandbox's own CPU
(signing and posting callbacks) is in neither.

After each scenario the sandbox's per-recipient counts (GET /_sandbox/stats,
`by_to`) are checked: no recipient missing (lost), none sent twice. Stats
builds that map over every stored message, so during a run the end is
detected from the org's outbound stream draining and stats is asked once.

Besides msgs/s, a second table gives the CPU seconds per 1,000 messages of
each process (bench, sandbox, hub, redis) and of the rest of the machine
("other"). On a small shared machine, msgs/s and the ratio move with
whatever else runs; the hub's CPU per message is the steadier figure.
Before each scenario the script waits (--quiet-wait) for the machine to idle.

Usage:
  .venv/bin/python bench/outbound.py --quick              # 10,000 messages
  .venv/bin/python bench/outbound.py                      # 100,000 messages
  .venv/bin/python bench/outbound.py --scenarios baseline,hub --messages 30000
  .venv/bin/python bench/outbound.py --hubs 2 --hub-env HUB_WORKERS=8
  .venv/bin/python bench/outbound.py --quick --redis-cluster 3   # on a 3-master cluster

Profiling the hub (py-spy: `.venv/bin/pip install py-spy`):
  .venv/bin/python bench/outbound.py --messages 30000 --profile py-spy
      one raw profile per hub scenario plus a summary (by part of the send
      path, self and inclusive time by function); re-summarize with
      --summarize FILE
  .venv/bin/python bench/outbound.py --quick --profile cprofile
      the whole hub under cProfile (slower; summary written at exit)

Logs and profiles go to a work directory that is kept (and printed) when
profiling, with --keep/--workdir or after a failure; otherwise removed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.support.measure import wait_quiet  # noqa: E402
from bench.support.org import CONTACTS_PER_REQUEST, make_phones  # noqa: E402
from bench.support.processes import Deadline, run_to_end, stop_on_sigterm, work_directory  # noqa: E402
from bench.support.profiles import SEND_PATH, summarize_collapsed, write_cprofile_summaries  # noqa: E402
from bench.support.sending import (  # noqa: E402
    Control,
    Env,
    Outcome,
    run_baseline,
    run_hub,
    start_bare_endpoint,
    start_processes,
    warm_up,
)
from hub.storage.redis import connect  # noqa: E402

BASELINE_CALLBACKS = "baseline, callbacks to bare Starlette"
HUB_CALLBACKS = "hub, callbacks on"
SCENARIOS = ("baseline", "baseline-callbacks", "hub", "hub-callbacks")


def print_table(outcomes: list[Outcome], baseline: Outcome | None) -> None:
    print()
    head = (
        f"{'scenario':<38} {'messages':>9} {'seconds':>8} {'msgs/s':>8} {'ratio':>6} "
        f"{'lost':>5} {'dup':>5} {'errors':>6}"
    )
    print(head)
    print("-" * len(head))
    for o in outcomes:
        ratio = f"{o.rate / baseline.rate:6.2f}" if baseline else "   n/a"
        print(
            f"{o.name:<38} {o.messages:>9} {o.seconds:>8.2f} {o.rate:>8.0f} {ratio} "
            f"{o.lost:>5} {o.duplicated:>5} {o.errors:>6}"
        )
    print()
    print(
        f"CPU seconds used during each scenario, per 1,000 messages; 'other' is the rest of "
        f"the machine; 'busy' = cores in use on average, of {os.cpu_count()}:"
    )
    names = ["bench", "endpoint", "sandbox", "hub", "redis", "other"]
    print(f"{'scenario':<38} " + " ".join(f"{n:>8}" for n in names) + f" {'total':>8}" + f" {'busy':>6}")
    for o in outcomes:
        per_k = {k: 1000 * v / o.messages for k, v in o.cpu.items()}
        total = sum(v for k, v in o.cpu.items() if k != "wall" and v == v)
        print(
            f"{o.name:<38} "
            + " ".join(f"{per_k.get(n, float('nan')):>8.3f}" for n in names)
            + f" {1000 * total / o.messages:>8.3f} {total / o.seconds:>5.2f}c"
        )
    by_name = {o.name: o for o in outcomes}
    base, hub = by_name.get(BASELINE_CALLBACKS), by_name.get(HUB_CALLBACKS)
    if base is not None and hub is not None:
        b = sum(base.cpu.get(k, 0.0) for k in ("bench", "endpoint")) / base.messages
        h = sum(hub.cpu.get(k, 0.0) for k in ("hub", "redis")) / hub.messages
        print(
            f"\nwith callbacks, CPU per message: baseline (aiohttp client + bare endpoint) {1000 * b:.3f} ms, "
            f"hub + Redis {1000 * h:.3f} ms, ratio {b / h:.2f}"
        )
    for o in outcomes:
        extra = [f"unexpected recipients {o.unexpected}"] if o.unexpected else []
        for note in o.notes + extra:
            print(f"  {o.name}: {note}")


async def run(env: Env, args: argparse.Namespace, phones: list[str], overall: Deadline) -> None:
    n = len(phones)
    phase_s = args.phase_timeout or max(180.0, n / 100)
    scenarios = set(args.scenarios.split(","))
    timeout = aiohttp.ClientTimeout(total=60)
    connector = aiohttp.TCPConnector(limit=max(32, args.hub_concurrency * 2))
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        ctl = Control(env, session)
        r = await connect(env.redis_url)
        outcomes: list[Outcome] = []
        baseline = None
        try:
            if env.cluster is None:
                env.redis_pid = int((await r.info("server"))["process_id"])
            configs = (await ctl.setup(("warmup", "callbacks-off", "callbacks-on"))).configs
            pids = [h.pid for h in env.hubs] + env.redis_pids + [env.sandbox.pid]

            if "baseline" in scenarios:
                await wait_quiet(pids, args.quiet_wait, 0.25)
                print(f"baseline: {n} messages, {args.baseline_concurrency} in flight", flush=True)
                baseline = await run_baseline(
                    ctl, phones, args.baseline_concurrency, Deadline(phase_s, "baseline", overall)
                )
                outcomes.append(baseline)
                print(f"  {baseline.seconds:.2f}s, {baseline.rate:.0f} msgs/s", flush=True)

            if "baseline-callbacks" in scenarios:
                endpoint = start_bare_endpoint(env.workdir)
                try:
                    await wait_quiet(pids, args.quiet_wait, 0.25)
                    print(f"baseline, callbacks on: {n} messages, {args.baseline_concurrency} in flight", flush=True)
                    o = await run_baseline(
                        ctl,
                        phones,
                        args.baseline_concurrency,
                        Deadline(phase_s, "baseline-callbacks", overall),
                        endpoint,
                    )
                finally:
                    endpoint[0].stop()
                outcomes.append(o)
                print(f"  {o.seconds:.2f}s, {o.rate:.0f} msgs/s", flush=True)

            if scenarios & {"hub", "hub-callbacks"}:
                await warm_up(
                    ctl, r, configs["warmup"], phones[: CONTACTS_PER_REQUEST * 5], Deadline(60, "hub warm-up", overall)
                )

            for label, callbacks in (("hub", False), ("hub-callbacks", True)):
                if label not in scenarios:
                    continue
                print(
                    f"{label}: {n} messages as {n // CONTACTS_PER_REQUEST} requests, {args.hub_concurrency} in flight",
                    flush=True,
                )
                cfg = configs["callbacks-on" if callbacks else "callbacks-off"]
                await wait_quiet(pids, args.quiet_wait, 0.25)
                o = await run_hub(
                    ctl, r, phones, cfg, callbacks, args, Deadline(phase_s, label, overall), label, end_at_sandbox=True
                )
                outcomes.append(o)
                print(f"  {o.seconds:.2f}s, {o.rate:.0f} msgs/s", flush=True)
        finally:
            if outcomes:  # what was measured, even when a later scenario failed
                print_table(outcomes, baseline)
            await r.aclose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=100_000)
    p.add_argument("--quick", action="store_true", help="10,000 messages")
    p.add_argument("--baseline-concurrency", type=int, default=128)
    p.add_argument("--hub-concurrency", type=int, default=12, help="send requests (of 100 contacts) in flight")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument(
        "--profile",
        choices=("none", "py-spy", "cprofile"),
        default="none",
        help="py-spy: sample the hub during each hub scenario; cprofile: run the "
        "whole hub under cProfile (slows it down)",
    )
    p.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument(
        "--profile-nonblocking",
        action="store_true",
        help="py-spy without pausing the hub (less overhead, some stacks cut short)",
    )
    p.add_argument(
        "--redis-cluster",
        type=int,
        default=0,
        metavar="MASTERS",
        help="run on a Redis Cluster of that many masters (tests/redis_cluster.py)",
    )
    p.add_argument(
        "--hubs", type=int, default=1, help="hub processes sharing the Redis (send requests spread round-robin)"
    )
    p.add_argument(
        "--hub-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the hub process (repeatable)",
    )
    p.add_argument(
        "--phase-timeout", type=float, default=0.0, help="seconds allowed per scenario (default max(180, messages/100))"
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="before each scenario, wait up to this long for other processes on the machine to go idle (0: don't)",
    )
    p.add_argument("--max-seconds", type=float, default=3600.0, help="the whole run's bound")
    p.add_argument("--workdir", help="where logs/profiles go (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument(
        "--summarize", metavar="FILE", help="only print the summary of a py-spy raw profile written by an earlier run"
    )
    args = p.parse_args()
    if args.summarize:
        print(summarize_collapsed(Path(args.summarize), SEND_PATH))
        return 0
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    n = 10_000 if args.quick else args.messages
    n -= n % CONTACTS_PER_REQUEST
    if n <= 0:
        p.error("--messages must be at least 100")

    stop_on_sigterm()
    overall = Deadline(args.max_seconds, "whole run")
    workdir = work_directory(args.workdir, "hub-bench-")
    keep = args.keep or args.profile != "none" or bool(args.workdir)
    env = Env(workdir)
    print(
        f"{n} messages; work dir {workdir}; {os.cpu_count()} CPUs (every process shares them: expect contention)",
        flush=True,
    )

    def body() -> None:
        t = time.perf_counter()
        phones = make_phones(n)
        print(f"{n} valid distinct numbers in {time.perf_counter() - t:.1f}s", flush=True)
        start_processes(env, args)
        asyncio.run(run(env, args, phones, overall))

    def teardown() -> None:
        env.teardown()
        if args.profile == "cprofile":
            write_cprofile_summaries(workdir)

    return run_to_end(body, teardown, env.print_tails, workdir, keep)


if __name__ == "__main__":
    raise SystemExit(main())
