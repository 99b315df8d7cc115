"""The inbound benchmark's table of figures."""

from __future__ import annotations

import argparse
import os

from bench.support.measure import percentile

from .memory import MemoryResult
from .phases import Phase


def print_report(baselines: list[Phase], phases: list[Phase], memory: list[MemoryResult],
                 notes: list[str], args: argparse.Namespace) -> None:
    print()
    print(f"== inbound benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs "
          f"shared by every process; load generator: aiohttp, {args.concurrency} in flight) ==")
    print(f"code: {args.code_state}")
    w = 46
    head = f"{'figure':<{w}} {'value':>14} {'target':>10}  detail"
    print(head)
    print("-" * (len(head) + 40))
    form = next((b for b in baselines if "form()" in b.name), None)
    qsl = next((b for b in baselines if "parse_qsl" in b.name), None)
    for b in baselines:
        print(f"{b.name:<{w}} {b.rate:>10.0f} r/s {'':>10}  {b.ok} requests in {b.seconds:.2f}s; "
              f"HTTP p50 {percentile(b.http_ms, 50):.1f} ms p99 {percentile(b.http_ms, 99):.1f} ms")
    for p in phases:
        if p.rate_target:
            continue
        ratios = []
        if form:
            ratios.append(f"{100 * p.rate / form.rate:.0f}% of form()")
        if qsl:
            ratios.append(f"{100 * p.rate / qsl.rate:.0f}% of parse_qsl")
        hub_ms = p.cpu.get("hub", float("nan")) / max(1, p.ok)
        by_cpu = [f"{100 * b.cpu.get('server', float('nan')) / max(1, b.ok) / hub_ms:.0f}%"
                  for b in (form, qsl) if b]
        if by_cpu:
            ratios.append(f"by server CPU per request {' / '.join(by_cpu)}")
        print(f"{p.name:<{w}} {p.rate:>10.0f} w/s {'>=25%':>10}  {', '.join(ratios)}; "
              f"{p.ok}/{p.sent} answered in {p.seconds:.2f}s")
        print(f"{'  pushed to agents (end to end)':<{w}} {p.frame_rate:>10.0f} f/s {'':>10}  "
              f"{p.frames} frames, {p.dups} duplicated, {p.correlated} correlated; "
              f"HTTP p50 {percentile(p.http_ms, 50):.1f} ms p99 {percentile(p.http_ms, 99):.1f} ms;"
              f" webhook->frame under full load p50 {percentile(p.frame_ms, 50):.0f} ms "
              f"p99 {percentile(p.frame_ms, 99):.0f} ms")
    for p in phases:
        if not p.rate_target:
            continue
        print(f"{p.name + ': p50':<{w}} {percentile(p.frame_ms, 50):>11.1f} ms {'':>10}  "
              f"{len(p.frame_ms)} frames of {p.sent} sent; achieved {p.rate:.0f}/s")
        print(f"{p.name + ': p99':<{w}} {percentile(p.frame_ms, 99):>11.1f} ms {'<50 ms':>10}  "
              f"max {max(p.frame_ms, default=float('nan')):.1f} ms; HTTP answer p50 "
              f"{percentile(p.http_ms, 50):.1f} ms p99 {percentile(p.http_ms, 99):.1f} ms")
    for m in memory:
        label = (f"memory per idle socket ({m.agents} agents)" if m.agents != m.sockets
                 else "memory per idle socket (1 agent each)")
        print(f"{label:<{w}} {m.kb_per_socket:>10.1f} KiB {'<=30 KiB':>10}  hub RSS "
              f"{m.rss_before_kb / 1024:.0f} -> {m.rss_after_kb / 1024:.0f} MiB for {m.connected} "
              f"sockets ({m.rss_closed_kb / 1024:.0f} MiB after they closed); redis RSS "
              f"+{m.redis_kb_per_socket:.1f} KiB/socket")
        print(f"{'  ' + str(m.connected) + ' idle sockets: hub / redis CPU':<{w}} "
              f"{m.idle_cpu['hub'] / m.idle_cpu['wall']:>8.2f} cores {'':>10}  redis "
              f"{m.idle_cpu['redis'] / m.idle_cpu['wall']:.2f} cores (heartbeats, presence sweep);"
              f" connected in {m.connect_seconds:.1f}s ({m.connected / m.connect_seconds:.0f}/s)")
    print()
    names = ["hub", "redis", "loadgen", "bench", "server", "other"]
    print("CPU per phase, in cores on average over the phase (of "
          f"{os.cpu_count()}); 'bench' = websocket receiver, 'server' = baseline app; then CPU "
          "ms per request of the server (hub or baseline app) and of redis:")
    print(f"{'phase':<{w}} " + " ".join(f"{n:>8}" for n in names)
          + f" {'srv ms/req':>11} {'redis ms/req':>12}")
    for p in [*baselines, *phases]:
        wall = p.cpu.get("wall") or p.seconds
        server = p.cpu.get("hub", p.cpu.get("server", float("nan")))
        print(f"{p.name:<{w}} " + " ".join(
            f"{p.cpu.get(n, float('nan')) / wall:>8.2f}" for n in names)
            + f" {1000 * server / max(1, p.ok):>11.3f}"
            + f" {1000 * p.cpu.get('redis', float('nan')) / max(1, p.ok):>12.3f}")
    print()
    for p in [*baselines, *phases]:
        for note in p.notes:
            print(f"  {p.name}: {note}")
    for m in memory:
        for note in m.notes:
            print(f"  {m.name}: {note}")
    for note in dict.fromkeys(notes):  # in order, once each
        print(f"  {note}")


