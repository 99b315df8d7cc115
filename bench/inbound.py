"""Inbound throughput, latency and socket memory: customer replies through the hub.

Everything runs on 127.0.0.1, started by this script and torn down on exit
(Ctrl+C included): one `hub serve` on its embedded Redis (HUB_DATA_DIR in a
temp dir, no REDIS_URL), a standalone sandbox provider (only for the outbound
sends that make replies correlate), a bare Starlette app for the baseline,
and a load generator (aiohttp, bounded concurrency) in a process of its own.

Figures, all in one run:

  baseline       a bare Starlette endpoint on uvicorn (same settings as the
                 hub: one worker, uvloop, httptools) that reads the same
                 Twilio-sized form and answers 200 with empty TwiML; two
                 variants: `await request.form()` and
                 `parse_qsl(await request.body())`. Requests/s.
  hub new        signed inbound webhooks/s, each from a new customer: stored,
                 correlated to the outbound message sent to that customer,
                 a conversation opened, routed and pushed to a connected agent
                 (conversation.assigned frames counted on real websockets)
  hub append     the same from a fixed set of customers whose conversations
                 are already open and assigned (message.created frames)
  latency        webhook -> agent websocket frame at a steady rate of half
                 the measured max of each kind: the body carries time.time()
                 at send; the receiving side subtracts on frame receipt
  memory         hub process RSS before and after connecting N idle agent
                 websockets (10,000; 1,000 with --quick): once with N distinct
                 agents (created straight in Redis through the hub's
                 AgentStore: the API's argon2 hashing takes ~0.2 s per agent
                 here, hours for 10,000) and once with N sockets shared by a
                 few agents created through the API

Signatures (X-Twilio-Signature over the hub's public URL + path) are computed
before the timed loop, except in the latency runs where the body carries the
send time and is signed at send time. The machine has 2 cores shared by the
hub, its Redis, the load generator and the websocket receiver: every figure
includes that contention (the CPU table shows who used what).

Usage:
  .venv/bin/python bench/inbound.py --quick
  .venv/bin/python bench/inbound.py
  .venv/bin/python bench/inbound.py --quick --profile py-spy     # sample the hub
  .venv/bin/python bench/inbound.py --quick --profile cprofile
  .venv/bin/python bench/inbound.py --quick --tracemalloc         # memory by line
  .venv/bin/python bench/inbound.py --only memory --browser-headers
  .venv/bin/python bench/inbound.py --only new,append,latency --latency-fractions 0.25,0.5
  .venv/bin/python bench/inbound.py --summarize WORKDIR/pyspy-new.raw

Profiles and process logs go to a work directory that is kept (and printed)
when profiling or with --keep; otherwise it is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.support.measure import percentile  # noqa: E402
from bench.support.org import PhonePool  # noqa: E402
from bench.support.processes import Deadline, raise_nofile, run_to_end, stop_on_sigterm, work_directory  # noqa: E402
from bench.support.profiles import INBOUND_PATH, summarize_collapsed, write_cprofile_summaries  # noqa: E402

if TYPE_CHECKING:  # the script's own processes (loadgen, baseline) import only their part
    from bench.inbound_parts.memory import MemoryResult
    from bench.inbound_parts.phases import Phase


def code_state() -> str:
    """Which hub code ran: git HEAD, local changes, and a digest of the sources
    (hub/), since the tree may change between runs."""
    import hashlib

    digest = hashlib.sha1()
    for folder in ("hub",):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".lua") and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    head = "?"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True, capture_output=True, timeout=10
            ).stdout.strip()
            or "?"
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "hub"], cwd=ROOT, text=True, capture_output=True, timeout=10
        ).stdout.strip()
        if dirty:
            head += f" + {len(dirty.splitlines())} changed files"
    return f"{head}; sources digest {digest.hexdigest()[:12]}"


def print_report(
    baselines: list[Phase], phases: list[Phase], memory: list[MemoryResult], notes: list[str], args: argparse.Namespace
) -> None:
    print()
    print(
        f"== inbound benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs "
        f"shared by every process; load generator: aiohttp, {args.concurrency} in flight) =="
    )
    print(f"code: {args.code_state}")
    w = 46
    head = f"{'figure':<{w}} {'value':>14} {'target':>10}  detail"
    print(head)
    print("-" * (len(head) + 40))
    form = next((b for b in baselines if "form()" in b.name), None)
    qsl = next((b for b in baselines if "parse_qsl" in b.name), None)
    for b in baselines:
        print(
            f"{b.name:<{w}} {b.rate:>10.0f} r/s {'':>10}  {b.ok} requests in {b.seconds:.2f}s; "
            f"HTTP p50 {percentile(b.http_ms, 50):.1f} ms p99 {percentile(b.http_ms, 99):.1f} ms"
        )
    for p in phases:
        if p.rate_target:
            continue
        ratios = []
        if form:
            ratios.append(f"{100 * p.rate / form.rate:.0f}% of form()")
        if qsl:
            ratios.append(f"{100 * p.rate / qsl.rate:.0f}% of parse_qsl")
        hub_ms = p.cpu.get("hub", float("nan")) / max(1, p.ok)
        by_cpu = [f"{100 * b.cpu.get('server', float('nan')) / max(1, b.ok) / hub_ms:.0f}%" for b in (form, qsl) if b]
        if by_cpu:
            ratios.append(f"by server CPU per request {' / '.join(by_cpu)}")
        print(
            f"{p.name:<{w}} {p.rate:>10.0f} w/s {'>=25%':>10}  {', '.join(ratios)}; "
            f"{p.ok}/{p.sent} answered in {p.seconds:.2f}s"
        )
        print(
            f"{'  pushed to agents (end to end)':<{w}} {p.frame_rate:>10.0f} f/s {'':>10}  "
            f"{p.frames} frames, {p.dups} duplicated, {p.correlated} correlated; "
            f"HTTP p50 {percentile(p.http_ms, 50):.1f} ms p99 {percentile(p.http_ms, 99):.1f} ms;"
            f" webhook->frame under full load p50 {percentile(p.frame_ms, 50):.0f} ms "
            f"p99 {percentile(p.frame_ms, 99):.0f} ms"
        )
    for p in phases:
        if not p.rate_target:
            continue
        print(
            f"{p.name + ': p50':<{w}} {percentile(p.frame_ms, 50):>11.1f} ms {'':>10}  "
            f"{len(p.frame_ms)} frames of {p.sent} sent; achieved {p.rate:.0f}/s"
        )
        print(
            f"{p.name + ': p99':<{w}} {percentile(p.frame_ms, 99):>11.1f} ms {'<50 ms':>10}  "
            f"max {max(p.frame_ms, default=float('nan')):.1f} ms; HTTP answer p50 "
            f"{percentile(p.http_ms, 50):.1f} ms p99 {percentile(p.http_ms, 99):.1f} ms"
        )
    for m in memory:
        label = (
            f"memory per idle socket ({m.agents} agents)"
            if m.agents != m.sockets
            else "memory per idle socket (1 agent each)"
        )
        print(
            f"{label:<{w}} {m.kb_per_socket:>10.1f} KiB {'<=30 KiB':>10}  hub RSS "
            f"{m.rss_before_kb / 1024:.0f} -> {m.rss_after_kb / 1024:.0f} MiB for {m.connected} "
            f"sockets ({m.rss_closed_kb / 1024:.0f} MiB after they closed); redis RSS "
            f"+{m.redis_kb_per_socket:.1f} KiB/socket"
        )
        print(
            f"{'  ' + str(m.connected) + ' idle sockets: hub / redis CPU':<{w}} "
            f"{m.idle_cpu['hub'] / m.idle_cpu['wall']:>8.2f} cores {'':>10}  redis "
            f"{m.idle_cpu['redis'] / m.idle_cpu['wall']:.2f} cores (heartbeats, presence sweep);"
            f" connected in {m.connect_seconds:.1f}s ({m.connected / m.connect_seconds:.0f}/s)"
        )
    print()
    names = ["hub", "redis", "loadgen", "bench", "server", "other"]
    print(
        "CPU per phase, in cores on average over the phase (of "
        f"{os.cpu_count()}); 'bench' = websocket receiver, 'server' = baseline app; then CPU "
        "ms per request of the server (hub or baseline app) and of redis:"
    )
    print(f"{'phase':<{w}} " + " ".join(f"{n:>8}" for n in names) + f" {'srv ms/req':>11} {'redis ms/req':>12}")
    for p in [*baselines, *phases]:
        wall = p.cpu.get("wall") or p.seconds
        server = p.cpu.get("hub", p.cpu.get("server", float("nan")))
        print(
            f"{p.name:<{w}} "
            + " ".join(f"{p.cpu.get(n, float('nan')) / wall:>8.2f}" for n in names)
            + f" {1000 * server / max(1, p.ok):>11.3f}"
            + f" {1000 * p.cpu.get('redis', float('nan')) / max(1, p.ok):>12.3f}"
        )
    print()
    for p in [*baselines, *phases]:
        for note in p.notes:
            print(f"  {p.name}: {note}")
    for m in memory:
        for note in m.notes:
            print(f"  {m.name}: {note}")
    for note in dict.fromkeys(notes):  # in order, once each
        print(f"  {note}")


async def run(workdir: Path, args: argparse.Namespace, overall: Deadline) -> None:
    """Each section on its own: one that fails is reported, the others still run
    and the table shows what was measured."""
    from bench.inbound_parts.baseline import run_baseline
    from bench.inbound_parts.hub_control import children
    from bench.inbound_parts.memory import memory_variant
    from bench.inbound_parts.phases import run_hub_phases

    phones = PhonePool()
    baselines: list[Phase] = []
    phases: list[Phase] = []
    notes: list[str] = []
    memory: list[MemoryResult] = []
    only = set(args.only.split(","))
    failed = 0

    async def section(name: str, step: Callable[[], Any]) -> None:
        nonlocal failed
        try:
            await step()
        except Exception as exc:
            failed += 1
            notes.append(f"{name} FAILED: {type(exc).__name__}: {exc}")
            print(f"{name} failed: {exc!r}", file=sys.stderr, flush=True)
            traceback.print_exc()
            children.stop_all()  # whatever that section left running

    async def baseline() -> None:
        baselines.extend(await run_baseline(workdir, args, phones, overall))

    async def hub_phases() -> None:
        got, hub_notes = await run_hub_phases(workdir, args, phones, overall)
        phases.extend(got)
        notes.extend(hub_notes)

    if "baseline" in only:
        await section("baseline", baseline)
    if only & {"new", "append", "latency"}:
        await section("hub phases", hub_phases)
    if "memory" in only:
        for variant in ("distinct", "shared"):

            async def mem(variant: str = variant) -> None:
                memory.append(await memory_variant(workdir, args, variant, overall))

            await section(f"memory ({variant})", mem)
    print_report(baselines, phases, memory, notes, args)
    if failed:
        raise RuntimeError(f"{failed} section(s) failed; see above")


def main() -> int:
    # The processes this script starts as itself, each importing only its part.
    if sys.argv[1:2] == ["_loadgen"]:
        from bench.inbound_parts.loadgen import loadgen_main

        return loadgen_main(sys.argv[2])
    if sys.argv[1:2] == ["_hub_traced"]:
        from bench.inbound_parts.hub_control import hub_traced_main

        return hub_traced_main()
    from bench.inbound_parts import agents
    from bench.inbound_parts.hub_control import children
    from bench.inbound_parts.memory import tracemalloc_report

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="2,000 webhooks per phase, 5 s latency runs, 1,000 sockets")
    p.add_argument("--webhooks", type=int, help="webhooks per throughput phase (default 10,000; 2,000 with --quick)")
    p.add_argument(
        "--baseline-requests", type=int, help="requests per baseline variant (default 30,000; 10,000 with --quick)"
    )
    p.add_argument(
        "--sockets", type=int, help="idle sockets for the memory figure (default 10,000; 1,000 with --quick)"
    )
    p.add_argument("--concurrency", type=int, default=32, help="webhooks in flight")
    p.add_argument(
        "--agents", type=int, default=20, help="agents for the throughput phases (at least webhooks/100 + 1)"
    )
    p.add_argument(
        "--fixed-customers", type=int, default=0, help="customers of the append phase (default 200; 100 with --quick)"
    )
    p.add_argument("--warmup", type=int, default=300, help="webhooks before the timed phases")
    p.add_argument(
        "--latency-seconds", type=float, default=0.0, help="length of each latency run (default 20; 5 with --quick)"
    )
    p.add_argument(
        "--latency-rate",
        type=float,
        default=0.0,
        help="webhooks/s for the latency runs (default: fractions of the measured max)",
    )
    p.add_argument(
        "--latency-fractions", default="0.5", help="comma-separated fractions of the measured max rate for latency runs"
    )
    p.add_argument(
        "--no-correlate",
        dest="correlate",
        action="store_false",
        help="skip the outbound sends that make replies correlate",
    )
    p.add_argument(
        "--shared-agents", type=int, default=20, help="agents sharing the sockets in the shared-token memory variant"
    )
    p.add_argument(
        "--api-agent-sample", type=int, default=8, help="agents created through the API in the memory run, to time it"
    )
    p.add_argument("--connect-concurrency", type=int, default=100)
    p.add_argument(
        "--browser-headers",
        action="store_true",
        help="agent websockets send a browser's usual headers (Origin, User-Agent, "
        "Accept-*, ...) as the console would; default: the websockets client's",
    )
    p.add_argument("--settle", type=float, default=0.0, help="seconds to let RSS settle after connecting (default 5)")
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=0.0,
        help="seconds of idle CPU measurement with the sockets open (default 10)",
    )
    p.add_argument(
        "--only",
        default="baseline,new,append,latency,memory",
        help="comma-separated subset of baseline,new,append,latency,memory",
    )
    p.add_argument(
        "--profile",
        choices=("none", "py-spy", "cprofile"),
        default="none",
        help="py-spy: sample the hub during each timed phase (latency runs too); cprofile: run the hubs under cProfile (slows them)",
    )
    p.add_argument("--profile-rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--profile-nonblocking", action="store_true")
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="memory runs with tracemalloc on (RSS figures then include its overhead); writes the top allocation sites",
    )
    p.add_argument("--hub-env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--phase-timeout", type=float, default=300.0)
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=-1.0,
        help="before each timed phase wait up to this long for the rest of the "
        "machine to go idle (default 30; 5 with --quick)",
    )
    p.add_argument("--max-seconds", type=float, default=3000.0, help="the whole run's bound")
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--summarize", metavar="FILE", help="only summarize a py-spy raw profile")
    args = p.parse_args()
    if args.summarize:
        print(summarize_collapsed(Path(args.summarize), INBOUND_PATH))
        return 0
    q = args.quick
    args.webhooks = args.webhooks or (2_000 if q else 10_000)
    args.sockets = args.sockets or (1_000 if q else 10_000)
    args.baseline_requests = args.baseline_requests or (10_000 if q else 30_000)
    args.fixed_customers = args.fixed_customers or (100 if q else 200)
    args.latency_seconds = args.latency_seconds or (5.0 if q else 20.0)
    args.settle = args.settle or (3.0 if q else 5.0)
    args.idle_seconds = args.idle_seconds or (5.0 if q else 10.0)
    if args.quiet_wait < 0:
        args.quiet_wait = 5.0 if q else 30.0

    args.code_state = code_state()
    if args.browser_headers:
        agents.WS_HEADERS.update(agents.BROWSER_HEADERS)
    limit = raise_nofile()
    if limit < args.sockets + 1000:
        p.error(f"open-files limit {limit} is too low for {args.sockets} sockets")

    stop_on_sigterm()
    overall = Deadline(args.max_seconds, "whole run")
    workdir = work_directory(args.workdir, "hub-in-")
    keep = args.keep or args.profile != "none" or args.tracemalloc or bool(args.workdir)
    print(
        f"work dir {workdir}; {os.cpu_count()} CPUs (shared by every process); "
        f"open files {limit}; code {args.code_state}",
        flush=True,
    )

    def body() -> None:
        with contextlib.suppress(ImportError):
            import uvloop

            uvloop.install()
        asyncio.run(run(workdir, args, overall))

    def teardown() -> None:
        children.stop_all()
        write_cprofile_summaries(workdir)
        if args.tracemalloc:
            out = workdir / "tracemalloc-summary.txt"
            out.write_text(tracemalloc_report(workdir))
            print(f"tracemalloc summary: {out}")

    return run_to_end(body, teardown, children.print_tails, workdir, keep)


if __name__ == "__main__":
    raise SystemExit(main())
